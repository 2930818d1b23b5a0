"""From predicted layer times to a network's runtime and power: the network-level terms learnt from the data.

Runtime of a model fitted on a campaign store (:class:`~perfmodel.models.layerwise.LayerwisePredictor`, units
timed inside the network), :func:`fit_network_term`::

    runtime = a * sum_i t_i + b * n_units + c   (+ knob interactions when there are enough networks)

Runtime of a model fitted on tables (:class:`RuntimeComposition`)::

    runtime = scale * sum_i max(t_i - replay_s, gap_s) + offset_s

``t_i`` is a unit's predicted time as measured alone; ``replay_s`` what a unit measured alone costs beyond
its kernels (the fixed cost of one launch or graph replay, which a network captured as one graph pays once),
``gap_s`` what a unit costs inside the network at least, ``scale`` and ``offset_s`` what the network adds or
saves beyond its units. The four numbers are fitted by least squares on relative errors over the
whole-network rows (scipy.optimize.least_squares, bounded: replay and gap non-negative). Units timed inside
the network (the ``inplace`` view) paid no launch of their own: ``replay_s`` and ``gap_s`` stay 0 and the
term is a scale and an offset.

Power (:class:`NetworkPowerModel`): board power of a whole network from what sets it: the batch, the work
rate the predicted runtime implies (GFLOP/s and MB/s moved) and, where the table has per-layer power, the
runtime-weighted mean of the layer powers (NeuralPower's composition), by a sparse polynomial or a GP on the
whole-network rows that carry power. Energy per inference = power * runtime.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from profiling.encoding import parse_bool

from ..errors import DataError
from .config_model import make_regressor

__all__ = ["LOG_BATCH", "RuntimeComposition", "NetworkCorrection", "NetworkPowerModel", "network_rates",
           "per_network_row", "network_design", "fit_network_term", "rows_enough_for_interactions"]


def per_network_row(units, n_rows: int, t: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``t`` (or the number of units, without it) of each network row (``units["_net_row"]``)."""
    return np.bincount(units["_net_row"].to_numpy(dtype=int), weights=t, minlength=n_rows).astype(float)


LOG_BATCH = "log_batch"  # a network-term knob: log of the ``batch`` column (1 where there is none)


def knob_matrix(frame, names: list[str]) -> np.ndarray:
    """The numeric and switch knobs ``names`` of ``frame`` as numbers: numbers as they are, switches read by the
    project's one rule (``profiling.encoding.parse_bool``: on/true/yes/1 -> 1, off/false/no/0 -> 0);
    ``LOG_BATCH``: the natural log of the ``batch`` column (batch 1 where the frame has none)."""
    cols = []
    for name in names:
        if name == LOG_BATCH:
            batch = pd.to_numeric(frame["batch"], errors="coerce") if "batch" in frame else \
                pd.Series(1.0, index=frame.index)
            cols.append(np.log(np.maximum(batch.fillna(1.0).to_numpy(dtype=float), 1.0)))
            continue
        values = frame[name]
        num = pd.to_numeric(values, errors="coerce")
        if num.notna().all():
            cols.append(num.to_numpy(dtype=float))
        else:
            cols.append(np.array([float(parse_bool(v, name, error=DataError)) for v in values], dtype=float))
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def network_design(sums: np.ndarray, n_units: np.ndarray, knobs, names: list[str], lo: np.ndarray,
                   span: np.ndarray) -> np.ndarray:
    """Columns of the linear network term: unit-time sum, unit count, 1, and both times each knob of ``names``
    (scaled to 0..1 by ``lo`` and ``span``) taken from the frame ``knobs``."""
    cols = [sums, n_units, np.ones_like(sums)]
    if names:
        K = (knob_matrix(knobs, names) - lo) / span
        cols += [sums[:, None] * K, n_units[:, None] * K]
    return np.column_stack([np.reshape(c, (len(sums), -1)) for c in cols])


def rows_enough_for_interactions(n_rows: int, n_knobs: int) -> bool:
    """Whether ``n_rows`` network rows fit the network term with ``n_knobs`` knob interactions: three rows per
    coefficient (scale, per-unit and fixed cost, and two per knob)."""
    return n_rows >= 3 * (3 + 2 * n_knobs)


