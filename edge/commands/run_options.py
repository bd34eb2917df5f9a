"""`tfedge run`'s options, and the settings they stand for.

Only the standard library (and tfedge.edge.interpreter, itself stdlib-only until called) at
import time: every command's parser is built at start-up, and `tfedge service` checks the
options of the `tfedge run` it installs with this same parser.
"""

from __future__ import annotations

import argparse

from tfedge.edge.commands.serve_options import add_serve_arguments
from tfedge.edge.interpreter import BACKENDS
from tfedge.edge.threads import threads_option

SMOOTHING_CHOICES = ("average", "vote", "none")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that pick the interpreter and where it runs."""
    parser.add_argument("--threads", type=threads_option, default=None,
                        help="interpreter threads: 1 to 64, or auto (the cores left after capture; "
                             "default: the backend's own choice)")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", *BACKENDS],
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
    parser.add_argument("--fullscreen", action="store_true",
                        help="the window fills the screen (kiosks, the 7-inch display); q or Esc stops")
    parser.add_argument("--show-top-k", action="store_true",
                        help="draw the top-k scores as bars in the window")
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
    add_network_arguments(parser)
    add_collect_arguments(parser)


def add_collect_arguments(parser: argparse.ArgumentParser) -> None:
    """`--collect DIR` and its reasons and limits (tfedge.edge.sinks.collect)."""
    group = parser.add_argument_group("collect frames worth labelling")
    group.add_argument("--collect", metavar="DIR", default=None,
                       help="keep frames worth labelling in DIR (full frame, model's view, JSON "
                            "sidecar); review them with `tfedge review DIR`")
    group.add_argument("--collect-margin", type=float, default=0.2, metavar="M",
                       help="keep frames whose top-1 minus top-2 score is below M (0: off; default 0.2)")
    group.add_argument("--collect-no-disagreement", action="store_true",
                       help="do not keep frames whose label flickers away from the stable label")
    group.add_argument("--collect-no-label-change", action="store_true",
                       help="do not keep the frame where the stable label changes")
    group.add_argument("--collect-audit-rate", type=float, default=0.001, metavar="RATE",
                       help="share of confident frames kept at random, to find confident mistakes "
                            "(0: off; default 0.001)")
    group.add_argument("--collect-per-minute", type=int, default=10, metavar="N",
                       help="most frames kept per minute (0: no limit; default 10)")
    group.add_argument("--collect-per-hour", type=int, default=200, metavar="N",
                       help="most frames kept per hour (0: no limit; default 200)")
    group.add_argument("--collect-class-quota", type=int, default=50, metavar="N",
                       help="most frames kept per predicted label (0: no quota; default 50)")
    group.add_argument("--collect-max-frames", type=int, default=0, metavar="N",
                       help="most frames kept in all; then the least informative go (0: no limit)")
    group.add_argument("--collect-max-mb", type=float, default=200.0, metavar="MB",
                       help="storage cap; then the least informative (then oldest) go (default 200)")
    group.add_argument("--collect-duplicate-bits", type=int, default=None, metavar="BITS",
                       help="near-duplicate threshold: image signatures (64-bit dHash of the model's "
                            "view) differing in at most BITS bits (default 4; -1: off)")
    group.add_argument("--collect-spread", action="store_true",
                       help="at a quota, count or cap, drop the most redundant frame (nearest another "
                            "kept one), not the least informative: the kept frames cover more")
    group.add_argument("--collect-audit-share", type=float, default=0.0, metavar="SHARE",
                       help="share of a full quota, count or cap kept for audit frames, a random "
                            "sample of them (0: audit frames go first; default 0)")
    group.add_argument("--collect-seed", type=int, default=None, metavar="SEED",
                       help="seed of the random audit (default: a new one each run)")


def collect_settings(args: argparse.Namespace):
    """The CollectSettings for `--collect`, or None without it (UsageError if bad)."""
    if not getattr(args, "collect", None):
        return None
    from pathlib import Path

    from tfedge.edge.collection_store import DEFAULT_DUPLICATE_BITS, StoreLimits
    from tfedge.edge.sinks.collect import CollectSettings
    from tfedge.errors import UsageError

    bits = DEFAULT_DUPLICATE_BITS if args.collect_duplicate_bits is None else args.collect_duplicate_bits
    try:
        limits = StoreLimits(per_minute=args.collect_per_minute, per_hour=args.collect_per_hour,
                             class_quota=args.collect_class_quota, max_frames=args.collect_max_frames,
                             max_mb=args.collect_max_mb, duplicate_bits=bits,
                             spread=args.collect_spread, audit_share=args.collect_audit_share)
        return CollectSettings(Path(args.collect), margin=args.collect_margin,
                               disagreement=not args.collect_no_disagreement,
                               label_change=not args.collect_no_label_change,
                               audit_rate=args.collect_audit_rate, limits=limits, seed=args.collect_seed)
    except ValueError as error:
        raise UsageError(str(error)) from None


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live view and MQTT")
    add_serve_arguments(group, "a live web view (video, label, events)")
    group.add_argument("--serve-fps", type=float, default=15.0,
                       help="most video frames per second sent to viewers (default 15)")
    group.add_argument("--mqtt", metavar="URL",
                       help="publish label changes and a heartbeat to "
                            "mqtt[s]://[user:pass@]host[:port]/topic")
    group.add_argument("--mqtt-qos", type=int, default=1, choices=[0, 1, 2],
                       help="MQTT QoS (default 1: no label change is lost across reconnects)")
    group.add_argument("--mqtt-retain", action="store_true",
                       help="retain label-change messages on the broker")
    group.add_argument("--mqtt-cafile", metavar="PEM", help="CA certificate of an mqtts:// broker")
    group.add_argument("--mqtt-heartbeat", type=float, default=30.0, metavar="SECONDS",
                       help="seconds between heartbeat messages (default 30)")


def run_settings(args: argparse.Namespace):
    """RunOptions, CameraRequest and TriggerSettings from the arguments (UsageError if bad)."""
    from pathlib import Path

    from tfedge.edge.live.pipeline import RunOptions
    from tfedge.edge.live.smoothing import SmoothingSettings
    from tfedge.edge.live.sources import CameraRequest
    from tfedge.errors import UsageError

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames {args.max_frames} must be 1 or more")
    if args.fullscreen and args.headless:
        raise UsageError("--fullscreen needs a window; leave out --headless")
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
            from tfedge.edge.sinks.triggers import TriggerSettings  # subprocess and fileio: 1.5 MB

            trigger = TriggerSettings(tuple(args.on), args.min_score, args.cooldown, args.exec_command,
                                      Path(args.snapshot_dir) if args.snapshot_dir else None)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return options, request, trigger
