"""Models from elsewhere, for the "in" direction: plain TFLiteConverter output of our tiny run,
re-wrapped to take RGB input in the common conventions ([0, 1], [-1, 1], 0..255, uint8), then
given standard metadata by tflite-support's writer (not ours) in its own venv.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from side_venv import side_python  # tests/side_venv.py

WRITER = Path(__file__).parent / "side_tools" / "tflite_support_write.py"
# convention -> (how the float input maps to 0..255 pixels, metadata mean, metadata std)
CONVENTIONS = {
    "0,1": (lambda x: x * 255.0, 0.0, 255.0),
    "-1,1": (lambda x: (x + 1.0) * 127.5, 127.5, 127.5),
    "0,255": (lambda x: x, 0.0, 1.0),
}


def plain_model(saved_model: Path, convention: str, calibration=None) -> bytes:
    """A .tflite with no metadata: RGB input in `convention` ("uint8": full-integer, [0, 1] float
    semantics with uint8 input, as TF Hub's quantized classifiers)."""
    import numpy as np
    import tensorflow as tf

    from tfedge.convert.rgb_input import rgb_to_gray_function

    loaded = tf.saved_model.load(str(saved_model))
    function = loaded.signatures["serving_default"]
    name, spec = next(iter(function.structured_input_signature[1].items()))
    rgb = rgb_to_gray_function(tf, function, name, spec.shape, spec.dtype, 1)
    to_pixels = CONVENTIONS["0,1" if convention == "uint8" else convention][0]
    outer = tf.function(lambda x: rgb(to_pixels(x)),
                        input_signature=[tf.TensorSpec([1, *spec.shape[1:3], 3], tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([outer.get_concrete_function()], loaded)
    if convention == "uint8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [np.repeat(np.asarray(p, np.float32)[None], 3 // p.shape[-1], axis=-1) / 255.0]
            for p in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def with_tflite_support_metadata(model: Path, labels: list[str], out: Path, convention: str,
                                 display_names: list[str] | None = None) -> Path:
    """`model` given standard metadata by tflite-support's image classifier writer (with
    `display_names` as a second label file, locale "en", when given)."""
    _, mean, std = CONVENTIONS["0,1" if convention == "uint8" else convention]
    files = {"labels": labels, "display_names": display_names}
    paths = {}
    for name, lines in files.items():
        if lines is not None:
            paths[name] = out.with_name(f"{out.stem}_{name}.txt")
            paths[name].write_text("\n".join(lines) + "\n")
    subprocess.run([str(side_python("tflite-support")), str(WRITER), str(model), str(paths["labels"]),
                    str(out), str(mean), str(std), *([str(paths["display_names"])] if display_names else [])],
                   check=True, capture_output=True, timeout=300)
    for path in paths.values():
        path.unlink()
    return out