def fit_network_term(sums: np.ndarray, counts: np.ndarray, nets, numeric_knobs: list[str]):
    """The linear network term fitted on each network row's predicted unit-time sum and unit count and its
    measured ``runtime_s`` (relative least squares).

    Knob interactions join when there are three rows per coefficient; with fewer rows than columns the term
    is a scale only. Returns ``(coef, knobs, lo, span, n_fitted)`` (the first ``n_fitted`` coefficients were fitted,
    the others are 0) for :func:`network_design`.
    """
    y = nets["runtime_s"].to_numpy(dtype=float)
    names, lo, span = [], np.zeros(0), np.ones(0)
    if rows_enough_for_interactions(len(y), len(numeric_knobs)) and numeric_knobs:
        names = list(numeric_knobs)
        K = knob_matrix(nets, names)
        lo = K.min(axis=0)
        span = np.where(np.ptp(K, axis=0) > 0, np.ptp(K, axis=0), 1.0)
    A = network_design(sums, counts, nets, names, lo, span)
    if len(y) < A.shape[1]:
        A = A[:, :1]  # too few networks for an overhead term: a scale only
    # weights 1/y: minimise relative errors (networks span orders of magnitude)
    coef, *_ = np.linalg.lstsq(A / y[:, None], np.ones_like(y), rcond=None)
    full = np.zeros(network_design(sums[:1], counts[:1], nets.iloc[:1], names, lo, span).shape[1])
    full[:len(coef)] = coef
    return full, names, lo, span, len(coef)


class RuntimeComposition:
    """``runtime = scale * sum_i max(t_i - replay_s, gap_s) + offset_s`` (see the module docstring)."""

    def __init__(self, scale=1.0, replay_s=0.0, gap_s=0.0, offset_s=0.0):
        self.scale, self.replay_s, self.gap_s, self.offset_s = float(scale), float(replay_s), float(gap_s), \
            float(offset_s)

    @property
    def params(self) -> np.ndarray:
        return np.array([self.scale, self.replay_s, self.gap_s, self.offset_s])

    @staticmethod
    def _apply(theta, units: list[np.ndarray]) -> np.ndarray:
        s, rep, gap, off = theta
        return np.array([s * np.sum(np.maximum(t - rep, gap)) + off for t in units])

    def predict(self, units: list[np.ndarray]) -> np.ndarray:
        return self._apply(self.params, units)

    def fit(self, units: list[np.ndarray], runtime_s: np.ndarray, alone: bool = True) -> "RuntimeComposition":
        """Fit on each network row's predicted unit times and its measured runtime (relative errors).

        ``alone``: the units were timed alone (each paying a launch or replay of its own), so ``replay_s`` and
        ``gap_s`` are learnt; False (units timed inside the network, the ``inplace`` view): they stay 0 and
        only ``scale`` and ``offset_s`` are learnt (a unit in place costs what it was measured to cost).
        """
        from scipy.optimize import least_squares

        y = np.asarray(runtime_s, dtype=float)
        if len(y) < 4:
            raise DataError(f"{len(y)} whole-network rows are too few to learn the composition (needs 4)")
        every = np.concatenate([np.asarray(t, dtype=float) for t in units])
        every = every[np.isfinite(every) & (every > 0)]
        # a unit's fixed cost is below the cost of the cheapest units (5th percentile: robust to a few odd ones)
        floor = float(np.quantile(every, 0.05)) if len(every) else 1e-6
        lo, hi = np.array([0.0, 0.0, 0.0, -float(np.min(y))]), np.array([10.0, floor, floor, float(np.min(y))])
        start = np.clip([1.0, 0.5 * floor, 0.1 * floor, 0.0], lo, hi)
        free = np.array([True, alone, alone, True])
        full = np.where(free, start, 0.0)

        def residuals(th):
            full[free] = th
            return self._apply(full, units) / y - 1

        res = least_squares(residuals, start[free], bounds=(lo[free], hi[free]))
        full[free] = res.x
        self.scale, self.replay_s, self.gap_s, self.offset_s = map(float, full)
        return self

    def to_dict(self) -> dict:
        return {"scale": self.scale, "replay_s": self.replay_s, "gap_s": self.gap_s, "offset_s": self.offset_s}

    @classmethod
    def from_dict(cls, d) -> "RuntimeComposition":
        return cls(d["scale"], d["replay_s"], d["gap_s"], d["offset_s"])


def network_rates(gflop: np.ndarray, mbytes: np.ndarray, batch: np.ndarray, runtime_s: np.ndarray,
                  layer_power_w: np.ndarray | None = None) -> np.ndarray:
    """The features of the network power model: log batch, log GFLOP/s, log MB/s (and layer power)."""
    runtime_s = np.maximum(np.asarray(runtime_s, dtype=float), 1e-9)
    cols = [np.log(np.maximum(batch, 1.0)), np.log1p(gflop / runtime_s), np.log1p(mbytes / runtime_s)]
    if layer_power_w is not None:
        cols.append(np.log(np.maximum(layer_power_w, 1.0)))
    return np.column_stack(cols)


