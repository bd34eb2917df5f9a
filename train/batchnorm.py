"""BatchNorm statistics that match the weights, recomputed after every epoch.

Keras keeps BatchNorm's inference statistics as a moving average (MobileNet: momentum 0.999),
so after the few hundred steps of a small dataset they are still near their initial 0 and 1,
and a network trained from scratch outputs the same scores for every image in inference mode
(validation, the exported model, the .tflite). After each epoch, before validation and before
the weights are checkpointed (so also before export), every BatchNorm layer that trains gets
the mean and variance of its inputs over a fixed sample of training images (forward passes in
training mode, no gradients, no augmentation), exactly: the population mean and variance over
the sample, not an average of batches. The batches are mixed like training batches (random
order, the training batch size), since each layer's inputs depend on the batch statistics
before it. Frozen pretrained BatchNorm (transfer learning) is left as loaded.
"""

from __future__ import annotations

import time

import numpy as np

# Images the statistics are measured on: the whole training set when smaller. Estimates from
# 1,000 images are within a few percent of the full set's (Wu & Johnson, "Rethinking 'Batch' in
# BatchNorm", 2021), and the cost stays a fraction of an epoch on large sets.
RECOMPUTE_IMAGES = 1024


def trained_batchnorm_layers(model) -> list:
    """BatchNorm layers of `model` (nested ones too) whose weights train."""
    import keras

    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]


class BatchNormRecompute:
    """Recompute the moving statistics of the given BatchNorm layers from training pixels.

    Args:
        model: the Keras model being trained.
        layers: its BatchNorm layers to recompute (see `trained_batchnorm_layers`).
        pixels: uint8 training images (N, H, W, C); a seeded sample of RECOMPUTE_IMAGES is used.
        batch_size: images per forward pass.
        seed: picks the sample.
    """

    def __init__(self, model, layers: list, pixels: np.ndarray, batch_size: int, seed: int = 42):
        self.model, self.layers, self.batch_size = model, layers, batch_size
        # in random order, never sorted: the training pixels are grouped by class, and in training
        # mode every layer normalizes with its batch's own statistics, so a batch of one class
        # would hand the layers after it activations unlike any training batch's (that gave
        # 68.75% validation on the colour set, whose 3 batches were one class each)
        chosen = np.random.default_rng(seed).permutation(len(pixels))[:RECOMPUTE_IMAGES]
        self.pixels = pixels[chosen]
        self._forward = None
        self.seconds = 0.0

    def _trace(self):
        import tensorflow as tf

        shape = (None, *self.pixels.shape[1:])

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
        def forward(images):
            self.model(images, training=True)  # momentum 0 while traced: moving stats = batch stats
            return [(layer.moving_mean.value, layer.moving_variance.value) for layer in self.layers]

        return forward

    def __call__(self) -> float:
        """Measure and assign the statistics; returns the seconds it took."""
        if not self.layers:
            return 0.0
        started = time.perf_counter()
        momenta = [layer.momentum for layer in self.layers]
        for layer in self.layers:
            layer.momentum = 0.0
        try:
            if self._forward is None:
                self._forward = self._trace()
            count = 0
            sums = [[np.zeros(layer.moving_mean.shape), np.zeros(layer.moving_mean.shape)]
                    for layer in self.layers]
            for start in range(0, len(self.pixels), self.batch_size):
                batch = self.pixels[start:start + self.batch_size].astype(np.float32)
                for total, (mean, variance) in zip(sums, self._forward(batch)):
                    mean = np.asarray(mean, np.float64)
                    total[0] += len(batch) * mean
                    total[1] += len(batch) * (np.asarray(variance, np.float64) + mean ** 2)
                count += len(batch)
        finally:
            for layer, momentum in zip(self.layers, momenta):
                layer.momentum = momentum
        for layer, (mean_sum, square_sum) in zip(self.layers, sums):
            mean = mean_sum / count
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(np.maximum(square_sum / count - mean ** 2, 0.0)
                                         .astype(layer.moving_variance.dtype))
        return time.perf_counter() - started
