"""Pareto utilities in plain numpy: non-dominated filter, hypervolume, box decomposition.

Every function works on *minimisation* problems: a row of ``Y`` is one point, a column one objective.
Negate the columns you want to maximise before calling them (:func:`to_minimisation` does it).

Written by hand rather than taken from a library because the ones that exist are either private
(``optuna._hypervolume``) or heavy optional dependencies (pymoo, botorch); the tests check every function
here against brute-force enumeration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import DataError

__all__ = ["non_dominated", "pareto_front", "hypervolume", "hypervolume_improvement", "hypervolume_trace",
           "nondominated_boxes", "score_reference", "to_minimisation"]


def _as_matrix(Y, what: str = "points") -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise DataError(f"{what} must be a 2-D array (points x objectives), got shape {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise DataError(f"{what} contain NaN or infinite values")
    return Y


def to_minimisation(Y, maximize: Sequence[bool] | None = None) -> np.ndarray:
    """Return ``Y`` with the columns flagged in ``maximize`` negated."""
    Y = np.asarray(Y, dtype=float)
    if maximize is None:
        return Y.copy()
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    return Y * sign


def non_dominated(Y, *, chunk: int = 2048) -> np.ndarray:
    """Boolean mask of the rows of ``Y`` that no other row dominates (minimisation).

    A point dominates another when it is no worse in every objective and better in at least one, so
    identical points are all kept.
    """
    Y = _as_matrix(Y)
    n = Y.shape[0]
    keep = np.ones(n, dtype=bool)
    for s in range(0, n, chunk):
        block = Y[s:s + chunk]                                  # (b, d)
        le = np.all(Y[None, :, :] <= block[:, None, :], axis=2)  # Y_j <= block_i everywhere
        lt = np.any(Y[None, :, :] < block[:, None, :], axis=2)
        keep[s:s + chunk] = ~np.any(le & lt, axis=1)
    return keep


def pareto_front(Y) -> np.ndarray:
    """The distinct non-dominated rows of ``Y``, sorted by the first objective."""
    Y = _as_matrix(Y)
    if Y.shape[0] == 0:
        return Y
    F = np.unique(Y[non_dominated(Y)], axis=0)
    return F[np.lexsort(F.T[::-1])]


def hypervolume(Y, ref) -> float:
    """Volume dominated by the points of ``Y`` and bounded above by the reference point ``ref``.

    Points that do not dominate ``ref`` strictly in every objective contribute nothing. Exact: a sweep
    for two objectives, recursive slicing over the last objective for more.
    """
    ref = np.asarray(ref, dtype=float).ravel()
    Y = _as_matrix(Y)
    if Y.shape[0] == 0:
        return 0.0
    if Y.shape[1] != ref.shape[0]:
        raise DataError(f"reference point has {ref.shape[0]} objectives, points have {Y.shape[1]}")
    Y = Y[np.all(Y < ref, axis=1)]
    if Y.shape[0] == 0:
        return 0.0
    return float(_hv(pareto_front(Y), ref))


def score_reference(front) -> np.ndarray:
    """The reference point a front found is scored against: the nadir of ``front`` (the true front, or the
    best one known) plus 10 % of its range in each objective, so that the front's extremes count."""
    F = _as_matrix(front, "front")
    return F.max(axis=0) + 0.1 * np.maximum(F.max(axis=0) - F.min(axis=0), 1e-12)


def hypervolume_trace(Y, ref) -> np.ndarray:
    """Hypervolume of the first ``k`` rows of ``Y`` within ``ref``, for ``k = 1 .. len(Y)`` (the rows in the
    order they were evaluated). A row with a NaN (a failed or left-out evaluation) adds nothing."""
    ref = np.asarray(ref, dtype=float).ravel()
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    out = np.zeros(len(Y))
    front, hv = np.empty((0, Y.shape[1])), 0.0
    for k, y in enumerate(Y):
        # a point that an earlier one weakly dominates changes neither the front nor its hypervolume
        if np.all(np.isfinite(y)) and not np.any(np.all(front <= y, axis=1)):
            front = pareto_front(np.vstack([front, y]))
            hv = hypervolume(front, ref)
        out[k] = hv
    return out


