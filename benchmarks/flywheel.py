"""The data flywheel, measured: do the frames `tfedge run --collect` keeps teach more than random ones?

Fashion-MNIST (Debian's dataset-fashion-mnist), per seed:
1. train `small_cnn` (28x28 gray) on 100 training images per class, convert it (float32 .tflite);
2. the 10,000 test images are split once, at random, into a selection half (streamed) and a
   held-out half (never streamed: no frame used for selection is in it);
3. the selection half is encoded as an MP4 (2 frames per image, as a camera sees an object for a
   moment) and run through the real `tfedge run MODEL --source VIDEO --headless --collect DIR`
   at full speed (no --realtime) with a budget of 300 frames (`--collect-max-frames 300`);
4. the "reviewer" labels each kept frame with its ground truth (REVIEWED/<class>/<id>.jpg,
   the full frame the collector wrote);
5. the model is trained again with `tfedge train`'s code for `--config OLD --add REVIEWED
   --add-val-split 0` with those 300 frames, and, in the same way, with 300 frames drawn at random
   from the same decoded video (distinct images, saved as JPEGs of the same quality);
6. accuracy of the base, the collected and the random model on the held-out half.
All of it twice: on the clean stream, and on a shifted one (contrast x0.6, brightness +60, a 3x3
Gaussian blur: another camera), whose held-out half is shifted the same way; `--streams mild`
adds a milder shift (contrast x0.85, brightness +25, no blur).
Also printed: near-duplicates among the kept frames, storage against its cap, per-class quotas,
and the cost: `benchmarks/collect_cost.py`'s side-by-side runs of the seed-0 model on the clean
video with and without --collect (its default options).

`--collect-extra "OPTIONS"` adds `tfedge run` collect options to the experiment's runs (the
selection tried; write it as `--collect-extra="--collect-spread ..."`), `--streams` picks the
streams.

    .venv/bin/python benchmarks/flywheel.py [--seeds 3] [--work DIR] [--collect-extra="..."]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAMES_PER_IMAGE = 2
DUPLICATE_BITS = 4
COLLECT_OPTIONS = {"--collect-max-frames": "300", "--collect-max-mb": "2", "--collect-per-minute": "0",
                   "--collect-per-hour": "0", "--collect-class-quota": "60"}


def shifted(images: np.ndarray) -> np.ndarray:
    """Another camera: lower contrast, brighter, slightly blurred."""
    import cv2

    out = np.clip(images.astype(np.float32) * 0.6 + 60, 0, 255).astype(np.uint8)
    return np.stack([cv2.GaussianBlur(image, (3, 3), 0) for image in out])


def mildly_shifted(images: np.ndarray) -> np.ndarray:
    """A milder other camera: a little less contrast and a little brighter, no blur."""
    return np.clip(images.astype(np.float32) * 0.85 + 25, 0, 255).astype(np.uint8)


def write_subset(images, labels, per_class: int, seed: int, folder: Path) -> Path:
    import cv2

    from tfedge.train.fashion_mnist import FOLDER_NAMES

    rng = np.random.default_rng(seed)
    for index, name in enumerate(FOLDER_NAMES):
        (folder / name).mkdir(parents=True)
        for i in rng.choice(np.flatnonzero(labels == index), per_class, replace=False):
            cv2.imwrite(str(folder / name / f"train_{i:05d}.png"), images[i])
    return folder


def decode_video(path: Path) -> np.ndarray:
    import cv2

    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return np.stack(frames)


def tfedge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfedge", *args], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def run_summary(model: Path, video: Path, *extra: str) -> dict:
    done = tfedge("run", str(model), "--source", str(video), "--headless", *extra)
    if done.returncode != 0:
        raise SystemExit(f"tfedge run failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])["summary"]


def accuracy(run: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Held-out accuracy; `labels` are dataset indexes, the model's classes its sorted folder names."""
    import keras

    from tfedge.edge.card import load_card
    from tfedge.train.fashion_mnist import FOLDER_NAMES

    model = keras.models.load_model(run / "model.keras", compile=False)
    predicted = model.predict(images[..., None].astype("float32"), batch_size=256, verbose=0).argmax(axis=1)
    keras.backend.clear_session()
    names = np.asarray(load_card(run / "card.json").labels)[predicted]
    return float(np.mean(names == np.asarray(FOLDER_NAMES)[labels]))


def near_duplicate_share(views: list[np.ndarray]) -> float:
    from tfedge.edge.collection_store import hamming, signature

    signatures = [signature(view) for view in views]
    pairs = [(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1:]]
    return sum(hamming(a, b) <= DUPLICATE_BITS for a, b in pairs) / max(1, len(pairs))


