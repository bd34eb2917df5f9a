"""Which frame sizes a V4L2 camera offers, asked of the kernel itself (VIDIOC_ENUM_FMT,
VIDIOC_ENUM_FRAMESIZES through fcntl.ioctl: standard library only), and the smallest of them at
least the model's input, so the camera sends no more pixels than the classifier needs."""

from __future__ import annotations

import math
import os
import struct


def smallest_mode(modes, at_least: tuple[int, int], like: tuple[int, int] | None = None):
    """The smallest (width, height) of `modes` at least `at_least` (width, height) on both sides,
    or None when no mode is. Equal areas: the one nearest the aspect ratio of `like` (the
    camera's default mode), then the first given."""
    fitting = [(int(w), int(h)) for w, h in modes if w >= at_least[0] and h >= at_least[1]]
    if not fitting:
        return None
    aspect = (like[0] / like[1]) if like else 1.0
    return min(fitting, key=lambda mode: (mode[0] * mode[1], abs(math.log(mode[0] / mode[1] / aspect))))


def stepwise_mode(first: tuple[int, int], last: tuple[int, int], step: tuple[int, int],
                  at_least: tuple[int, int], like: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The smallest size a stepwise (or continuous) V4L2 range offers at least `at_least`, with the
    aspect ratio of `like` where the range allows; None when the range stops short."""
    aspect = (like[0] / like[1]) if like else at_least[0] / at_least[1]
    width = max(at_least[0], math.ceil(at_least[1] * aspect))
    height = max(at_least[1], math.ceil(at_least[0] / aspect))
    size = []
    for wanted, low, high, stride in zip((width, height), first, last, step):
        stride = max(stride, 1)
        value = low + max(0, math.ceil((wanted - low) / stride)) * stride
        if value > high:
            return None
        size.append(value)
    return size[0], size[1]


# Linux V4L2 ioctls (linux/videodev2.h), made here so no v4l2 package is needed: _IOWR('V', nr, size)
def _iowr(number: int, size: int) -> int:
    return (3 << 30) | (size << 16) | (ord("V") << 8) | number


_FMTDESC = struct.Struct("=III32sI16x")  # index, type, flags, description, pixelformat, (mbus, reserved)
_FRMSIZE = struct.Struct("=III6I8x")  # index, pixel_format, type, discrete w,h or stepwise 6 values, reserved
VIDIOC_ENUM_FMT = _iowr(2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _iowr(74, _FRMSIZE.size)
_CAPTURE, _DISCRETE = 1, 1  # V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_FRMSIZE_TYPE_DISCRETE


def v4l2_frame_sizes(fd: int, at_least: tuple[int, int], like: tuple[int, int] | None = None,
                     ioctl=None) -> list[tuple[int, int]]:
    """Every frame size a V4L2 device (an open file descriptor) offers, over all its pixel formats
    (VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES); a stepwise range gives its size nearest
    `at_least` (`stepwise_mode`). `ioctl` is fcntl.ioctl; tests pass a stand-in."""
    if ioctl is None:
        import fcntl  # only here: Windows has no fcntl (and no V4L2)

        ioctl = fcntl.ioctl
    sizes: list[tuple[int, int]] = []
    for format_index in range(64):
        described = bytearray(_FMTDESC.pack(format_index, _CAPTURE, 0, b"", 0))
        try:
            ioctl(fd, VIDIOC_ENUM_FMT, described)  # the kernel writes its answer into the buffer
        except OSError:  # EINVAL: no more formats
            break
        pixel_format = _FMTDESC.unpack(described)[4]
        for size_index in range(256):
            size = bytearray(_FRMSIZE.pack(size_index, pixel_format, 0, *[0] * 6))
            try:
                ioctl(fd, VIDIOC_ENUM_FRAMESIZES, size)
            except OSError:
                break
            _, _, kind, *values = _FRMSIZE.unpack(size)
            if kind == _DISCRETE:
                sizes.append((values[0], values[1]))
                continue
            min_w, max_w, step_w, min_h, max_h, step_h = values
            mode = stepwise_mode((min_w, min_h), (max_w, max_h), (step_w, step_h), at_least, like)
            sizes += [mode] if mode else []
            break  # a range is the device's only entry for this format
    return sizes


def camera_modes(index: int, at_least: tuple[int, int], like: tuple[int, int] | None = None):
    """The frame sizes /dev/video{index} offers (empty when it cannot be asked: not Linux, no
    such node, no permission)."""
    try:
        fd = os.open(f"/dev/video{index}", os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        return v4l2_frame_sizes(fd, at_least, like)
    finally:
        os.close(fd)
