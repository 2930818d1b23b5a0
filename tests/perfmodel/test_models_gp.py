"""GPRegressor: mean and std, numpy posterior equals GPy's, JSON round trip."""

import numpy as np
import pytest

from perfmodel.errors import ModelError
from perfmodel.models import GPRegressor, load_model, save_model


def _data(n=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.01 * rng.standard_normal(n)
    return X, y


def test_interpolates_and_is_uncertain_far_from_data():
    X, y = _data()
    m = GPRegressor(n_restarts=2, max_iters=50).fit(X, y)
    mean, std = m.predict(X, return_std=True)
    assert np.max(np.abs(mean - y)) < 0.1
    _, std_far = m.predict(np.array([[5.0, 5.0]]), return_std=True)
    assert std_far[0] > 5 * np.median(std)
    assert np.all(std > 0)


def test_posterior_matches_gpy_with_the_same_hyperparameters():
    GPy = pytest.importorskip("GPy")
    X, y = _data(15)
    m = GPRegressor(kernel="rbf", n_restarts=1, max_iters=30).fit(X, y)
    k = GPy.kern.RBF(2, ARD=True, variance=m.variance_, lengthscale=m.lengthscale_)
    g = GPy.models.GPRegression(m.X_train_, m.y_train_[:, None], k, noise_var=m.noise_variance_)
    Xt = np.random.default_rng(1).uniform(0, 1, (10, 2))
    gm, gv = g.predict((Xt - m.x_mean_) / m.x_scale_)
    mean, std = m.predict(Xt, return_std=True)
    np.testing.assert_allclose(mean, gm.ravel() * m.y_scale_ + m.y_mean_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(std, np.sqrt(gv.ravel()) * m.y_scale_, rtol=1e-5)


def test_log_target_gives_positive_predictions_and_std():
    X, y = _data()
    m = GPRegressor(log_target=True, n_restarts=1, max_iters=30).fit(X, np.exp(y))
    mean, std = m.predict(X, return_std=True)
    assert np.all(mean > 0) and np.all(std > 0)
    assert np.max(np.abs(mean / np.exp(y) - 1)) < 0.1


def test_unknown_kernel_is_a_model_error():
    with pytest.raises(ModelError, match="kernel"):
        GPRegressor(kernel="cubic").fit(*_data(5))


def test_json_round_trip_predicts_identically_without_gpy_objects(tmp_path):
    X, y = _data()
    m = GPRegressor(n_restarts=1, max_iters=30).fit(X, y)
    save_model(m, tmp_path / "gp.json")
    text = (tmp_path / "gp.json").read_text()
    assert "GPy.core" not in text and "paramz" not in text
    m2 = load_model(tmp_path / "gp.json")
    Xt = np.random.default_rng(2).uniform(-1, 2, (7, 2))
    for a, b in zip(m.predict(Xt, return_std=True), m2.predict(Xt, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_max_points_fits_on_a_seeded_subset_and_still_predicts():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (300, 2))
    y = np.sin(4 * X[:, 0]) + X[:, 1]
    a = GPRegressor(max_points=60, n_restarts=1, random_state=1).fit(X, y)
    b = GPRegressor(max_points=60, n_restarts=1, random_state=1).fit(X, y)
    assert a.n_train_used_ == 60 and len(a.X_train_) == 60
    np.testing.assert_array_equal(a.X_train_, b.X_train_)  # the subset depends on the seed only
    Xt = rng.uniform(0, 1, (50, 2))
    err = np.abs(a.predict(Xt) - (np.sin(4 * Xt[:, 0]) + Xt[:, 1]))
    assert np.median(err) < 0.1
    assert GPRegressor(n_restarts=1).fit(X[:40], y[:40]).n_train_used_ == 40
    with pytest.raises(ModelError, match="max_points"):
        GPRegressor(max_points=1).fit(X, y)


def test_additive_kernel_round_trips_through_a_model_file(tmp_path):
    X, y = _data()
    m = GPRegressor(kernel="additive", n_restarts=1, max_iters=30).fit(X, y)
    save_model(m, tmp_path / "gp.json")
    m2 = load_model(tmp_path / "gp.json")
    assert m2.kernel == "additive" and m2.gp_.add_variance.shape == (X.shape[1],)
    Xt = np.random.default_rng(2).uniform(-1, 2, (7, 2))
    for a, b in zip(m.predict(Xt, return_std=True), m2.predict(Xt, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
