"""Polynomial terms and degree rules: the one core under NeuralPower's sparse polynomial
(:class:`perfmodel.models.SparsePolynomialRegressor`) and the interaction equations
(:class:`perfmodel.interactions.InteractionModel`).

A polynomial's candidate terms are exponent rows over the input variables (:class:`Monomials`), enumerated by
scikit-learn's :class:`~sklearn.preprocessing.PolynomialFeatures`; a *degree rule* picks the degree from the
cross-validated errors of each candidate degree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import PolynomialFeatures

__all__ = ["Monomials", "monomial_powers", "count_monomials", "evaluate", "term_name", "DEGREE_RULES", "lowest_error",
           "one_standard_error"]


def monomial_powers(n_features: int, degree: int, linear_only: Sequence[int] = ()) -> np.ndarray:
    """Exponent matrix (terms x features) of all monomials of degree 1..``degree``, lowest degree first.

    Columns in ``linear_only`` (NeuralPower's "special terms": FLOPs, bytes) appear only as degree-1 terms,
    after the others.
    """
    linear_only = sorted({int(i) for i in linear_only})
    poly_cols = [i for i in range(n_features) if i not in linear_only]
    rows = np.zeros((0, n_features), dtype=int)
    if poly_cols:
        pf = PolynomialFeatures(degree=int(degree), include_bias=False).fit(np.zeros((1, len(poly_cols))))
        rows = np.zeros((len(pf.powers_), n_features), dtype=int)
        rows[:, poly_cols] = pf.powers_
    lin = np.zeros((len(linear_only), n_features), dtype=int)
    lin[np.arange(len(linear_only)), linear_only] = 1
    return np.vstack([rows, lin]).astype(int)


def count_monomials(n_features: int, degree: int, linear_only: Sequence[int] = (),
                    max_powers: Sequence[int] | None = None) -> int:
    """How many rows :func:`monomial_powers` gives, without building them (a degree that is not tried may have
    millions): the coefficients of ``x**1..x**degree`` in the product over the polynomial columns of ``1 + x +
    ... + x**p``, ``p`` the degree or the column's ``max_powers`` entry if lower (the interaction equations
    leave out powers its levels cannot identify), plus one term per linear-only column."""
    lin = {int(i) for i in linear_only}
    counts = np.zeros(int(degree) + 1, dtype=np.int64)
    counts[0] = 1
    for i in range(n_features):
        if i in lin:
            continue
        top = int(degree) if max_powers is None else max(min(int(max_powers[i]), int(degree)), 0)
        counts = np.convolve(counts, np.ones(top + 1, dtype=np.int64))[: int(degree) + 1]
    return int(counts[1:].sum()) + len(lin)


def evaluate(x: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """Columns ``prod_i x_i ** p_i`` for every exponent row ``p`` of ``powers`` (``x``: rows x variables)."""
    x = np.asarray(x, dtype=float)
    out = np.ones((x.shape[0], len(powers)))
    for j, p in enumerate(powers):
        for i in np.flatnonzero(p):
            out[:, j] *= x[:, i] ** int(p[i])
    return out


def term_name(variables: Sequence[str], powers: Sequence[int], power_sign: str = "**") -> str:
    """``"a*b**2"`` for powers (1, 2) of variables (a, b); ``"1"`` for the intercept."""
    parts = [v if p == 1 else f"{v}{power_sign}{int(p)}" for v, p in zip(variables, powers) if p]
    return "*".join(parts) or "1"


@dataclass(frozen=True)
class Monomials:
    """The candidate terms of a polynomial: exponent rows over named variables."""

    variables: tuple[str, ...]
    powers: np.ndarray  # (n_terms, n_variables) int

    @property
    def names(self) -> list[str]:
        return [term_name(self.variables, p) for p in self.powers]

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Columns ``prod_i x_i ** p_i`` for every term (``x``: rows x variables)."""
        return evaluate(x, self.powers)

    def subset(self, idx) -> Monomials:
        return Monomials(self.variables, self.powers[np.asarray(idx, dtype=int)])


# -------------------------------------------------------------------------------------------- degree rules
def lowest_error(fold_mse: Mapping[int, np.ndarray]) -> int:
    """The degree of lowest mean cross-validated error (ties: the lower degree)."""
    means = {d: float(np.mean(e)) for d, e in fold_mse.items()}
    best = min(means.values())
    return min(d for d, m in means.items() if m <= best * (1 + 1e-9))


def one_standard_error(fold_mse: Mapping[int, np.ndarray]) -> int:
    """The lowest degree whose mean CV error is within one standard error (over folds) of the best one's.

    It keeps ``x**3`` from standing in for ``x**2`` when the data cannot tell them apart.
    """
    means = {d: float(np.mean(e)) for d, e in fold_mse.items()}
    best = min(means, key=means.get)
    e = np.asarray(fold_mse[best], dtype=float)
    limit = means[best] + (np.std(e, ddof=1) / np.sqrt(len(e)) if len(e) > 1 else 0.0)
    return min(d for d, m in means.items() if m <= limit)


#: Degree rules by name: ``fold_mse`` (degree -> squared error on each fold) -> chosen degree.
DEGREE_RULES: dict[str, Callable[[Mapping[int, np.ndarray]], int]] = {
    "lowest": lowest_error, "one_se": one_standard_error,
}
