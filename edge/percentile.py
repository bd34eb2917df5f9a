"""Percentiles of run timings, as `numpy.percentile` computes them (linear interpolation).

`numpy.percentile` imports `numpy.ma` (through `numpy.unique`, numpy 2.3 and newer): 1.3 MB of
peak memory that `tfedge run` paid in its summary for two figures.
"""

from __future__ import annotations

import math

import numpy as np


def percentile(values, q: float) -> float:
    """The q-th percentile (0..100) of `values` (not empty), equal to `numpy.percentile`'s."""
    ordered = np.sort(np.asarray(values, dtype=np.float64), axis=None)
    if ordered.size == 0:
        raise ValueError("percentile of no values")
    position = (ordered.size - 1) * q / 100.0
    below = math.floor(position)
    above = min(below + 1, ordered.size - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))
