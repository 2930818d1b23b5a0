"""Joint posterior draws of the surrogate and the Thompson-sampling acquisition (``acquisition="ts"``)."""

import GPy
import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from perfmodel.commands import explore
from perfmodel.models.gp_core import SURROGATE_HYPER, fit_gp
from perfmodel.optimisation import Study, optimize
from perfmodel.optimisation import bo as bo_module
from perfmodel.optimisation.gp import GPSurrogate
from perfmodel.optimisation.strategies import BOStrategy
from profiling.space import ConfigSpace, Integer, Ordinal, config_key


def data(n=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 2))
    y = np.exp(np.sin(4 * X[:, 0]) + X[:, 1]) + 0.01 * rng.normal(size=n)
    return X, y


def test_joint_covariance_is_gpys_full_covariance():
    X, y = data()
    z = (y - y.mean()) / y.std()
    gp = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=1, seed=0)
    Xs = np.random.default_rng(1).uniform(size=(30, 2))
    mu, cov = gp.predict_cov(Xs)
    # the same posterior, computed by GPy from the fitted hyper-parameters
    kern = GPy.kern.Matern52(2, variance=gp.variance, lengthscale=gp.lengthscale, ARD=True)
    ref = GPy.models.GPRegression(X, z[:, None], kern, noise_var=gp.noise_variance)
    m_ref, c_ref = ref.predict_noiseless(Xs, full_cov=True)
    np.testing.assert_allclose(mu, m_ref.ravel(), atol=1e-4)   # GPy adds its own jitter
    np.testing.assert_allclose(cov, c_ref, atol=1e-4)


def test_joint_draws_have_the_posterior_mean_and_covariance():
    X, y = data()
    s = GPSurrogate(seed=0).fit(X, y)
    Xs = np.random.default_rng(2).uniform(size=(6, 2))
    draws = s.sample_joint(Xs, rng=np.random.default_rng(0), n_samples=20_000)
    assert draws.shape == (20_000, 6)
    mu, sd = s.predict(Xs)                        # log scale: the draws are on the same scale
    np.testing.assert_allclose(draws.mean(axis=0), mu, atol=4 * sd.max() / np.sqrt(20_000))
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.03)
    # jointly drawn: two nearby points are strongly correlated, as the posterior covariance says
    _, cov = s.gp_.predict_cov(np.vstack([Xs[:1], Xs[:1] + 0.01]))
    rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    near = s.sample_joint(np.vstack([Xs[:1], Xs[:1] + 0.01]), rng=np.random.default_rng(1), n_samples=20_000)
    assert np.corrcoef(near.T)[0, 1] == pytest.approx(rho, abs=0.01)
    assert rho > 0.9
    # the same generator state, the same draws
    a = s.sample_joint(Xs, rng=np.random.default_rng(5))
    b = s.sample_joint(Xs, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def toy(cfg):
    a, b = cfg["a"], cfg["b"]
    return {"time": 1.0 + (a - 6) ** 2 + 0.5 * (b - 5) ** 2, "power": 1.0 + a + b}


def space():
    return ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))


def test_thompson_sampling_finds_the_single_objective_optimum_and_is_reproducible():
    runs = [optimize(toy, ["time"], space=space(), budget=16, n_init=6, acquisition="ts", seed=4)
            for _ in range(2)]
    res = runs[0].results()
    assert res["time"].min() == pytest.approx(1.0)            # a = 6, b = 5
    assert [t.config for t in runs[0].trials] == [t.config for t in runs[1].trials]
    assert {t.phase for t in runs[0].trials[6:]} == {"model"}


def test_thompson_sampling_proposes_only_where_its_draw_adds_hypervolume():
    study = Study(space(), ["time", "power"], strategy="bo", n_init=6, seed=1, acquisition="ts")
    for _ in range(8):
        t = study.ask()
        study.tell(t, toy(t.config))
    strategy = study._strategy
    state = study._state()
    configs, X = strategy._cands.remaining(state)
    acq = strategy.acquisition_values(state, configs, X)
    chosen = np.isfinite(acq)
    # a draw of a GP fitted to 8 points of a smooth toy improves the front somewhere, and not everywhere
    assert 0 < chosen.sum() < len(configs)
    # the same step asked twice draws the same (seeded by the study's seed and the trial number)
    np.testing.assert_array_equal(acq, strategy.acquisition_values(state, configs, X))


def test_thompson_sampling_draws_at_a_random_subset_of_a_large_candidate_set(monkeypatch):
    monkeypatch.setattr(bo_module, "TS_MAX_CANDIDATES", 10)
    study = Study(space(), ["time", "power"], strategy="bo", n_init=6, seed=2, acquisition="ts")
    for _ in range(6):
        t = study.ask()
        study.tell(t, toy(t.config))
    state = study._state()
    configs, X = study._strategy._cands.remaining(state)
    acq = study._strategy.acquisition_values(state, configs, X)
    assert len(configs) == 42 and np.isfinite(acq).sum() <= 10
    t = study.ask()
    assert config_key(t.config) in {config_key(c) for c, v in zip(configs, acq) if np.isfinite(v)}


def test_thompson_sampling_is_a_known_acquisition():
    assert "ts" in bo_module.ACQUISITIONS
    BOStrategy(space(), acquisition="ts")


def test_explore_takes_thompson_sampling_and_offers_every_acquisition(tmp_path):
    assert explore.ACQUISITIONS == bo_module.ACQUISITIONS
    rows = [{"a": a, "b": b, **toy({"a": a, "b": b})} for a in range(8) for b in (1, 2, 3, 4, 5, 6)]
    table = tmp_path / "grid.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    out = tmp_path / "run.csv"
    rc = main(["explore", "--quiet", "--table", str(table), "--knobs", "a,b", "--objectives", "time,power",
               "--budget", "12", "--init", "5", "--acquisition", "ts", "-o", str(out)])
    assert rc == 0
    run = pd.read_csv(out)
    assert len(run) == 12 and not run.duplicated(["a", "b"]).any()
    assert (run["phase"].iloc[5:] == "model").all()
