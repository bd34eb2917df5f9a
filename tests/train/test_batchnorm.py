"""BatchNorm statistics recomputed from training pixels (train/batchnorm.py)."""

import numpy as np

from tfedge.train.batchnorm import BatchNormRecompute, trained_batchnorm_layers


def two_batchnorms():
    import keras

    inputs = keras.Input((2, 2, 1))
    x = keras.layers.BatchNormalization(name="first")(inputs)
    outputs = keras.layers.BatchNormalization(name="second")(x)
    return keras.Model(inputs, outputs)


def test_statistics_are_the_training_sets_and_batches_mix_the_classes():
    """Pixels come grouped by class (as the split holds them): 8 dark images, then 8 bright.

    The first layer's statistics are the whole set's (mean 127.5, variance 127.5**2). The second
    layer sees the first's training-mode output, which depends on the batch: in mixed batches
    it is about -1 or +1 (variance near 1). The first version read the sample in sorted order,
    so each batch of 8 held one class, the first layer's output was 0 and the second layer got
    variance 0: statistics no training batch ever had.
    """
    pixels = np.concatenate([np.zeros((8, 2, 2, 1), np.uint8), np.full((8, 2, 2, 1), 255, np.uint8)])
    model = two_batchnorms()
    layers = trained_batchnorm_layers(model)
    assert [layer.name for layer in layers] == ["first", "second"]
    BatchNormRecompute(model, layers, pixels, batch_size=8, seed=0)()
    first, second = layers
    np.testing.assert_allclose(np.asarray(first.moving_mean), [127.5], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(first.moving_variance), [127.5 ** 2], rtol=1e-4)
    assert 0.5 < float(np.asarray(second.moving_variance)[0]) < 1.5
    assert first.momentum == second.momentum == 0.99  # restored after the recompute


def test_frozen_batchnorm_is_not_recomputed():
    model = two_batchnorms()
    model.get_layer("first").trainable = False
    assert [layer.name for layer in trained_batchnorm_layers(model)] == ["second"]
