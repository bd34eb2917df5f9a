"""Write standard metadata with tflite-support's own writer: run by the tflite-support venv's python.

    python tflite_support_write.py MODEL.tflite LABELS.txt OUT.tflite MEAN STD

The "in" direction's fixtures: files with metadata made by a writer that is not ours, the way
TF Hub, Kaggle and Model Maker classifiers ship (ImageClassifierWriter.create_for_inference).
"""

import sys


def main(model: str, labels: str, out: str, mean: str, std: str) -> int:
    from tflite_support.metadata_writers import image_classifier, writer_utils

    writer = image_classifier.MetadataWriter.create_for_inference(
        writer_utils.load_file(model), [float(mean)], [float(std)], [labels])
    writer_utils.save_file(writer.populate(), out)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
