"""A one-channel (gray) model made to take RGB input: the conversion to gray inside the graph.

MediaPipe Tasks and most image pipelines feed RGB only; `tfedge convert --rgb-input` puts
OpenCV's own gray conversion (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B) in front of the model as
a 1x1 convolution, an operator every backend and the Edge TPU run, so the same file takes the
RGB frames they give it. A gray picture given as RGB (R = G = B) reaches the model unchanged.
"""

from __future__ import annotations

BT601_WEIGHTS = (0.299, 0.587, 0.114)  # cv2.COLOR_RGB2GRAY's weights for R, G, B


def rgb_to_gray_function(tf, function, name: str, shape, dtype, batch_size: int | None):
    """A concrete function that takes [batch, height, width, 3] and calls the gray `function`."""
    kernel = tf.constant(BT601_WEIGHTS, shape=[1, 1, 3, 1], dtype=tf.float32)
    spec = tf.TensorSpec([batch_size, int(shape[1]), int(shape[2]), 3], dtype, name=name)

    def rgb_input(pixels):
        gray = tf.nn.conv2d(tf.cast(pixels, tf.float32), kernel, strides=1, padding="VALID")
        return function(**{name: tf.cast(gray, dtype)})

    return tf.function(rgb_input, input_signature=[spec]).get_concrete_function()


def repeat_to_rgb(calibration):
    """Calibration pixels of a gray model, given as RGB (R = G = B) to its RGB-input file."""
    import numpy as np

    def generate():
        for pixels in calibration():
            pixels = np.asarray(pixels)
            yield np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels
    return generate
