import numpy as np
import pytest

from perfmodel.interactions import InteractionModel
from perfmodel.models import SparsePolynomialRegressor
from perfmodel.monomials import (Monomials, count_monomials, evaluate, lowest_error, monomial_powers,
                                 one_standard_error)


def test_powers_of_two_variables_to_degree_two_lowest_degree_first():
    assert monomial_powers(2, 2).tolist() == [[1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]


def test_linear_only_columns_come_last_and_only_linearly():
    assert monomial_powers(3, 2, linear_only=(1,)).tolist() == [
        [1, 0, 0], [0, 0, 1], [2, 0, 0], [1, 0, 1], [0, 0, 2], [0, 1, 0]]
    assert monomial_powers(1, 3, linear_only=(0,)).tolist() == [[1]]


def test_count_monomials_without_building_them():
    # C(p + degree, degree) - 1 products of the p polynomial columns, plus one term per linear-only column
    assert count_monomials(2, 2) == 5 and count_monomials(3, 2, linear_only=(1,)) == 6
    assert count_monomials(26, 3) == 3653 and count_monomials(26, 4) == 27404     # Unicorn's 26 knobs
    assert count_monomials(1, 3, linear_only=(0,)) == 1
    for n in range(1, 6):
        for degree in range(1, 5):
            assert count_monomials(n, degree, (0,)) == len(monomial_powers(n, degree, (0,)))


def test_evaluate_and_names():
    m = Monomials(("a", "b"), np.array([[1, 0], [1, 2], [0, 0]]))
    x = np.array([[2.0, 3.0], [-1.0, 0.5]])
    assert evaluate(x, m.powers).tolist() == [[2.0, 18.0, 1.0], [-1.0, -0.25, 1.0]]
    assert m.names == ["a", "a*b**2", "1"]
    assert m.subset([1]).names == ["a*b**2"]


FOLDS = {1: np.array([4.0, 6.0, 5.0]), 2: np.array([3.9, 4.1, 4.0]), 3: np.array([3.0, 5.0, 1.0])}
# means 5.0, 4.0, 3.0; degree 3's standard error is std([3, 5, 1], ddof=1) / sqrt(3) = 2 / sqrt(3) = 1.155


def test_lowest_error_takes_the_smallest_mean():
    assert lowest_error(FOLDS) == 3
    assert lowest_error({2: np.array([1.0]), 3: np.array([1.0])}) == 2  # a tie goes to the lower degree


def test_one_standard_error_takes_the_lowest_degree_within_one_se_of_the_best():
    assert one_standard_error(FOLDS) == 2  # 4.0 <= 3.0 + 1.155, 5.0 is not
    assert one_standard_error({1: np.array([9.0, 9.0]), 2: np.array([1.0, 1.0])}) == 2


def test_both_models_take_the_rule():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 2))
    y = 1 + X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.01 * rng.normal(size=60)
    lowest = SparsePolynomialRegressor(degrees=(1, 2, 3), cv=3, n_alphas=10, degree_rule="lowest").fit(X, y)
    one_se = SparsePolynomialRegressor(degrees=(1, 2, 3), cv=3, n_alphas=10, degree_rule="one_se").fit(X, y)
    assert one_se.degree_ <= lowest.degree_ and one_se.degree_ >= 2  # y needs x1**2
    with pytest.raises(ValueError, match="degree_rule"):
        SparsePolynomialRegressor(degree_rule="median").fit(X, y)
    eq = InteractionModel(degree="cv", cv=3, degree_rule="lowest").fit(X, y)
    assert eq.degree_ in eq.cv_errors_ and eq.cv_errors_[eq.degree_] == min(eq.cv_errors_.values())