def _hv(F: np.ndarray, ref: np.ndarray) -> float:
    d = F.shape[1]
    if d == 1:
        return float(ref[0] - F[:, 0].min())
    if d == 2:
        F = F[np.argsort(F[:, 0], kind="stable")]
        # Along increasing f0 a front's f1 decreases; each point owns the strip up to the next point.
        y1 = np.minimum.accumulate(F[:, 1])
        x_next = np.append(F[1:, 0], ref[0])
        return float(np.sum((x_next - F[:, 0]) * (ref[1] - y1)))
    # Slice along the last objective: between consecutive levels the cross-section is the (d-1)-D
    # hypervolume of the points at or below that level.
    order = np.argsort(F[:, -1], kind="stable")
    F = F[order]
    levels = np.append(F[:, -1], ref[-1])
    total = 0.0
    for i in range(F.shape[0]):
        height = levels[i + 1] - levels[i]
        if height <= 0:
            continue
        sub = F[: i + 1, :-1]
        total += height * _hv(pareto_front(sub), ref[:-1])
    return float(total)


def nondominated_boxes(front, ref) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``(lower, upper)`` that tile the region below ``ref`` that no point of ``front`` dominates.

    Arrays of shape (m, d); lower bounds may be ``-inf``. Two objectives: one vertical strip per front point
    plus one. More: slabs between the sorted distinct values of the last objective; within the slab above
    value ``c`` the points whose last objective is at most ``c`` dominate exactly what their projection
    dominates, so the slab's boxes are those of the projected front (recursively), extended by the slab's
    range: O(k^(d-1)) boxes for a front of k points (O(k^2) for three objectives) instead of the (k + 1)^d
    cells of a grid, so no front is too large for EHVI.
    """
    ref = np.asarray(ref, dtype=float).ravel()
    F = _as_matrix(front, "front").reshape(-1, ref.shape[0])
    d = ref.shape[0]
    if F.shape[0]:
        F = F[np.all(F < ref, axis=1)]
    if F.shape[0] == 0:
        return np.full((1, d), -np.inf), ref[None, :].copy()
    F = pareto_front(F)
    if d == 1:
        return np.array([[-np.inf]]), F[:1].copy()
    if d == 2:
        # Strips: x in [x_i, x_{i+1}), y below the f1 of the point on the strip's left (ref for the first).
        xs = np.concatenate([[-np.inf], F[:, 0]])
        xe = np.concatenate([F[:, 0], [ref[0]]])
        ye = np.concatenate([[ref[1]], F[:, 1]])
        lower = np.column_stack([xs, np.full(xs.shape, -np.inf)])
        upper = np.column_stack([xe, ye])
        ok = upper[:, 0] > lower[:, 0]
        return lower[ok], upper[ok]
    edges = np.concatenate([[-np.inf], np.unique(F[:, -1]), [ref[-1]]])
    lowers, uppers = [], []
    for j in range(len(edges) - 1):
        lo, hi = edges[j], edges[j + 1]
        if not hi > lo:
            continue
        below = F[F[:, -1] <= lo, :-1] if j else np.empty((0, d - 1))
        lw, up = nondominated_boxes(below, ref[:-1])
        lowers.append(np.column_stack([lw, np.full(len(lw), lo)]))
        uppers.append(np.column_stack([up, np.full(len(up), hi)]))
    return np.concatenate(lowers), np.concatenate(uppers)


def hypervolume_improvement(points, front, ref) -> np.ndarray:
    """Hypervolume each row of ``points`` would add to ``front`` (vectorised over the rows)."""
    P = _as_matrix(points)
    lower, upper = nondominated_boxes(front, ref)
    lo = np.maximum(P[:, None, :], lower[None, :, :])
    side = np.clip(upper[None, :, :] - lo, 0.0, None)
    return np.prod(side, axis=2).sum(axis=1)
