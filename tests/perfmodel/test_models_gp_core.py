"""The one GP core: numpy posterior equals GPy's (mean function, input warping), state round trip, LOO."""

import json
from dataclasses import replace

import numpy as np
import pytest

from perfmodel.errors import ModelError
from perfmodel.models.gp_core import (REGRESSION_HYPER, SURROGATE_HYPER, FittedGP, InputWarp, OutcomeTransform,
                                      PriorMean, fit_gp, jittered_cholesky, kernel_matrix)

GPy = pytest.importorskip("GPy")


def _data(n=20, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, d))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.01 * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


def test_posterior_with_a_prior_mean_matches_gpy():
    X, z = _data()
    prior = z + 0.3 * np.cos(4 * X[:, 1])                      # a prior column: the mean's input
    Xa = np.column_stack([X, prior])
    fit = fit_gp(Xa, z, hyper=SURROGATE_HYPER, mean=PriorMean(), n_restarts=2, max_iters=60, seed=1)
    assert fit.mean_weight is not None and fit.mean_offset is not None
    mf = GPy.mappings.Linear(3, 1)                               # offset + weight * prior, as a GPy mapping
    k = GPy.kern.Matern52(2, ARD=True, variance=fit.variance, lengthscale=fit.lengthscale, active_dims=[0, 1])
    Xt = np.random.default_rng(2).uniform(0, 1, (7, 2))
    Xta = np.column_stack([Xt, np.linspace(-1, 1, 7)])
    shift = fit.mean_offset
    mf.A[:] = np.array([[0.0], [0.0], [fit.mean_weight]])
    g = GPy.models.GPRegression(Xa, (z - shift)[:, None], k, noise_var=fit.noise_variance, mean_function=mf)
    gm, gv = g.predict_noiseless(Xta)
    mu, var = fit.predict(Xta)
    np.testing.assert_allclose(mu, gm.ravel() + shift, atol=1e-4)     # GPy adds jitter to tiny noise
    np.testing.assert_allclose(var, gv.ravel(), rtol=1e-3, atol=1e-6)


def test_input_warping_is_gpys_kumaraswamy_warp_and_round_trips():
    X, z = _data(25)
    X[:, 0] = X[:, 0] ** 4                                       # a response that moves at one end only
    fit = fit_gp(X, z, hyper=SURROGATE_HYPER, warp=InputWarp(), n_restarts=1, max_iters=60)
    assert fit.warp_a.shape == (2,) and np.all(fit.warp_a > 0) and np.all(fit.warp_b > 0)
    from GPy.util.input_warping_functions import KumarWarping
    w = KumarWarping(X, [0, 1], 1e-6, np.zeros(2), np.ones(2))
    for i, (a, b) in enumerate(w.params):
        a[:] = fit.warp_a[i]
        b[:] = fit.warp_b[i]
    k = GPy.kern.Matern52(2, ARD=True, variance=fit.variance, lengthscale=fit.lengthscale)
    g = GPy.models.GPRegression(w.f(X), z[:, None], k, noise_var=fit.noise_variance)
    Xt = np.random.default_rng(3).uniform(0, 1, (6, 2))
    gm, _ = g.predict_noiseless(w.f(Xt, test_data=True))
    np.testing.assert_allclose(fit.predict(Xt)[0], gm.ravel(), rtol=1e-6, atol=1e-8)
    state = json.loads(json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                   for k, v in fit.state().items()}))
    back = FittedGP.from_state(state, "matern52", 2)
    np.testing.assert_array_equal(back.predict(Xt, noisy=True)[1], fit.predict(Xt, noisy=True)[1])


def test_leave_one_out_density_equals_refitting_without_each_point():
    X, z = _data(12)
    fit = FittedGP("matern52", 0.8, np.array([0.4, 0.7]), 0.01, X, z)
    total = 0.0
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        part = FittedGP("matern52", 0.8, np.array([0.4, 0.7]), 0.01, X[keep], z[keep])
        mu, var = part.predict(X[i:i + 1], noisy=True)
        total += float(-0.5 * np.log(2 * np.pi * var[0]) - 0.5 * (z[i] - mu[0]) ** 2 / var[0])
    assert fit.loo_log_density() == pytest.approx(total, rel=1e-8)
    assert fit.loo_log_density([0]) + fit.loo_log_density([1]) == pytest.approx(fit.loo_log_density([0, 1]))


