"""Every preset learns from scratch (--weights none): what it learned holds in inference mode.

A trivially learnable colour set (3 classes by hue); a preset whose training accuracy is high
while validation sits at chance has BatchNorm statistics that do not match its weights.
"""

import pytest
from synthetic_images import write_hue_images

from tfedge.train.backbones import Backbone
from tfedge.train.fit import train
from tfedge.train.hparams import HParams


@pytest.fixture(scope="module")
def colour_dir(tmp_path_factory):
    return write_hue_images(tmp_path_factory.mktemp("colours"), 80, size=32)


@pytest.mark.slow
@pytest.mark.parametrize("backbone", list(Backbone), ids=lambda b: b.spec.key)
def test_every_preset_learns_the_colour_set_from_scratch(backbone, colour_dir, tmp_path):
    size = max(32, backbone.spec.min_input_size)
    hparams = HParams(backbone=backbone.spec.key, weights="none", image_size=size, color="rgb",
                      epochs=10, batch_size=16, early_stopping_patience=0, val_split=0.25)
    metrics = train(colour_dir, tmp_path / "run", hparams, log=lambda *_: None)
    history = metrics["history"]
    assert max(history["accuracy"]) >= 0.95, f"training itself did not learn: {history['accuracy']}"
    assert metrics["val_accuracy"] >= 0.90, (
        f"validation {metrics['val_accuracy']:.2%} (training {history['accuracy'][-1]:.2%}); "
        f"val_accuracy by epoch {history['val_accuracy']}")
