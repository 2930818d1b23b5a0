"""Gaussian-process regression: GPy fits the hyper-parameters, perfmodel computes the posterior.

The model is a thin user of the one GP core (:mod:`perfmodel.models.gp_core`): standardised inputs (or, with
``input_warp``, inputs scaled to the unit cube and warped), an optional log target, Gamma priors on the
hyper-parameters (``REGRESSION_HYPER``), restarts, and the numpy posterior, so that a model loaded from JSON
predicts exactly as the fitted one, with any GPy version or none.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ModelError
from ._common import check_min_samples, forward_target, require_state, scale_params, unit_params
from .gp_core import KERNELS, REGRESSION_HYPER, FittedGP, InputWarp, OutcomeTransform, fit_gp, kernel_matrix

__all__ = ["GPRegressor", "kernel_matrix", "KERNELS"]

class GPRegressor(RegressorMixin, BaseEstimator):
    """Gaussian-process regressor with an ARD kernel, priors, restarts and input/target scaling.

    Parameters
    ----------
    kernel : {"rbf", "matern52", "additive"}, default "matern52"
        ``"additive"``: the ARD Matern 5/2 term plus a first-order Matern 5/2 term per input (Duvenaud et al.
        2011), for responses that are nearly a sum of per-knob effects (board power: 0.62x gradient
        boosting's MAPE on the TX2 grids at 10 % training, against 0.71x; docs/optimisation-results.md).
    ard : bool, default True
        One length-scale per input (automatic relevance determination).
    log_target : bool, default False
        Model ``log(y)``; predictions are then the median ``exp(mu)`` and the std is the log-normal std.
    n_restarts : int, default 3
        Optimisations from different starting points (the first from the defaults); the best posterior wins.
    max_iters : int, default 200
        L-BFGS iterations per restart.
    noise_floor : float, default 1e-6
        Lower bound of the noise variance (of the standardised target), for numerical stability.
    random_state : int or None, default 0
        Seed of the random restarts (and of the subset drawn under ``max_points``).
    input_warp : bool, default False
        Scale each input to the unit cube (by the training rows' range) and learn a Kumaraswamy CDF of each
        input with three or more distinct values (Snoek et al. 2014; the optimiser's ``input_warp``), for
        responses that change faster over part of a knob's range (a power step between two clock levels).
        Inputs outside the training range are clipped to it.
    max_points : int or None, default None
        Fit on a random subset of at most this many rows (subset-of-data approximation). Exact GP
        fitting costs O(n^3) per likelihood evaluation: layer tables of several thousand units take tens of
        minutes, a subset of a few hundred seconds. The subset's size is stored as ``n_train_used_``.

    Attributes
    ----------
    variance_, lengthscale_, noise_variance_ : fitted hyper-parameters (standardised units)
    log_marginal_likelihood_ : float
    """

    def __init__(self, kernel="matern52", ard=True, log_target=False, n_restarts=3, max_iters=200,
                 noise_floor=1e-6, random_state=0, max_points=None, input_warp=False):
        self.kernel = kernel
        self.ard = ard
        self.log_target = log_target
        self.n_restarts = n_restarts
        self.max_iters = max_iters
        self.noise_floor = noise_floor
        self.random_state = random_state
        self.max_points = max_points
        self.input_warp = input_warp

    def fit(self, X, y):
        """Fit hyper-parameters (GPy) and the posterior (numpy)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        check_min_samples(type(self).__name__, n, 2)
        if self.kernel not in KERNELS:
            raise ModelError(f"unknown kernel {self.kernel!r}; choose one of {', '.join(KERNELS)}")
        forward_target(type(self).__name__, y.astype(float), bool(self.log_target))  # a log needs y > 0
        # x_mean_ / x_scale_: the offset and scale of the inputs (mean and std; with input_warp, min and range)
        self.x_mean_, self.x_scale_ = unit_params(X) if self.input_warp else scale_params(X)
        self.outcome_ = OutcomeTransform(log=bool(self.log_target)).fitted(y)
        self.y_mean_, self.y_scale_ = self.outcome_.mean_, self.outcome_.scale_
        Xs = (X - self.x_mean_) / self.x_scale_
        ys = self.outcome_.forward(self.outcome_.scale(y))
        if self.max_points is not None and n > int(self.max_points):
            if int(self.max_points) < 2:
                raise ModelError(f"GPRegressor: max_points={self.max_points} is below 2")
            keep = np.sort(np.random.default_rng(self.random_state).choice(n, int(self.max_points), replace=False))
            Xs, ys = Xs[keep], ys[keep]
        self.n_train_used_ = len(Xs)
        hyper = dataclasses.replace(REGRESSION_HYPER, noise_floor=float(self.noise_floor))
        self.gp_ = fit_gp(Xs, ys, kernel=self.kernel, ard=bool(self.ard), hyper=hyper,
                          warp=InputWarp.for_levels(Xs) if self.input_warp else None,
                          n_restarts=self.n_restarts, max_iters=self.max_iters, seed=self.random_state)
        self._expose()
        return self

    def _expose(self) -> None:
        gp = self.gp_
        self.variance_, self.noise_variance_ = gp.variance, gp.noise_variance
        self.lengthscale_ = gp.lengthscale
        self.log_marginal_likelihood_ = gp.log_marginal_likelihood
        self.X_train_, self.y_train_ = gp.X_train, gp.y_train
        self.L_, self.alpha_ = gp.L, gp.alpha

    def predict(self, X, return_std=False):
        """Predictive mean (and std of a new measurement when ``return_std``) in the target's units."""
        check_is_fitted(self, "alpha_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Xs = (X - self.x_mean_) / self.x_scale_
        if self.input_warp:
            Xs = np.clip(Xs, 0.0, 1.0)          # the warping is defined on the unit cube only
        mu, var = self.gp_.predict(Xs, noisy=True)
        mu, sd = self.outcome_.backward(mu, np.sqrt(var))
        if self.log_target:
            mu_c = np.clip(mu, -700, 700)
            mean = np.exp(mu_c)
            std = np.sqrt(np.expm1(np.minimum(sd * sd, 700))) * mean
        else:
            mean, std = mu, sd
        return (mean, std) if return_std else mean

    # -- persistence
    def _get_state(self) -> dict:
        check_is_fitted(self, "alpha_")
        return {"params": self.get_params(), "n_features_in": self.n_features_in_,
                "feature_names_in": [str(c) for c in getattr(self, "feature_names_in_", [])],
                "x_mean": self.x_mean_, "x_scale": self.x_scale_, "y_mean": self.y_mean_, "y_scale": self.y_scale_,
                **self.gp_.state()}

    @classmethod
    def _from_state(cls, state: dict) -> "GPRegressor":
        require_state(state, ("params", "x_mean", "x_scale", "y_mean", "y_scale", "variance", "lengthscale",
                              "noise_variance", "X_train", "y_train"), "gp")
        est = cls(**state["params"])
        est.n_features_in_ = int(state["n_features_in"])
        if state.get("feature_names_in"):
            est.feature_names_in_ = np.array(state["feature_names_in"], dtype=object)
        est.x_mean_ = np.asarray(state["x_mean"], dtype=float)
        est.x_scale_ = np.asarray(state["x_scale"], dtype=float)
        est.y_mean_ = float(state["y_mean"])
        est.y_scale_ = float(state["y_scale"])
        est.outcome_ = OutcomeTransform(bool(est.log_target), bool(est.log_target), est.y_mean_, est.y_scale_)
        est.gp_ = FittedGP.from_state(state, est.kernel, est.n_features_in_)
        est._expose()
        return est

