"""Sparse polynomial interaction equations with statistics, rendered with sympy.

:class:`InteractionModel` chooses the polynomial degree by cross-validated error, selects terms with
:class:`~sklearn.linear_model.LassoCV` (on column-standardised terms so the penalty treats them alike),
refits the selected terms by ordinary least squares with :mod:`statsmodels` (coefficients, standard
errors, p-values, confidence intervals), then removes terms whose p-value exceeds ``p_max`` one at a time
(backward elimination). The result is written as a :mod:`sympy` expression in the knob names.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import sympy
from scipy.linalg import qr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold
from sklearn.utils.validation import validate_data

from ..errors import DataError, ModelError
from ..monomials import DEGREE_RULES, Monomials
from .design import _onehot_name, encode_knobs, monomials, rows_needed

FORMAT = "perfmodel.interaction-equation"
VERSION = 1
UNITS = ("natural", "standardized")


class InteractionModel(RegressorMixin, BaseEstimator):
    """Sparse polynomial of the knobs, refitted by OLS, with its equation.

    Parameters
    ----------
    knobs : sequence of str, optional
        Knob columns of ``X``; all columns when omitted.
    degree : {"cv"} or int, default "cv"
        Polynomial degree, or ``"cv"`` to choose among ``1..max_degree`` by cross-validated error: the
        lowest degree within one standard error (over folds) of the best. A degree is fitted only on enough
        rows (:func:`perfmodel.interactions.design.rows_needed`: each knob's own polynomial, and no more
        candidate terms than rows less two); ``"cv"`` skips the others with a note, a fixed degree is an error.
    units : {"natural", "standardized"}, default "natural"
        Variables of the equation: the knob values as measured, or z-scores ``(x - mean) / std``.
    max_degree : int, default 3
        Highest degree tried when ``degree="cv"``.
    cv : int, default 5
        Folds of the cross-validation (for the degree, for the reported CV error and inside LassoCV).
    p_max : float or None, default 0.05
        Family-wise significance level of the terms: after the OLS refit, the term with the largest
        p-value is removed while that p-value exceeds ``p_max / k`` (Bonferroni over the ``k`` terms
        left), refitting each time; ``None`` keeps every term LassoCV selected.
    alpha : float, default 0.05
        Confidence intervals are ``1 - alpha``.
    random_state : int, default 0
        Seed of the fold shuffles.
    degree_rule : {"one_se", "lowest"}, default "one_se"
        With ``degree="cv"``: the lowest degree within one standard error (over folds) of the best CV error,
        which keeps ``x**3`` from standing in for ``x**2`` when the data cannot tell them apart, or the degree
        of lowest CV error (:data:`perfmodel.monomials.DEGREE_RULES`).

    Attributes
    ----------
    degree_ : int
    terms_ : pandas.DataFrame
        One row per term (intercept first): ``term, coefficient, std_error, p_value, ci_low, ci_high,
        share, order, effect``. ``share`` is the term's share of the explained variance (Pratt's product
        measure ``b_j cov(m_j, yhat) / var(yhat)``: shares sum to 1; a negative share marks a term that
        works against correlated ones).
    effects_ : pandas.DataFrame
        Share of explained variance per effect (a knob alone, or a set of interacting knobs), largest
        first, computed with the variables centred (``terms`` = how many fitted terms feed the effect):
        ANOVA-like, so an uncentred ``a*b`` term's main-effect parts count for ``a`` and ``b``.
    expression_ : sympy.Expr
        The equation in the variables of ``units`` (symbols named after the knobs).
    r2_, adj_r2_ : float
        In-sample coefficient of determination of the OLS refit.
    cv_error_ : float
        Cross-validated RMSE of the whole procedure (selection + refit) at ``degree_``.
    cv_errors_ : dict
        ``degree -> CV RMSE`` for every degree tried.
    notes_ : list of str
        What was dropped, encoded or could not be done, in words.
    """

    def __init__(self, knobs: Sequence[str] | None = None, degree: str | int = "cv", units: str = "natural",
                 max_degree: int = 3, cv: int = 5, p_max: float | None = 0.05, alpha: float = 0.05,
                 random_state: int = 0, degree_rule: str = "one_se"):
        self.knobs = knobs
        self.degree = degree
        self.units = units
        self.max_degree = max_degree
        self.cv = cv
        self.p_max = p_max
        self.alpha = alpha
        self.random_state = random_state
        self.degree_rule = degree_rule

    # ------------------------------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y) -> InteractionModel:
        """Fit the equation to knob table ``X`` and objective ``y`` (rows with NaN ``y`` are dropped)."""
        if isinstance(X, pd.DataFrame):
            X = _named(X)
            self.n_features_in_ = X.shape[1]
            if y is None:
                raise ValueError("InteractionModel requires y to be passed, but the target y is None")
        else:  # an array of numbers: checked as scikit-learn checks one (sparse, complex, NaN/inf, shapes)
            X, y = validate_data(self, X, y, y_numeric=True, dtype="numeric")
            X = _as_frame(X)
        knobs = list(self.knobs) if self.knobs is not None else list(X.columns)
        if self.units not in UNITS:
            raise ModelError(f"units must be one of {', '.join(UNITS)}, not {self.units!r}")
        if not (isinstance(self.cv, int | np.integer) and self.cv >= 2):
            raise ModelError(f"cv must be an integer >= 2, not {self.cv!r}")
        self.objective_ = str(getattr(y, "name", None) or "y")
        try:
            y = np.asarray(y, dtype=float).ravel()
        except (TypeError, ValueError):
            raise DataError(f"objective {self.objective_!r} is not numeric") from None
        if len(y) != len(X):
            raise DataError(f"{len(X)} knob rows but {len(y)} objective values")
        self.notes_: list[str] = []
        bad = ~np.isfinite(y)
        if bad.all():
            raise DataError(f"objective {self.objective_!r} has no finite value")
        if bad.any():
            self.notes_.append(f"{int(bad.sum())} row(s) with a missing or infinite {self.objective_!r} left out")
            X, y = X.loc[~bad], y[~bad]
        if len(y) < 2:
            raise DataError(f"only n_samples = {len(y)} row(s) with a finite {self.objective_!r}: "
                            "an equation needs at least 2")
        if np.ptp(y) == 0:
            raise DataError(f"objective {self.objective_!r} is constant ({y[0]:g}): nothing to explain")
        self.n_rows_ = len(y)
        self.encoding_ = encode_knobs(X, knobs)
        self.notes_ = self.encoding_.notes + self.notes_
        V = self.encoding_.transform(X)
        self.mean_ = V.mean().to_numpy()
        self.scale_ = V.std(ddof=0).to_numpy()
        V = self._units(V)
        n_var = V.shape[1]
        if self.degree_rule not in DEGREE_RULES:
            raise ModelError(f"degree_rule must be one of {', '.join(DEGREE_RULES)}, not {self.degree_rule!r}")
        if self.degree == "cv":
            if not (isinstance(self.max_degree, int | np.integer) and self.max_degree >= 1):
                raise ModelError(f"max_degree must be an integer >= 1, not {self.max_degree!r}")
            need = {d: rows_needed(V, d) for d in range(1, self.max_degree + 1)}
            degrees = [d for d, n in need.items() if len(y) >= n]
            if not degrees:
                raise DataError(f"too few rows ({len(y)}) for {n_var} knob variable(s): "
                                f"a degree-1 equation needs at least {need[1]}")
            skipped = [d for d in need if d not in degrees]
            if skipped:
                self.notes_.append(f"degree(s) {', '.join(map(str, skipped))} not tried: too few rows "
                                   f"({len(y)}; degree {skipped[0]} needs {need[skipped[0]]})")
        else:
            if not (isinstance(self.degree, int | np.integer) and not isinstance(self.degree, bool)
                    and self.degree >= 1):
                raise ModelError(f"degree must be 'cv' or an integer >= 1, not {self.degree!r}")
            need = rows_needed(V, int(self.degree))
            if len(y) < need:
                raise DataError(f"too few rows ({len(y)}) for a degree-{self.degree} equation of {n_var} "
                                f"knob variable(s): at least {need} needed")
            degrees = [int(self.degree)]
        folds = min(self.cv, len(y))
        self.cv_errors_, fold_mse = {}, {}
        for d in degrees:
            terms = monomials(V, d)
            fold_mse[d] = self._cv_fold_mse(terms.evaluate(V.to_numpy()), y, folds)
            self.cv_errors_[d] = float(np.sqrt(np.mean(fold_mse[d])))
        self.degree_ = DEGREE_RULES[self.degree_rule](fold_mse)
        self.cv_error_ = self.cv_errors_[self.degree_]
        self.cv_nrmse_ = self.cv_error_ / float(np.std(y))
        candidates = monomials(V, self.degree_)
        F = candidates.evaluate(V.to_numpy())
        sel, res, scale = _select_refit(F, y, folds, self.random_state, self.p_max, self.notes_)
        self.monomials_ = candidates.subset(sel)
        self._set_results(res, scale, F[:, sel], y, V.to_numpy())
        return self

    def _units(self, V: pd.DataFrame) -> pd.DataFrame:
        if self.units == "standardized":
            return (V - self.mean_) / self.scale_
        return V

    def _cv_fold_mse(self, F: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
        """Mean squared error of the whole procedure (selection + refit + pruning) on each held-out fold."""
        out = []
        kf = KFold(folds, shuffle=True, random_state=self.random_state)
        for train, test in kf.split(F):
            sel, res, scale = _select_refit(F[train], y[train], min(folds, len(train)), self.random_state,
                                            self.p_max, None)
            pred = res.params[0] + (F[test][:, sel] / scale) @ res.params[1:]
            out.append(np.mean((pred - y[test]) ** 2))
        return np.array(out)

    def _set_results(self, res, scale: np.ndarray, F: np.ndarray, y: np.ndarray, V: np.ndarray) -> None:
        div = np.concatenate([[1.0], scale])
        coef = res.params / div
        se = res.bse / div
        ci = res.conf_int(alpha=self.alpha) / div[:, None]
        self.intercept_ = float(coef[0])
        self.coef_ = coef[1:]
        fitted = self.intercept_ + F @ self.coef_
        var_fit = float(np.var(fitted))
        if var_fit > 0 and len(self.coef_):
            share = np.array([c * np.cov(F[:, j], fitted, bias=True)[0, 1] for j, c in enumerate(self.coef_)])
            share = share / var_fit
        else:
            share = np.zeros(len(self.coef_))
        names = self.monomials_.names
        knob_of = self._knob_of_variable()
        effects = [_effect_label(self.monomials_.variables, p, knob_of) for p in self.monomials_.powers]
        self.terms_ = pd.DataFrame({
            "term": ["1"] + names,
            "coefficient": coef,
            "std_error": se,
            "p_value": res.pvalues,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "share": np.concatenate([[np.nan], share]),
            "order": [0] + [int(p.sum()) for p in self.monomials_.powers],
            "effect": ["(intercept)"] + effects,
        })
        body = self.terms_.iloc[1:].sort_values("share", ascending=False, key=np.abs)
        self.terms_ = pd.concat([self.terms_.iloc[:1], body], ignore_index=True)
        self.effects_ = _centered_effects(V, self.monomials_, self.coef_, fitted, knob_of)
        self.r2_ = float(res.rsquared) if np.isfinite(res.rsquared) else 0.0
        self.adj_r2_ = float(res.rsquared_adj) if np.isfinite(res.rsquared_adj) else 0.0
        self.rmse_ = float(np.sqrt(np.mean((fitted - y) ** 2)))
        self.expression_ = self._expression(self.units)

    def _knob_of_variable(self) -> dict[str, str]:
        out = {}
        for knob in self.encoding_.knobs:
            if knob in self.encoding_.categories:
                for level in self.encoding_.categories[knob][1:]:
                    out[_onehot_name(knob, level)] = knob
            else:
                out[knob] = knob
        return out

    # --------------------------------------------------------------------------------- equation
    def symbols(self) -> dict[str, sympy.Symbol]:
        """``variable name -> sympy.Symbol`` of the equation's variables."""
        return {v: sympy.Symbol(v, real=True) for v in self.monomials_.variables}

    def _expression(self, units: str) -> sympy.Expr:
        syms = self.symbols()
        variables = list(self.monomials_.variables)
        if units == self.units:
            base = [syms[v] for v in variables]
        elif units == "natural":  # z-score symbols -> natural values
            base = [(syms[v] - sympy.Float(m)) / sympy.Float(s) for v, m, s in zip(variables, self.mean_, self.scale_)]
        else:
            base = [syms[v] * sympy.Float(s) + sympy.Float(m) for v, m, s in zip(variables, self.mean_, self.scale_)]
        expr = sympy.Float(self.intercept_)
        for c, p in zip(self.coef_, self.monomials_.powers):
            expr += sympy.Float(float(c)) * sympy.Mul(*[b ** int(k) for b, k in zip(base, p) if k])
        return expr if units == self.units else sympy.expand(expr)

    def expression(self, units: str | None = None) -> sympy.Expr:
        """The equation in ``units`` (default: the units it was fitted in)."""
        self._check_fitted()
        units = units or self.units
        if units not in UNITS:
            raise ModelError(f"units must be one of {', '.join(UNITS)}, not {units!r}")
        return self.expression_ if units == self.units else self._expression(units)

    def text(self, digits: int = 4, units: str | None = None) -> str:
        """Plain-text equation ``objective = ...`` with coefficients rounded to ``digits`` significant digits."""
        expr = _round(self.expression(units), digits)
        return f"{self.objective_} = {sympy.sstr(expr, order='rev-grlex')}"

    def latex(self, digits: int = 4, units: str | None = None) -> str:
        """LaTeX equation with the knob names set upright (``\\mathrm{core\\_freq}``)."""
        expr = _round(self.expression(units), digits)
        names = {s: r"\mathrm{%s}" % _tex_escape(s.name) for s in expr.free_symbols}
        lhs = r"\mathrm{%s}" % _tex_escape(self.objective_)
        return f"{lhs} = {sympy.latex(expr, symbol_names=names, order='rev-grlex', mul_symbol='dot')}"

    def to_callable(self):
        """A function of a table (DataFrame or mapping ``knob -> values``) that evaluates the sympy equation.

        The function encodes the knobs as when fitting (one-hot, 0/1) and evaluates the natural-units
        expression with :func:`sympy.lambdify`, so it is independent of the matrix code of :meth:`predict`.
        """
        self._check_fitted()
        expr = self._expression("natural")
        syms = self.symbols()
        variables = list(self.monomials_.variables)
        fn = sympy.lambdify([syms[v] for v in variables], expr, modules="numpy")
        encoding = self.encoding_

        def equation(table: pd.DataFrame | Mapping[str, Any]):
            df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(
                {k: np.atleast_1d(v) for k, v in table.items()})
            V = encoding.transform(df)
            out = fn(*[V[v].to_numpy(dtype=float) for v in variables])
            return np.broadcast_to(np.asarray(out, dtype=float), (len(V),)).copy()

        equation.__doc__ = f"{self.objective_} = {expr}"
        return equation

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predict the objective for the knob rows of ``X``."""
        self._check_fitted()
        X = _named(X) if isinstance(X, pd.DataFrame) else _as_frame(validate_data(self, X, reset=False,
                                                                                  dtype="numeric"))
        V = self._units(self.encoding_.transform(X))
        return self.intercept_ + self.monomials_.evaluate(V.to_numpy()) @ self.coef_

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise _NotFitted("this InteractionModel is not fitted yet: call fit() first")

    # ------------------------------------------------------------------------------ persistence
    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        """JSON-ready description: equation (natural units), terms with statistics, fit metrics, notes."""
        self._check_fitted()
        rows = []
        for r in self.terms_.itertuples(index=False):
            rows.append({"term": r.term, "coefficient": _num(r.coefficient), "std_error": _num(r.std_error),
                         "p_value": _num(r.p_value), "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high),
                         "share": _num(r.share), "order": int(r.order), "effect": r.effect})
        expr_nat = self.expression("natural")
        return {
            "format": FORMAT, "version": VERSION,
            "objective": self.objective_, "knobs": list(self.encoding_.knobs),
            "variables": list(self.monomials_.variables), "units": self.units, "degree": int(self.degree_),
            "expression": str(expr_nat if digits is None else _round(expr_nat, digits)),
            "expression_fitted_units": str(self.expression_),
            "latex": self.latex(units="natural"),
            "terms": rows,
            "effects": [{"effect": e.effect, "knobs": int(e.knobs), "share": _num(e.share), "terms": int(e.terms)}
                        for e in self.effects_.itertuples(index=False)],
            "fit": {"r2": self.r2_, "adj_r2": self.adj_r2_, "rmse": self.rmse_, "cv_rmse": self.cv_error_,
                    "cv_nrmse": self.cv_nrmse_, "cv_folds": min(self.cv, self.n_rows_), "n_rows": self.n_rows_,
                    "cv_rmse_by_degree": {str(k): v for k, v in self.cv_errors_.items()},
                    "confidence": 1 - self.alpha, "p_max": self.p_max},
            "encoding": {"categories": {k: [str(v) for v in lv] for k, lv in self.encoding_.categories.items()},
                         "dropped": dict(self.encoding_.dropped),
                         "mean": dict(zip(self.encoding_.variables, map(float, self.mean_))),
                         "scale": dict(zip(self.encoding_.variables, map(float, self.scale_)))},
            "powers": self.monomials_.powers.tolist(),
            "notes": list(self.notes_),
        }


def fit_equation(df: pd.DataFrame, knobs: Sequence[str], objective: str, degree: str | int = "cv",
                 units: str = "natural", **kwargs) -> InteractionModel:
    """Fit a sparse polynomial equation of ``objective`` in ``knobs``.

    Parameters
    ----------
    df : pandas.DataFrame
        Measurements: one row per configuration (or repetition).
    knobs : sequence of str
        Knob columns (numeric, boolean, or categorical: categorical knobs are one-hot encoded).
    objective : str
        Column to explain; rows where it is NaN are left out (said in ``notes_``).
    degree : {"cv"} or int
        Degree, or ``"cv"`` to choose it by cross-validated RMSE among ``1..max_degree``.
    units : {"natural", "standardized"}
        Write the equation in the knobs' own units or in z-scores.
    **kwargs
        Other parameters of :class:`InteractionModel` (``max_degree``, ``cv``, ``p_max``, ``alpha``,
        ``random_state``).

    Returns
    -------
    InteractionModel
        Fitted; see its attributes ``terms_``, ``effects_``, ``expression_``, ``r2_``, ``cv_error_``.

    Examples
    --------
    >>> m = fit_equation(df, ["threads", "batch"], "runtime_s")  # doctest: +SKIP
    >>> print(m.text())                                          # doctest: +SKIP
    runtime_s = 0.52 - 0.031*threads + 0.004*batch*threads
    """
    if objective not in df.columns:
        raise DataError(f"the data have no objective column {objective!r}")
    if objective in knobs:
        raise DataError(f"{objective!r} is both a knob and the objective")
    model = InteractionModel(knobs=list(knobs), degree=degree, units=units, **kwargs)
    return model.fit(df, pd.to_numeric(df[objective], errors="coerce").rename(objective))


# ------------------------------------------------------------------------------------- helpers
def _select_refit(F: np.ndarray, y: np.ndarray, folds: int, seed: int, p_max: float | None,
                  notes: list[str] | None):
    """LassoCV selection on column-standardised terms, OLS refit, backward elimination by p-value."""
    n = len(y)
    sel = np.arange(F.shape[1])
    sd = F.std(axis=0)
    usable = np.flatnonzero(sd > 0)
    if len(usable):
        Z = (F[:, usable] - F[:, usable].mean(axis=0)) / sd[usable]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # scikit-learn's default of 1000 passes per alpha: 20000 took 2-4x as long and was no better
            # (docs/interactions.md, "Solver settings")
            lasso = LassoCV(cv=KFold(max(2, min(folds, n)), shuffle=True, random_state=seed),
                            random_state=seed).fit(Z, y)
        keep = np.abs(lasso.coef_) > 1e-12
        order = np.argsort(-np.abs(lasso.coef_[keep]))
        sel = usable[keep][order][: max(0, n - 2)]  # OLS needs a residual degree of freedom
        sel = np.sort(sel)
    else:
        sel = np.array([], dtype=int)
    sel = _full_rank(F, sel, notes)
    while True:
        res, scale = _ols(F[:, sel], y)
        if p_max is None or not len(sel):
            return sel, res, scale
        p = np.nan_to_num(res.pvalues[1:], nan=1.0)
        worst = int(np.argmax(p))
        if p[worst] <= p_max / len(sel):  # Bonferroni: p_max is family-wise over the terms kept
            return sel, res, scale
        sel = np.delete(sel, worst)


def _full_rank(F: np.ndarray, sel: np.ndarray, notes: list[str] | None) -> np.ndarray:
    if len(sel) == 0:
        return sel
    X = np.column_stack([np.ones(len(F)), F[:, sel] / np.maximum(np.sqrt(np.mean(F[:, sel] ** 2, axis=0)), 1e-300)])
    _, R, piv = qr(X, pivoting=True, mode="economic")
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > d[0] * 1e-10))
    if rank == X.shape[1]:
        return sel
    keep = sorted(int(i) - 1 for i in piv[:rank] if i > 0)
    if notes is not None:
        notes.append(f"{X.shape[1] - rank} selected term(s) were collinear with others and left out")
    return sel[keep]


def _ols(X: np.ndarray, y: np.ndarray):
    # Columns are divided by their RMS so that x**3 of a frequency in Hz does not ruin the conditioning;
    # coefficients are divided back afterwards (an exact change of units).
    scale = np.sqrt(np.mean(X ** 2, axis=0)) if X.shape[1] else np.ones(0)
    scale = np.where(scale > 0, scale, 1.0)
    design = np.column_stack([np.ones(len(y)), X / scale])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sm.OLS(y, design).fit()
    return res, scale


def _centered_effects(V: np.ndarray, terms: Monomials, coef: np.ndarray, fitted: np.ndarray,
                      knob_of: Mapping[str, str]) -> pd.DataFrame:
    """Shares of explained variance per effect, with every variable centred first.

    In natural units ``a*b`` also carries main effects of ``a`` and ``b`` (``a*b = (u+m_a)(v+m_b)``), so its
    raw share can be large and cancel against theirs. Expanding each term in centred variables
    ``u = x - mean`` and grouping the pieces by the knobs they involve gives ANOVA-like effects; their
    Pratt shares ``cov(f_g, yhat) / var(yhat)`` still sum to 1.
    """
    mean = V.mean(axis=0)
    U = V - mean
    var_fit = float(np.var(fitted))
    parts: dict[str, np.ndarray] = {}
    counts: dict[str, set] = {}
    for c, p, name in zip(coef, terms.powers, terms.names):
        p = np.asarray(p, dtype=int)
        for q in np.ndindex(*(p + 1)):  # every sub-power q <= p of the binomial expansion
            q = np.asarray(q)
            if not q.any():
                continue  # constant piece: no variance
            w = c * np.prod([math.comb(int(pi), int(qi)) * mean[i] ** int(pi - qi)
                             for i, (pi, qi) in enumerate(zip(p, q)) if pi])
            if w == 0:
                continue
            label = _effect_label(terms.variables, q, knob_of)
            col = np.ones(len(U))
            for i in np.flatnonzero(q):
                col = col * U[:, i] ** int(q[i])
            parts[label] = parts.get(label, 0.0) + w * col
            counts.setdefault(label, set()).add(name)
    rows = []
    for label, f in parts.items():
        share = float(np.cov(f, fitted, bias=True)[0, 1] / var_fit) if var_fit > 0 else 0.0
        rows.append({"effect": label, "knobs": label.count("×") + 1, "share": share, "terms": len(counts[label])})
    df = pd.DataFrame(rows, columns=["effect", "knobs", "share", "terms"])
    return df.sort_values("share", ascending=False, key=np.abs, ignore_index=True)


def _effect_label(variables: Sequence[str], powers: np.ndarray, knob_of: Mapping[str, str]) -> str:
    knobs = []
    for v, p in zip(variables, powers):
        if p and knob_of.get(v, v) not in knobs:
            knobs.append(knob_of.get(v, v))
    return "×".join(knobs)


def _round(expr: sympy.Expr, digits: int) -> sympy.Expr:
    return expr.xreplace({f: sympy.Float(f, digits) for f in expr.atoms(sympy.Float)})


def _tex_escape(s: str) -> str:
    return s.replace("\\", r"\backslash ").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&") \
        .replace("#", r"\#").replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class _NotFitted(ModelError, NotFittedError):
    """Used before ``fit``: a :class:`~perfmodel.errors.ModelError` that is also scikit-learn's
    ``NotFittedError`` (what its estimator checks expect)."""


def _named(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its column names as text (knob names; a frame built from an array has integer names)."""
    return X if all(isinstance(c, str) for c in X.columns) else X.set_axis([str(c) for c in X.columns], axis=1)


def _as_frame(X: np.ndarray) -> pd.DataFrame:
    """A checked 2-D array of knob values as a table with columns ``x0, x1, ...``."""
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


__all__ = ["InteractionModel", "fit_equation"]
