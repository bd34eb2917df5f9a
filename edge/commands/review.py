"""`tfedge review DIR --out OUT`: label collected frames in a local web page."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading

from tfedge.edge.commands.serve_options import add_serve_arguments
from tfedge.errors import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="the folder `tfedge run --collect DIR` wrote")
    parser.add_argument("--out", required=True, metavar="OUT",
                        help="where the reviewed frames go (OUT/<class>/<id>.jpg, the training "
                             "format) with OUT/decisions.jsonl; an earlier review's OUT resumes it")
    parser.add_argument("--reviewer", default=None,
                        help="name written with each decision (default: your OS user name)")
    add_serve_arguments(parser, "the review page", default="8081")


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "unknown"


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.review.session import ReviewSession
    from tfedge.edge.sinks.web import check_exposure, parse_serve_address

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    host, port = parse_serve_address(args.serve)
    check_exposure(host, args.token, args.insecure)
    with ReviewSession(args.folder, args.out, args.reviewer or default_reviewer()) as session:
        for problem in session.problems:
            say(f"tfedge review: skipped damaged {problem}")
        for repair in session.repairs:
            say(f"tfedge review: {repair}")
        return _serve(session, host, port, args, say)


def _serve(session, host: str, port: int, args: argparse.Namespace, say) -> int:
    from tfedge.edge.review.server import ReviewServer

    server = ReviewServer(session, host, port, token=args.token, insecure=args.insecure, log=say)
    shown = f"[{host}]" if ":" in host else host
    state = session.snapshot()
    say(f"tfedge review: {state['total']} frames, {state['remaining']} to decide"
        + (f" (resumed {session.resumed} log entries)" if session.resumed else "")
        + f"; open http://{shown}:{server.port}/" + ("?token=YOUR_TOKEN" if args.token else "")
        + " — every decision is saved at once; Ctrl-C here stops")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    code = ExitCode.OK
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
        say(f"tfedge review: {session.summary()}")
    return code
