"""The data scan: every format decoded once the device's way, bad files skipped with reasons."""

import numpy as np
import pytest
from synthetic_images import write_class_images

from tfedge.edge.card import ModelCard
from tfedge.train.dataset import list_files, load_split, make_dataset, stratified_split

cv2 = pytest.importorskip("cv2")
Image = pytest.importorskip("PIL.Image")


def write_every_format(folder):
    """One file per format and oddity the scan must accept, plus two it must skip."""
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "gray.png"), np.full((8, 8), 200, np.uint8))
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2], rgba[..., 3] = 255, 128
    cv2.imwrite(str(folder / "rgba.png"), rgba)
    cv2.imwrite(str(folder / "sixteen_bit.png"), np.full((8, 8, 3), 32768, np.uint16))
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(folder / "cmyk.jpg")  # red in CMYK
    cv2.imwrite(str(folder / "plain.bmp"), np.full((8, 8, 3), 90, np.uint8))
    Image.new("RGB", (8, 8), (255, 0, 0)).save(folder / "red.gif")
    cv2.imwrite(str(folder / "green.webp"), np.full((8, 8, 3), (0, 255, 0), np.uint8))
    portrait = Image.new("RGB", (10, 20), (0, 0, 0))
    portrait.paste((255, 255, 255), (0, 0, 10, 10))  # top half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    portrait.save(folder / "exif_rotated.jpg", exif=exif.tobytes())
    (folder / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not the rest of a jpeg")
    (folder / "empty.png").write_bytes(b"")


def test_scan_decodes_every_format_and_skips_bad_files_with_reasons(tmp_path):
    write_every_format(tmp_path / "data" / "odd")
    write_class_images(tmp_path / "data" / "plain", 8, 1)
    listing = list_files(tmp_path / "data")
    card = ModelCard(labels=listing.labels, input_size=(20, 20), color_order="RGB")
    split = load_split(listing, card, val_split=0.25, seed=1)
    skipped = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in split.skipped}
    assert set(skipped) == {"truncated.jpg", "empty.png"}
    assert all("not a decodable image" in reason for reason in skipped.values())
    assert len(split.train) + len(split.val) == 8 + 8
    pixels = {path.name: image for (path, _), image in
              zip(split.train + split.val, np.concatenate([split.x_train, split.x_val]))}
    assert pixels["gray.png"].shape == (20, 20, 3) and (pixels["gray.png"] == 200).all()
    assert tuple(pixels["rgba.png"][5, 5]) == (255, 0, 0)  # RGB order, alpha dropped
    assert abs(int(pixels["sixteen_bit.png"][5, 5, 0]) - 128) <= 1  # 16-bit scaled to 8-bit
    red = pixels["cmyk.jpg"][5, 5].astype(int)
    assert red[0] > 200 and red[1] < 40 and red[2] < 40
    assert tuple(pixels["red.gif"][5, 5]) == (255, 0, 0)
    assert tuple(pixels["green.webp"][5, 5]) == (0, 255, 0)
    rotated = pixels["exif_rotated.jpg"]  # the white half is on the right once rotated
    assert rotated[:, :8].mean() < 30 and rotated[:, 12:].mean() > 225


def test_imbalance_is_reported_and_weighted(tmp_path):
    write_class_images(tmp_path / "data" / "common", 40, 0)
    write_class_images(tmp_path / "data" / "rare", 10, 1)
    listing = list_files(tmp_path / "data")
    card = ModelCard(labels=listing.labels, input_size=(16, 16), color_order="RGB")
    split = load_split(listing, card, val_split=0.2, seed=3)
    assert split.class_counts() == {"common": 32, "rare": 8}
    assert split.imbalance() == pytest.approx(4.0)
    weights = split.class_weights()
    assert weights[0] * 32 == pytest.approx(weights[1] * 8)  # each class weighs the same in total


def test_split_is_stratified_and_fixed_by_seed():
    labels = np.repeat(np.arange(3), [10, 20, 5])
    train_a, val_a = stratified_split(labels, 3, 0.2, seed=7)
    train_b, val_b = stratified_split(labels, 3, 0.2, seed=7)
    assert np.array_equal(val_a, val_b) and np.array_equal(train_a, train_b)
    assert np.bincount(labels[val_a]).tolist() == [2, 4, 1]
    assert not set(train_a) & set(val_a) and len(train_a) + len(val_a) == len(labels)
    _, val_c = stratified_split(labels, 3, 0.2, seed=8)
    assert not np.array_equal(np.sort(val_a), np.sort(val_c))


def test_pipeline_keeps_pixels_exact_without_augmentation_and_bounded_with_it():
    from tfedge.train.dataset import augmentation

    pixels = np.random.default_rng(0).integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    labels = np.arange(10) % 2
    plain = make_dataset(pixels, labels, 4, training=False)
    batches = [x.numpy() for x, _ in plain]
    assert np.array_equal(np.concatenate(batches), pixels.astype(np.float32))
    shuffled = make_dataset(pixels, labels, 4, training=True, seed=1,
                            class_weights=np.array([1.0, 3.0], np.float32))
    _, y, w = next(iter(shuffled))
    assert np.allclose(w.numpy(), np.where(y.numpy() == 1, 3.0, 1.0))
    augmented = make_dataset(pixels, labels, 4, training=False, augment=augmentation("horizontal", 1))
    x = next(iter(augmented))[0].numpy()
    assert x.shape == (4, 16, 16, 3) and x.min() >= 0 and x.max() <= 255
    assert not np.allclose(x, pixels[:4])


def slow_first_batch(x, training):
    """An augmentation that takes longer on batches holding image 0, as a busy machine might:
    a parallel map free to reorder its output would then hand them out late."""
    import time

    import tensorflow as tf

    def wait(batch):
        time.sleep(0.2 if (batch.numpy() == 0).any() else 0.0)
        return batch

    return tf.ensure_shape(tf.py_function(wait, [x], tf.float32), x.shape)


def test_training_batches_hold_every_image_once_in_a_new_seeded_order_each_epoch():
    pixels = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1)
    labels = np.arange(50) % 5

    def epochs(seed, count=2):
        dataset = make_dataset(pixels, labels, 8, training=True, seed=seed, augment=slow_first_batch)
        assert int(dataset.cardinality()) == 7  # Keras knows the steps per epoch
        # no autotuning thread to join when an epoch's iterator goes (a stall of about a second)
        assert dataset.options().autotune.enabled is False
        orders = []
        for _ in range(count):
            batches = [(x.numpy().ravel(), y.numpy()) for x, y in dataset]
            assert [len(y) for _, y in batches] == [8] * 6 + [2]
            seen = np.concatenate([x for x, _ in batches]).astype(int)
            assert np.array_equal(labels[seen], np.concatenate([y for _, y in batches]))
            orders.append(seen)
        return orders

    first, second = epochs(seed=3)
    assert sorted(first) == sorted(second) == list(range(50))
    assert not np.array_equal(first, second)
    assert all(np.array_equal(a, b) for a, b in zip(epochs(seed=3), (first, second)))
    assert not np.array_equal(epochs(seed=4, count=1)[0], first)
