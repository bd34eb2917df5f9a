"""How long `tfedge review` takes to open a collect folder and to save one decision.

Usage: python benchmarks/review_session.py [--frames 2000] [--size 640x480]

Writes a collect folder of textured JPEG frames (as `tfedge run --collect` keeps them) in a temp
folder, then prints: the time to open it (every sidecar read, every JPEG checked), and the time
per decision over real HTTP (POST /api/decide: the image copied into OUT/<class>/, the log
rewritten and renamed), early in the review and with every frame decided (the log at its
longest). No goal and no baseline: these are figures to know, not a target to meet.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.collection import CollectedFrame, frame_files
from tfedge.edge.review.server import ReviewServer
from tfedge.edge.review.session import ReviewSession

LABELS = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat"]


def write_collection(folder: Path, count: int, width: int, height: int) -> None:
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (height // 8, width // 8, 3), np.uint8), (width, height))
    for index in range(count):
        frame = np.roll(base, index * 7, axis=1)
        label = LABELS[index % len(LABELS)]
        item = CollectedFrame(
            id=f"{1700000000000 + index * 40}-{index}", timestamp=1700000000 + index / 25,
            frame=index, label=label, score=0.5, top_k=[[label, 0.5], [LABELS[0], 0.3]], margin=0.2,
            stable_label=label, model_sha256="0" * 64, labels=LABELS, reason="low_margin",
            informativeness=float(rng.random()))
        full, view, sidecar = frame_files(folder, item.id)
        full.write_bytes(cv2.imencode(".jpg", frame)[1].tobytes())
        view.write_bytes(cv2.imencode(".jpg", cv2.resize(frame, (96, 96)))[1].tobytes())
        sidecar.write_text(item.to_json())


def post(port: int, path: str, body: dict) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer["state"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as temp:
        collect, out = Path(temp) / "collect", Path(temp) / "out"
        collect.mkdir()
        write_collection(collect, args.frames, width, height)
        start = time.perf_counter()
        session = ReviewSession(collect, out, "bench")
        opened = time.perf_counter() - start
        server = ReviewServer(session, port=0, log=lambda _: None)
        try:
            state, times = session.snapshot(), []
            for index in range(args.frames):
                start = time.perf_counter()
                current = state["current"]
                state = post(server.port, "/api/decide",
                             {"id": current["id"], "action": "label" if index % 4 else "skip",
                              "label": LABELS[index % len(LABELS)]})
                times.append((time.perf_counter() - start) * 1000)
        finally:
            server.close()
            session.close()
        log_kb = (out / "decisions.jsonl").stat().st_size / 1024
    tenth = max(1, args.frames // 10)
    print(f"{args.frames} frames of {width}x{height}: opened in {opened:.2f} s "
          f"({opened / args.frames * 1000:.2f} ms per frame)")
    for name, part in (("first 10%", times[:tenth]), ("last 10%", times[-tenth:])):
        print(f"decision over HTTP, {name}: median {statistics.median(part):.1f} ms, "
              f"p95 {np.percentile(part, 95):.1f} ms")
    print(f"log at the end: {log_kb:.0f} KiB")


if __name__ == "__main__":
    main()
