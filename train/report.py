"""What a run learned: validation metrics, figures (PNG) and a self-contained report.html.

Figures are drawn with matplotlib's Agg backend (no display needed) and embedded in the HTML
as base64 PNGs, so the report opens offline, mailed or copied anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from tfedge.edge.evaluation import confusion_matrix
from tfedge.fileio import write_bytes_atomic, write_text_atomic

CURVES_PNG = "curves.png"
CONFUSION_PNG = "confusion_matrix.png"
MISTAKES_PNG = "confident_mistakes.png"
REPORT_HTML = "report.html"
MISTAKES_SHOWN = 16


def evaluate_scores(split, scores: np.ndarray) -> dict:
    """Accuracy, loss, confusion matrix, per-class precision/recall/F1, confident mistakes."""
    true = split.y_val.astype(int)
    predicted = scores.argmax(axis=1)
    confusion = confusion_matrix(true, predicted, len(split.labels))
    per_class = {}
    for index, label in enumerate(split.labels):
        hits = confusion[index, index]
        precision = hits / max(1, confusion[:, index].sum())
        recall = hits / max(1, confusion[index].sum())
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                            "f1": round(float(f1), 4), "support": int(confusion[index].sum())}
    wrong = np.flatnonzero(predicted != true)
    wrong = wrong[np.argsort(-scores[wrong, predicted[wrong]])][:MISTAKES_SHOWN]
    mistakes = [{"path": str(split.val[i][0].relative_to(split.root)), "index": int(i),
                 "true": split.labels[true[i]], "predicted": split.labels[predicted[i]],
                 "score": round(float(scores[i, predicted[i]]), 4)} for i in wrong]
    picked = np.clip(scores[np.arange(len(true)), true], 1e-7, 1.0)
    return {
        "val_accuracy": float(np.mean(predicted == true)),
        "val_loss": float(-np.mean(np.log(picked))),
        "macro_f1": round(float(np.mean([c["f1"] for c in per_class.values()])), 4),
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "confident_mistakes": mistakes,
    }


# Validation accuracy within this many points of chance, or this far below the training
# accuracy, gets a warning in the summary, report.html, metrics.json and `tfedge convert`.
NEAR_CHANCE = 0.10
FAR_BELOW_TRAINING = 0.25
LIKELY_CAUSES = ("likely causes: too few images, overfitting, or a data problem (wrong labels, "
                 "classes that look alike, validation images unlike the training ones)")


def learning_warning(val_accuracy: float, train_accuracy: float | None, num_classes: int) -> str | None:
    """One plain sentence when the model learned nothing that holds on new images, else None."""
    chance = 1.0 / max(1, num_classes)
    if val_accuracy <= chance + NEAR_CHANCE:
        return (f"The model learned nothing that holds on new images: validation accuracy "
                f"{val_accuracy:.1%} is near chance ({chance:.1%} for {num_classes} classes); "
                f"{LIKELY_CAUSES}.")
    if train_accuracy is not None and train_accuracy - val_accuracy >= FAR_BELOW_TRAINING:
        return (f"The model learned little that holds on new images: validation accuracy "
                f"{val_accuracy:.1%} is far below training accuracy {train_accuracy:.1%}; "
                f"{LIKELY_CAUSES}.")
    return None


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _curves(history: dict):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + metric)
            if values:
                axis.plot(epochs, values, style, marker="o", markersize=3,
                          label=("validation " if prefix else "training ") + metric)
        stages = history.get("stage", [])
        for epoch in range(1, len(stages)):
            if stages[epoch] != stages[epoch - 1]:
                axis.axvline(epoch + 0.5, color="gray", linewidth=0.8)
                axis.text(epoch + 0.6, axis.get_ylim()[1], "fine-tuning", va="top", fontsize=8)
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    return figure


def _confusion(confusion: np.ndarray, labels: list[str]):
    import matplotlib.pyplot as plt

    side = max(4.0, 0.55 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(side, side * 0.85))
    rows = confusion.sum(axis=1, keepdims=True)
    image = axis.imshow(confusion / np.maximum(rows, 1), cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(labels)), labels, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if len(labels) <= 25:
        for (i, j), value in np.ndenumerate(confusion):
            if value:
                share = value / max(1, rows[i, 0])
                axis.text(j, i, str(value), ha="center", va="center", fontsize=7,
                          color="white" if share > 0.5 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046, label="share of the true class")
    return figure


def _mistakes(split, mistakes: list[dict]):
    import matplotlib.pyplot as plt

    columns = 4
    rows = max(1, math.ceil(len(mistakes) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 2.2, rows * 2.5), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, mistake in zip(axes.flat, mistakes):
        pixels = split.x_val[mistake["index"]]
        if pixels.shape[-1] == 1:
            axis.imshow(pixels[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            axis.imshow(pixels, interpolation="nearest")
        axis.set_title(f"true {mistake['true']}\nsaid {mistake['predicted']} ({mistake['score']:.0%})",
                       fontsize=8)
    if not mistakes:
        axes.flat[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    return figure


def _table(header: list[str], rows: list[list], css_class: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css_class}"><tr>{head}</tr>{body}</table>'


STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
table.text td{text-align:left}img{max-width:100%}
h2{border-bottom:1px solid #ddd;padding-bottom:2px}code{background:#f5f5f5}
p.warning{background:#fff3cd;border:1px solid #e0b100;padding:.6em .8em}"""


