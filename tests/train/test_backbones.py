"""Every preset builds, takes 0..255 pixels, and carries true facts about itself."""

import numpy as np
import pytest

from tfedge.main import main
from tfedge.train.backbones import Backbone, keys
from tfedge.train.model import BACKBONE_LAYER, build_backbone, build_model, set_fine_tuning


def test_list_backbones_shows_every_preset_with_its_facts(capsys):
    assert main(["train", "--list-backbones"]) == 0
    out = capsys.readouterr().out
    for key in keys():
        assert key in out
    assert "Edge TPU" in out and "parameters" in out and "410,208" in out


@pytest.mark.parametrize("backbone", [b for b in Backbone if b.spec.application], ids=lambda b: b.spec.key)
def test_parameter_counts_are_true(backbone):
    assert build_backbone(backbone, (32, 32)).count_params() == backbone.spec.parameters


def test_small_cnn_parameter_count_is_true():
    model = build_model(Backbone.SMALL_CNN, (28, 28), 1, 10)
    head = model.get_layer("scores").count_params()
    assert model.count_params() - head == Backbone.SMALL_CNN.spec.parameters


@pytest.mark.parametrize("key", ["small_cnn", "mobilenet_v3_small_minimalistic", "efficientnet_b0"])
def test_model_takes_raw_pixels_and_scales_them_in_its_first_layer(key):
    backbone = Backbone.from_key(key)
    channels = 1 if backbone.spec.supports_grayscale else 3
    model = build_model(backbone, (32, 32), channels, 4)
    assert model.layers[1].name == "pixel_scaling"
    scaling = model.layers[1]
    assert scaling.scale == pytest.approx(backbone.spec.scale)
    assert scaling.offset == pytest.approx(backbone.spec.offset)
    if key == "efficientnet_b0":  # Keras's own scaling sits inside this backbone
        inner = [type(layer).__name__ for layer in model.get_layer(BACKBONE_LAYER).layers[:4]]
        assert "Rescaling" in inner and "Normalization" in inner
    scores = model.predict(np.full((2, 32, 32, channels), 255.0, np.float32), verbose=0)
    assert scores.shape == (2, 4) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_fine_tuning_unfreezes_top_layers_but_never_batchnorm():
    model = build_model(Backbone.MOBILENET_V2_035, (32, 32), 3, 3)
    assert set_fine_tuning(model, 0) == 0
    base = model.get_layer(BACKBONE_LAYER)
    assert not base.trainable_weights
    unfrozen = set_fine_tuning(model, 20)
    assert unfrozen > 0
    trainable = [layer for layer in base.layers if layer.trainable and layer.weights]
    assert all("BatchNormalization" not in type(layer).__name__ for layer in trainable)
    assert all(base.layers.index(layer) >= len(base.layers) - 20 for layer in trainable)
