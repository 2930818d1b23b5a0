"""Acquisition functions (minimisation, Gaussian predictions ``mu``, ``sd`` per candidate).

* :func:`expected_improvement` — single objective.
* :func:`probability_of_feasibility` — HyperPower's constraint term: a constrained acquisition is the
  unconstrained one times the probability that every predicted output meets its limit (``g(x) <= 0``).
* :func:`expected_hypervolume_improvement` — exact EHVI over the box decomposition of the non-dominated
  region: for independent Gaussian objectives the expected volume of a box cut by ``[Y, ref]`` is a
  product over objectives of one-dimensional expectations, so EHVI is a sum of products of closed forms.
* :func:`hypervolume_probability_of_improvement` — HVPoI (Couckuyt et al. 2014, as in GPflowOpt used by
  seed 000): probability of being non-dominated times the hypervolume the predicted mean would add.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..pareto import hypervolume_improvement, nondominated_boxes


def expected_improvement(mu, sd, best: float) -> np.ndarray:
    """E[max(best - Y, 0)] for Y ~ N(mu, sd^2)."""
    mu, sd = np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)
    z = (best - mu) / sd
    return np.maximum((best - mu) * norm.cdf(z) + sd * norm.pdf(z), 0.0)


def probability_of_feasibility(mu, sd, limit: float, upper: bool = True) -> np.ndarray:
    """P(Y <= limit) (``upper``) or P(Y >= limit) for Y ~ N(mu, sd^2)."""
    mu, sd = np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)
    z = (limit - mu) / sd
    return norm.cdf(z) if upper else norm.sf(z)


def _psi(lower, upper, mu, sd):
    # E[max(0, upper - max(Y, lower))] for Y ~ N(mu, sd^2), with lower possibly -inf.
    zu = (upper - mu) / sd
    with np.errstate(invalid="ignore"):
        zl = np.where(np.isfinite(lower), (lower - mu) / sd, -np.inf)
    cu, cl = norm.cdf(zu), norm.cdf(zl)
    inner = (upper - mu) * (cu - cl) + sd * (norm.pdf(zu) - norm.pdf(zl))
    with np.errstate(invalid="ignore"):
        below = np.where(np.isfinite(lower), (upper - lower) * cl, 0.0)
    return np.maximum(inner + below, 0.0)


def expected_hypervolume_improvement(mu, sd, front, ref, *, chunk: int = 512) -> np.ndarray:
    """Exact expected hypervolume improvement of each candidate over ``front`` (bounded by ``ref``)."""
    mu = np.atleast_2d(np.asarray(mu, float))
    sd = np.maximum(np.atleast_2d(np.asarray(sd, float)), 1e-12)
    lower, upper = nondominated_boxes(front, ref)
    out = np.empty(mu.shape[0])
    for s in range(0, mu.shape[0], chunk):
        m, v = mu[s:s + chunk, None, :], sd[s:s + chunk, None, :]
        out[s:s + chunk] = np.prod(_psi(lower[None], upper[None], m, v), axis=2).sum(axis=1)
    return out


def probability_non_dominated(mu, sd, front, ref, *, chunk: int = 512) -> np.ndarray:
    """P(Y is not dominated by ``front``) (the region is not bounded by ``ref``)."""
    mu = np.atleast_2d(np.asarray(mu, float))
    sd = np.maximum(np.atleast_2d(np.asarray(sd, float)), 1e-12)
    lower, upper = nondominated_boxes(front, ref)
    upper = np.where(upper >= np.asarray(ref, float)[None, :], np.inf, upper)
    out = np.empty(mu.shape[0])
    for s in range(0, mu.shape[0], chunk):
        m, v = mu[s:s + chunk, None, :], sd[s:s + chunk, None, :]
        p = norm.cdf((upper[None] - m) / v) - norm.cdf((lower[None] - m) / v)
        out[s:s + chunk] = np.prod(np.clip(p, 0.0, 1.0), axis=2).sum(axis=1)
    return np.clip(out, 0.0, 1.0)


def hypervolume_probability_of_improvement(mu, sd, front, ref) -> np.ndarray:
    """HVPoI = P(non-dominated) x hypervolume improvement of the predicted mean.

    Where every predicted mean is dominated (improvement zero everywhere) the probability alone is
    returned, so the search still moves towards likely improvements.
    """
    poi = probability_non_dominated(mu, sd, front, ref)
    hvi = hypervolume_improvement(np.atleast_2d(mu), front, ref)
    if not np.any(hvi > 0):
        return poi
    return poi * hvi
