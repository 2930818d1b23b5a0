"""Paleo-style analytical model: time = FLOPs / peak FLOP/s + bytes moved / memory bandwidth.

The platform's peak FLOP/s and bandwidth are parameters, MEASURED by :func:`profiling.reference.measure_peaks`
(a float32 numpy matmul and a large array copy), never assumed from a data sheet; models do not time the machine.
Paleo (Qi et al., ICLR 2017) adds the compute time and the read/write times of a layer (``mode="sum"``); the
classic roofline takes the larger (``mode="max"``).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ModelError
from ._common import check_min_samples, require_state

__all__ = ["measure_peaks", "RooflineRegressor"]


def measure_peaks(*args, **kwargs) -> dict:
    """Deprecated alias of :func:`profiling.reference.measure_peaks` (models do not time the machine); it will be
    removed in the next release."""
    warnings.warn("perfmodel.models.measure_peaks is deprecated: use profiling.reference.measure_peaks "
                  "(also profiling.measure_peaks)", DeprecationWarning, stacklevel=2)
    from profiling.reference import measure_peaks as measure

    return measure(*args, **kwargs)


class RooflineRegressor(RegressorMixin, BaseEstimator):
    """Analytical runtime ``flops / peak_flops (+|max) bytes / bandwidth`` per row (layer or network).

    Parameters
    ----------
    peak_flops, bandwidth_bytes_s : float
        Platform peaks (FLOP/s, B/s), e.g. from :func:`profiling.reference.measure_peaks`. Leaving them out is
        deprecated: ``fit`` then still measures them (with a DeprecationWarning) for one more release.
    flops_column : int, default 0
        Input column holding FLOPs.
    bytes_columns : sequence of int, default (1,)
        Input columns holding bytes moved (weights, inputs, outputs); summed.
    mode : {"sum", "max"}, default "sum"
        Paleo adds compute and memory time; a roofline takes the larger.
    calibrate : bool, default False
        Fit ``a * t_analytic + c`` to the training targets (no longer purely analytical).
    threads : int, optional
        BLAS threads for the deprecated micro-benchmark in ``fit``.
    """

    def __init__(self, peak_flops=None, bandwidth_bytes_s=None, flops_column=0, bytes_columns=(1,), mode="sum",
                 calibrate=False, threads=None):
        self.peak_flops = peak_flops
        self.bandwidth_bytes_s = bandwidth_bytes_s
        self.flops_column = flops_column
        self.bytes_columns = bytes_columns
        self.mode = mode
        self.calibrate = calibrate
        self.threads = threads

    def _analytic(self, X: np.ndarray) -> np.ndarray:
        t_c = X[:, int(self.flops_column)] / self.peak_flops_
        t_m = X[:, [int(c) for c in self.bytes_columns]].sum(axis=1) / self.bandwidth_
        return np.maximum(t_c, t_m) if self.mode == "max" else t_c + t_m

    def fit(self, X, y=None):
        if self.mode not in ("sum", "max"):
            raise ModelError(f"mode must be 'sum' or 'max', got {self.mode!r}")
        if y is None:
            X = validate_data(self, X, dtype=np.float64)
        else:  # targets are optional (the peaks may be given), but checked when they come
            X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n = X.shape[1]
        for c in (self.flops_column, *self.bytes_columns):
            if not 0 <= int(c) < n:
                raise ModelError(f"column {int(c)} (FLOPs or bytes) is outside the n_features = {n} columns of X")
        if self.peak_flops is None or self.bandwidth_bytes_s is None:
            warnings.warn("RooflineRegressor measuring the machine's peaks in fit is deprecated: pass peak_flops and "
                          "bandwidth_bytes_s (from profiling.reference.measure_peaks)", DeprecationWarning,
                          stacklevel=2)
            from profiling.reference import measure_peaks as measure

            self.peaks_ = measure(self.threads)
        else:
            self.peaks_ = {"peak_flops": float(self.peak_flops), "bandwidth_bytes_s": float(self.bandwidth_bytes_s),
                           "method": "given"}
        self.peak_flops_ = float(self.peaks_["peak_flops"])
        self.bandwidth_ = float(self.peaks_["bandwidth_bytes_s"])
        self.scale_, self.offset_ = 1.0, 0.0
        if self.calibrate:
            if y is None:
                raise ModelError("RooflineRegressor(calibrate=True) requires y to be passed, but the target y is None")
            y = np.asarray(y, dtype=float).ravel()
            check_min_samples(type(self).__name__, len(y), 2)
            A = np.column_stack([self._analytic(X), np.ones(len(X))])
            (self.scale_, self.offset_), *_ = np.linalg.lstsq(A, y, rcond=None)
            self.scale_, self.offset_ = float(self.scale_), float(self.offset_)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # an analytic model (one scale, one offset) fits no arbitrary y
        return tags

    def predict(self, X):
        check_is_fitted(self, "peak_flops_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.scale_ * self._analytic(X) + self.offset_

    def _get_state(self) -> dict:
        check_is_fitted(self, "peak_flops_")
        params = self.get_params()
        params["bytes_columns"] = [int(c) for c in params["bytes_columns"]]
        return {"params": params, "n_features_in": self.n_features_in_, "peaks": self.peaks_,
                "scale": self.scale_, "offset": self.offset_}

    @classmethod
    def _from_state(cls, state: dict) -> "RooflineRegressor":
        require_state(state, ("params", "n_features_in", "peaks"), "roofline")
        params = dict(state["params"])
        params["bytes_columns"] = tuple(params["bytes_columns"])
        est = cls(**params)
        est.n_features_in_ = int(state["n_features_in"])
        est.peaks_ = dict(state["peaks"])
        est.peak_flops_ = float(est.peaks_["peak_flops"])
        est.bandwidth_ = float(est.peaks_["bandwidth_bytes_s"])
        est.scale_ = float(state.get("scale", 1.0))
        est.offset_ = float(state.get("offset", 0.0))
        return est
