"""Seed 002's accuracy model: linear regression on inverse powers of depth and width.

Features (Shape_DNN, Eq. 2), for depth ``d`` and width ``w``::

    1/w, 1/d, 1/w^2, 1/(d w), 1/d^2, 1/w^3, 1/(w^2 d), 1/(w d^2), 1/d^3

and ``accuracy = v^T x + b`` (Eq. 3). With ``alpha=0`` (the default, as in the seed) the coefficients are
ordinary least squares (the minimum-norm solution when fewer than ten shapes were trained); ``alpha > 0``
fits a ridge regression on standardised features instead, which extrapolates less wildly from a handful
of trained shapes.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["inverse_features", "FEATURE_NAMES", "InversePolynomialAccuracy"]

FEATURE_NAMES = ("1/w", "1/d", "1/w^2", "1/(dw)", "1/d^2", "1/w^3", "1/(w^2 d)", "1/(w d^2)", "1/d^3")


def inverse_features(X) -> np.ndarray:
    """Map rows ``(depth, width)`` to the nine features of Shape_DNN, Eq. 2."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"expected two columns (depth, width), got shape {X.shape}")
    if np.any(X <= 0):
        raise ValueError("depth and width must be positive")
    d, w = 1.0 / X[:, 0], 1.0 / X[:, 1]
    return np.column_stack([w, d, w**2, d * w, d**2, w**3, w**2 * d, w * d**2, d**3])


class InversePolynomialAccuracy(RegressorMixin, BaseEstimator):
    """Predict test accuracy of a shape from its depth and width (Shape_DNN, Eqs. 2-3).

    Parameters
    ----------
    alpha : float, default 0.0
        0: ordinary least squares as in the seed; > 0: ridge penalty on standardised features.
    clip : bool, default True
        Clip predictions to [0, 1] (accuracies are fractions).

    Attributes
    ----------
    coef_ : ndarray of shape (9,)
        Coefficients ``v`` in the order of :data:`FEATURE_NAMES` (on standardised features when alpha > 0).
    intercept_ : float
    n_features_in_ : int
        Always 2 (depth, width).
    """

    def __init__(self, alpha: float = 0.0, clip: bool = True):
        self.alpha = alpha
        self.clip = clip

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        if X.shape[1] != 2:
            raise ValueError(f"expected two columns (depth, width), got {X.shape[1]}")
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        F = inverse_features(X)
        if self.alpha > 0:
            self.pipeline_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(F, y)
            reg = self.pipeline_[-1]
        else:
            self.pipeline_ = make_pipeline(LinearRegression()).fit(F, y)
            reg = self.pipeline_[-1]
        self.coef_ = np.asarray(reg.coef_, dtype=float)
        self.intercept_ = float(reg.intercept_)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        y = self.pipeline_.predict(inverse_features(X))
        return np.clip(y, 0.0, 1.0) if self.clip else y
