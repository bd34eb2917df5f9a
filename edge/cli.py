"""`tfedge run`: classify frames from a camera, video file, stream or image folder."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings

from tfedge.edge.sinks import network_cli  # stdlib-only: the web view and MQTT options

SMOOTHING_CHOICES = ("average", "vote", "none")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that pick the interpreter and where it runs."""
    parser.add_argument("--threads", type=int, default=None,
                        help="interpreter threads (1 to 64; default: the backend's own choice)")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", "litert", "tflite-runtime", "tensorflow"],
                        help="interpreter backend (default: the first available, in this order)")
    parser.add_argument("--edgetpu", action="store_true",
                        help="run an _edgetpu.tflite on a Coral Edge TPU (loads libedgetpu)")
    parser.add_argument("--edgetpu-device", default=None, metavar="DEVICE",
                        help="which Edge TPU: usb, pci, usb:0 ... (default: the first found)")
    parser.add_argument("--fallback-cpu", action="store_true",
                        help="when the Edge TPU is missing, run the CPU model beside it instead")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file (its card, or a labels.txt beside it)")
    parser.add_argument("--source", default="0",
                        help="camera index, picamera2[:N], video file, RTSP/HTTP URL or image folder "
                             "(default 0)")
    parser.add_argument("--headless", action="store_true",
                        help="no window: one JSON line per frame and a summary line on stdout")
    add_model_arguments(parser)
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    camera = parser.add_argument_group("camera and source")
    camera.add_argument("--width", type=int, default=None, help="ask the camera for this width")
    camera.add_argument("--height", type=int, default=None, help="ask the camera for this height")
    camera.add_argument("--fps", type=float, default=None, help="ask the camera for this frame rate")
    camera.add_argument("--realtime", action="store_true",
                        help="play a video file at its own frame rate, dropping frames inference "
                             "has no time for (default: every frame, as fast as possible)")
    camera.add_argument("--wait-for-source", action="store_true",
                        help="keep retrying a source that does not open (default: exit code 6)")
    results = parser.add_argument_group("results")
    results.add_argument("--top-k", type=int, default=3, help="(label, score) pairs per result (default 3)")
    results.add_argument("--score-threshold", type=float, default=0.0,
                         help="leave out scores below this; a stable label needs it too (default 0)")
    results.add_argument("--smoothing", choices=SMOOTHING_CHOICES, default="average",
                         help="how the stable label is found: moving average of scores, N-of-M "
                              "vote on top-1 labels, or none (default average)")
    results.add_argument("--window", type=int, default=5, help="M: frames smoothed over (default 5)")
    results.add_argument("--votes", type=int, default=None,
                         help="N for --smoothing vote: frames of the window that must agree "
                              "(default: a majority)")
    triggers = parser.add_argument_group("triggers")
    triggers.add_argument("--on", action="append", default=[], metavar="LABEL",
                          help="fire when the stable label is LABEL (repeat for several labels)")
    triggers.add_argument("--min-score", type=float, default=0.5,
                          help="stable score needed to fire (default 0.5)")
    triggers.add_argument("--cooldown", type=float, default=10.0,
                          help="seconds before the same label fires again (default 10)")
    triggers.add_argument("--exec", dest="exec_command", default=None, metavar="COMMAND",
                          help="shell command to start when it fires (TFEDGE_LABEL, TFEDGE_SCORE, "
                               "TFEDGE_FRAME, TFEDGE_TIMESTAMP, TFEDGE_SNAPSHOT in its environment)")
    triggers.add_argument("--snapshot-dir", default=None, metavar="DIR",
                          help="save the frame as a JPEG in DIR when it fires")
    network_cli.add_arguments(parser)