def test_leave_one_out_residuals_equal_refitting_without_each_point():
    X, z = _data(12)
    fit = FittedGP("matern52", 0.8, np.array([0.4, 0.7]), 0.01, X, z)
    resid, var = fit.loo_residuals()
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        mu, v = FittedGP("matern52", 0.8, np.array([0.4, 0.7]), 0.01, X[keep], z[keep]).predict(X[i:i + 1],
                                                                                                 noisy=True)
        assert resid[i] == pytest.approx(z[i] - mu[0], rel=1e-7, abs=1e-10)
        assert var[i] == pytest.approx(v[0], rel=1e-7)
    np.testing.assert_array_equal(fit.loo_residuals([3, 5])[0], resid[[3, 5]])


def test_priors_and_bounds_both_fit_and_failures_are_reported():
    X, z = _data()
    a = fit_gp(X, z, hyper=REGRESSION_HYPER, n_restarts=2, max_iters=50)
    b = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=2, max_iters=50)
    for f in (a, b):
        mu, _ = f.predict(X)
        assert np.max(np.abs(mu - z)) < 0.2
    assert 0.02 <= b.lengthscale.min() and b.lengthscale.max() <= 20.0      # the bounds hold
    with pytest.raises(ModelError, match="unknown kernel"):
        fit_gp(X, z, kernel="cubic")
    with pytest.raises(ModelError, match="unit cube"):
        fit_gp(X * 3, z, warp=InputWarp())


def test_outcome_transform_logs_only_positive_values_and_inverts():
    y = np.array([1.0, 10.0, 100.0])
    t = OutcomeTransform(log=True).fitted(y)
    assert t.log_
    mu, sd = t.backward(t.forward(t.scale(y)), np.ones(3))
    np.testing.assert_allclose(np.exp(mu), y)
    np.testing.assert_allclose(sd, np.std(np.log(y)))
    assert not OutcomeTransform(log=True).fitted(np.array([-1.0, 2.0])).log_
    assert OutcomeTransform(log=True).fitted(np.array([3.0, 3.0])).scale_ == 1.0      # constant: unit scale


def test_kernel_matrix_is_the_kernel():
    A = np.array([[0.0, 0.0], [1.0, 0.0]])
    K = kernel_matrix(A, A, "rbf", 2.0, np.array([1.0, 1.0]))
    np.testing.assert_allclose(K, [[2.0, 2.0 * np.exp(-0.5)], [2.0 * np.exp(-0.5), 2.0]])


@pytest.mark.parametrize("hyper", [REGRESSION_HYPER, SURROGATE_HYPER])
def test_the_best_restart_is_kept_not_the_last(hyper):
    # the former restart loops wrote the best parameters back into GPy's param_array, which paramz
    # ignores: the last restart's hyper-parameters were used. The fitted objective must be the best one.
    import GPy as gpy
    objectives = []
    orig = gpy.core.model.Model.optimize

    def spy(self, *a, **k):
        out = orig(self, *a, **k)
        objectives.append(float(self.objective_function()))
        return out

    X, z = _data(25, 3, seed=4)
    try:
        gpy.core.model.Model.optimize = spy
        fit = fit_gp(X, z, hyper=hyper, n_restarts=4, max_iters=5, seed=3)
    finally:
        gpy.core.model.Model.optimize = orig
    assert len(objectives) == 4
    assert fit.objective == pytest.approx(min(objectives)) and objectives[-1] > min(objectives) + 1e-6
    k = gpy.kern.Matern52(3, ARD=True, variance=fit.variance, lengthscale=fit.lengthscale)
    g = gpy.models.GPRegression(X, z[:, None], k, noise_var=fit.noise_variance)
    assert float(g.log_likelihood()) == pytest.approx(fit.log_marginal_likelihood, rel=1e-6, abs=1e-6)


