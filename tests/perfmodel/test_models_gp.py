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


def _chirp(n_levels=30):
    # a clock-like input whose effect speeds up towards its top (sin(12 x^3)) and a two-level input
    levels = np.linspace(0.0, 1.0, n_levels)
    X = np.array([[f, c] for f in levels for c in (0, 1)], dtype=float)
    return X, 3.0 + np.sin(12 * X[:, 0] ** 3) + 0.3 * X[:, 1]


def test_input_warp_follows_a_response_that_speeds_up_over_the_range():
    X, y = _chirp()
    errors = {False: [], True: []}
    for seed in range(6):
        train = np.random.default_rng(seed).permutation(len(X))[:24]
        test = np.setdiff1d(np.arange(len(X)), train)
        for warp in errors:
            m = GPRegressor(input_warp=warp, n_restarts=1, max_iters=100).fit(X[train], y[train])
            errors[warp].append(np.mean(np.abs(m.predict(X[test]) / y[test] - 1)))
    assert np.median(errors[True]) < 0.8 * np.median(errors[False])


def test_input_warp_warps_only_inputs_with_three_or_more_values_and_round_trips(tmp_path):
    X, y = _chirp(12)
    X = np.column_stack([X, np.full(len(X), 5.0)])            # and a constant input
    m = GPRegressor(input_warp=True, n_restarts=1, max_iters=60).fit(X, y)
    np.testing.assert_array_equal(m.gp_.warp_dims, [0])      # not the two-level or the constant input
    assert m.gp_.warp_a.shape == (1,) and m.gp_.warp_a[0] > 0
    assert np.all(m.X_train_[:, :2] >= 0) and np.all(m.X_train_[:, :2] <= 1)   # the unit cube
    save_model(m, tmp_path / "gp.json")
    m2 = load_model(tmp_path / "gp.json")
    assert m2.input_warp is True
    # inside the training range, and outside it (clipped to it: the warp is defined on the unit cube only)
    Xt = np.array([[0.5, 0.0, 5.0], [0.97, 1.0, 5.0], [1.5, 1.0, 5.0], [-2.0, 0.0, 9.0]])
    for a, b in zip(m.predict(Xt, return_std=True), m2.predict(Xt, return_std=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    mean, std = m.predict(Xt, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    np.testing.assert_allclose(mean[2], m.predict(np.array([[1.0, 1.0, 5.0]]))[0], rtol=1e-12)


def test_input_warp_without_any_multi_level_input_is_the_plain_gp():
    X = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 3, dtype=float)
    y = 1.0 + X[:, 0] + 0.5 * X[:, 1] + 0.01 * np.arange(len(X))
    m = GPRegressor(input_warp=True, n_restarts=1, max_iters=30).fit(X, y)
    plain = GPRegressor(n_restarts=1, max_iters=30).fit(X, y)
    assert m.gp_.warp_a is None
    # the same GP on inputs scaled to [0, 1] instead of standardised: the same fit up to the length-scales' units
    np.testing.assert_allclose(m.predict(X), plain.predict(X), rtol=1e-3)


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.update(warp_dims=[0, 7]), "warp_dims must hold distinct inputs"),
    (lambda s: s.update(warp_dims=[0, 0]), "warp_dims must hold distinct inputs"),
    (lambda s: s.update(warp_a=[1.0, 2.0]), "warp_a must hold 1 values"),
    (lambda s: s.update(warp_b=[-1.0]), "warp_b must hold positive numbers"),
    (lambda s: s["params"].update(input_warp="yes"), "params.input_warp"),
])
def test_a_corrupt_warp_in_a_model_file_is_a_one_line_error(tmp_path, mutate, message):
    import json

    X, y = _chirp(8)
    save_model(GPRegressor(input_warp=True, n_restarts=1, max_iters=20).fit(X, y), tmp_path / "gp.json")
    doc = json.loads((tmp_path / "gp.json").read_text())
    mutate(doc["state"])
    (tmp_path / "gp.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=message) as err:
        load_model(tmp_path / "gp.json")
    assert "\n" not in str(err.value)
