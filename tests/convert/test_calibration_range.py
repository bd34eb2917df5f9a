"""Full-integer calibration pins the uint8 input to raw pixel bytes (scale 1, zero point 0)."""

import numpy as np

from tfedge.convert.quantize import representative_dataset


def test_calibration_spans_every_byte_even_without_black_or_white_images():
    images = [np.full((4, 4, 3), 30 + 10 * i, dtype=np.uint8) for i in range(3)]
    batches = [batch[0] for batch in representative_dataset(lambda: iter(images))()]
    assert len(batches) == len(images) + 1
    assert batches[0].min() == 0.0 and batches[0].max() == 255.0
    assert (batches[0][0, 1:-1] == 30).all()  # the rest of the first image, unchanged
    for batch, image in zip(batches[1:], images):
        assert batch.shape == (1, 4, 4, 3) and (batch[0] == image).all()
