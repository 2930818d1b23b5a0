"""Acquisition functions (minimisation, Gaussian predictions ``mu``, ``sd`` per candidate).

* :func:`expected_improvement` — single objective.
* :func:`probability_of_feasibility` — HyperPower's constraint term: a constrained acquisition is the
  unconstrained one times the probability that every predicted output meets its limit (``g(x) <= 0``).
* :func:`expected_hypervolume_improvement` — exact EHVI over the box decomposition of the non-dominated
  region: for independent Gaussian objectives the expected volume of a box cut by ``[Y, ref]`` is a
  product over objectives of one-dimensional expectations, so EHVI is a sum of products of closed forms.
  The boxes are :func:`perfmodel.pareto.nondominated_boxes`' (k + 1 for a front of k points and two
  objectives, O(k^2) for three).
* :func:`log_expected_improvement`, :func:`log_probability_of_feasibility`,
  :func:`log_expected_hypervolume_improvement` — the same in log space, computed without forming the
  (possibly underflowing) values, as BoTorch's ``LogExpectedImprovement`` (Ament et al. 2023, "Unexpected
  improvements to expected improvement"): where EI is below the smallest float (a confident model, e.g. one
  with a good prior, far from the incumbent) the log still ranks the candidates, so the search never has to
  fall back to a random step.
* :func:`hypervolume_probability_of_improvement` — HVPoI (Couckuyt et al. 2014, as in GPflowOpt used by
  the Jetson TX1 design-space study): probability of being non-dominated times the hypervolume the predicted mean would add.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, logsumexp
from scipy.stats import norm

from ..pareto import hypervolume_improvement, nondominated_boxes


def expected_improvement(mu, sd, best: float) -> np.ndarray:
    """E[max(best - Y, 0)] for Y ~ N(mu, sd^2)."""
    mu, sd = np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)
    z = (best - mu) / sd
    return np.maximum((best - mu) * norm.cdf(z) + sd * norm.pdf(z), 0.0)


_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_LOG_SQRT_PI_2 = 0.5 * np.log(np.pi / 2)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    # log(1 - exp(x)) for x <= 0, accurate on both sides of -log 2 (Maechler 2012); -inf at x = 0.
    x = np.minimum(np.asarray(x, float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, the log of EI's standard form, accurate for every ``z`` (-inf at -inf).

    For ``z > -1`` directly; below, ``phi(z) (1 - |z| Phi(z) / phi(z))`` with ``Phi(z) / phi(z)`` written with
    the scaled complementary error function (``erfcx(-z / sqrt 2) sqrt(pi / 2)``), and its asymptote
    ``phi(z) / z^2`` beyond ``|z| = 1e6`` (as BoTorch's ``_log_ei_helper``).
    """
    z = np.asarray(z, float)
    out = np.empty_like(z)
    hi = z > -1
    zh = z[hi]
    out[hi] = np.log(norm.pdf(zh) + zh * norm.cdf(zh))
    zl = z[~hi]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_phi = -0.5 * zl ** 2 - _LOG_SQRT_2PI
        far = zl < -1e6
        zc = np.where(far, -1e6, zl)
        w = np.log(erfcx(-zc / np.sqrt(2)) * np.abs(zc)) + _LOG_SQRT_PI_2
        out[~hi] = np.where(far, log_phi - 2 * np.log(np.abs(zl)), log_phi + _log1mexp(w))
    return out


def log_expected_improvement(mu, sd, best: float) -> np.ndarray:
    """``log E[max(best - Y, 0)]`` for Y ~ N(mu, sd^2), finite wherever ``sd > 0`` (see :func:`log_h`)."""
    mu, sd = np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)
    return log_h((best - mu) / sd) + np.log(sd)


def log_probability_of_feasibility(mu, sd, limit: float, upper: bool = True) -> np.ndarray:
    """``log P(Y <= limit)`` (``upper``) or ``log P(Y >= limit)``, without underflow far from the limit."""
    mu, sd = np.asarray(mu, float), np.maximum(np.asarray(sd, float), 1e-12)
    z = (limit - mu) / sd
    return norm.logcdf(z) if upper else norm.logsf(z)


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


