"""`tfedge run`: classify frames from a camera, video file, stream or image folder."""

from __future__ import annotations

import argparse
import sys

from tfedge.edge.sinks import network_cli  # the web view and MQTT options (issue 6)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file (its card, or a labels.txt beside it)")
    parser.add_argument("--source", default="0",
                        help="camera index, video file, RTSP/HTTP URL or image folder (default 0)")
    parser.add_argument("--headless", action="store_true",
                        help="no window: one JSON line per frame and a summary line on stdout")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", "litert", "tflite-runtime", "tensorflow"],
                        help="interpreter backend (default: the first available, in this order)")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    network_cli.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.classify import Classifier
    from tfedge.edge.pipeline import run_pipeline
    from tfedge.edge.sinks.jsonlines import JsonLinesSink
    from tfedge.edge.sinks.overlay import OverlaySink, display_available
    from tfedge.edge.sources import open_source
    from tfedge.errors import UsageError

    if args.threads is not None and not 1 <= args.threads <= 64:
        raise UsageError(f"--threads {args.threads} is out of range; use 1 to 64")
    classifier = Classifier(args.model, num_threads=args.threads, backend=args.backend)
    print(f"tfedge run: {args.model} on {classifier.backend}", file=sys.stderr)
    source = open_source(args.source)
    headless = args.headless or not display_available()
    if not args.headless and headless:
        print("tfedge run: no display available; running headless (JSON lines)", file=sys.stderr)
    sinks = [JsonLinesSink()] if headless else [OverlaySink()]
    sinks += network_cli.build_sinks(args)
    summary = run_pipeline(classifier, source, sinks, max_frames=args.max_frames)
    if not headless:
        print(summary, file=sys.stderr)
    return 0
