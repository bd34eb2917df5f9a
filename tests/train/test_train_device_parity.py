"""The training path and the device path see the same pixels: same accuracy on real images."""

import json

import numpy as np

from tfedge.edge.card import load_card
from tfedge.edge.classify import Classifier
from tfedge.edge.evaluation import evaluate
from tfedge.run_layout import CARD_FILE, CONFIG_FILE, KERAS_MODEL, SPLIT_FILE
from tfedge.train.dataset import list_files, load_split, make_dataset
from tfedge.train.hparams import HParams


def test_keras_on_training_pixels_matches_tflite_through_the_device_path(trained_run, tflite_models):
    import keras

    config = json.loads((trained_run / CONFIG_FILE).read_text())
    hparams = HParams.from_dict(config["hparams"])
    card = load_card(trained_run / CARD_FILE)
    split = load_split(list_files(config["data_dir"]), card, hparams.val_split, hparams.seed)
    recorded = json.loads((trained_run / SPLIT_FILE).read_text())
    assert [str(p.relative_to(split.root)) for p, _ in split.val] == [p for p, _ in recorded["val"]]

    model = keras.saving.load_model(trained_run / KERAS_MODEL)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, training_path = model.evaluate(make_dataset(split.x_val, split.y_val, 64, training=False), verbose=0)

    device = evaluate(Classifier(tflite_models["float32"]), split.val, card.labels)
    assert len(device.true) == len(split.y_val) == 120
    assert abs(training_path - device.accuracy) <= 0.001  # within 0.1 percentage point
    keras_predictions = model.predict(split.x_val.astype("float32"), verbose=0).argmax(axis=1)
    assert np.mean(keras_predictions == device.predicted) >= 0.99
