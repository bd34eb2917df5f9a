"""Whether MediaPipe Tasks' ImageClassifier can run a .tflite, and why not: told, not discovered.

The rules are MediaPipe's (mediapipe 1.2.x, tasks/cc/vision/utils/image_tensor_specs.cc and the
classifier's output checks), as it states them when it refuses a model: one image input of 3
channels, uint8 or float32, float32 only with NormalizationOptions of one value each; uint8 or
float32 scores. Each problem names the way out.
"""

from __future__ import annotations

from tfedge.edge.tflite.flatbuffer import TfliteModel
from tfedge.edge.tflite.metadata import StandardMetadata


def mediapipe_problems(model: TfliteModel, metadata: StandardMetadata | None) -> list[str]:
    """What stops MediaPipe Tasks' ImageClassifier from loading the model; [] when it can."""
    graph = model.main
    problems = []
    if len(graph.inputs) != 1:
        return [f"it has {len(graph.inputs)} inputs; MediaPipe's image classifier takes one image"]
    tensor = graph.tensors[graph.inputs[0]]
    if len(tensor.shape) != 4 or tensor.shape[3] not in (1, 3, 4):
        return [f"its input {tensor.shape} is not an image [1, height, width, channels]"]
    if tensor.shape[3] == 1:
        problems.append("one-channel (gray) input: MediaPipe needs RGB (tfedge convert --rgb-input "
                        "puts the gray conversion inside the model)")
    if tensor.dtype not in ("uint8", "float32"):
        problems.append(f"{tensor.dtype} input: MediaPipe takes uint8 or float32 (tfedge convert "
                        "--io-type uint8, the default)")
    image = metadata.inputs[0] if metadata is not None and metadata.inputs else None
    if tensor.dtype == "float32" and (image is None or not image.mean or not image.std):
        problems.append("float32 input without NormalizationOptions in standard metadata (tfedge "
                        "metadata MODEL --input-range ... adds them)")
    if image is not None and (len(image.mean) > 1 or len(image.std) > 1) and tensor.dtype == "float32":
        problems.append(f"per-channel normalisation (mean {image.mean}, std {image.std}): MediaPipe "
                        "takes one mean and one std")
    if image is not None and image.color_space not in (None, "RGB"):
        problems.append(f"its metadata says colour space {image.color_space}: MediaPipe supports "
                        "only RGB")
    for index in graph.outputs:
        output = graph.tensors[index]
        if output.dtype not in ("uint8", "float32"):
            problems.append(f"{output.dtype} output: MediaPipe reads uint8 or float32 scores "
                            "(tfedge convert --io-type uint8, the default)")
    return problems


def mediapipe_notes(model: TfliteModel, metadata: StandardMetadata | None) -> list[str]:
    """What MediaPipe will do short of refusing: scores without label names, bytes read askew."""
    notes = []
    if metadata is None or metadata.labels_file() is None:
        notes.append("no TENSOR_AXIS_LABELS file in standard metadata: MediaPipe reports class "
                     "indexes, not names (tfedge metadata MODEL --labels labels.txt adds them)")
    graph = model.main
    tensor = graph.tensors[graph.inputs[0]] if len(graph.inputs) == 1 else None
    if tensor is not None and tensor.dtype == "uint8" and tensor.scale and (
            abs(tensor.scale[0] - 1.0) > 1e-6 or (tensor.zero_point and tensor.zero_point[0])):
        notes.append(f"uint8 input with scale {tensor.scale[0]:.6g}: MediaPipe feeds raw pixel bytes, "
                     "which this model reads as other values (tfedge scales them; convert again "
                     "with this tfedge for scale 1)")
    return notes
