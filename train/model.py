"""Keras models: pixel scaling in the graph, a backbone, and a softmax head."""

from __future__ import annotations

from pathlib import Path

from tfedge.errors import DependencyError, ModelError
from tfedge.train.backbones import Backbone


def _small_cnn(keras, x):
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Conv2D(128, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    return keras.layers.GlobalAveragePooling2D()(x)


def _imagenet_weights(keras, backbone: Backbone, weights: str, input_shape):
    """Keras's `weights` argument, checked: 'imagenet', None, or a local file that fits."""
    if weights == "none":
        return None
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"--weights {weights}: no such file; use imagenet, none or a weights file")
    return str(path)


def build_model(backbone: Backbone, input_size: tuple[int, int], channels: int, num_classes: int,
                weights: str = "none"):
    """A Keras model taking 0..255 float pixels of shape (H, W, channels), giving softmax scores."""
    import keras

    spec = backbone.spec
    inputs = keras.Input(shape=(*input_size, channels), name="pixels")
    x = keras.layers.Rescaling(spec.scale, spec.offset, name="pixel_scaling")(inputs)
    if backbone is Backbone.SMALL_CNN:
        x = _small_cnn(keras, x)
    else:
        if channels != 3:
            raise ValueError(f"{spec.key} needs colour input; use --color rgb")
        input_shape = (*input_size, 3)
        try:
            base = keras.applications.MobileNetV2(
                input_shape=input_shape, alpha=spec.alpha, include_top=False,
                weights=_imagenet_weights(keras, backbone, weights, input_shape), pooling="avg",
            )
        except ValueError as error:
            raise ModelError(f"--weights {weights} does not fit {spec.key} at {input_size} "
                             f"({str(error).splitlines()[0]})") from None
        except Exception as error:
            # Keras reports a failed weights download as a bare Exception("URL fetch failure ...")
            if not (isinstance(error, OSError) or "fetch failure" in str(error)):
                raise
            raise DependencyError(
                f"cannot download ImageNet weights for {spec.key} ({error}); "
                "pass --weights PATH (a local weights file) or --weights none"
            ) from None
        x = base(x)
        x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                 name="scores")(x)
    return keras.Model(inputs, outputs, name=f"tfedge_{spec.key}")
