"""SparsePolynomialRegressor: degree selection, sparsity, log target, JSON round trip."""

import numpy as np
import pytest

from perfmodel.errors import DataError
from perfmodel.models import SparsePolynomialRegressor, load_model, save_model


def _cubic(n=120, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3))
    y = 1.0 + 2.0 * X[:, 0] ** 3 - 1.5 * X[:, 1] * X[:, 2] + noise * rng.standard_normal(n)
    return X, y


def test_cubic_truth_selects_degree_3_and_predicts_unseen_points():
    X, y = _cubic()
    m = SparsePolynomialRegressor(degrees=(2, 3, 4), random_state=0).fit(X, y)
    assert m.degree_ >= 3  # degree 2 cannot represent x0^3
    assert m.cv_scores_[3] < m.cv_scores_[2]
    Xt, yt = _cubic(200, seed=1)
    assert np.max(np.abs(m.predict(Xt) - yt)) < 0.1


def test_quadratic_truth_does_not_need_degree_4_and_selection_is_sparse():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (150, 4))
    y = 3 * X[:, 0] * X[:, 1] + X[:, 2]
    m = SparsePolynomialRegressor(degrees=(2, 3), random_state=0).fit(X, y)
    n_all = 14 if m.degree_ == 2 else 34  # monomials of 4 inputs up to degree 2 / 3
    assert len(m.coef_) < n_all  # Lasso dropped terms
    assert "x0*x1" in m.terms_
    assert len(m.terms_) == len(m.coef_) == m.powers_.shape[0]


def test_a_degree_with_more_terms_than_max_terms_is_not_tried():
    # 3 inputs: 9 monomials to degree 2, 19 to degree 3
    X, y = _cubic(80)
    with pytest.warns(UserWarning, match=r"^polynomial degree 3 not tried: 19 candidate terms of 3 inputs, more than "
                                         r"max_terms=10$"):
        m = SparsePolynomialRegressor(degrees=(1, 2, 3), max_terms=10).fit(X, y)
    assert set(m.cv_scores_) == {1, 2} and m.degree_ <= 2
    assert set(SparsePolynomialRegressor(degrees=(2, 3), max_terms=None).fit(X, y).cv_scores_) == {2, 3}
    with pytest.raises(ValueError, match=r"every candidate degree has more than max_terms=8 terms of 3 inputs "
                                         r"\(degree 2: 9\)"):
        SparsePolynomialRegressor(degrees=(3, 2), max_terms=8).fit(X, y)
    for bad in (0, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_terms must be a positive integer or None"):
            SparsePolynomialRegressor(max_terms=bad).fit(X, y)


def test_linear_only_columns_never_enter_products():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (80, 3))
    y = X[:, 0] ** 2 + 5 * X[:, 2]
    m = SparsePolynomialRegressor(degrees=(2, 3), linear_only=(2,)).fit(X, y)
    assert np.all(m.powers_[:, 2] <= 1)
    assert np.all(m.powers_[m.powers_[:, 2] == 1].sum(axis=1) == 1)


def test_log_target_fits_power_law_and_refuses_non_positive_target():
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 10, (100, 2))
    y = 1e-3 * X[:, 0] ** 1.5 * X[:, 1]
    m = SparsePolynomialRegressor(degrees=(2,), log_target=True).fit(np.log(X), y)
    rel = np.abs(m.predict(np.log(X)) / y - 1)
    assert rel.max() < 0.02
    with pytest.raises(DataError, match="positive"):
        SparsePolynomialRegressor(log_target=True).fit(X, y - y.mean())


def test_too_few_samples_is_a_data_error():
    with pytest.raises(DataError, match="at least 3 samples, got 2"):
        SparsePolynomialRegressor().fit([[1.0], [2.0]], [1.0, 2.0])


def test_json_round_trip_predicts_identically(tmp_path):
    X, y = _cubic(60, noise=0.05)
    m = SparsePolynomialRegressor(degrees=(2, 3), log_target=False).fit(X, y)
    save_model(m, tmp_path / "p.json")
    m2 = load_model(tmp_path / "p.json", kind="sparse_polynomial")
    Xt, _ = _cubic(30, seed=5)
    np.testing.assert_allclose(m2.predict(Xt), m.predict(Xt), rtol=1e-12)
    assert m2.get_params() == m.get_params()
    assert m2.terms_ == m.terms_


@pytest.mark.parametrize(("max_terms", "loads"), [(None, True), (200, True), (0, False), ("many", False)])
def test_max_terms_in_a_model_file_is_checked_on_load(tmp_path, max_terms, loads):
    import json

    from perfmodel.errors import ModelError

    X, y = _cubic(40)
    save_model(SparsePolynomialRegressor(degrees=(2,)).fit(X, y), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["state"]["params"]["max_terms"] = max_terms
    (tmp_path / "p.json").write_text(json.dumps(doc))
    if loads:
        assert load_model(tmp_path / "p.json").max_terms == max_terms
    else:
        with pytest.raises(ModelError, match=r"params\.max_terms must be"):
            load_model(tmp_path / "p.json")


def test_clip_margin_bounds_polynomial_terms_but_not_linear_special_terms():
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (100, 2))
    y = X[:, 0] ** 3 + 2 * X[:, 1]
    free = SparsePolynomialRegressor(degrees=(3,), linear_only=(1,)).fit(X, y)
    clipped = SparsePolynomialRegressor(degrees=(3,), linear_only=(1,), clip_margin=0.0).fit(X, y)
    far = np.array([[10.0, 0.5]])
    assert abs(free.predict(far)[0]) > 100  # a cubic far off the data
    assert clipped.predict(far)[0] == pytest.approx(clipped.predict(np.array([[X[:, 0].max(), 0.5]]))[0])
    # the linear special term keeps extrapolating, up to one training range beyond the data
    lo, hi = X[:, 1].min(), X[:, 1].max()
    d = clipped.predict(np.array([[0.5, hi + 0.5 * (hi - lo)]]))[0] - clipped.predict(np.array([[0.5, hi]]))[0]
    assert d == pytest.approx(2.0 * 0.5 * (hi - lo), rel=0.05)
    assert clipped.predict(np.array([[0.5, 100.0]]))[0] < clipped.predict(np.array([[0.5, 5.0]]))[0] + 1e-9
