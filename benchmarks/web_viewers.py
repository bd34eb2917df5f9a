"""What the web live view costs the classifier: inference FPS with 0 vs 20 stream viewers, and RSS
over a long run with viewers connecting and leaving.

    python benchmarks/web_viewers.py --model MODEL.tflite [--source VIDEO] [--viewers 20]
        [--phase-seconds 20] [--rounds 3] [--soak-seconds 600] [--threads N]

Part 1 runs one pipeline (a looping video through `run_pipeline` with the web sink) and
alternates phases without viewers and with `--viewers` viewers reading /stream.mjpg, so both
sides are measured in the same run under the same machine load; the ratio is mean FPS with
viewers / mean FPS without. Part 2 keeps the same pipeline running for `--soak-seconds` while
viewers connect and leave every half second, and prints the process RSS along the way.

The viewers run in a separate process (one thread, non-blocking sockets), like browsers on other
machines would; on a single machine they still share its CPU. Without `--source`, a 640x480
MP4 of Fashion-MNIST test images (Debian's dataset-fashion-mnist) is written to a temp folder.
Any .tflite works as `--model`; an image-sized one shows a device's load: `--make-model PATH`
writes an untrained MobileNetV2 1.0 224 float32 (needs TensorFlow, on a desktop) and uses it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from tfedge.edge.classify import Classifier
from tfedge.edge.live.capture import Capture
from tfedge.edge.live.pipeline import run_pipeline
from tfedge.edge.live.sources import make_source
from tfedge.edge.sinks.web import WebSink


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def process_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def web_threads_cpu_seconds() -> float:
    """CPU time of the live view's threads now alive: the JPEG encoder, the server, its viewers."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith("tfedge-web") or "process_request" in thread.name:
            try:
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
            except OSError:
                continue  # the thread ended meanwhile
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def make_mobilenet_v2(path: Path) -> str:
    """An untrained MobileNetV2 1.0 224 (10 classes) as float32 .tflite, with a labels.txt beside it."""
    import tensorflow as tf  # only to make the benchmark's model; the run itself never uses it

    model = tf.keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    (path.parent / "labels.txt").write_text("".join(f"class{i}\n" for i in range(10)))
    return str(path)


def write_default_video(path: Path, frames: int = 90) -> Path:
    from tfedge.train.fashion_mnist import load_split

    images, _ = load_split("test")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for image in images[:frames]:
        tile = cv2.resize(image, (448, 448), interpolation=cv2.INTER_NEAREST)
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[16:464, 96:544] = tile[:, :, None]
        writer.write(frame)
    writer.release()
    return path


class LoopingVideo:
    """A video file read over and over (reopened at its end), so a run can last as long as needed."""

    live = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.source = self._opened()

    def _opened(self):
        source = make_source(self.path)
        source.open()
        return source

    def read(self):
        ok, frame = self.source.read()
        if not ok:
            capture = getattr(self.source, "capture", None)
            if capture is not None and capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                ok, frame = self.source.read()
            if not ok:
                self.source.release()
                self.source = self._opened()
                ok, frame = self.source.read()
        return ok, frame

    def release(self) -> None:
        self.source.release()

    def describe(self) -> dict:
        return self.source.describe()


class FrameClock:
    """A sink that counts classified frames (keeping nothing per frame) and stops the run on request."""

    def __init__(self) -> None:
        self.frames = 0
        self.stop_requested = False

    def emit(self, result: dict, frame=None) -> None:
        self.frames += 1

    def close(self, summary: dict) -> None:
        pass


def viewer_process(port: int, count, stop, churn: bool, report) -> None:
    """Keeps `count.value` viewers on the stream; with `churn`, one leaves and one joins every 0.5 s."""
    os.nice(19)  # stands in for browsers on other machines: take only CPU the device leaves idle
    selector = selectors.DefaultSelector()
    received = {"bytes": 0, "frames": 0, "connections": 0}
    buffer = bytearray(1 << 16)

    def join():
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ)
        received["connections"] += 1

    def leave(connection):
        selector.unregister(connection)
        connection.close()

    next_churn = time.monotonic() + 0.5
    while not stop.is_set():
        connections = [key.fileobj for key in selector.get_map().values()]
        while len(connections) < count.value:
            join()
            connections = [key.fileobj for key in selector.get_map().values()]
        for extra in connections[count.value:]:
            leave(extra)
        if churn and connections and time.monotonic() > next_churn:
            leave(random.choice(connections))
            next_churn = time.monotonic() + 0.5
        for key, _ in selector.select(timeout=0.1):
            try:
                size = key.fileobj.recv_into(buffer)
            except BlockingIOError:
                continue
            except OSError:
                size = 0
            if not size:
                leave(key.fileobj)
                continue
            received["bytes"] += size
            received["frames"] += bytes(buffer[:size]).count(b"--tfedgeframe")
    for key in list(selector.get_map().values()):
        leave(key.fileobj)
    report.put(received)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .tflite model")
    parser.add_argument("--make-model", metavar="PATH",
                        help="write an untrained MobileNetV2 224 float32 .tflite here and use it")
    parser.add_argument("--source", help="a video file (default: a 640x480 Fashion-MNIST video)")
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--phase-seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="pairs of phases (0 viewers, N viewers); 0 skips the FPS part")
    parser.add_argument("--warmup-seconds", type=float, default=3.0,
                        help="ignored at the start of each phase while viewers join or leave")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="RSS part; 0 skips it")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    parser.add_argument("--serve-fps", type=float, default=15.0)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    if args.make_model:
        args.model = make_mobilenet_v2(Path(args.make_model))
    if not args.model:
        parser.error("give --model MODEL.tflite or --make-model PATH")

    temp = tempfile.TemporaryDirectory()
    source_path = args.source or str(write_default_video(Path(temp.name) / "bench.mp4"))
    classifier = Classifier(args.model, num_threads=args.threads)
    web = WebSink(port=0, max_fps=args.serve_fps, log=lambda _: None)
    clock = FrameClock()
    capture = Capture(LoopingVideo(source_path)).start()
    pipeline = threading.Thread(target=run_pipeline, args=(classifier, capture, [web, clock]), daemon=True)
    context = multiprocessing.get_context("spawn")
    pipeline.start()
    print(f"model {args.model} ({classifier.backend}), source {source_path}, "
          f"{args.viewers} viewers, stream capped at {args.serve_fps:g} fps, CPUs {cpu_count()}")
    if args.rounds > 0:
        compare_fps(args, web, clock, context)
    if args.soak_seconds > 0:
        soak(args, web, clock, context)
    clock.stop_requested = True
    pipeline.join(60)
    temp.cleanup()
    return 0


