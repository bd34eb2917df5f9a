"""The options that serve a web page (`--serve`, `--token`, `--insecure`): one place for their
rules, used by `tfedge run`'s live view and `tfedge review`. Standard library only."""

from __future__ import annotations

import os


def add_serve_arguments(parser, page: str, default: str | None = None) -> None:
    """Add --serve, --token and --insecure to `parser` (a parser or an argument group).

    Args:
        page: what is served, for the help texts ("a live web view (video, label, events)").
        default: the [HOST:]PORT served when --serve is not given (None: no page).
    """
    where = f"on 127.0.0.1:{default}" if default else "on 127.0.0.1:PORT"
    parser.add_argument("--serve", metavar="[HOST:]PORT", default=default,
                        help=f"serve {page} {where}, or on HOST (another address needs --token "
                             "or --insecure)")
    parser.add_argument("--token", default=os.environ.get("TFEDGE_TOKEN"),
                        help="secret the page asks for on every request, as ?token= or an "
                             "'Authorization: Bearer' header (default: $TFEDGE_TOKEN)")
    parser.add_argument("--insecure", action="store_true",
                        help="allow --serve on a non-loopback address without a token")
