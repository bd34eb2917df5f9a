"""Keras models: pixel scaling in the graph, a backbone, and a softmax head.

Layout of every model: `pixels` (0..255) -> `pixel_scaling` -> backbone -> `scores` (softmax,
float32 even under mixed precision). ImageNet backbones are one nested layer named `backbone`;
with pretrained weights it is called with training=False so its BatchNorm layers stay in
inference mode, also while its top layers are fine-tuned.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from tfedge.errors import DependencyError, ModelError, UsageError
from tfedge.train.backbones import Backbone

BACKBONE_LAYER = "backbone"


def _conv_block(keras, x, filters: int):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)  # settles within a few hundred steps
    x = keras.layers.ReLU()(x)
    return keras.layers.MaxPooling2D()(x)


def _small_cnn(keras, x, dropout: float):
    """Two conv blocks and a dense layer: cheap enough for a CPU, ~92% on Fashion-MNIST.

    Larger inputs are average-pooled down to about 7x7 before the dense layer, so the
    parameter count stays small at any input size.
    """
    x = _conv_block(keras, x, 32)
    x = _conv_block(keras, x, 64)
    extra = -(-int(x.shape[1]) // 7)
    if extra > 1:
        x = keras.layers.AveragePooling2D(extra)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    return keras.layers.Dropout(dropout)(x)


def _keras_weights(backbone: Backbone, weights: str, input_size: tuple[int, int]):
    """Keras's `weights` argument, checked: 'imagenet', None, or a local file."""
    spec = backbone.spec
    if weights == "none":
        return None
    if weights == "imagenet":
        if spec.imagenet_sides and input_size[0] not in spec.imagenet_sides:
            raise UsageError(f"ImageNet weights of {spec.key} exist for sides "
                             f"{', '.join(map(str, spec.imagenet_sides))}; pick one with --image-size")
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"--weights {weights}: no such file; use imagenet, none or a weights file")
    return str(path)


def build_backbone(backbone: Backbone, input_size: tuple[int, int], weights: str = "none"):
    """The Keras application without its top, global-average pooled, named `backbone`."""
    import keras

    spec = backbone.spec
    if spec.application is None:
        raise ValueError(f"{spec.key} is not a Keras application")
    constructor = getattr(keras.applications, spec.application)
    options = {"input_shape": (*input_size, 3), "include_top": False, "pooling": "avg",
               "weights": _keras_weights(backbone, weights, input_size)}
    if spec.application == "MobileNetV2":
        options["alpha"] = spec.alpha
    elif spec.application.startswith("MobileNetV3"):
        # our first layer already scales pixels to -1..1; Keras's copy would scale twice
        options.update(alpha=spec.alpha, minimalistic=spec.minimalistic, include_preprocessing=False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            base = constructor(**options)
        skipped = [w for w in caught if "Skipping" in str(w.message) or "mismatch" in str(w.message)]
        if skipped:  # Keras loads what matches and only warns about the rest
            raise ValueError(str(skipped[0].message))
    except ValueError as error:
        raise ModelError(f"--weights {weights} does not fit {spec.key} at {input_size[0]}x"
                         f"{input_size[1]} ({str(error).splitlines()[0][:160]}); use weights saved "
                         "from the same preset, imagenet or none") from None
    except Exception as error:
        # Keras reports a failed download as a bare Exception("URL fetch failure on ...")
        if not (isinstance(error, OSError) or "fetch failure" in str(error)):
            raise
        raise DependencyError(f"cannot download ImageNet weights for {spec.key} "
                              f"({str(error).splitlines()[0][:120]}); pass --weights PATH (a local "
                              "weights file) or --weights none") from None
    base.name = BACKBONE_LAYER
    return base


def build_model(backbone: Backbone, input_size: tuple[int, int], channels: int, num_classes: int,
                weights: str = "none", dropout: float = 0.2, frozen_batchnorm: bool | None = None):
    """A Keras model taking 0..255 float pixels of shape (H, W, channels), giving softmax scores.

    `frozen_batchnorm` (default: when `weights` is not "none") calls the backbone with
    training=False, for transfer learning; a backbone trained from scratch needs its BatchNorm
    layers to learn their statistics, so it is called in the usual way.
    """
    if frozen_batchnorm is None:
        frozen_batchnorm = weights != "none"
    import keras

    spec = backbone.spec
    inputs = keras.Input(shape=(*input_size, channels), name="pixels")
    x = keras.layers.Rescaling(spec.scale, spec.offset, name="pixel_scaling")(inputs)
    if spec.application is None:
        if weights != "none":
            raise UsageError(f"{spec.key} has no pretrained weights; use --weights none")
        x = _small_cnn(keras, x, dropout)
    else:
        if channels != 3:
            raise UsageError(f"{spec.key} needs colour input; use --color rgb")
        base = build_backbone(backbone, input_size, weights)
        x = base(x, training=False) if frozen_batchnorm else base(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="scores")(x)
    return keras.Model(inputs, outputs, name=f"tfedge_{spec.key}")


def backbone_of(model):
    """The nested backbone layer, or None for the small CNN."""
    try:
        return model.get_layer(BACKBONE_LAYER)
    except ValueError:
        return None


def set_fine_tuning(model, top_layers: int) -> int:
    """Unfreeze the backbone's top `top_layers` layers (BatchNorm stays frozen); returns how many.

    `top_layers` 0 freezes the whole backbone (stage 1); a negative value unfreezes all of it.
    """
    base = backbone_of(model)
    if base is None:
        return 0
    layers = base.layers
    first = 0 if top_layers < 0 else max(0, len(layers) - top_layers)
    base.trainable = top_layers != 0
    unfrozen = 0
    for index, layer in enumerate(layers):
        trainable = index >= first and top_layers != 0 and "BatchNormalization" not in type(layer).__name__
        layer.trainable = trainable
        unfrozen += int(trainable and bool(layer.weights))
    return unfrozen
