"""Peak RSS of `tfedge run` classifying a video with MobileNetV2 1.0 224 int8. Goal < 150 MB.

The peak is the process's own high-water mark (ru_maxrss from wait4), so nothing is missed
between samples. The same run with 1 and 4 interpreter threads is shown side by side.

    .venv/bin/python benchmarks/edge_memory.py
"""

from __future__ import annotations

from edge_common import machine_note, tfedge_run
from edge_models import mobilenet_v2_int8, textured_video


def main() -> None:
    model = mobilenet_v2_int8(1.0, 224)
    video = textured_video(640, 480, frames=300)
    print(f"model {model.name} ({model.stat().st_size / 1e6:.1f} MB), video {video.name}")
    for threads in ("1", "4"):
        summary = tfedge_run(model, video, "--threads", threads, "--max-frames", "150")
        print(f"PEAK_RSS threads {threads}: {summary['peak_rss_mb']} MB over {summary['frames']} frames "
              f"({summary['fps']} FPS)  (goal < 150 MB)")
    print(machine_note())


if __name__ == "__main__":
    main()