def compare_fps(args, web: WebSink, clock: FrameClock, context) -> None:
    count, stop, report = context.Value("i", 0), context.Event(), context.Queue()
    viewers = context.Process(target=viewer_process, args=(web.port, count, stop, False, report),
                              daemon=True)
    viewers.start()
    fps = {0: [], args.viewers: []}
    for round_number in range(args.rounds):
        for watching in (0, args.viewers):
            count.value = watching
            time.sleep(args.warmup_seconds)
            start, encoded, frames = time.perf_counter(), web.publisher.encoded, clock.frames
            cpu, web_cpu = process_cpu_seconds(), web_threads_cpu_seconds()
            time.sleep(args.phase_seconds)
            end = time.perf_counter()
            cpu, web_cpu = process_cpu_seconds() - cpu, web_threads_cpu_seconds() - web_cpu
            fps[watching].append((clock.frames - frames) / (end - start))
            print(f"round {round_number + 1}: {watching:2d} viewers  {fps[watching][-1]:6.2f} inference FPS  "
                  f"{(web.publisher.encoded - encoded) / (end - start):5.2f} JPEG/s  "
                  f"process CPU {100 * cpu / (end - start):4.0f}%  live-view threads "
                  f"{100 * web_cpu / (end - start):4.1f}% of a core  ({web.publisher.viewers} connected)")
    without, with_viewers = statistics.mean(fps[0]), statistics.mean(fps[args.viewers])
    # each phase with viewers against the mean of the phases without just before and after it
    paired = [fps[args.viewers][i] / statistics.mean(fps[0][i:i + 2]) for i in range(args.rounds)]
    drop = 100 * (1 - with_viewers / without)
    print(f"mean FPS: 0 viewers {without:.2f}, {args.viewers} viewers {with_viewers:.2f}; "
          f"ratio {with_viewers / without:.3f} (drop {drop:.1f}%, goal <= 5%); "
          f"median of per-round ratios {statistics.median(paired):.3f}")
    stop.set()
    viewers.join(30)
    received = report.get(timeout=30)
    print(f"viewers received {received['frames']} frames, {received['bytes'] / 1e6:.1f} MB "
          f"over {received['connections']} connections")


def soak(args, web: WebSink, clock: FrameClock, context) -> None:
    count, stop, report = context.Value("i", args.viewers), context.Event(), context.Queue()
    viewers = context.Process(target=viewer_process, args=(web.port, count, stop, True, report),
                              daemon=True)
    viewers.start()
    start = time.monotonic()
    interval = max(args.soak_seconds / 10, 1.0)
    print(f"RSS soak: {args.soak_seconds:g} s, {args.viewers} viewers, one leaves and one joins every 0.5 s")
    samples = [(0.0, rss_mb(), clock.frames)]
    print(f"  t={0:6.0f} s  RSS {samples[0][1]:7.1f} MB  frames {samples[0][2]}")
    while time.monotonic() - start < args.soak_seconds:
        time.sleep(min(interval, args.soak_seconds - (time.monotonic() - start)))
        samples.append((time.monotonic() - start, rss_mb(), clock.frames))
        print(f"  t={samples[-1][0]:6.0f} s  RSS {samples[-1][1]:7.1f} MB  frames {samples[-1][2]}  "
              f"viewers now {web.publisher.viewers}")
    stop.set()
    viewers.join(30)
    churn = report.get(timeout=30)
    half = samples[len(samples) // 2][1]
    print(f"RSS start {samples[0][1]:.1f} MB, middle {half:.1f} MB, end {samples[-1][1]:.1f} MB "
          f"(end - middle {samples[-1][1] - half:+.1f} MB); {churn['connections']} viewer connections, "
          f"{churn['frames']} frames received")


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