def test_a_noise_prior_replaces_the_noise_bounds():
    # White noise of variance 1: bounded maximum likelihood stops at the bound (0.5); with a confident
    # log-normal prior the fitted noise follows the prior instead, beyond the former bound.
    rng = np.random.default_rng(3)
    X = rng.random((30, 1))
    z = rng.normal(size=30)
    z = (z - z.mean()) / z.std()
    bounded = fit_gp(X, z, hyper=SURROGATE_HYPER, n_restarts=1, max_iters=100)
    assert bounded.noise_variance == pytest.approx(0.5, rel=1e-3)
    confident = replace(SURROGATE_HYPER, noise_prior=(np.log(0.8), 0.01))
    fit = fit_gp(X, z, hyper=confident, n_restarts=1, max_iters=100)
    assert fit.noise_variance == pytest.approx(0.8, rel=0.05)


# ------------------------------------------------------------------------------------ additive kernel
def _gpy_additive(d, fit):
    """GPy's own sum of Matern 5/2 kernels with ``fit``'s hyper-parameters (the reference)."""
    return GPy.kern.Add([GPy.kern.Matern52(d, ARD=True, variance=fit.variance, lengthscale=fit.lengthscale,
                                           active_dims=list(range(d)))]
                        + [GPy.kern.Matern52(1, variance=v, lengthscale=m, active_dims=[i])
                           for i, (v, m) in enumerate(zip(fit.add_variance, fit.add_lengthscale))])


def test_additive_kernel_is_gpys_sum_of_first_order_and_full_terms():
    X, z = _data(18, 3, seed=5)
    fit = fit_gp(X, z, kernel="additive", hyper=SURROGATE_HYPER, n_restarts=2, max_iters=80, seed=2)
    assert fit.add_variance.shape == (3,) and fit.add_lengthscale.shape == (3,)
    g = GPy.models.GPRegression(X, z[:, None], _gpy_additive(3, fit), noise_var=fit.noise_variance)
    assert float(g.log_likelihood()) == pytest.approx(fit.log_marginal_likelihood, rel=1e-6, abs=1e-6)
    Xt = np.random.default_rng(6).uniform(0, 1, (9, 3))
    gm, gv = g.predict_noiseless(Xt)
    mu, var = fit.predict(Xt)
    np.testing.assert_allclose(mu, gm.ravel(), atol=1e-4)
    np.testing.assert_allclose(var, gv.ravel(), rtol=1e-3, atol=1e-6)


def test_additive_kernel_gradients_match_finite_differences_and_gpys_input_gradients():
    from perfmodel.models.gp_core import _additive_kernel
    X, z = _data(15, 3, seed=7)
    for ard in (True, False):
        k = _additive_kernel(GPy)(3, ard)
        k.variance[:] = 0.7
        k.lengthscale[:] = [0.3, 0.6, 1.1] if ard else 0.4
        k.add_variance[:] = [0.1, 0.5, 0.2]
        k.add_lengthscale[:] = [0.25, 0.8, 0.5]
        assert GPy.models.GPRegression(X, z[:, None], k, noise_var=0.01).checkgrad()
    ref = GPy.kern.Add([GPy.kern.Matern52(3, variance=0.7, lengthscale=0.4)]
                       + [GPy.kern.Matern52(1, variance=v, lengthscale=m, active_dims=[i])
                          for i, (v, m) in enumerate(zip([0.1, 0.5, 0.2], [0.25, 0.8, 0.5]))])
    rng = np.random.default_rng(8)
    X2 = rng.uniform(0, 1, (4, 3))
    for dL, B in ((rng.normal(size=(15, 15)), None), (rng.normal(size=(15, 4)), X2)):
        np.testing.assert_allclose(k.gradients_X(dL, X, B), ref.gradients_X(dL, X, B), atol=1e-12)
        np.testing.assert_allclose(k.K(X, B), ref.K(X, B), atol=1e-12)


def test_additive_kernel_predicts_an_additive_function_better_from_few_points():
    # f = sum of one function per input: the first-order terms carry each main effect to combinations
    # never observed, where the ARD kernel alone reverts to the mean
    def f(X):
        return np.sin(6 * X[:, 0]) + np.cos(5 * X[:, 1]) + 2 * X[:, 2] ** 2

    rng = np.random.default_rng(0)
    X, Xt = rng.uniform(0, 1, (15, 4)), rng.uniform(0, 1, (400, 4))
    m, s = f(X).mean(), f(X).std()
    err = {}
    for kernel in ("matern52", "additive"):
        fit = fit_gp(X, (f(X) - m) / s, kernel=kernel, hyper=SURROGATE_HYPER, n_restarts=2, max_iters=200)
        err[kernel] = np.sqrt(np.mean((m + s * fit.predict(Xt)[0] - f(Xt)) ** 2))
    assert err["additive"] < 0.7 * err["matern52"]