def _lognormal_partial(x, m, s):
    # H(x) = E[max(0, x - Y)] = integral of P(Y <= t) dt over (0, x], for log Y ~ N(m, s^2); 0 for x <= 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(np.where(x > 0, x, 1.0))
        za = (lx - m) / s
        h = x * norm.cdf(za) - np.exp(m + 0.5 * s * s) * norm.cdf(za - s)
    return np.where(x > 0, h, 0.0)


def _psi_lognormal(lower, upper, m, s):
    # E[max(0, upper - max(Y, lower))] for log Y ~ N(m, s^2): H(upper) - H(lower) (lower may be -inf).
    lo = np.where(np.isfinite(lower), lower, 0.0)
    return np.maximum(_lognormal_partial(upper, m, s) - _lognormal_partial(lo, m, s), 0.0)


def expected_hypervolume_improvement(mu, sd, front, ref, *, lognormal=None, chunk: int = 512) -> np.ndarray:
    """Exact expected hypervolume improvement of each candidate over ``front`` (bounded by ``ref``).

    ``lognormal``: one flag per objective; where set, ``mu``, ``sd`` are the mean and standard deviation of
    the *log* of that objective while ``front`` and ``ref`` are in the objective's own (positive) units, so
    the improvement is the hypervolume in those units (the per-box factor is the closed-form partial
    expectation of a log-normal variable)."""
    mu = np.atleast_2d(np.asarray(mu, float))
    sd = np.maximum(np.atleast_2d(np.asarray(sd, float)), 1e-12)
    lower, upper = nondominated_boxes(front, ref)
    logn = np.zeros(mu.shape[1], dtype=bool) if lognormal is None else np.asarray(lognormal, dtype=bool)
    chunk = max(1, min(chunk, 2_000_000 // max(1, len(lower))))   # bounded memory for large fronts
    out = np.empty(mu.shape[0])
    for s in range(0, mu.shape[0], chunk):
        m, v = mu[s:s + chunk, None, :], sd[s:s + chunk, None, :]
        f = _psi(lower[None], upper[None], m, v)
        if logn.any():
            f[..., logn] = _psi_lognormal(lower[None][..., logn], upper[None][..., logn], m[..., logn], v[..., logn])
        out[s:s + chunk] = np.prod(f, axis=2).sum(axis=1)
    return out


def _log_psi(lower, upper, mu, sd):
    # log of _psi: E[max(0, upper - max(Y, lower))] = sd (h(zu) - h(zl)), h(z) = phi(z) + z Phi(z).
    lu = log_h((upper - mu) / sd)
    with np.errstate(invalid="ignore"):
        ll = np.where(np.isfinite(lower), log_h(np.where(np.isfinite(lower), (lower - mu) / sd, 0.0)), -np.inf)
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(ll), ll - lu, -np.inf)
    return np.log(sd) + lu + _log1mexp(gap)


def log_expected_hypervolume_improvement(mu, sd, front, ref, *, chunk: int = 512) -> np.ndarray:
    """``log`` of :func:`expected_hypervolume_improvement`, summed over the boxes in log space (logsumexp of
    the sums of each box's per-objective log factors), so a candidate whose EHVI underflows is still ranked."""
    mu = np.atleast_2d(np.asarray(mu, float))
    sd = np.maximum(np.atleast_2d(np.asarray(sd, float)), 1e-12)
    lower, upper = nondominated_boxes(front, ref)
    chunk = max(1, min(chunk, 2_000_000 // max(1, len(lower))))
    out = np.empty(mu.shape[0])
    for s in range(0, mu.shape[0], chunk):
        m, v = mu[s:s + chunk, None, :], sd[s:s + chunk, None, :]
        terms = np.sum(_log_psi(lower[None], upper[None], m, v), axis=2)
        out[s:s + chunk] = logsumexp(terms, axis=1)
    return out


def probability_non_dominated(mu, sd, front, ref, *, chunk: int = 512) -> np.ndarray:
    """P(Y is not dominated by ``front``) (the region is not bounded by ``ref``)."""
    mu = np.atleast_2d(np.asarray(mu, float))
    sd = np.maximum(np.atleast_2d(np.asarray(sd, float)), 1e-12)
    lower, upper = nondominated_boxes(front, ref)
    chunk = max(1, min(chunk, 2_000_000 // max(1, len(lower))))
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