def _options(args: argparse.Namespace):
    """RunOptions, CameraRequest and TriggerSettings from the arguments (UsageError if bad)."""
    from pathlib import Path

    from tfedge.edge.pipeline import RunOptions
    from tfedge.edge.smoothing import SmoothingSettings
    from tfedge.edge.sources import CameraRequest
    from tfedge.edge.triggers import TriggerSettings
    from tfedge.errors import UsageError

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames {args.max_frames} must be 1 or more")
    if args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k} must be 1 or more")
    try:
        none = args.smoothing == "none"
        smoothing = SmoothingSettings(method="average" if none else args.smoothing,
                                      window=1 if none else args.window, votes=None if none else args.votes,
                                      score_threshold=args.score_threshold)
        options = RunOptions(max_frames=args.max_frames, top_k=args.top_k,
                             score_threshold=args.score_threshold, smoothing=smoothing)
        request = CameraRequest(args.width, args.height, args.fps)
        trigger = None
        if args.on or args.exec_command or args.snapshot_dir:
            trigger = TriggerSettings(tuple(args.on), args.min_score, args.cooldown, args.exec_command,
                                      Path(args.snapshot_dir) if args.snapshot_dir else None)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return options, request, trigger


def load_classifier(args: argparse.Namespace, command: str = "run"):
    """The Classifier for the model options; warnings become one `warning:` line on stderr."""
    from tfedge.edge.classify import open_classifier
    from tfedge.edge.interpreter import check_threads

    check_threads(args.threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classifier = open_classifier(args.model, num_threads=args.threads, backend=args.backend,
                                     edgetpu=args.edgetpu, fallback_cpu=args.fallback_cpu,
                                     device=args.edgetpu_device,
                                     log=lambda message: print(message, file=sys.stderr))
    for warning in caught:
        print(f"tfedge {command}: warning: {warning.message}", file=sys.stderr)
    return classifier


class _StopOnSignal:
    """SIGINT and SIGTERM set `stop`; the run winds down (a second SIGINT aborts at once)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.received: int | None = None
        self._previous = {}

    def _handle(self, number, _frame) -> None:
        if self.stop.is_set() and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = number
        self.stop.set()

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *_exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.capture import Capture, open_with_retry
    from tfedge.edge.pipeline import run_pipeline
    from tfedge.edge.sinks.jsonlines import JsonLinesSink
    from tfedge.edge.sinks.overlay import OverlaySink, display_available
    from tfedge.edge.sources import make_source
    from tfedge.edge.triggers import TriggerSink
    from tfedge.errors import EXIT_INTERRUPTED, UsageError

    options, request, trigger = _options(args)
    classifier = load_classifier(args)
    unknown = [label for label in args.on if label not in classifier.labels]
    if unknown:
        more = " ..." if len(classifier.labels) > 20 else ""
        raise UsageError(f"--on {unknown[0]!r} is not a label of this model; its labels are: "
                         + ", ".join(classifier.labels[:20]) + more)
    threads = "default" if args.threads is None else args.threads
    print(f"tfedge run: {classifier.model.path} on {classifier.backend} (threads: {threads})",
          file=sys.stderr, flush=True)
    source = make_source(args.source, request)
    with _StopOnSignal() as signals:
        if not open_with_retry(source, signals.stop, args.wait_for_source):
            print("tfedge run: stopped before the source opened", file=sys.stderr)
            return EXIT_INTERRUPTED if signals.received == signal.SIGINT else 0
        description = source.describe()
        print(f"tfedge run: source {json.dumps(description)}", file=sys.stderr, flush=True)
        headless = args.headless or not display_available()
        if not args.headless and headless:
            print("tfedge run: no display available; running headless (JSON lines)", file=sys.stderr)
        sinks = [JsonLinesSink()] if headless else [OverlaySink()]
        if trigger is not None:
            sinks.append(TriggerSink(trigger))
        sinks += network_cli.build_sinks(args)
        info = {"model": str(classifier.model.path), "backend": str(classifier.backend),
                "labels": list(classifier.labels), "source": description}
        capture = Capture(source, prepare=classifier.prepare, realtime=args.realtime).start()
        summary = run_pipeline(classifier, capture, sinks, options, stop=signals.stop, info=info)
    if not headless:
        print(f"tfedge run: summary {json.dumps(summary)}", file=sys.stderr)
    if signals.received is not None:
        name = signal.Signals(signals.received).name
        print(f"tfedge run: stopped by {name}", file=sys.stderr)
        return EXIT_INTERRUPTED if signals.received == signal.SIGINT else 0
    return 0
