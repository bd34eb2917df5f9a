import cv2
import numpy as np
import pytest

from tfedge.edge.card import ModelCard
from tfedge.edge.preprocess import decode_image, preprocess, to_input, to_pixels


def card(color="RGB", size=(4, 6), **kw):
    return ModelCard(labels=["a", "b"], input_size=size, color_order=color, **kw)


def bgr_frame(height=8, width=12):
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = 10  # blue
    frame[..., 1] = 20  # green
    frame[..., 2] = 200  # red
    return frame


def test_rgb_card_reverses_opencv_channel_order_and_resizes():
    pixels = to_pixels(bgr_frame(), card("RGB"))
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[0, 0]) == (200, 20, 10)


def test_bgr_card_keeps_order_and_gray_card_gives_one_channel():
    assert tuple(to_pixels(bgr_frame(), card("BGR"))[0, 0]) == (10, 20, 200)
    gray = to_pixels(bgr_frame(), card("GRAY"))
    assert gray.shape == (4, 6, 1)
    assert gray[0, 0, 0] == cv2.cvtColor(bgr_frame(), cv2.COLOR_BGR2GRAY)[0, 0]


def test_gray_and_bgra_frames_are_accepted():
    assert to_pixels(np.full((8, 8), 7, np.uint8), card("RGB")).shape == (4, 6, 3)
    assert to_pixels(np.full((8, 8, 4), 7, np.uint8), card("GRAY")).shape == (4, 6, 1)


def test_center_crop_keeps_the_middle():
    frame = np.zeros((10, 30, 3), np.uint8)
    frame[:, 10:20] = 255
    pixels = to_pixels(frame, card("BGR", size=(10, 10), resize="center_crop"))
    assert pixels.min() == 255


def test_float_input_applies_mean_and_std():
    detail = {"dtype": np.float32, "quantization": (0.0, 0)}
    tensor = preprocess(bgr_frame(), card("RGB", mean=[127.5], std=[127.5]), detail)
    assert tensor.shape == (1, 4, 6, 3) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0, 0, 0], (np.array([200, 20, 10]) - 127.5) / 127.5)


def test_uint8_identity_quantization_passes_pixels_through():
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    tensor = to_input(pixels, card(), {"dtype": np.uint8, "quantization": (1.0, 0)})
    assert tensor.dtype == np.uint8 and np.array_equal(tensor[0], pixels)


def test_int8_quantization_rounds_and_clips():
    pixels = np.array([[[0, 128, 255]]], np.uint8)
    tensor = to_input(pixels, card(), {"dtype": np.int8, "quantization": (1.0, -128)})
    assert tensor.dtype == np.int8 and tensor.tolist() == [[[[-128, 0, 127]]]]


def test_decode_image_reads_png_and_rejects_non_images(tmp_path):
    good = tmp_path / "a.png"
    cv2.imwrite(str(good), np.full((5, 5), 99, np.uint8))
    assert decode_image(good).shape == (5, 5, 3)
    bad = tmp_path / "b.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="not a decodable image"):
        decode_image(bad)


def test_non_uint8_frames_are_refused():
    with pytest.raises(TypeError):
        to_pixels(np.zeros((4, 4, 3), np.float32), card())
