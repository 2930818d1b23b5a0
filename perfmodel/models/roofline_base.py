"""The roofline-style estimate a unit model is relative to: ``c + a * GFLOP + b * MB moved`` per unit.

The three constants are fitted to all training units by non-negative least squares on relative errors; the
unit models then learn the ratio of the runtime to it, so a unit larger than any in training is predicted by
the roofline's scaling rather than capped (trees) or extrapolated without bound (GP, polynomial).
(The peaks of a Paleo-style roofline measured on a machine are :mod:`perfmodel.models.roofline`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import layer_features

__all__ = ["fit_roofline_base", "roofline_base"]


def _work(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    f = layer_features(rows)
    return f["gflop"].to_numpy(dtype=float), (f["weight_mb"] + f["input_mb"] + f["output_mb"]).to_numpy(dtype=float)


def fit_roofline_base(rows: pd.DataFrame) -> np.ndarray:
    """``[c, a, b]`` fitted to the ``runtime_s`` of ``rows`` (relative least squares, non-negative); a constant
    (the median runtime) when nothing scales with the work."""
    from scipy.optimize import nnls

    gflop, moved = _work(rows)
    y = rows["runtime_s"].to_numpy(dtype=float)
    A = np.column_stack([np.ones(len(rows)), gflop, moved])
    coef, _ = nnls(A / y[:, None], np.ones(len(y)))
    if not np.any(coef[1:] > 0):  # nothing scales with the work: no base
        coef = np.array([float(np.median(y)), 0.0, 0.0])
    return coef


def roofline_base(rows: pd.DataFrame, coef) -> np.ndarray:
    """The estimate of every row (seconds, at least 1 ns)."""
    gflop, moved = _work(rows)
    c, a, b = coef
    return np.maximum(c + a * gflop + b * moved, 1e-9)
