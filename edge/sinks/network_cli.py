"""`tfedge run` options for the web live view and MQTT, and the sinks they ask for.

Only the standard library at import time: `tfedge.edge.cli` imports this to build its parser.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live view and MQTT")
    group.add_argument("--serve", metavar="[HOST:]PORT",
                       help="serve a live web view (video, label, events) on 127.0.0.1:PORT, "
                            "or on HOST (another address needs --token or --insecure)")
    group.add_argument("--token", default=os.environ.get("TFEDGE_TOKEN"),
                       help="secret the web view asks for on every request, as ?token= or an "
                            "'Authorization: Bearer' header (default: $TFEDGE_TOKEN)")
    group.add_argument("--insecure", action="store_true",
                       help="allow --serve on a non-loopback address without a token")
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


def build_sinks(args: argparse.Namespace) -> list:
    """The web and MQTT sinks `args` ask for; every option is checked before anything starts."""
    from tfedge.edge.sinks.web import check_exposure, parse_serve_address
    from tfedge.errors import UsageError

    info = {"model": str(args.model)}
    address = None
    if args.serve is not None:
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
                                 max_fps=args.serve_fps, info=info))
        except Exception:
            for sink in sinks:
                sink.close({})
            raise
    return sinks
