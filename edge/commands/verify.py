"""`tfedge verify MODEL.tflite DATA_DIR`: accuracy, per class and confused, on labelled images.

`tfedge verify --self-test MODEL.tflite` runs only the self-test the file carries (no images):
exit 0 when it passed (or the file has none: said on stderr), 4 for a file that is not a usable
model, 7 when this interpreter does not give the scores the desktop gave.
"""

from __future__ import annotations

import argparse
import json

from tfedge.edge.interpreter import BACKENDS  # stdlib only at import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file (its card, or a labels.txt beside it)")
    parser.add_argument("data_dir", nargs="?", help="folder with one subfolder of images per class, named as "
                                         "the model's labels")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", *BACKENDS],
                        help="interpreter backend (default: the first available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--self-test", action="store_true",
                        help="run only the self-test the file carries (no DATA_DIR): exit 0 passed, "
                             "4 not a usable model, 7 failed")


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.classify import Classifier
    from tfedge.edge.evaluation import format_report, verify
    from tfedge.errors import UsageError

    if args.self_test:
        if args.data_dir is not None:
            raise UsageError("--self-test takes no DATA_DIR; run the two checks separately")
        return run_self_test_only(args)
    if args.data_dir is None:
        raise UsageError("give DATA_DIR (a folder with one subfolder of images per label), or --self-test")

    evaluation = verify(Classifier(args.model, num_threads=args.threads, backend=args.backend),
                        args.data_dir)
    if args.json:
        print(json.dumps({
            "accuracy": evaluation.accuracy, "images": int(len(evaluation.true)),
            "per_class_accuracy": evaluation.per_class_accuracy(),
            "confusion": evaluation.confusion().tolist(), "labels": evaluation.labels,
            "mean_inference_ms": evaluation.mean_inference_ms, "skipped": evaluation.skipped,
        }))
    else:
        print(format_report(evaluation))
    return 0


def run_self_test_only(args: argparse.Namespace) -> int:
    """`--self-test`: one line (or JSON object) saying what the self-test found."""
    import hashlib
    import sys

    from tfedge.edge.classify import Classifier
    from tfedge.edge.self_test import check_self_test, self_test_frames

    classifier = Classifier(args.model, num_threads=args.threads, backend=args.backend)
    result = check_self_test(classifier)
    sha256 = hashlib.sha256(classifier.model.content).hexdigest()
    if result is None:
        classifier.classify(self_test_frames(0, 1, classifier.card.input_size)[0])  # it loads and runs
        print(f"tfedge verify: warning: {args.model} carries no self-test (not made by tfedge convert, "
              "or by an older one); it loads and runs, its scores are unchecked", file=sys.stderr)
        report = {"self_test": None, "sha256": sha256}
    else:
        report = {"self_test": "passed", "inputs": result.frames, "sha256": sha256,
                  "max_difference": round(result.max_difference, 6), "tolerance": round(result.tolerance, 6),
                  "ms": round(result.milliseconds, 3)}
    if args.json:
        print(json.dumps(report))
    elif result is not None:
        print(f"self-test passed: {result.frames} inputs, largest score difference "
              f"{result.max_difference:.4f} (tolerance {result.tolerance:.4f}), {result.milliseconds:.1f} ms")
    return 0
