"""Soak: classify 20,000 frames through the real run loop and print RSS at the start and end.

The frames come from a real MP4 (decoded by OpenCV in the capture thread), the model is a
MobileNetV2 0.35 96 int8 (built once by benchmarks/edge_models.py in a separate process; that
needs TensorFlow the first time), and results go through the JSON lines sink to /dev/null.
RSS is read from /proc at the first frame after warm-up (frame 500) and every 5,000 frames.

    .venv/bin/python scripts/soak.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from edge_models import mobilenet_v2_int8, textured_video  # noqa: E402

from tfedge.edge.classify import Classifier  # noqa: E402
from tfedge.edge.live.capture import Capture  # noqa: E402
from tfedge.edge.live.pipeline import RunOptions, run_pipeline  # noqa: E402
from tfedge.edge.live.sources import VideoFileSource  # noqa: E402
from tfedge.edge.sinks.jsonlines import JsonLinesSink  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssProbe:
    """A sink that notes RSS at chosen frames (reading /proc is quick)."""

    def __init__(self, warmup: int, every: int) -> None:
        self.warmup, self.every, self.samples = warmup, every, []

    def emit(self, result: dict, frame) -> None:
        n = result["stats"]["frames"]
        if n == self.warmup or n % self.every == 0:
            self.samples.append((n, rss_mb()))
            print(f"frame {n:>6}: RSS {self.samples[-1][1]:.1f} MB", flush=True)

    def close(self, summary: dict) -> None:
        self.samples.append((summary["frames"], rss_mb()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    model = mobilenet_v2_int8(0.35, 96)  # built (once) in another process: no TensorFlow in this one
    assert "tensorflow" not in sys.modules
    video = textured_video(320, 240, frames=args.frames)
    print(f"RSS before loading the model: {rss_mb():.1f} MB")
    classifier = Classifier(model, num_threads=1)
    source = VideoFileSource(video)
    source.open()
    probe = RssProbe(warmup=500, every=5000)
    with open(os.devnull, "w") as devnull:
        summary = run_pipeline(classifier, Capture(source, prepare=classifier.prepare).start(),
                               [JsonLinesSink(devnull), probe], RunOptions())
    start, end = probe.samples[0][1], probe.samples[-1][1]
    print(f"SOAK {summary['frames']} frames at {summary['fps']} FPS: RSS {start:.1f} MB at frame "
          f"{probe.samples[0][0]}, {end:.1f} MB at the end ({end - start:+.1f} MB)")


if __name__ == "__main__":
    main()
