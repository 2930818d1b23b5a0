"""Sparse polynomial regression (NeuralPower's per-layer model), degree chosen by cross-validation."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted, validate_data

from ..monomials import DEGREE_RULES, count_monomials, evaluate, monomial_powers
from ._common import check_min_samples, forward_target, inverse_target, require_state, scale_params

__all__ = ["SparsePolynomialRegressor"]


#: Kept for callers of the old names; the one implementation is :mod:`perfmodel.monomials`.
polynomial_powers = monomial_powers
polynomial_terms = evaluate


class SparsePolynomialRegressor(RegressorMixin, BaseEstimator):
    """Polynomial regression with Lasso term selection; the degree is chosen by K-fold cross-validation.

    Inputs are standardised, all monomials up to each candidate degree are built, and a Lasso path
    (:class:`sklearn.linear_model.LassoCV`) on the same folds scores each degree; the best degree is kept
    with its cross-validated penalty. Only the selected terms are stored, as plain numbers.

    Parameters
    ----------
    degrees : int or sequence of int, default (2, 3, 4)
        Candidate polynomial degrees.
    log_target : bool, default False
        Fit ``log(y)`` (runtimes and energies span orders of magnitude; errors become relative).
    linear_only : sequence of int, default ()
        Input columns entered only linearly (special terms such as FLOPs or memory bytes).
    cv : int, default 5
        Number of folds (reduced to the number of samples when there are fewer).
    n_alphas : int, default 40
        Length of the Lasso penalty path.
    max_iter : int, default 5000
        Coordinate-descent iterations per Lasso fit.
    max_terms : int or None, default 5000
        A candidate degree with more monomials than this is not tried (with a warning): its Lasso path takes
        minutes and a matrix of rows x terms (26 inputs on 266 rows: degree 3, 3653 terms, 14 s; degree 4,
        27404 terms, over 5 minutes on a 2-core machine). None tries every degree.
    degree_rule : {"lowest", "one_se"}, default "lowest"
        How the degree is chosen from the cross-validated errors (:data:`perfmodel.monomials.DEGREE_RULES`):
        the lowest mean error, or the lowest degree within one standard error of it (the interaction
        equations' rule).
    random_state : int or None, default 0
        Seed of the fold shuffle.
    clip_margin : float or None, default None
        When set, inputs are clipped at prediction to the training range widened by this fraction of it on
        each side, so that high-degree terms cannot explode far from the data; the ``linear_only`` inputs are
        allowed to extrapolate further (one full training range beyond each end, or more if the margin is
        larger): a linear term extrapolates gracefully, but not from a column that barely varied in training.

    Attributes
    ----------
    degree_ : int
        Selected degree.
    alpha_ : float
        Selected Lasso penalty.
    powers_ : ndarray of shape (n_terms, n_features_in_)
        Exponents of the selected monomials (of the standardised inputs).
    coef_ : ndarray of shape (n_terms,)
        Coefficients of the selected monomials.
    intercept_ : float
    cv_scores_ : dict
        Mean cross-validated squared error (of the possibly log target) of each candidate degree.
    """

    def __init__(self, degrees=(2, 3, 4), log_target=False, linear_only=(), cv=5, n_alphas=40, max_iter=5000,
                 random_state=0, clip_margin=None, degree_rule="lowest", max_terms=5000):
        self.degrees = degrees
        self.log_target = log_target
        self.linear_only = linear_only
        self.cv = cv
        self.n_alphas = n_alphas
        self.max_iter = max_iter
        self.random_state = random_state
        self.clip_margin = clip_margin
        self.degree_rule = degree_rule
        self.max_terms = max_terms

    def fit(self, X, y):
        """Fit the model; ``X`` is (n_samples, n_features), ``y`` (n_samples,)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        check_min_samples(type(self).__name__, n, 3)
        z = forward_target(type(self).__name__, y.astype(float), bool(self.log_target))
        degrees = [int(self.degrees)] if np.isscalar(self.degrees) else [int(g) for g in self.degrees]
        if not degrees or min(degrees) < 1:
            raise ValueError(f"degrees must be positive integers, got {self.degrees!r}")
        lin = tuple(int(i) for i in (self.linear_only or ()))
        if any(i < 0 or i >= d for i in lin):
            raise ValueError(f"linear_only holds a column index outside 0..{d - 1}")
        self.x_mean_, self.x_scale_ = scale_params(X)
        Z = (X - self.x_mean_) / self.x_scale_
        self.z_min_, self.z_max_ = Z.min(axis=0), Z.max(axis=0)
        if self.degree_rule not in DEGREE_RULES:
            raise ValueError(f"degree_rule must be one of {', '.join(DEGREE_RULES)}, not {self.degree_rule!r}")
        degrees = self._degrees_to_try(sorted(set(degrees)), d, lin)
        folds = KFold(n_splits=max(2, min(int(self.cv), n)), shuffle=True, random_state=self.random_state)
        fits, fold_mse = {}, {}
        for deg in degrees:
            powers = monomial_powers(d, deg, lin)
            T = evaluate(Z, powers)
            t_mean, t_scale = scale_params(T)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                lasso = LassoCV(alphas=int(self.n_alphas), cv=folds, max_iter=int(self.max_iter), tol=1e-4)
                lasso.fit((T - t_mean) / t_scale, z)
            path = lasso.mse_path_  # (alphas, folds)
            fold_mse[deg] = path[int(np.argmin(path.mean(axis=1)))]  # each fold's error at the best penalty
            fits[deg] = (powers, t_mean, t_scale, lasso)
        self.cv_scores_ = {deg: float(np.mean(e)) for deg, e in fold_mse.items()}
        self.degree_ = DEGREE_RULES[self.degree_rule](fold_mse)
        powers, t_mean, t_scale, lasso = fits[self.degree_]
        keep = np.flatnonzero(lasso.coef_ != 0)
        coef = lasso.coef_[keep] / t_scale[keep]
        self.powers_ = powers[keep]
        self.coef_ = coef
        self.intercept_ = float(lasso.intercept_ - np.sum(coef * t_mean[keep]))
        self.alpha_ = float(lasso.alpha_)
        self.n_iter_ = int(lasso.n_iter_)
        return self

    def _degrees_to_try(self, degrees: list[int], d: int, lin: tuple[int, ...]) -> list[int]:
        """The candidate degrees whose monomials of ``d`` inputs number at most ``max_terms`` (warns of the others)."""
        if self.max_terms is None:
            return degrees
        if isinstance(self.max_terms, bool) or not isinstance(self.max_terms, (int, np.integer)) or self.max_terms < 1:
            raise ValueError(f"max_terms must be a positive integer or None, got {self.max_terms!r}")
        terms = {deg: count_monomials(d, deg, lin) for deg in degrees}
        kept = [deg for deg in degrees if terms[deg] <= self.max_terms]
        if not kept:
            raise ValueError(f"every candidate degree has more than max_terms={self.max_terms} terms of {d} inputs "
                             f"(degree {degrees[0]}: {terms[degrees[0]]})")
        skipped = [deg for deg in degrees if deg not in kept]
        if skipped:
            warnings.warn(f"polynomial degree {', '.join(map(str, skipped))} not tried: "
                          f"{', '.join(str(terms[g]) for g in skipped)} candidate terms of {d} inputs, more than "
                          f"max_terms={self.max_terms}", UserWarning, stacklevel=3)
        return kept

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z = (X - self.x_mean_) / self.x_scale_
        if self.clip_margin is not None and hasattr(self, "z_min_"):
            lin = {int(i) for i in (self.linear_only or ())}
            for c in range(Z.shape[1]):
                margin = max(float(self.clip_margin), 1.0) if c in lin else float(self.clip_margin)
                span = (self.z_max_[c] - self.z_min_[c]) * margin
                Z[:, c] = np.clip(Z[:, c], self.z_min_[c] - span, self.z_max_[c] + span)
        return self.intercept_ + evaluate(Z, self.powers_) @ self.coef_

    def predict(self, X):
        """Predicted target for ``X``."""
        return inverse_target(self._decision(X), bool(self.log_target))

    @property
    def terms_(self) -> list[str]:
        """Readable names of the selected terms (of standardised inputs), in ``coef_`` order."""
        check_is_fitted(self, "coef_")
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])]
        out = []
        for p in self.powers_:
            parts = [names[c] + (f"^{p[c]}" if p[c] > 1 else "") for c in np.flatnonzero(p)]
            out.append("*".join(parts))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = False
        return tags

    # -- persistence (perfmodel.models.persistence)
    def _get_state(self) -> dict:
        check_is_fitted(self, "coef_")
        return {"params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
                "n_features_in": self.n_features_in_,
                "feature_names_in": [str(c) for c in getattr(self, "feature_names_in_", [])],
                "x_mean": self.x_mean_, "x_scale": self.x_scale_, "z_min": self.z_min_, "z_max": self.z_max_,
                "powers": self.powers_,
                "coef": self.coef_, "intercept": self.intercept_, "degree": self.degree_, "alpha": self.alpha_,
                "n_iter": self.n_iter_,
                "cv_scores": {str(k): v for k, v in self.cv_scores_.items()}}

    @classmethod
    def _from_state(cls, state: dict) -> "SparsePolynomialRegressor":
        require_state(state, ("params", "x_mean", "x_scale", "powers", "coef", "intercept"), "sparse_polynomial")
        params = dict(state["params"])
        for k in ("degrees", "linear_only"):
            if isinstance(params.get(k), list):
                params[k] = tuple(params[k])
        est = cls(**params)
        est.n_features_in_ = int(state["n_features_in"])
        if state.get("feature_names_in"):
            est.feature_names_in_ = np.array(state["feature_names_in"], dtype=object)
        est.x_mean_ = np.asarray(state["x_mean"], dtype=float)
        est.x_scale_ = np.asarray(state["x_scale"], dtype=float)
        if "z_min" in state:
            est.z_min_ = np.asarray(state["z_min"], dtype=float)
            est.z_max_ = np.asarray(state["z_max"], dtype=float)
        est.powers_ = np.asarray(state["powers"], dtype=int).reshape(-1, est.n_features_in_)
        est.coef_ = np.asarray(state["coef"], dtype=float)
        est.intercept_ = float(state["intercept"])
        est.degree_ = int(state.get("degree", 0))
        est.alpha_ = float(state.get("alpha", 0.0))
        est.n_iter_ = int(state.get("n_iter", 1))
        est.cv_scores_ = {int(k): float(v) for k, v in state.get("cv_scores", {}).items()}
        return est