def report_selection(rows: list[dict], checks: list[dict], streams: list[str]) -> None:
    """The gains, near-duplicates, storage and quota lines."""
    print("\nGains in accuracy points on the held-out half (mean ± standard deviation over seeds):")
    for name in streams:
        part = [row for row in rows if row["stream"] == name]
        collected = np.array([100 * (row["collected"] - row["base"]) for row in part])
        randomly = np.array([100 * (row["random"] - row["base"]) for row in part])
        base = np.array([100 * row["base"] for row in part])
        ratio = (f"{collected.mean() / randomly.mean():.2f}x" if randomly.mean() > 0
                 else "undefined (random gained nothing on the mean)")
        difference = collected - randomly
        print(f"  {name:7s}: base {base.mean():.2f}% ± {base.std():.2f}; collected {collected.mean():+.2f} "
              f"± {collected.std():.2f} points; random {randomly.mean():+.2f} ± {randomly.std():.2f} "
              f"points; collected/random gain {ratio} (goal >= 1.5x); collected minus random "
              f"{difference.mean():+.2f} ± {difference.std():.2f} points "
              f"[per seed collected {np.round(collected, 2).tolist()}, "
              f"random {np.round(randomly, 2).tolist()}]")
        if name != "clean" and "clean" in streams:
            clean = np.array([100 * row["base"] for row in rows if row["stream"] == "clean"])
            print(f"           1.5x the random gain would need {base.mean() + 1.5 * randomly.mean():.2f}% "
                  f"on the shifted held-out half; the same base models score {clean.mean():.2f}% on clean "
                  "images (the headroom)")
    dup = max(c["near_dup_share"] for c in checks)
    print(f"near-duplicate pairs among kept frames (dHash <= {DUPLICATE_BITS} bits): at most {dup:.2%} of "
          f"pairs (goal < 5%); random draws: up to {max(c['random_near_dup_share'] for c in checks):.2%}; "
          f"kept frames of the same test image: at most {max(c['same_image_pairs'] for c in checks)}")
    print(f"storage: peak {max(c['peak_bytes'] for c in checks)} bytes, on disk at the end at most "
          f"{max(c['on_disk'] for c in checks)} bytes, cap {checks[0]['cap_bytes']:.0f} bytes "
          f"({'held' if all(c['peak_bytes'] <= c['cap_bytes'] for c in checks) else 'EXCEEDED'})")
    print(f"quota: most kept frames of one predicted class {max(c['max_per_class'] for c in checks)}, "
          f"quota {checks[0]['quota']} "
          f"({'held' if all(c['max_per_class'] <= c['quota'] for c in checks) else 'EXCEEDED'})")



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--fps-repeats", type=int, default=3)
    parser.add_argument("--collect-extra", default="",
                        help="more `tfedge run` collect options for the experiment's runs, one string")
    parser.add_argument("--streams", nargs="+", default=["clean", "shifted"],
                        choices=["clean", "shifted", "mild"])
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temp one)")
    parser.add_argument("--cost-only", action="store_true",
                        help="only the cost lines, with the seed-0 model of an earlier run in --work")
    args = parser.parse_args()
    COLLECT_OPTIONS["--collect-max-frames"] = str(args.budget)
    extra_options = args.collect_extra.split()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT / "tests"))
    import cv2
    from labelled_video import write_frames_video  # tests/labelled_video.py

    from tfedge.convert.convert_run import convert_run
    from tfedge.edge.collection import read_collection
    from tfedge.edge.sinks.collect import JPEG_QUALITY
    from tfedge.train.fashion_mnist import FOLDER_NAMES, load_split
    from tfedge.train.fit import train
    from tfedge.train.hparams import HParams
    from tfedge.train.reviewed import AddedData

    work = args.work or Path(tempfile.mkdtemp(prefix="tfedge-flywheel-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train_x, train_y = load_split("train")
    test_x, test_y = load_split("test")
    order = np.random.default_rng(2026).permutation(len(test_y))
    stream_ids, held_ids = order[: len(order) // 2], order[len(order) // 2:]
    changes = {"clean": lambda images: images, "shifted": shifted, "mild": mildly_shifted}
    streams = {name: changes[name] for name in args.streams}
    print(f"settings: small_cnn 28x28 gray, {args.per_class} training images per class (80% train, 20% "
          f"validation), {args.epochs} epochs (early stopping 3), batch 64; {len(stream_ids)} test images "
          f"streamed ({FRAMES_PER_IMAGE} frames each, 28x28 MP4, full speed), {len(held_ids)} held out; "
          f"budget {args.budget}; collect options {' '.join(f'{k} {v}' for k, v in COLLECT_OPTIONS.items())} "
          f"{args.collect_extra} "
          f"(the rest default); retraining with --add-val-split 0, --add-weight 1; {args.seeds} seeds; "
          f"work folder {work}", flush=True)
    videos, frames, held = {}, {}, {}
    for name, transform in streams.items():
        stream_images = transform(test_x[stream_ids])
        videos[name] = write_frames_video(
            ((cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), FOLDER_NAMES[test_y[i]])
             for image, i in zip(stream_images, stream_ids)), work / f"{name}.mp4", 28, FRAMES_PER_IMAGE)
        frames[name] = decode_video(videos[name])
        held[name] = (transform(test_x[held_ids]), test_y[held_ids])
    truth = test_y[stream_ids]  # frame f shows stream image f // FRAMES_PER_IMAGE

    rows, checks = [], []
    quiet = lambda *_: None  # noqa: E731
    for seed in range(0 if args.cost_only else args.seeds):
        folder = work / f"seed{seed}"
        data = write_subset(train_x, train_y, args.per_class, seed, folder / "data")
        hparams = HParams(epochs=args.epochs, batch_size=64, seed=seed, image_size=28)
        base = folder / "base"
        with contextlib.redirect_stdout(io.StringIO()):
            train(data, base, hparams, log=quiet)
            convert_run(base, ["float32"], verify=False, log=quiet)
        model = base / "model_float32.tflite"
        for name in streams:
            collect_dir = folder / name / "collect"
            summary = run_summary(model, videos[name], "--collect", str(collect_dir),
                                  *[word for pair in COLLECT_OPTIONS.items() for word in pair],
                                  *extra_options)
            facts = summary["collect"]
            kept, problems = read_collection(collect_dir)
            reviewed, random_dir = folder / name / "reviewed_collected", folder / name / "reviewed_random"
            for frame in kept:
                label = FOLDER_NAMES[truth[frame.frame // FRAMES_PER_IMAGE]]
                (reviewed / label).mkdir(parents=True, exist_ok=True)
                shutil.copy(collect_dir / f"{frame.id}.jpg", reviewed / label / f"{frame.id}.jpg")
            rng = np.random.default_rng(1000 + seed)
            picked = rng.choice(len(stream_ids), len(kept), replace=False) * FRAMES_PER_IMAGE \
                + rng.integers(0, FRAMES_PER_IMAGE, len(kept))
            for index in picked:
                label = FOLDER_NAMES[truth[index // FRAMES_PER_IMAGE]]
                (random_dir / label).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(random_dir / label / f"frame_{index:05d}.jpg"), frames[name][index],
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            scores = {"base": accuracy(base, *held[name])}
            for condition, added in (("collected", reviewed), ("random", random_dir)):
                out = folder / name / f"run_{condition}"
                with contextlib.redirect_stdout(io.StringIO()):  # Keras's per-epoch lines
                    train(data, out, hparams, log=quiet, added=AddedData(added, 1.0, 0.0),
                          previous_run=base)
                scores[condition] = accuracy(out, *held[name])
            views = [cv2.imread(str(collect_dir / f"{f.id}.view.jpg"), cv2.IMREAD_GRAYSCALE) for f in kept]
            sources = [f.frame // FRAMES_PER_IMAGE for f in kept]
            wrong = np.mean([f.label != FOLDER_NAMES[truth[f.frame // FRAMES_PER_IMAGE]] for f in kept])
            on_disk = sum(p.stat().st_size for p in collect_dir.iterdir())
            checks.append({
                "seed": seed, "stream": name, "kept": len(kept), "problems": len(problems),
                "base_wrong_on_kept": float(wrong),
                "near_dup_share": near_duplicate_share(views),
                "random_near_dup_share": near_duplicate_share(
                    [cv2.cvtColor(frames[name][i], cv2.COLOR_BGR2GRAY) for i in picked]),
                "same_image_pairs": len(sources) - len(set(sources)),
                "peak_bytes": facts["peak_bytes"], "on_disk": on_disk,
                "cap_bytes": float(COLLECT_OPTIONS["--collect-max-mb"]) * 1e6,
                "max_per_class": max(facts["per_class"].values()),
                "quota": int(COLLECT_OPTIONS["--collect-class-quota"]),
                "base_wrong_on_random": 1 - accuracy(
                    base, np.stack([cv2.cvtColor(frames[name][i], cv2.COLOR_BGR2GRAY) for i in picked]),
                    truth[picked // FRAMES_PER_IMAGE]),
                "candidates": facts["candidates"], "skipped_early": facts["skipped_early"],
                "queue_dropped": facts["queue_dropped"],
                "offered": facts["offered"], "evicted": facts["evicted"],
                "emit_p50_ms": facts["emit_p50_ms"], "write_p50_ms": facts["write_p50_ms"],
                "reasons": {r: sum(f.reason == r for f in kept) for r in {f.reason for f in kept}}})
            rows.append({"seed": seed, "stream": name, **scores})
            print(f"seed {seed} {name:7s}: base {scores['base']:.2%}, +{len(kept)} collected "
                  f"{scores['collected']:.2%}, +{len(picked)} random {scores['random']:.2%}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            print(f"  collect: {json.dumps(checks[-1])}", flush=True)

    if rows:
        report_selection(rows, checks, list(streams))
    if checks:
        emit, write = (np.median([c[key] for c in checks]) for key in ("emit_p50_ms", "write_p50_ms"))
        print(f"during the experiment's runs: emit median {emit:.4f} ms per frame, writer thread "
              f"{write:.2f} ms per candidate")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from collect_cost import compare  # benchmarks/collect_cost.py: in one process, alternated

    compare("cost: small_cnn (seed 0) on the clean video", work / "seed0" / "base" / "model_float32.tflite",
            videos["clean"], args.fps_repeats, [])
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