class NetworkPowerModel:
    """Board power of a network from :func:`network_rates` (sparse polynomial, GP or boosting)."""

    def __init__(self, model="polynomial", random_state=0, folds=5):
        self.model, self.random_state, self.folds = model, random_state, folds

    def _regressor(self):
        params = {"degrees": (1, 2)} if self.model == "polynomial" else \
            ({"n_restarts": 2} if self.model == "gp" else {})
        return make_regressor(self.model, True, params, self.random_state)

    def fit(self, X: np.ndarray, power_w: np.ndarray, groups: np.ndarray) -> "NetworkPowerModel":
        """Fit, and measure the relative spread on networks left out (``groups`` names each row's network)."""
        from .std_folds import network_folds  # (std_folds imports per_network_row from here)

        y = np.asarray(power_w, dtype=float)
        if len(y) < 6:
            raise DataError(f"{len(y)} whole-network rows with power are too few for a power model (needs 6)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of the regressors; the spread below says how good
            self.regressor_ = self._regressor().fit(X, y)
            names = np.asarray(groups).astype(str)
            rel = np.full(len(y), np.nan)
            for fold in network_folds(names, self.folds, self.random_state):
                held = np.isin(names, fold)
                if held.all() or (~held).sum() < 6:
                    continue
                rel[held] = self._regressor().fit(X[~held], y[~held]).predict(X[held]) / y[held] - 1
        ok = np.isfinite(rel)
        self.spread_on_ = "networks left out" if ok.any() else "the training rows (too few networks to leave out)"
        if not ok.any():  # the in-sample spread, which understates the error on a new network (said in spread_on_)
            rel = self.regressor_.predict(X) / y - 1
            ok = np.isfinite(rel)
        self.rel_std_ = float(np.sqrt(np.mean(rel[ok] ** 2))) if ok.any() else float("nan")
        self.range_ = [float(np.min(y)), float(np.max(y))]
        self.n_rows_ = int(len(y))
        self.n_features_ = int(X.shape[1])
        return self

    def predict(self, X: np.ndarray, clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Power and its std (the GP's own std combined with the measured spread).

        ``clip``: a power outside the range measured in training (``range_``; a polynomial extrapolated to a
        batch never measured gave 693 W on a 700 W board) is put at the nearest end of it; see
        :meth:`outside`.
        """
        if self.model == "gp":
            mean, std = self.regressor_.predict(X, return_std=True)
        else:
            mean, std = self.regressor_.predict(X), np.zeros(len(X))
        if clip and self.range_ is not None:
            mean = np.clip(mean, *self.range_)
        spread = self.rel_std_ * mean if np.isfinite(self.rel_std_) else np.zeros(len(X))
        return mean, np.sqrt(np.nan_to_num(std) ** 2 + spread ** 2)

    def outside(self, X: np.ndarray) -> np.ndarray:
        """Whether the unclipped power of each row of ``X`` lies outside the range measured in training."""
        if self.range_ is None:
            return np.zeros(len(X), dtype=bool)
        raw = self.regressor_.predict(X)
        return (raw < self.range_[0]) | (raw > self.range_[1])

    def to_dict(self) -> dict:
        from .persistence import state_of

        return {"model": self.model, "random_state": self.random_state, "folds": self.folds, "range": self.range_,
                "regressor": state_of(self.regressor_),
                "rel_std": self.rel_std_ if np.isfinite(self.rel_std_) else None, "n_rows": self.n_rows_,
                "n_features": self.n_features_, "spread_on": self.spread_on_}

    @classmethod
    def from_dict(cls, d) -> "NetworkPowerModel":
        from .persistence import from_state

        m = cls(d["model"], d["random_state"], d["folds"])
        m.regressor_ = from_state(d["regressor"])
        m.rel_std_ = float("nan") if d["rel_std"] is None else float(d["rel_std"])
        m.n_rows_ = int(d["n_rows"])
        m.n_features_ = int(d["n_features"])
        m.spread_on_ = str(d.get("spread_on", "networks left out"))
        m.range_ = None if d.get("range") is None else [float(v) for v in d["range"]]  # older files: no clip
        return m


class NetworkCorrection:
    """What the composition of layer times misses on whole networks, learnt from network-level features.

    ``log(measured / composed) = ridge(features)``, features such as the log composed runtime, the batch,
    the number of layers of each group, FLOPs and bytes of the network (:func:`~perfmodel.models.
    table_layerwise.network_features`). Ridge (scikit-learn) on standardised features; the penalty is chosen
    among ``alphas`` by leave-one-network-out on the training rows, and the correction is kept only when it
    measures better there than the composition alone, by more than ``margin`` of its error and by more than one
    standard error of the per-network gain (``used_``, ``gain_se_``: the one-standard-error rule, which keeps a
    penalty chosen among several, or a gain on a few networks, from passing for an improvement). The learnt
    correction is clipped to the range of ``log(measured / composed)`` seen in training.

    With fewer than two networks per feature (20 for the ten of ``network_features``) it is not tried: on the
    CPU table (12 networks) it was kept by its leave-one-out test and then predicted the held-out networks worse
    (docs/models-results.md).

    ``rel_std_``: the RMS relative error of the corrected prediction (or of the composition alone, when not
    used) with each network left out; ``rel_std_without_``: that of the composition alone.
    """

    def __init__(self, alphas=(0.3, 3.0, 30.0, 300.0), margin=0.05):
        self.alphas = tuple(float(a) for a in alphas)
        self.margin = float(margin)

    @staticmethod
    def _ridge(alpha, X, z):
        from sklearn.linear_model import Ridge

        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        r = Ridge(alpha=alpha).fit((X - mean) / scale, z)
        return mean, scale, np.asarray(r.coef_, dtype=float), float(r.intercept_)

    def fit(self, X: np.ndarray, composed_s: np.ndarray, runtime_s: np.ndarray, groups) -> "NetworkCorrection":
        X = np.asarray(X, dtype=float)
        c, y = np.asarray(composed_s, dtype=float), np.asarray(runtime_s, dtype=float)
        ok = np.isfinite(X).all(axis=1) & np.isfinite(c) & (c > 0) & np.isfinite(y) & (y > 0)
        X, c, y, names = X[ok], c[ok], y[ok], np.asarray(groups).astype(str)[ok]
        z = np.log(y / c)
        self.n_rows_ = int(len(z))
        self.rel_std_without_ = float(np.sqrt(np.mean((c / y - 1) ** 2))) if len(z) else float("nan")
        self.used_, self.rel_std_, self.alpha_, self.gain_se_ = False, self.rel_std_without_, None, None
        self.z_range_ = [float(z.min()), float(z.max())] if len(z) else [0.0, 0.0]
        self.mean_, self.scale_, self.coef_, self.intercept_ = np.zeros(X.shape[1]), np.ones(X.shape[1]), \
            np.zeros(X.shape[1]), 0.0
        uniq = sorted(set(names))
        # networks, not rows, are the independent units: at least two per feature
        if len(uniq) < max(4, 2 * X.shape[1]):
            return self
        best = None
        for a in self.alphas:
            pred = np.empty(len(z))
            for n in uniq:
                held = names == n
                mean, scale, coef, icpt = self._ridge(a, X[~held], z[~held])
                pred[held] = np.clip(((X[held] - mean) / scale) @ coef + icpt, z[~held].min(), z[~held].max())
            sq = (np.exp(pred) * c / y - 1) ** 2
            rms = float(np.sqrt(np.mean(sq)))
            if best is None or rms < best[0]:
                best = (rms, a, sq)
        # per network: squared relative error without the correction minus with it; the correction must win
        # by more than one standard error of their mean (the one-standard-error rule) and by ``margin``
        gain = pd.Series((c / y - 1) ** 2 - best[2]).groupby(names).mean().to_numpy()
        self.gain_se_ = [float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain)))]
        if best[0] < (1 - self.margin) * self.rel_std_without_ and self.gain_se_[0] > self.gain_se_[1]:
            self.used_, self.rel_std_, self.alpha_ = True, best[0], best[1]
            self.mean_, self.scale_, self.coef_, self.intercept_ = self._ridge(best[1], X, z)
        return self

    def factor(self, X: np.ndarray) -> np.ndarray:
        """``measured / composed`` predicted for each row of ``X`` (1 where the correction is not used)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if not self.used_:
            return np.ones(len(X))
        z = ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return np.exp(np.clip(z, *self.z_range_))

    def to_dict(self) -> dict:
        return {"alphas": list(self.alphas), "margin": self.margin, "used": bool(self.used_), "alpha": self.alpha_,
                "mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_],
                "coef": [float(v) for v in self.coef_], "intercept": float(self.intercept_),
                "z_range": list(self.z_range_), "rel_std": self.rel_std_, "rel_std_without": self.rel_std_without_,
                "n_rows": self.n_rows_, "gain_se": self.gain_se_}

    @classmethod
    def from_dict(cls, d) -> "NetworkCorrection":
        m = cls(d.get("alphas", (0.3, 3.0, 30.0, 300.0)), d.get("margin", 0.05))
        m.used_, m.alpha_ = bool(d["used"]), d.get("alpha")
        m.mean_, m.scale_, m.coef_ = (np.asarray(d[k], dtype=float) for k in ("mean", "scale", "coef"))
        m.intercept_ = float(d["intercept"])
        m.z_range_ = [float(v) for v in d["z_range"]]
        m.rel_std_, m.rel_std_without_ = float(d["rel_std"]), float(d["rel_std_without"])
        m.n_rows_ = int(d["n_rows"])
        m.gain_se_ = None if d.get("gain_se") is None else [float(v) for v in d["gain_se"]]
        return m
