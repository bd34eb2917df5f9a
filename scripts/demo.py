"""`make demo`: Fashion-MNIST folder -> trained model -> float32 and int8 .tflite -> a video
classified by the edge runtime, ending with the int8 model's frame accuracy on that video."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN_PER_CLASS = 2000
TEST_PER_CLASS = 30


def tfedge(*args: str, capture: bool = False) -> str:
    command = [sys.executable, "-m", "tfedge", *args]
    print("$ tfedge " + " ".join(args), flush=True)
    result = subprocess.run(command, check=False, text=True,
                            stdout=subprocess.PIPE if capture else None)
    if result.returncode != 0:
        sys.exit(f"demo: `tfedge {args[0]}` failed with exit code {result.returncode}")
    return result.stdout or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    out = args.out
    data = out / "fashion-mnist"
    run_dir = out / "runs" / "fashion"
    tfedge("data", "fashion-mnist", str(data), "--limit-per-class", str(TRAIN_PER_CLASS),
           "--overwrite")
    tfedge("train", str(data / "train"), "--out", str(run_dir), "--epochs", str(args.epochs),
           "--overwrite")
    tfedge("convert", str(run_dir), "--quant", "float32", "int8")

    from tfedge.edge.labelled import list_classes

    sys.path.insert(0, str(REPO / "tests"))  # labelled_video: a video whose truth is known, as in the tests
    from labelled_video import read_frame_labels, write_labelled_video

    test_classes = list_classes(data / "test")
    items = [(path, label) for label, paths in sorted(test_classes.items())
             for path in paths[:TEST_PER_CLASS]]
    items.sort(key=lambda item: item[0].name)  # interleave the classes, as a camera would
    video = write_labelled_video(items, out / "test_video.mp4", frames_per_image=3)
    truth = read_frame_labels(video)
    print(f"wrote {video}: {len(truth)} frames of {len(items)} held-out test images")

    lines = tfedge("run", str(run_dir / "model_int8.tflite"), "--source", str(video),
                   "--headless", capture=True).splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    frames = [r for r in records if "frame" in r]
    summary = next(r["summary"] for r in records if "summary" in r)
    correct = sum(r["label"] == truth[r["frame"]] for r in frames)
    print(f"edge run summary: {json.dumps(summary)}")
    print(f"int8 frame accuracy on the video: {correct / len(frames) * 100:.2f}% "
          f"({correct}/{len(frames)} frames)")
    print(f"demo finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
