"""Baselines the surrogate models are compared against: FLOPs-linear regression and gradient boosting.

Both are scikit-learn estimators whose fitted state is plain numbers (least-squares coefficients; the arrays
of each regression tree), so they save to JSON and predict without the library that fitted them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

from ._common import check_min_samples, forward_target, inverse_target, require_state

__all__ = ["FlopsLinearRegressor", "GradientBoostingBaseline"]


class FlopsLinearRegressor(RegressorMixin, BaseEstimator):
    """``y = b0 + sum_j b_j * X[:, j]`` over a few proxy columns (FLOPs; optionally layer count, bytes).

    The classic "runtime is proportional to FLOPs" proxy. With ``columns=None`` every input column is used.

    Parameters
    ----------
    columns : sequence of int or None, default (0,)
        Input columns used as regressors (the FLOPs column first by convention).
    fit_intercept : bool, default True
    relative : bool, default False
        Minimise relative instead of absolute errors (rows weighted by ``1 / y``): runtimes of networks span
        orders of magnitude, and an absolute fit serves the slowest ones at the expense of the fast ones.
    """

    def __init__(self, columns=(0,), fit_intercept=True, relative=False):
        self.columns = columns
        self.fit_intercept = fit_intercept
        self.relative = relative

    def _cols(self, d: int) -> list[int]:
        cols = list(range(d)) if self.columns is None else [int(c) for c in self.columns]
        if any(c < 0 or c >= d for c in cols):
            raise ValueError(f"columns {self.columns!r} outside the {d} input columns")
        return cols

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        check_min_samples(type(self).__name__, X.shape[0], 2)
        A = X[:, self._cols(X.shape[1])]
        if self.fit_intercept:
            A = np.column_stack([np.ones(len(A)), A])
        y = y.astype(float)
        if self.relative:
            if np.any(y <= 0):
                raise ValueError("relative=True needs positive targets")
            sol, *_ = np.linalg.lstsq(A / y[:, None], np.ones_like(y), rcond=None)
        else:
            sol, *_ = np.linalg.lstsq(A, y, rcond=None)
        self.intercept_ = float(sol[0]) if self.fit_intercept else 0.0
        self.coef_ = sol[1:] if self.fit_intercept else sol
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.intercept_ + X[:, self._cols(X.shape[1])] @ self.coef_

    def _get_state(self) -> dict:
        check_is_fitted(self, "coef_")
        params = self.get_params()
        params["columns"] = None if params["columns"] is None else [int(c) for c in params["columns"]]
        return {"params": params, "n_features_in": self.n_features_in_, "coef": self.coef_,
                "intercept": self.intercept_}

    @classmethod
    def _from_state(cls, state: dict) -> "FlopsLinearRegressor":
        require_state(state, ("params", "n_features_in", "coef", "intercept"), "flops_linear")
        params = dict(state["params"])
        if params.get("columns") is not None:
            params["columns"] = tuple(params["columns"])
        est = cls(**params)
        est.n_features_in_ = int(state["n_features_in"])
        est.coef_ = np.asarray(state["coef"], dtype=float)
        est.intercept_ = float(state["intercept"])
        return est


class GradientBoostingBaseline(RegressorMixin, BaseEstimator):
    """Gradient-boosted regression trees (the TX1 design-space study's choice), stored as plain tree arrays.

    Fitting uses :class:`sklearn.ensemble.GradientBoostingRegressor` (squared error); afterwards only the
    trees' arrays (feature, threshold, children, leaf values), the initial constant and the learning rate are
    kept, and prediction walks the trees with numpy.

    Parameters
    ----------
    n_estimators : int, default 300
    learning_rate : float, default 0.05
    max_depth : int, default 3
    subsample : float, default 1.0
    log_target : bool, default False
    random_state : int or None, default 0
    """

    def __init__(self, n_estimators=300, learning_rate=0.05, max_depth=3, subsample=1.0, log_target=False,
                 random_state=0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.log_target = log_target
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        check_min_samples(type(self).__name__, X.shape[0], 2)
        z = forward_target(type(self).__name__, y.astype(float), bool(self.log_target))
        gbr = GradientBoostingRegressor(n_estimators=int(self.n_estimators), learning_rate=float(self.learning_rate),
                                        max_depth=int(self.max_depth), subsample=float(self.subsample),
                                        random_state=self.random_state).fit(X, z)
        # squared-error init is the training mean; read it from the fitted DummyRegressor
        self.init_ = float(np.ravel(gbr.init_.predict(X[:1]))[0])
        self.trees_ = [self._tree_arrays(est[0].tree_) for est in gbr.estimators_]
        self.feature_importances_ = gbr.feature_importances_
        return self

    @staticmethod
    def _tree_arrays(tree) -> dict:
        return {"feature": tree.feature.astype(int), "threshold": tree.threshold.astype(float),
                "left": tree.children_left.astype(int), "right": tree.children_right.astype(int),
                "value": tree.value.reshape(tree.node_count, -1)[:, 0].astype(float)}

    @staticmethod
    def _walk(tree: dict, X: np.ndarray) -> np.ndarray:
        node = np.zeros(len(X), dtype=int)
        left, right, feat, thr = tree["left"], tree["right"], tree["feature"], tree["threshold"]
        active = left[node] >= 0
        while active.any():
            idx = np.flatnonzero(active)
            n = node[idx]
            go_left = X[idx, feat[n]] <= thr[n]
            node[idx] = np.where(go_left, left[n], right[n])
            active = left[node] >= 0
        return tree["value"][node]

    def predict(self, X):
        check_is_fitted(self, "trees_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        z = np.full(len(X), self.init_)
        for tree in self.trees_:
            z += self.learning_rate * self._walk(tree, X)
        return inverse_target(z, bool(self.log_target))

    def _get_state(self) -> dict:
        check_is_fitted(self, "trees_")
        return {"params": self.get_params(), "n_features_in": self.n_features_in_, "init": self.init_,
                "trees": self.trees_, "feature_importances": self.feature_importances_}

    @classmethod
    def _from_state(cls, state: dict) -> "GradientBoostingBaseline":
        require_state(state, ("params", "n_features_in", "init", "trees"), "gbr")
        est = cls(**state["params"])
        est.n_features_in_ = int(state["n_features_in"])
        est.init_ = float(state["init"])
        est.trees_ = [{"feature": np.asarray(t["feature"], dtype=int),
                       "threshold": np.asarray(t["threshold"], dtype=float),
                       "left": np.asarray(t["left"], dtype=int), "right": np.asarray(t["right"], dtype=int),
                       "value": np.asarray(t["value"], dtype=float)} for t in state["trees"]]
        est.feature_importances_ = np.asarray(state.get("feature_importances", []), dtype=float)
        return est
