"""`tfedge bench MODEL.tflite`: invoke latency p50/p95 per backend and thread count, and with
`--video` the FPS of the whole pipeline at each thread count."""

from __future__ import annotations

import argparse
import json
import sys

from tfedge.edge.interpreter import BACKENDS  # stdlib only at import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4],
                        help="interpreter thread counts to measure (default: 1 2 4)")
    parser.add_argument("--backends", nargs="+", default=["all"],
                        choices=["all", *BACKENDS],
                        help="backends to measure (default: every one installed)")
    parser.add_argument("--runs", type=int, default=100, help="timed invokes per row (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed invokes first (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object per row instead of a table")
    parser.add_argument("--video", default=None, metavar="FILE",
                        help="also run the whole pipeline (decode, preprocess, invoke) on this video "
                             "at each thread count and show its FPS")
    parser.add_argument("--frames", type=int, default=300,
                        help="frames classified per pipeline row with --video (default 300)")


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.bench import bench_one, format_table, pipeline_fps
    from tfedge.edge.interpreter import available_backends, check_threads, resolve_backend
    from tfedge.edge.model_file import read_model_file
    from tfedge.errors import UsageError

    for threads in args.threads:
        check_threads(threads)
    if not 1 <= args.runs <= 100000 or not 0 <= args.warmup <= 100000:
        raise UsageError("--runs must be 1 to 100000 and --warmup 0 to 100000")
    if not 2 <= args.frames <= 100000:
        raise UsageError("--frames must be 2 to 100000")
    model = read_model_file(args.model)
    if args.video is not None:
        from tfedge.edge.live.sources import make_source

        probe = make_source(args.video)
        probe.open()  # SourceError (exit code 6) before anything is measured
        probe.release()
    backends = available_backends() if "all" in args.backends else [resolve_backend(b) for b in args.backends]
    print(f"tfedge bench: {model.path} ({len(model.content) / 1e6:.2f} MB), "
          f"{', '.join(str(b) for b in backends)}", file=sys.stderr, flush=True)
    rows = []
    for backend in backends:
        for threads in args.threads:
            row = bench_one(model, backend, threads, args.runs, args.warmup)
            if args.video is not None:
                row.pipeline_fps = pipeline_fps(model, backend, threads, args.video, args.frames)
            rows.append(row)
            if args.json:
                print(json.dumps(row.as_dict()), flush=True)
    if not args.json:
        print(format_table(rows))
    return 0
