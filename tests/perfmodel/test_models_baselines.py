"""Baselines: FLOPs-linear, gradient boosting (tree arrays), Paleo-style roofline with measured peaks."""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from perfmodel.errors import ModelError
from perfmodel.models import (FlopsLinearRegressor, GradientBoostingBaseline, RooflineRegressor, load_model,
                              measure_peaks, save_model)


def test_flops_linear_recovers_a_linear_law_on_its_column_only():
    rng = np.random.default_rng(0)
    X = rng.uniform(1e6, 1e9, (40, 2))
    y = 2e-4 + 3e-11 * X[:, 0]
    m = FlopsLinearRegressor(columns=(0,)).fit(X, y)
    assert m.coef_.shape == (1,)
    np.testing.assert_allclose(m.predict(X), y, rtol=1e-9)


def test_gradient_boosting_tree_arrays_predict_like_sklearn(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (120, 3))
    y = np.exp(X[:, 0]) * (1 + X[:, 1])
    m = GradientBoostingBaseline(n_estimators=50, random_state=3).fit(X, y)
    ref = GradientBoostingRegressor(n_estimators=50, learning_rate=0.05, max_depth=3, random_state=3).fit(X, y)
    Xt = rng.uniform(-0.5, 1.5, (60, 3))  # also outside the training range
    np.testing.assert_allclose(m.predict(Xt), ref.predict(Xt), rtol=1e-12)
    save_model(m, tmp_path / "g.json")
    np.testing.assert_allclose(load_model(tmp_path / "g.json", kind="gbr").predict(Xt), ref.predict(Xt), rtol=1e-12)


def test_micro_benchmark_measures_plausible_peaks():
    from profiling.reference import measure_peaks as measure

    peaks = measure(threads=1, matmul_n=256, copy_mib=16, repeats=2)
    assert 1e8 < peaks["peak_flops"] < 1e14  # any CPU of this century, one thread
    assert 1e8 < peaks["bandwidth_bytes_s"] < 1e13
    assert "matmul" in peaks["method"]


def test_old_name_of_the_micro_benchmark_is_a_deprecated_alias(monkeypatch):
    import profiling.reference

    monkeypatch.setattr(profiling.reference, "measure_peaks", lambda *a, **k: {"args": a, "kwargs": k})
    with pytest.warns(DeprecationWarning, match="profiling.reference.measure_peaks"):
        out = measure_peaks(2, repeats=3)
    assert out == {"args": (2,), "kwargs": {"repeats": 3}}


def test_roofline_adds_compute_and_memory_time_like_paleo():
    X = np.array([[2e9, 1e6], [1e6, 4e9]])  # flops, bytes
    paleo = RooflineRegressor(peak_flops=1e9, bandwidth_bytes_s=2e9).fit(X)
    np.testing.assert_allclose(paleo.predict(X), [2.0 + 5e-4, 1e-3 + 2.0])
    roof = RooflineRegressor(peak_flops=1e9, bandwidth_bytes_s=2e9, mode="max").fit(X)
    np.testing.assert_allclose(roof.predict(X), [2.0, 2.0])
    with pytest.raises(ModelError, match="mode"):
        RooflineRegressor(mode="min").fit(X)


def test_roofline_without_given_peaks_still_measures_them_deprecated(monkeypatch, tmp_path):
    calls = []

    def fake(threads=None, **kw):
        calls.append(threads)
        return {"peak_flops": 4e9, "bandwidth_bytes_s": 1e9, "method": "fake"}

    monkeypatch.setattr("profiling.reference.measure_peaks", fake)
    with pytest.warns(DeprecationWarning, match="pass peak_flops and bandwidth_bytes_s"):
        m = RooflineRegressor(threads=2).fit(np.array([[4e9, 0.0]]))
    assert calls == [2]
    assert m.predict(np.array([[4e9, 1e9]]))[0] == pytest.approx(2.0)
    save_model(m, tmp_path / "r.json")
    assert load_model(tmp_path / "r.json").predict(np.array([[4e9, 1e9]]))[0] == pytest.approx(2.0)


def test_roofline_with_given_peaks_times_nothing(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("the model timed the machine")

    monkeypatch.setattr("profiling.reference.measure_peaks", boom)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        m = RooflineRegressor(peak_flops=4e9, bandwidth_bytes_s=1e9).fit(np.array([[4e9, 0.0]]))
    assert m.peaks_["method"] == "given"


def test_relative_flops_fit_serves_small_and_large_networks_alike():
    flops = np.array([1e8, 2e8, 5e9, 1e10, 3e10])
    y = flops / 1e11 * np.array([1.3, 0.8, 1.1, 0.9, 1.05])
    X = flops[:, None]
    absolute = FlopsLinearRegressor().fit(X, y)
    relative = FlopsLinearRegressor(relative=True).fit(X, y)
    err = lambda m: np.max(np.abs(m.predict(X) / y - 1))  # noqa: E731
    assert err(relative) < 0.5 < err(absolute)  # the absolute fit's intercept swamps the small networks
    with pytest.raises(ValueError, match="positive"):
        FlopsLinearRegressor(relative=True).fit(X, -y)
