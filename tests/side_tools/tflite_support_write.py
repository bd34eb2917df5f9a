"""Write standard metadata with tflite-support's own writer: run by the tflite-support venv's python.

    python tflite_support_write.py MODEL.tflite LABELS.txt OUT.tflite MEAN STD [DISPLAY_NAMES.txt]

The "in" direction's fixtures: files with metadata made by a writer that is not ours, the way
TF Hub, Kaggle and Model Maker classifiers ship (tflite-support's image classifier writer).
DISPLAY_NAMES.txt, when given, becomes a second label file with locale "en" (display names).
"""

import sys


def main(model: str, labels: str, out: str, mean: str, std: str, display_names: str | None = None) -> int:
    from tflite_support.metadata_writers import image_classifier, metadata_info, writer_utils

    buffer = writer_utils.load_file(model)
    writer_class = image_classifier.MetadataWriter
    input_md = metadata_info.InputImageTensorMd(
        name=image_classifier.INPUT_NAME, description=image_classifier.INPUT_DESCRIPTION,
        norm_mean=[float(mean)], norm_std=[float(std)],
        color_space_type=metadata_info._metadata_fb.ColorSpaceType.RGB,
        tensor_type=writer_utils.get_input_tensor_types(buffer)[0])
    label_files = [metadata_info.LabelFileMd(file_path=labels)]
    if display_names:
        label_files.append(metadata_info.LabelFileMd(file_path=display_names, locale="en"))
    output_md = metadata_info.ClassificationTensorMd(
        name=image_classifier.OUTPUT_NAME, description=image_classifier.OUTPUT_DESCRIPTION,
        label_files=label_files, tensor_type=writer_utils.get_output_tensor_types(buffer)[0])
    writer = writer_class.create_from_metadata_info(buffer, input_md=input_md, output_md=output_md)
    writer_utils.save_file(writer.populate(), out)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:7]))
