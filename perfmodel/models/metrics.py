"""Error measures for runtime, power and energy predictions (all in percent or as shares)."""

from __future__ import annotations

import numpy as np

__all__ = ["mape", "rmspe", "within", "summary"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} values but y_pred has {p.size}")
    if t.size == 0:
        raise ValueError("no values to compare")
    if np.any(t == 0):
        raise ValueError("a relative error needs non-zero true values")
    return t, p


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, in percent."""
    t, p = _pair(y_true, y_pred)
    return float(100.0 * np.mean(np.abs((p - t) / t)))


def rmspe(y_true, y_pred) -> float:
    """Root mean squared percentage error, in percent (NeuralPower's layer-level measure)."""
    t, p = _pair(y_true, y_pred)
    return float(100.0 * np.sqrt(np.mean(((p - t) / t) ** 2)))


def within(y_true, y_pred, tol: float = 0.10) -> float:
    """Share (0..1) of predictions whose relative error is at most ``tol``."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs((p - t) / t) <= tol + 1e-12))


def summary(y_true, y_pred, tol: float = 0.10) -> dict[str, float]:
    """``{"mape": %, "rmspe": %, "within": share, "n": count}``."""
    t, p = _pair(y_true, y_pred)
    return {"mape": mape(t, p), "rmspe": rmspe(t, p), "within": within(t, p, tol), "n": int(t.size)}
