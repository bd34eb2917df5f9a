#!/usr/bin/env bash
# GPU check for `tfedge train` (a few minutes on one H100/H200): proves that training runs on
# the GPU with mixed precision (float16 compute, float32 output layer) and XLA, and prints
# training images/s on the GPU against the same run on the CPU.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, on the GPU machine
#
# Needs only this repository and Python 3.9+. It reuses a TensorFlow that already sees the
# GPU (venv with --system-site-packages); otherwise it installs tensorflow[and-cuda] with pip.
# The data is a synthetic image folder the script writes itself (no download).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/tmp/tfedge-gpu-venv}
WORK=${WORK:-/tmp/tfedge-gpu-check}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/tfedge" ]; then
  "$PY" -m venv --system-site-packages "$VENV"
  if "$VENV/bin/python" -c "import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" 2>/dev/null; then
    "$VENV/bin/pip" install -q -e . opencv-python-headless matplotlib
  else
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[train]" "tensorflow[and-cuda]"
  fi
fi
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

rm -rf "$WORK"
"$VENV/bin/python" - "$WORK/data" <<'PY'
"""4 classes x 600 colour 96x96 PNGs whose bright quadrant and tint tell the class."""
import sys
from pathlib import Path

import cv2
import numpy as np

root = Path(sys.argv[1])
rng = np.random.default_rng(0)
for label in range(4):
    folder = root / f"class_{label}"
    folder.mkdir(parents=True)
    for i in range(600):
        image = rng.integers(0, 80, (96, 96, 3), dtype=np.uint8)
        row, col = divmod(label, 2)
        image[row * 48:(row + 1) * 48, col * 48:(col + 1) * 48] += 120
        image[..., label % 3] = np.clip(image[..., label % 3].astype(int) + 40, 0, 255)
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
print(f"wrote {4 * 600} synthetic images to {root}")
PY

COMMON=(--backbone mobilenet_v2_035 --image-size 96 --weights none --batch-size 128
        --early-stopping-patience 0 --fine-tune-epochs 0)
echo "== GPU run (mixed precision and XLA chosen automatically) =="
"$VENV/bin/tfedge" train "$WORK/data" --out "$WORK/runs/gpu" --epochs 6 "${COMMON[@]}" | tail -3
echo "== CPU run (CUDA_VISIBLE_DEVICES=-1) =="
CUDA_VISIBLE_DEVICES=-1 "$VENV/bin/tfedge" train "$WORK/data" --out "$WORK/runs/cpu" --epochs 3 "${COMMON[@]}" | tail -3

"$VENV/bin/python" - "$WORK/runs" <<'PY'
import json
import sys
from pathlib import Path

runs = Path(sys.argv[1])
rows = {}
for name in ("gpu", "cpu"):
    config = json.loads((runs / name / "config.json").read_text())
    metrics = json.loads((runs / name / "metrics.json").read_text())
    rows[name] = (config["placement"], metrics)
    print(f"{name}: placement {config['placement']}, {metrics['images_per_second']:.0f} images/s, "
          f"validation accuracy {metrics['val_accuracy']:.2%}")
gpu, cpu = rows["gpu"], rows["cpu"]
ok = gpu[0]["gpus"] >= 1 and gpu[0]["mixed_precision"] and gpu[0]["xla"] and not cpu[0]["mixed_precision"]
print(f"GPU/CPU training throughput: {gpu[1]['images_per_second'] / cpu[1]['images_per_second']:.1f}x")
print("GPU CHECK " + ("PASSED: GPU training with mixed precision and XLA works" if ok
                      else "FAILED: the GPU run did not use the GPU with mixed precision and XLA"))
sys.exit(0 if ok else 1)
PY
