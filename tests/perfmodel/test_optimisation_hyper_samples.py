"""Posterior samples of the GP hyper-parameters and the integrated acquisition (``hyper_samples``)."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import halfcauchy, truncnorm

from perfmodel.errors import ModelError, OptimisationError
from perfmodel.models.gp_core import (SURROGATE_HYPER, InputWarp, PriorMean, _LogPosterior, _slice_sweep, fit_gp,
                                      mean_gp, sample_gp)
from perfmodel.optimisation import Study, optimize
from perfmodel.optimisation.acquisition import log_expected_hypervolume_improvement
from perfmodel.optimisation.gp import GPSurrogate
from perfmodel.optimisation.strategies import BOStrategy, SearchState
from perfmodel.pareto import pareto_front
from profiling.space import ConfigSpace, Integer, Ordinal, config_key


def data(n=25, seed=0, noise=0.02):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 3))
    # the third input is irrelevant: its length-scale goes to the upper bound
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 + noise * rng.normal(size=n)
    return X, (y - y.mean()) / y.std()


def test_log_posterior_at_the_optimum_is_gpys_log_marginal_likelihood():
    X, z = data()
    gp = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=2, seed=0)
    target = _LogPosterior(X, z, "matern52", 3, SURROGATE_HYPER, None)
    assert target(target.theta(gp)) == pytest.approx(gp.log_marginal_likelihood, abs=1e-6)
    # with a prior mean (last column) as well (noisier data: GPy adds jitter where the noise is at its floor)
    X, z = data(noise=0.3)
    Xp = np.column_stack([X, 0.8 * np.sin(5 * X[:, 0]) + 0.5 * np.cos(7 * X[:, 2])])   # an imperfect prior
    gpm = fit_gp(Xp, z, hyper=SURROGATE_HYPER, mean=PriorMean(), n_restarts=2, seed=0)
    tm = _LogPosterior(Xp, z, "matern52", 3, SURROGATE_HYPER, PriorMean())
    assert tm(tm.theta(gpm)) == pytest.approx(gpm.log_marginal_likelihood, abs=1e-6)
    assert gpm.noise_variance > 1e-3
    # outside the optimiser's bounds the density is zero
    theta = target.theta(gp)
    theta[1] = np.log(SURROGATE_HYPER.lengthscale[1]) + 0.1
    assert target(theta) == -np.inf


def test_saas_prior_is_the_half_cauchy_hierarchy_on_the_log_scale():
    X, z = data()
    gp = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=1, seed=0)
    target = _LogPosterior(X, z, "matern52", 3, SURROGATE_HYPER, None, lengthscale_prior="saas")
    plain = _LogPosterior(X, z, "matern52", 3, SURROGATE_HYPER, None)

    def by_hand(theta):
        # tau ~ HC(0.1), 1/l^2 ~ HC(tau), as densities of log tau and log l (log Jacobians log tau, log 2/l^2)
        tau, ls = np.exp(theta[-1]), np.exp(theta[1:4])
        rho = ls ** -2.0
        return (halfcauchy(scale=0.1).logpdf(tau) + np.log(tau)
                + np.sum(halfcauchy(scale=tau).logpdf(rho) + np.log(2 * rho)))

    a = target.theta(gp)
    b = a.copy()
    b[1:4] = np.log([0.3, 2.0, 7.0])
    b[-1] = np.log(0.5)
    got = (target(b) - plain(b[:-1])) - (target(a) - plain(a[:-1]))
    assert got == pytest.approx(by_hand(b) - by_hand(a), rel=1e-9)
    samples = sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=10, seed=0, lengthscale_prior="saas")
    assert all(np.all((s.lengthscale >= 0.02) & (s.lengthscale <= 20)) for s in samples)
    with pytest.raises(ModelError, match="length-scale prior"):
        sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=2, lengthscale_prior="horseshoe")


def test_slice_sampler_draws_a_known_truncated_density():
    # standard normal in 2-D, the first coordinate truncated to [-1, inf): mean and sd known in closed form
    def logp(t):
        return -np.inf if t[0] < -1 else -0.5 * float(t @ t)

    rng = np.random.default_rng(0)
    lower, upper = np.array([-1.0, -np.inf]), np.array([np.inf, np.inf])
    t, lp = np.array([0.5, 0.5]), logp(np.array([0.5, 0.5]))
    draws = []
    for _ in range(4000):
        t, lp = _slice_sweep(logp, t, lp, lower, upper, rng)
        draws.append(t)
    draws = np.array(draws)
    assert draws[:, 0].min() >= -1.0
    ref = truncnorm(-1.0, np.inf)
    assert draws[:, 0].mean() == pytest.approx(ref.mean(), abs=0.05)
    assert draws[:, 0].std() == pytest.approx(ref.std(), abs=0.05)
    assert draws[:, 1].mean() == pytest.approx(0.0, abs=0.06)
    assert draws[:, 1].std() == pytest.approx(1.0, abs=0.05)


def test_samples_respect_the_bounds_and_are_deterministic_by_seed():
    X, z = data()
    gp = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=2, seed=0)
    samples = sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=30, seed=3)
    assert len(samples) == 30
    h = SURROGATE_HYPER
    for s in samples:
        assert h.variance[0] <= s.variance <= h.variance[1]
        assert np.all((s.lengthscale >= h.lengthscale[0]) & (s.lengthscale <= h.lengthscale[1]))
        assert max(h.noise[0], h.noise_floor) <= s.noise_variance <= h.noise[1]
        np.testing.assert_array_equal(s.X_train, X)
    values = np.array([[s.variance, *s.lengthscale, s.noise_variance] for s in samples])
    assert len(np.unique(values[:, 0])) > 20            # the chain moves
    again = sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=30, seed=3)
    np.testing.assert_array_equal(values, [[s.variance, *s.lengthscale, s.noise_variance] for s in again])
    other = sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=30, seed=4)
    assert not np.array_equal(values, [[s.variance, *s.lengthscale, s.noise_variance] for s in other])
    # the relevant first input keeps a shorter length-scale than the irrelevant third in most samples
    assert np.mean(values[:, 1] < values[:, 3]) > 0.8


def test_sample_gp_refuses_what_it_cannot_sample():
    X, z = data()
    gp = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=1, seed=0)
    with pytest.raises(ModelError, match="n_samples >= 1"):
        sample_gp(gp, hyper=SURROGATE_HYPER, n_samples=0)
    with pytest.raises(ModelError, match="prior mean"):
        sample_gp(gp, hyper=SURROGATE_HYPER, mean=PriorMean(), n_samples=2)
    warped = fit_gp(X, z, hyper=SURROGATE_HYPER, warp=InputWarp(), n_restarts=1, seed=0)
    with pytest.raises(ModelError, match="input-warped"):
        sample_gp(warped, hyper=SURROGATE_HYPER, n_samples=2)


def test_surrogate_without_samples_predicts_its_optimum_as_one_row():
    X, z = data()
    y = np.exp(z)
    gp = GPSurrogate().fit(X, y)
    mu, sd = gp.predict(X[:5])
    mus, sds = gp.predict_samples(X[:5])
    assert mus.shape == (1, 5)
    np.testing.assert_array_equal(mus[0], mu)
    np.testing.assert_array_equal(sds[0], sd)
    gps = GPSurrogate(hyper_samples=4).fit(X, y)
    mus, sds = gps.predict_samples(X[:5])
    assert mus.shape == (4, 5) and np.all(sds > 0)
    # each row is the sample's own posterior, mapped back to the log scale of y
    mu0, var0 = gps.samples_[0].predict(X[:5], noisy=False)
    np.testing.assert_allclose(mus[0], gps.outcome_.mean_ + gps.outcome_.scale_ * mu0)


def test_posterior_mean_gp_is_the_geometric_mean_of_the_samples():
    X, z = data()
    y = np.exp(z)
    gps = GPSurrogate(hyper_samples=5).fit(X, y)
    m = mean_gp(gps.samples_)
    assert m.variance == pytest.approx(np.prod([s.variance for s in gps.samples_]) ** 0.2)
    assert m.noise_variance == pytest.approx(np.prod([s.noise_variance for s in gps.samples_]) ** 0.2)
    np.testing.assert_allclose(m.lengthscale, np.prod([s.lengthscale for s in gps.samples_], axis=0) ** 0.2)
    # hyper_use="mean": the surrogate predicts with that one GP (same samples: same seed)
    gpm = GPSurrogate(hyper_samples=5, hyper_use="mean").fit(X, y)
    assert gpm.samples_ == [] and gpm.gp_.variance == pytest.approx(m.variance)
    mus, _ = gpm.predict_samples(X[:4])
    assert mus.shape == (1, 4)
    np.testing.assert_allclose(mus[0], gpm.outcome_.mean_ + gpm.outcome_.scale_ * m.predict(X[:4])[0])
    with pytest.raises(ModelError, match="at least one sample"):
        mean_gp([])
    with pytest.raises(OptimisationError, match="unknown use"):
        GPSurrogate(hyper_samples=5, hyper_use="median")


def toy_state(space, n=8, seed=0):
    rng = np.random.default_rng(seed)
    configs = [{"a": int(a), "b": int(b)} for a, b in zip(rng.permutation(8)[:n], rng.choice([1, 2, 3, 4, 5, 6], n))]
    complete = [(c, {"time": (1 + c["a"]) * (7 - c["b"]) / 6 + 0.1 * rng.uniform(),
                     "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}) for c in configs]
    return SearchState(space=space, objectives=("time", "power"), maximize=(False, False), constraints=(),
                       seed=seed, number=n, complete=complete, taken={config_key(c) for c in configs})


@pytest.mark.parametrize("n_samples", [1, 3])
def test_integrated_acquisition_is_the_mean_of_each_samples_ehvi(n_samples):
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))
    state = toy_state(space)
    bo = BOStrategy(space, hyper_samples=n_samples)
    configs, _ = bo._cands.remaining(state)
    acq = bo.acquisition_values(state, configs)
    np.testing.assert_allclose(acq, mean_of_each_models_ehvi(bo, state, configs, n_samples), rtol=1e-9, atol=1e-9)


def test_kernel_average_keeps_both_kernels_fits_and_averages_their_ehvi():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))
    state = toy_state(space)
    bo = BOStrategy(space, kernel="average")
    configs, _ = bo._cands.remaining(state)
    acq = bo.acquisition_values(state, configs)
    for m in ("time", "power"):
        g = bo._last[m][0]
        assert [f.kernel for f in g.samples_] == ["matern52", "additive"]
        # the point predictions (Kriging believer, reports) are the leave-one-out choice's, as with "select"
        assert g.gp_ is max(g.samples_, key=lambda f: f.loo_log_density())
    np.testing.assert_allclose(acq, mean_of_each_models_ehvi(bo, state, configs, 2), rtol=1e-9, atol=1e-9)
    # not with hyper-parameter samples
    with pytest.raises(OptimisationError, match="matern52 kernel only"):
        BOStrategy(space, kernel="average", hyper_samples=3)


def mean_of_each_models_ehvi(bo, state, configs, n_samples):
    # by hand: each sample's GP predicts (noisy, as the default), log EHVI on the log scale, mean over samples
    enc = {"linked": bo.linked, "log_inputs": bo.log_inputs}
    Xc = bo._cands.encode(configs, **enc)
    gps = {m: bo._last[m][0] for m in ("time", "power")}
    Y = np.column_stack([np.log([o[m] for _, o in state.complete]) for m in ("time", "power")])
    front = pareto_front(Y)
    ref = Y.max(axis=0) + 0.1 * (Y.max(axis=0) - Y.min(axis=0))
    per = []
    for k in range(n_samples):
        mu, sd = [], []
        for m in ("time", "power"):
            g = gps[m]
            assert len(g.samples_) == n_samples
            f_mu, f_var = g.samples_[k].predict(Xc, noisy=True)
            mu.append(g.outcome_.mean_ + g.outcome_.scale_ * f_mu)
            sd.append(g.outcome_.scale_ * np.sqrt(f_var))
        per.append(log_expected_hypervolume_improvement(np.column_stack(mu), np.column_stack(sd), front, ref))
    return per[0] if n_samples == 1 else logsumexp(per, axis=0) - np.log(n_samples)


def test_hyper_samples_option_runs_deterministically_and_refuses_bad_values():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):
        return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}

    runs = [optimize(evaluate, ["time", "power"], space=space, budget=10, n_init=6, seed=1,
                     bo_options={"hyper_samples": 3}).results() for _ in range(2)]
    assert list(runs[0]["phase"]) == ["design"] * 6 + ["model"] * 4
    assert runs[0][["a", "b"]].equals(runs[1][["a", "b"]])
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(OptimisationError, match="whole number >= 0"):
            Study(space, ["time", "power"], bo_options={"hyper_samples": bad})
    with pytest.raises(OptimisationError, match="input warping"):
        Study(space, ["time", "power"], bo_options={"hyper_samples": 2, "input_warp": True})
    with pytest.raises(OptimisationError, match="unknown use"):
        Study(space, ["time", "power"], bo_options={"hyper_samples": 2, "hyper_use": "median"})


def test_the_default_kernel_averages_with_several_objectives_and_is_matern_otherwise():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))
    bo = BOStrategy(space)
    assert bo.kernel == "auto" and bo.kernel_for(2) == "average" and bo.kernel_for(1) == "matern52"
    assert BOStrategy(space, acquisition="parego").kernel_for(2) == "matern52"
    assert BOStrategy(space, hyper_samples=3).kernel_for(2) == "matern52"        # not refused: auto gives way
    assert BOStrategy(space, kernel="additive").kernel_for(2) == "additive"       # a stated kernel is kept
    with pytest.raises(OptimisationError, match="unknown kernel 'cubic'; choose one of auto, "):
        BOStrategy(space, kernel="cubic")
    state = toy_state(space)
    configs, _ = bo._cands.remaining(state)
    bo.acquisition_values(state, configs)
    for m in ("time", "power"):
        assert [f.kernel for f in bo._last[m][0].samples_] == ["matern52", "additive"]