def _comparison(comparison: dict | None) -> str:
    """The previous model against this one (`tfedge train --add`), or nothing."""
    if not comparison:
        return ""
    from tfedge.train.compare import comparison_lines

    lines = comparison_lines(comparison)
    remarks = ("note:", "new class")
    rows = [line for line in lines[1:] if not line.startswith(remarks)]
    notes = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line.startswith(remarks))
    previous = comparison["previous_run"] or "none given (train with --config runs/OLD/config.json)"
    return (f"<h2>Compared with the previous model</h2><p>Previous run: {html.escape(previous)}. "
            "Accuracy per true class on the previous run's validation set and on the reviewed frames "
            f"held out of training.</p><pre>{html.escape(lines[0])}\n"
            + html.escape("\n".join(rows)) + f"</pre>{notes}")


def write_report(folder: Path, split, scores: np.ndarray, metrics: dict, config: dict) -> None:
    """Write the three figures as PNG files and report.html embedding them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {CURVES_PNG: _curves(metrics["history"]),
               CONFUSION_PNG: _confusion(np.asarray(metrics["confusion_matrix"]), split.labels),
               MISTAKES_PNG: _mistakes(split, metrics["confident_mistakes"])}
    images = {}
    for name, figure in figures.items():
        images[name] = _png(figure)
        plt.close(figure)
        write_bytes_atomic(folder / name, images[name])

    def img(name: str) -> str:
        return f'<img alt="{name}" src="data:image/png;base64,{base64.b64encode(images[name]).decode()}">'

    hparams = config["hparams"]
    summary = [["validation accuracy", f"{metrics['val_accuracy']:.2%}"],
               ["validation loss", f"{metrics['val_loss']:.4f}"], ["macro F1", f"{metrics['macro_f1']:.4f}"],
               ["backbone", f"{hparams['backbone']} (weights {hparams['weights']})"],
               ["images", f"{metrics['train_images']} training, {metrics['val_images']} validation, "
                          f"{len(metrics['skipped'])} skipped"],
               ["epochs", f"{metrics['epochs_run']} in {metrics['train_seconds']:.0f} s, "
                          f"{metrics['images_per_second']:.0f} images/s"],
               ["placement", ", ".join(f"{k} {v}" for k, v in config["placement"].items())],
               ["stopped early", "; ".join(metrics["stopped_early"]) or "no"],
               ["class imbalance", f"{metrics['imbalance']:.2f}:1 (class weights "
                                   f"{'on' if hparams['class_weights'] else 'off'})"],
               ["dataset", f"{config['dataset_files']} files, hash {config['dataset_hash']}"],
               ["versions", f"tfedge {config['tfedge_version']}, TensorFlow {config['tensorflow_version']}, "
                            f"Keras {config['keras_version']}"]]
    per_class = [[label, c["precision"], c["recall"], c["f1"], c["support"],
                  metrics["class_counts"].get(label, 0)] for label, c in metrics["per_class"].items()]
    skipped = [[s["path"], s["reason"]] for s in metrics["skipped"]]
    title = f"tfedge run {html.escape(folder.name)}"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head><body>
<h1>Training report</h1>
{_warning_html(metrics)}{_table(["", "value"], summary, "text")}
{_comparison(metrics.get("comparison"))}
<h2>Learning curves</h2>{img(CURVES_PNG)}
<h2>Per-class precision, recall and F1 (validation)</h2>
{_table(["class", "precision", "recall", "F1", "validation images", "training images"], per_class)}
<h2>Confusion matrix (validation)</h2>{img(CONFUSION_PNG)}
<h2>Most confidently wrong validation images</h2>
<p>As the model saw them (the device's decode, resize and colour order).</p>{img(MISTAKES_PNG)}
{_table(["file", "true", "predicted", "score"],
        [[m["path"], m["true"], m["predicted"], m["score"]] for m in metrics["confident_mistakes"]])}
<h2>Skipped files</h2>
{_table(["file", "reason"], skipped, "text") if skipped else "<p>None: every file decoded.</p>"}
<h2>Settings</h2>{_table(["setting", "value"], [[k, v] for k, v in hparams.items()], "text")}
</body></html>
"""
    write_text_atomic(folder / REPORT_HTML, page)


def _warning_html(metrics: dict) -> str:
    warning = metrics.get("warning")
    return f'<p class="warning"><strong>Warning:</strong> {html.escape(warning)}</p>\n' if warning else ""


def summary_table(metrics: dict, labels: list[str]) -> str:
    """The text table printed at the end of training."""
    lines = [f"{'class':24s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'images':>6s}"]
    for label in labels:
        c = metrics["per_class"][label]
        lines.append(f"{label[:24]:24s} {c['precision']:9.3f} {c['recall']:7.3f} {c['f1']:6.3f} "
                     f"{c['support']:6d}")
    lines.append(f"validation accuracy {metrics['val_accuracy']:.2%}, loss {metrics['val_loss']:.4f}, "
                 f"macro F1 {metrics['macro_f1']:.3f}; {metrics['epochs_run']} epochs in "
                 f"{metrics['train_seconds']:.0f} s ({metrics['images_per_second']:.0f} images/s)")
    if metrics.get("warning"):
        lines.append(f"warning: {metrics['warning']}")
    return "\n".join(lines)
