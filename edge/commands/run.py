"""`tfedge run`: classify frames from a camera, video file, stream or image folder."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings

from tfedge.edge.commands.run_options import add_arguments, collect_settings, run_settings
from tfedge.errors import ExitCode

__all__ = ["add_arguments", "run"]  # add_arguments: run_options', stdlib only


def load_classifier(args: argparse.Namespace, cores):
    """The Classifier for the model options, its interpreter's threads on the interpreter's cores
    (`cores`: a tfedge.edge.cores.CorePlan); warnings become one `warning:` line on stderr."""
    from tfedge.edge.classify import open_classifier

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classifier = cores.interpreter(lambda: open_classifier(
            args.model, num_threads=args.threads, backend=args.backend, edgetpu=args.edgetpu,
            fallback_cpu=args.fallback_cpu, device=args.edgetpu_device,
            log=lambda message: print(message, file=sys.stderr)))
    for warning in caught:
        print(f"tfedge run: warning: {warning.message}", file=sys.stderr)
    return classifier


class _StopOnSignal:
    """SIGINT and SIGTERM set `stop`; the run winds down (a second SIGINT aborts at once).
    SIGHUP (`systemctl reload`) calls the function given to `on_reload` (the hot swap's)."""

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

    def on_reload(self, reload) -> None:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
            self._previous.setdefault(signal.SIGHUP, signal.signal(signal.SIGHUP, lambda *_: reload()))

    def __exit__(self, *_exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _exit_code(received_signal: int | None) -> ExitCode:
    """SIGINT (Ctrl-C) is an interruption; SIGTERM (systemd stopping the service) a clean stop."""
    return ExitCode.INTERRUPTED if received_signal == signal.SIGINT else ExitCode.OK


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.cores import CorePlan, core_split
    from tfedge.edge.heap import limit_arenas
    from tfedge.edge.interpreter import check_threads
    from tfedge.edge.threads import limit_opencv_threads, resolve_threads

    settings = run_settings(args)
    collect_settings(args)  # bad --collect options end the run before anything starts
    check_opencv(args.headless)
    args.threads = check_threads(resolve_threads(args.threads))
    limit_opencv_threads()
    limit_arenas()
    with CorePlan(core_split(args.threads)) as cores:  # this thread's cores as they were after
        return _run(args, cores, *settings)


def _run(args: argparse.Namespace, cores, options, request, trigger) -> int:
    from functools import partial

    from tfedge.edge.live.capture import Capture, open_with_retry
    from tfedge.edge.live.hot_swap import HotSwap
    from tfedge.edge.live.pipeline import run_pipeline
    from tfedge.edge.live.sources import make_source
    from tfedge.edge.preprocess import model_size
    from tfedge.edge.sinks import frames_needed
    from tfedge.edge.sinks.jsonlines import JsonLinesSink
    from tfedge.edge.sinks.overlay import OverlaySink
    from tfedge.edge.threads import decode_threads
    from tfedge.errors import UsageError

    classifier = load_classifier(args, cores)
    unknown = [label for label in args.on if label not in classifier.labels]
    if unknown:
        more = " ..." if len(classifier.labels) > 20 else ""
        raise UsageError(f"--on {unknown[0]!r} is not a label of this model; its labels are: "
                         + ", ".join(classifier.labels[:20]) + more)
    threads = "default" if args.threads is None else args.threads
    placed = cores.describe()
    print(f"tfedge run: {classifier.model.path} on {classifier.backend} (threads: {threads}"
          f"{'; ' + placed if placed else ''})",
          file=sys.stderr, flush=True)
    source = make_source(args.source, request, at_least=model_size(classifier.card),
                         decode_threads=decode_threads(args.threads))
    with _StopOnSignal() as signals:
        if not open_with_retry(source, signals.stop, args.wait_for_source):
            print("tfedge run: stopped before the source opened", file=sys.stderr)
            return _exit_code(signals.received)
        description = source.describe()
        print(f"tfedge run: source {json.dumps(description)}", file=sys.stderr, flush=True)
        window = None if args.headless else open_window(args.fullscreen, args.show_top_k)
        headless = window is None
        sinks = [JsonLinesSink()] if headless else [OverlaySink(window, fallback_factory=JsonLinesSink)]
        if trigger is not None:
            from tfedge.edge.sinks.triggers import TriggerSink  # only here: subprocess is 0.5 MB

            sinks.append(TriggerSink(trigger))
        collect = build_collect_sink(args, classifier)
        sinks += [collect] if collect else []
        sinks += build_network_sinks(args, collect)
        info = {"model": str(classifier.model.path), "backend": str(classifier.backend),
                "labels": list(classifier.labels), "source": description}
        models = HotSwap(classifier, args.model, lambda _path: load_classifier(args, cores), args.on)
        info["model_sha256"] = models.sha256
        capture = Capture(source, prepare=models.prepare, realtime=args.realtime,
                          keep_images=partial(frames_needed, sinks)).start()
        signals.on_reload(models.request_reload)
        models.start()
        try:
            summary = run_pipeline(classifier, capture, sinks, options, stop=signals.stop, info=info,
                                   models=models, cores=cores)
        finally:
            models.stop()
    if not headless:
        print(f"tfedge run: summary {json.dumps(summary)}", file=sys.stderr)
    if signals.received is not None:
        name = signal.Signals(signals.received).name
        print(f"tfedge run: stopped by {name}", file=sys.stderr)
        return _exit_code(signals.received)
    return ExitCode.OK


def check_opencv(headless: bool) -> None:
    """Refuse (exit 8) an environment holding two OpenCV builds when a window may open; a warning
    line with --headless (the frames and results need only the cv2 module that is there)."""
    from tfedge.edge.opencv_builds import opencv_conflict
    from tfedge.errors import DependencyError

    conflict = opencv_conflict()
    if conflict and not headless:
        raise DependencyError(conflict)
    if conflict:
        print(f"tfedge run: warning: {conflict}", file=sys.stderr)


def open_window(fullscreen: bool, show_top_k: bool):
    """The started WindowProcess, or None (said on stderr) where no window can open."""
    from tfedge.edge.opencv_builds import installed_opencv, opencv_repair
    from tfedge.edge.sinks.window import WindowProcess, display_available

    if not display_available():
        print("tfedge run: no display available; running headless (JSON lines)", file=sys.stderr)
        return None
    window = WindowProcess(fullscreen=fullscreen, show_top_k=show_top_k)
    why = window.open()
    if why is None:
        return window
    if installed_opencv() == ["opencv-python-headless"]:
        why = ("this OpenCV has no GUI (opencv-python-headless); for a window: "
               f"{opencv_repair(['opencv-python-headless'])}")
    print(f"tfedge run: cannot open a window ({why}); running headless (JSON lines)", file=sys.stderr)
    window.close()
    return None


def build_collect_sink(args: argparse.Namespace, classifier):
    """The --collect sink, or None without --collect."""
    settings = collect_settings(args)
    if settings is None:
        return None
    from tfedge.edge.sinks.collect import CollectSink

    return CollectSink(settings, classifier.card)


def build_network_sinks(args: argparse.Namespace, collection=None) -> list:
    """The web and MQTT sinks `args` ask for; every option is checked before anything starts.

    `collection`: the --collect sink, whose kept frames the web page shows."""
    from tfedge.errors import UsageError

    info = {"model": str(args.model)}
    address = None
    if args.serve is not None:
        # only here: the web view's imports (http.server, hmac: OpenSSL) cost about 9 MB of RSS
        from tfedge.edge.sinks.web import check_exposure, parse_serve_address

        address = parse_serve_address(args.serve)
        check_exposure(address[0], args.token, args.insecure)
    elif args.insecure:
        raise UsageError("--insecure applies to the web view; add --serve [HOST:]PORT")
    sinks = []
    if args.mqtt:
        from tfedge.edge.sinks.mqtt import MqttSink

        sinks.append(MqttSink(args.mqtt, qos=args.mqtt_qos, retain=args.mqtt_retain,
                              cafile=args.mqtt_cafile, heartbeat_s=args.mqtt_heartbeat, info=info))
    if address is not None:
        from tfedge.edge.sinks.web import WebSink

        try:
            sinks.append(WebSink(address[0], address[1], token=args.token, insecure=args.insecure,
                                 max_fps=args.serve_fps, info=info, collection=collection))
        except Exception:
            for sink in sinks:
                sink.close({})
            raise
    return sinks
