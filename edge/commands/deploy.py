"""`tfedge deploy MODEL.tflite [USER@]HOST[:PATH]`: copy a model to a device over SSH, check it
there (sha256, the device's own self-test), keep the old one as PATH.previous, swap it in.
`tfedge deploy --rollback [USER@]HOST[:PATH]` puts the previous model back."""

from __future__ import annotations

import argparse
import os
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("tfedge deploy [options] MODEL.tflite [USER@]HOST[:PATH]\n"
                    "       tfedge deploy --rollback [options] [USER@]HOST[:PATH]")
    parser.add_argument("targets", nargs="+", metavar="MODEL_AND_TARGET",
                        help="the model and where it goes (PATH default: model.tflite in the SSH "
                             "user's home); with --rollback only [USER@]HOST[:PATH]")
    parser.add_argument("--rollback", action="store_true",
                        help="put PATH.previous back at PATH (the model the last deploy replaced)")
    parser.add_argument("--wait", metavar="URL",
                        help="the device's web view (tfedge run --serve): wait until its /api/status "
                             "reports the new model")
    parser.add_argument("--token", default=os.environ.get("TFEDGE_TOKEN"),
                        help="the web view's token for --wait (default: $TFEDGE_TOKEN)")
    parser.add_argument("--wait-timeout", type=float, default=60.0,
                        help="seconds --wait waits (default 60)")
    parser.add_argument("--remote-tfedge", default="tfedge", metavar="COMMAND",
                        help="the tfedge command on the device, which runs the self-test "
                             "(default: tfedge on its PATH; e.g. ~/tfedge/bin/tfedge)")
    parser.add_argument("--ssh-config", metavar="FILE",
                        help="an ssh config file instead of ~/.ssh/config (-F)")
    parser.add_argument("--ssh-option", action="append", default=[], metavar="OPTION",
                        help="an ssh -o option, e.g. Port=2222 (repeat for several)")


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.deploy.install import deploy, rollback
    from tfedge.edge.deploy.ssh import SshOptions, parse_target
    from tfedge.edge.deploy.wait import ModelRefused, refusals, status_url, wait_for_model
    from tfedge.edge.model_file import read_model_file
    from tfedge.errors import UsageError

    expected = 1 if args.rollback else 2
    if len(args.targets) != expected:
        raise UsageError("give [USER@]HOST[:PATH] after --rollback" if args.rollback
                         else "give MODEL.tflite and [USER@]HOST[:PATH]")
    if args.wait:
        status_url(args.wait)  # a bad address is refused before anything moves
    target = parse_target(args.targets[-1])
    ssh = SshOptions(config=args.ssh_config, options=tuple(args.ssh_option))
    started = time.perf_counter()
    earlier = refusals(args.wait, None, args.token) if args.wait else []  # older ones are not ours
    if args.rollback:
        outcome = rollback(target, ssh, args.remote_tfedge)
        print(f"rolled back {target.destination}:{target.path} to {outcome.sha256[:12]} "
              f"(the replaced model is now {target.path}.previous)")
    else:
        model = read_model_file(args.targets[0])  # refuses what is not a .tflite before any transfer
        if model.card is None or not model.card.self_test:
            print(f"tfedge deploy: warning: {model.path} carries no self-test (not made by tfedge convert, "
                  "or by an older one): the device only checks that it loads and runs", file=sys.stderr)
        outcome = deploy(model.path, target, ssh, args.remote_tfedge)
        steps = outcome.steps
        report = outcome.self_test
        inside = (f" ({report['ms']:.0f} ms of it the self-test itself)" if report.get("ms") is not None
                  else " (no self-test in the file: loaded and ran once)")
        print(f"deployed {model.path} ({outcome.sha256[:12]}) to {target.destination}:{target.path}: "
              f"transfer {steps.get('transferred', 0):.2f} s, device's tfedge verify --self-test "
              f"{steps.get('self-tested', 0) - steps.get('transferred', 0):.2f} s{inside}, "
              f"installed at {steps.get('installed', 0):.2f} s (the old model is kept as "
              f"{target.path}.previous)")
    if args.wait:
        installed = time.perf_counter() - started
        try:
            seconds = wait_for_model(args.wait, outcome.sha256, args.token, args.wait_timeout,
                                     earlier_refusals=earlier)
        except ModelRefused as error:
            if args.rollback:
                raise
            rollback(target, ssh, args.remote_tfedge)  # the file at PATH is again the one running
            raise ModelRefused(f"{error}; put the model it replaced back at {target.path} (the refused "
                               f"one is {target.path}.previous)") from None
        print(f"running on the device: {status_url(args.wait)} reports {outcome.sha256[:12]} "
              f"{seconds:.2f} s after install ({installed + seconds:.2f} s from the start)")
    return 0
