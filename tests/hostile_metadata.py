"""Damaged and hostile standard metadata, made from a model that carries good metadata.

Every 32-bit word of the `M001` buffer (each offset, vtable slot, vector count and string length)
set in turn to extreme values, random bytes in it, the model's metadata entry pointing elsewhere,
and hostile associated files: a zip bomb as labels.txt (honest and lying about its size), a
missing, wrong-count or binary label file. Used by tests/edge/test_inspect_fuzz.py and by
benchmarks/metadata_interop.py (which counts crashes over them).
"""

from __future__ import annotations

import io
import random
import struct
import zipfile

from tfedge.edge.card import CARD_NAME, LABELS_NAME, strip_embedded
from tfedge.edge.tflite.metadata import METADATA_NAME, metadata_buffer

EXTREMES = (0xFFFFFFFF, 0x7FFFFFF0, 0x00010000)  # -1, a huge count/offset, a plausible wrong one
SEED = 20261128


def _span(model: bytes) -> tuple[int, int]:
    buffer = metadata_buffer(model)
    assert buffer is not None, "the model carries no standard metadata"
    start = model.find(buffer)
    return start, len(buffer)


def _archive(flatbuffer: bytes, files: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO(flatbuffer)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lying_sizes(data: bytes, name: str, claimed: int) -> bytes:
    """The archive with `name`'s uncompressed size rewritten to `claimed` in both headers."""
    data = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at:at + name_at + len(encoded)] == encoded:
                data[at + size_at:at + size_at + 4] = struct.pack("<I", claimed)
            at = data.find(signature, at + 4)
    return bytes(data)


def hostile_associated_files(model: bytes) -> list[bytes]:
    """Cardless files whose metadata names labels.txt, and a hostile or missing labels.txt."""
    flatbuffer = strip_embedded(model)
    bomb = b"a\n" * (16 << 20)  # 32 MiB of labels, deflated to a few tens of KiB
    deflated = _archive(flatbuffer, {LABELS_NAME: bomb}, zipfile.ZIP_DEFLATED)
    cases = [
        deflated,
        _lying_sizes(deflated, LABELS_NAME, 20),
        _archive(flatbuffer, {CARD_NAME: b"{}"}),  # a broken card, and no labels file
        _archive(flatbuffer, {LABELS_NAME: b"only\none\n"}),  # a label count that is wrong
        _archive(flatbuffer, {LABELS_NAME: bytes(range(256)) * 4}),  # binary labels
        _archive(flatbuffer, {LABELS_NAME: b"x\n" * 100_000}),
        flatbuffer,  # metadata naming associated files, and no archive at all
        flatbuffer + b"PK\x05\x06" + b"\xff" * 18,
    ]
    return cases


def hostile_metadata_files(model: bytes, random_cases: int = 60) -> list[bytes]:
    """At least 500 files for a real model's metadata (about 3 per metadata word, plus extras).

    The card is taken out of `model` first (its labels stay), so the device reads the metadata.
    """
    labels = zipfile.ZipFile(io.BytesIO(model)).read(LABELS_NAME)
    model = _archive(strip_embedded(model), {LABELS_NAME: labels})
    start, length = _span(model)
    cases = []
    for word in range(start, start + length - 3, 4):
        for value in EXTREMES:
            data = bytearray(model)
            data[word:word + 4] = struct.pack("<I", value)
            cases.append(bytes(data))
    rng = random.Random(SEED)
    for _ in range(random_cases):
        data = bytearray(model)
        for _ in range(rng.randint(1, 8)):
            data[start + rng.randrange(length)] = rng.randrange(256)
        cases.append(bytes(data))
    for cut in (4, 8, 16, length // 2, length - 4):  # the buffer's tail zeroed: a short, damaged table
        data = bytearray(model)
        data[start + cut:start + length] = bytes(length - cut)
        cases.append(bytes(data))
    # the model's metadata entry: its name, then every word after it (buffer index, offsets)
    name_at = model.find(METADATA_NAME.encode())
    for at in range(max(0, name_at - 64), name_at, 4):
        for value in EXTREMES:
            data = bytearray(model)
            data[at:at + 4] = struct.pack("<I", value)
            cases.append(bytes(data))
    cases += hostile_associated_files(model)
    return cases