def test_additive_kernel_state_round_trips_through_json_and_with_a_prior_mean_and_warp():
    X, z = _data(20, 2, seed=9)
    Xt = np.random.default_rng(10).uniform(0, 1, (6, 2))
    fits = {"plain": (fit_gp(X, z, kernel="additive", hyper=REGRESSION_HYPER, n_restarts=2, max_iters=60), Xt),
            "mean": (fit_gp(np.column_stack([X, z + 0.1]), z, kernel="additive", hyper=SURROGATE_HYPER,
                            mean=PriorMean(), n_restarts=1, max_iters=60), np.column_stack([Xt, Xt[:, 0]])),
            "warp": (fit_gp(X, z, kernel="additive", hyper=SURROGATE_HYPER, warp=InputWarp(), n_restarts=1,
                            max_iters=60), Xt)}
    for name, (fit, Xq) in fits.items():
        state = json.loads(json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                       for k, v in fit.state().items()}))
        back = FittedGP.from_state(state, "additive", Xq.shape[1])
        for a, b in zip(back.predict(Xq, noisy=True), fit.predict(Xq, noisy=True)):
            np.testing.assert_array_equal(a, b)
    assert fits["mean"][0].mean_weight == pytest.approx(1.0, abs=0.2)      # the prior is the target, nearly


def test_unknown_kernel_and_missing_first_order_terms_are_model_errors():
    A = np.zeros((2, 2))
    with pytest.raises(ModelError, match="unknown kernel 'cubic'"):
        kernel_matrix(A, A, "cubic", 1.0, np.ones(2))
    with pytest.raises(ModelError, match="first-order"):
        kernel_matrix(A, A, "additive", 1.0, np.ones(2))
    with pytest.raises(ModelError, match="one first-order term per input"):
        kernel_matrix(A, A, "additive", 1.0, np.ones(2), np.ones(3), np.ones(3))


def test_jittered_cholesky_adds_only_the_jitter_it_needs():
    A = np.random.default_rng(0).standard_normal((5, 5))
    K = A @ A.T + np.eye(5)                                          # positive definite: no jitter
    np.testing.assert_array_equal(jittered_cholesky(K, 1.0), np.linalg.cholesky(K))
    S = 50.0 * np.ones((4, 4))                                       # rank one: needs jitter, scaled by ``scale``
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(S)
    L = jittered_cholesky(S, 50.0)
    added = np.diag(L @ L.T - S)
    assert np.allclose(added, added[0]) and 0 < added[0] <= 50.0 * 1e-6
    np.testing.assert_allclose(L @ L.T - np.diag(added), S, atol=1e-9)
    with pytest.raises(np.linalg.LinAlgError):                       # negative definite: no jitter that small helps
        jittered_cholesky(-np.eye(3), 1.0)


def test_a_gp_on_repeated_points_without_noise_still_factors():
    X = np.array([[0.1, 0.2], [0.1, 0.2], [0.7, 0.4]])             # two identical rows: a singular kernel matrix
    gp = FittedGP(kernel="matern52", variance=4.0, lengthscale=np.array([0.5, 0.5]), noise_variance=0.0,
                  X_train=X, y_train=np.array([1.0, 1.0, -1.0]), log_marginal_likelihood=np.nan, objective=np.nan)
    mu, var = gp.predict(X[[0, 2]])
    np.testing.assert_allclose(mu, [1.0, -1.0], atol=1e-3)
    assert np.all(var < 1e-3)


def test_importing_gpy_keeps_the_processs_warning_format():
    # GPy's Laplace module sets warnings.formatwarning when imported; checked in a fresh interpreter, where
    # GPy is not imported yet
    import os
    import subprocess
    import sys

    code = ("import warnings; before = warnings.formatwarning; "
            "from perfmodel.models.gp_core import import_gpy; import sys; assert 'GPy' not in sys.modules; "
            "import_gpy(); assert 'GPy' in sys.modules; print(warnings.formatwarning is before)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": root})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
