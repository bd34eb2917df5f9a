"""`tfedge verify MODEL.tflite DATA_DIR`: accuracy, per class and confused, on labelled images."""

from __future__ import annotations

import argparse
import json

from tfedge.edge.interpreter import BACKENDS  # stdlib only at import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .tflite file (its card, or a labels.txt beside it)")
    parser.add_argument("data_dir", help="folder with one subfolder of images per class, named as "
                                         "the model's labels")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    parser.add_argument("--backend", default="auto",
                        choices=["auto", *BACKENDS],
                        help="interpreter backend (default: the first available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    from tfedge.edge.classify import Classifier
    from tfedge.edge.evaluation import format_report, verify

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
