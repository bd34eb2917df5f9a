"""File names inside a run folder (runs/NAME): train writes them, convert and verify read them."""

SAVED_MODEL = "saved_model"  # TensorFlow SavedModel (serving signature), the converter's input
KERAS_MODEL = "model.keras"  # the same model in Keras format, for evaluation and fine-tuning
CARD_FILE = "card.json"  # tfedge.edge.card.ModelCard
SPLIT_FILE = "split.json"  # data root, labels, train and validation files, skipped files
METRICS_FILE = "metrics.json"  # validation accuracy, loss, history, throughput
CONFIG_FILE = "config.json"  # every setting and version, to reproduce the run


def tflite_name(quantization: str) -> str:
    return f"model_{quantization}.tflite"
