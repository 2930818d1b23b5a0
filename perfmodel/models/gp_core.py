"""The one Gaussian-process core of the project: kernel, hyper-parameter regularisation, restarts, posterior, state.

Both Gaussian processes use it: :class:`~perfmodel.models.gp.GPRegressor` (the configuration and layer models:
Gamma priors on standardised inputs) and :class:`~perfmodel.optimisation.gp.GPSurrogate` (the optimiser's
surrogate: box bounds on unit-cube inputs, a learned prior mean). What differs between them is an argument,
as in BoTorch's ``SingleTaskGP(covar_module=..., mean_module=..., outcome_transform=..., input_transform=...)``:

* ``hyper`` (:class:`Hyper`): how the kernel's variance, length-scales and the noise are regularised (Gamma
  priors or bounds), where the first optimisation starts and the box the random restarts are drawn from;
* ``mean`` (:class:`PriorMean` or None): a mean function ``a + b * p(x)`` whose input ``p`` is the last column of
  ``X`` (a fitted model's prediction, on the GP's scale), with offset and weight learned with the kernel
  (Rasmussen & Williams 2006 sec. 2.7); None is the zero mean;
* ``warp`` (:class:`InputWarp` or None): a learned Kumaraswamy CDF per input on the unit cube (Snoek et al.
  2014, BoTorch's ``Warp``; GPy's ``KumarWarping``), for responses that change faster at one end of a knob's
  range than at the other;
* the outcome transform (:class:`OutcomeTransform`: log or none, then standardised) is applied by the caller
  before :func:`fit_gp` and undone after :meth:`FittedGP.predict`.

GPy (L-BFGS on the log marginal likelihood, plus priors when given) chooses the hyper-parameters, from a
warm start and random restarts; the best objective wins. The posterior (Cholesky factor of the training
covariance) is computed here with numpy from those numbers, so that a state loaded from JSON predicts exactly
as the fitted model, with any GPy version or none.

:func:`sample_gp` draws hyper-parameters from their posterior instead of keeping the one optimum (slice
sampling on the log hyper-parameters from the fitted optimum, the sampler of Spearmint's integrated
acquisition, Snoek et al. 2012), for callers that average a prediction or an acquisition over them.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular

from ..errors import ModelError

__all__ = ["KERNELS", "kernel_matrix", "jittered_cholesky", "Hyper", "PriorMean", "InputWarp", "OutcomeTransform",
           "FittedGP", "fit_gp", "sample_gp", "mean_gp", "REGRESSION_HYPER", "SURROGATE_HYPER"]

#: ``rbf`` / ``matern52``: one stationary (ARD) kernel over every input. ``additive``: that Matern 5/2 kernel
#: plus one first-order Matern 5/2 term per input, each with its own variance and length-scale (the first- and
#: d-th-order terms of Duvenaud et al. 2011's additive kernels; GPy kernels summed over ``active_dims``): a
#: main effect learned where a knob was varied is carried to combinations of the other knobs never tried,
#: where the full term alone reverts to the mean; marginal likelihood sets the share of each term.
KERNELS = ("rbf", "matern52", "additive")
_BASE = {"rbf": "rbf", "matern52": "matern52", "additive": "matern52"}


def _stationary(A: np.ndarray, B: np.ndarray, base: str, variance: float, lengthscale) -> np.ndarray:
    a = A / lengthscale
    b = B / lengthscale
    r2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)
    if base == "rbf":
        return variance * np.exp(-0.5 * r2)
    r = np.sqrt(5.0 * r2)
    return variance * (1.0 + r + r * r / 3.0) * np.exp(-r)


def _unknown_kernel(kernel) -> ModelError:
    return ModelError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")


def kernel_matrix(A: np.ndarray, B: np.ndarray, kernel: str, variance: float, lengthscale: np.ndarray,
                  add_variance=None, add_lengthscale=None) -> np.ndarray:
    """Covariance between the rows of ``A`` and ``B`` (same parameterisation as GPy's RBF / Matern52).

    ``additive``: ``add_variance`` and ``add_lengthscale`` (one per input) are the first-order terms'."""
    if kernel not in KERNELS:
        raise _unknown_kernel(kernel)
    K = _stationary(A, B, _BASE[kernel], variance, lengthscale)
    if kernel == "additive":
        if add_variance is None or add_lengthscale is None:
            raise ModelError("the additive kernel needs the variance and length-scale of each first-order term")
        av, al = np.asarray(add_variance, dtype=float), np.asarray(add_lengthscale, dtype=float)
        if av.shape != (A.shape[1],) or al.shape != (A.shape[1],):
            raise ModelError(f"the additive kernel needs one first-order term per input ({A.shape[1]})")
        for i in range(A.shape[1]):
            K = K + _stationary(A[:, i:i + 1], B[:, i:i + 1], "matern52", av[i], al[i])
    return K


@dataclass(frozen=True)
class Hyper:
    """Regularisation, warm start and restart box of the kernel variance, length-scales and noise variance.

    ``regularise="priors"``: ``variance``, ``lengthscale``, ``noise`` are Gamma priors given as (mean, variance);
    ``"bounds"``: they are (low, high) bounds. ``start``: (variance, length-scale, noise) of the first
    optimisation; ``restart_box``: (name, low, high) log-uniform ranges of the random restarts, drawn in
    this order.
    ``noise_floor``: the fitted noise variance is never below it.
    ``noise_prior``: with ``"bounds"``, ``(loc, scale)`` of a log-normal prior on the noise variance that
    replaces the noise's bounds (MAP instead of bounded maximum likelihood for the noise; BoTorch's default
    since 0.12 is ``(-4, 1)``, Hvarfner et al. 2024).
    """

    regularise: str
    variance: tuple[float, float]
    lengthscale: tuple[float, float]
    noise: tuple[float, float]
    start: tuple[float, float, float]
    restart_box: tuple[tuple[str, float, float], ...]
    noise_floor: float = 1e-6
    noise_prior: tuple[float, float] | None = None

    def apply(self, GPy, kern, noise) -> None:
        """Regularise ``kern``'s variance and length-scales (the additive kernel's first-order terms' alike)
        and the ``noise``."""
        terms = [(kern.variance, kern.lengthscale)]
        if getattr(kern, "add_variance", None) is not None:
            terms.append((kern.add_variance, kern.add_lengthscale))
        if self.regularise == "priors":
            # weakly informative priors in standardised units keep restarts away from degenerate optima
            for variance, lengthscale in terms:
                lengthscale.set_prior(GPy.priors.Gamma.from_EV(*self.lengthscale), warning=False)
                variance.set_prior(GPy.priors.Gamma.from_EV(*self.variance), warning=False)
            # a bounded transform cannot carry a prior in GPy; the floor is applied to the optimum instead
            noise.set_prior(GPy.priors.Gamma.from_EV(*self.noise), warning=False)
        elif self.regularise == "bounds":
            for variance, lengthscale in terms:
                lengthscale.constrain_bounded(*self.lengthscale, warning=False)
                variance.constrain_bounded(*self.variance, warning=False)
            if self.noise_prior is not None:
                # a log-normal prior (loc, scale of log noise variance) instead of the noise's bounds
                noise.constrain_positive(warning=False)
                noise.set_prior(GPy.priors.LogGaussian(*self.noise_prior), warning=False)
            else:
                noise.constrain_bounded(max(self.noise[0], self.noise_floor), self.noise[1], warning=False)
        else:
            raise ModelError(f"unknown hyper-parameter regularisation {self.regularise!r}; choose priors or bounds")

    def starts(self, n_restarts: int, n_ls: int, rng: np.random.Generator):
        """The warm start, then ``n_restarts - 1`` random ones: (variance, length-scales, noise, restart?).

        Each restart draws the parameters log-uniformly in the order ``restart_box`` lists them."""
        yield self.start[0], np.full(n_ls, self.start[1]), max(self.start[2], 2 * self.noise_floor), False
        for _ in range(max(1, int(n_restarts)) - 1):
            draw = {name: np.exp(rng.uniform(np.log(lo), np.log(hi), n_ls if name == "lengthscale" else None))
                    for name, lo, hi in self.restart_box}
            yield float(draw["variance"]), draw["lengthscale"], max(float(draw["noise"]), 2 * self.noise_floor), True


#: The configuration and layer models (standardised inputs and target).
REGRESSION_HYPER = Hyper("priors", variance=(1.0, 1.0), lengthscale=(2.0, 4.0), noise=(0.05, 0.01),
                         start=(1.0, 1.0, 0.05),
                         restart_box=(("variance", 0.3, 3.0), ("lengthscale", 0.2, 5.0), ("noise", 1e-3, 0.3)))
#: The optimiser's surrogate (unit-cube inputs, standardised output, few observations).
SURROGATE_HYPER = Hyper("bounds", variance=(1e-3, 20.0), lengthscale=(0.02, 20.0), noise=(1e-6, 0.5),
                        start=(1.0, 0.5, 1e-3),
                        restart_box=(("lengthscale", 0.05, 2.0), ("variance", 0.1, 3.0), ("noise", 1e-5, 1e-1)))


@dataclass(frozen=True)
class PriorMean:
    """Mean function ``offset + weight * X[:, -1]``: the last input column is a prior's value (see module doc)."""

    offset_bounds: tuple[float, float] = (-10.0, 10.0)
    weight_bounds: tuple[float, float] = (-5.0, 5.0)


@dataclass(frozen=True)
class InputWarp:
    """Learned Kumaraswamy CDF ``1 - (1 - x^a)^b`` of each input in [0, 1] (GPy's ``KumarWarping``:
    ``a, b`` in (0, 10) with log-normal(0, 0.75) priors, 1 = no warping). ``dims``: the inputs warped (all when
    None; a two-level input gains nothing from a warp but two more hyper-parameters)."""

    epsilon: float = 1e-6
    dims: tuple[int, ...] | None = None

    @classmethod
    def for_levels(cls, X: np.ndarray) -> InputWarp | None:
        """The warp of the columns of ``X`` (the inputs' possible or observed values, on the unit cube) with
        three or more distinct values; None when there is none."""
        X = np.asarray(X, dtype=float)
        dims = tuple(j for j in range(X.shape[1]) if len(np.unique(X[:, j])) >= 3)
        return cls(dims=dims) if dims else None


def jittered_cholesky(K: np.ndarray, scale: float, tries: int = 6) -> np.ndarray:
    """Lower Cholesky factor of ``K``, adding ``scale`` x 1e-10, 1e-9, ... to the diagonal (``tries`` attempts
    in all, the first without) until it factors; raises ``numpy.linalg.LinAlgError`` if none does."""
    eye = np.eye(len(K))
    for k in range(tries):
        jitter = 0.0 if k == 0 else scale * 10.0 ** (k - 11)
        try:
            return cholesky(K + jitter * eye, lower=True)
        except np.linalg.LinAlgError:
            pass
    raise np.linalg.LinAlgError("matrix is not positive definite, even with jitter")


def _kumar(X: np.ndarray, a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    # exactly GPy's KumarWarping.f with Xmin = 0, Xmax = 1
    lo, hi = -epsilon, 1.0 + epsilon
    Z = (X - lo) / (hi - lo)
    return 1.0 - np.power(1.0 - np.power(Z, a), b)


@dataclass(frozen=True)
class OutcomeTransform:
    """Output transform: ``log`` (when ``log`` and every value is positive) then standardisation.

    Use :meth:`fitted` on the training values; ``log_``, ``mean_``, ``scale_`` are then fixed.
    """

    log: bool = False
    log_: bool = False
    mean_: float = 0.0
    scale_: float = 1.0

    def fitted(self, y: np.ndarray, offset: np.ndarray | None = None, *, also_positive=()) -> OutcomeTransform:
        """Fit on ``y`` (``offset``: subtracted on the transformed scale before standardising; ``also_positive``:
        arrays that must be positive too for the log to apply)."""
        y = np.asarray(y, dtype=float)
        use_log = bool(self.log and np.all(y > 0) and all(np.all(np.asarray(a) > 0) for a in also_positive))
        t = np.log(y) if use_log else y
        if offset is not None:
            t = t - offset
        m = float(t.mean())
        s = float(t.std()) if t.size > 1 else 0.0
        s = s if s > 1e-12 * max(1.0, abs(m)) else 1.0
        return OutcomeTransform(self.log, use_log, m, s)

    def scale(self, y) -> np.ndarray:
        """The transformed (log or linear) scale, before standardisation."""
        y = np.asarray(y, dtype=float)
        return np.log(y) if self.log_ else y

    def forward(self, t) -> np.ndarray:
        """Standardise values already on the transformed scale."""
        return (np.asarray(t, dtype=float) - self.mean_) / self.scale_

    def backward(self, z, sd=None):
        """Undo the standardisation (mean and std on the transformed scale)."""
        mu = self.mean_ + self.scale_ * np.asarray(z, dtype=float)
        return mu if sd is None else (mu, self.scale_ * np.asarray(sd, dtype=float))


@dataclass
class FittedGP:
    """Hyper-parameters and numpy posterior of a fitted GP (inputs and targets as given to :func:`fit_gp`)."""

    kernel: str
    variance: float
    lengthscale: np.ndarray
    noise_variance: float
    X_train: np.ndarray
    y_train: np.ndarray
    log_marginal_likelihood: float = np.nan
    objective: float = np.nan            # negative log marginal likelihood minus log priors (GPy's objective)
    mean_offset: float | None = None     # PriorMean, when used
    mean_weight: float | None = None
    warp_a: np.ndarray | None = None     # InputWarp, when used
    warp_b: np.ndarray | None = None
    warp_epsilon: float = 1e-6
    warp_dims: np.ndarray | None = None  # the inputs warp_a, warp_b apply to (all when None)
    add_variance: np.ndarray | None = None      # kernel "additive": the first-order terms (one per input)
    add_lengthscale: np.ndarray | None = None
    L: np.ndarray = field(init=False, repr=False)
    alpha: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.lengthscale = np.asarray(self.lengthscale, dtype=float)
        self.X_train = np.asarray(self.X_train, dtype=float)
        self.y_train = np.asarray(self.y_train, dtype=float).ravel()
        if self.warp_a is not None:
            self.warp_a = np.asarray(self.warp_a, dtype=float)
            self.warp_b = np.asarray(self.warp_b, dtype=float)
            if self.warp_dims is not None:
                self.warp_dims = np.asarray(self.warp_dims, dtype=int).ravel()
        if self.add_variance is not None:
            self.add_variance = np.asarray(self.add_variance, dtype=float).ravel()
            self.add_lengthscale = np.asarray(self.add_lengthscale, dtype=float).ravel()
        K = self._k(self._kernel_inputs(self.X_train), self._kernel_inputs(self.X_train))
        K[np.diag_indices_from(K)] += self.noise_variance
        try:
            self.L = jittered_cholesky(K, self.prior_variance, tries=6)
        except np.linalg.LinAlgError:
            raise ModelError("Gaussian process: training covariance is not positive definite") from None
        self.alpha = cho_solve((self.L, True), self.y_train - self._mean(self.X_train))

    @property
    def n_kernel_inputs(self) -> int:
        return len(self.lengthscale)

    @property
    def prior_variance(self) -> float:
        """The kernel's variance at a point (every term's)."""
        return float(self.variance + (0.0 if self.add_variance is None else self.add_variance.sum()))

    def _k(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return kernel_matrix(A, B, self.kernel, self.variance, self.lengthscale, self.add_variance,
                             self.add_lengthscale)

    def _kernel_inputs(self, X: np.ndarray) -> np.ndarray:
        Xk = X[:, : self.n_kernel_inputs]
        if self.warp_a is not None:
            if self.warp_dims is None:
                return _kumar(Xk, self.warp_a, self.warp_b, self.warp_epsilon)
            Xk = Xk.copy()
            Xk[:, self.warp_dims] = _kumar(Xk[:, self.warp_dims], self.warp_a, self.warp_b, self.warp_epsilon)
        return Xk

    def _mean(self, X: np.ndarray) -> np.ndarray:
        if self.mean_weight is None:
            return np.zeros(len(X))
        return self.mean_offset + self.mean_weight * X[:, -1]

    def predict(self, X, noisy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (of the latent function, or of a new observation if ``noisy``)."""
        X = np.asarray(X, dtype=float)
        Ks = self._k(self._kernel_inputs(X), self._kernel_inputs(self.X_train))
        mu = self._mean(X) + Ks @ self.alpha
        v = solve_triangular(self.L, Ks.T, lower=True)
        var = np.maximum(self.prior_variance - (v * v).sum(0), 0.0) + (self.noise_variance if noisy else 0.0)
        return mu, var

    def predict_cov(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and joint covariance of the latent function at the rows of ``X``."""
        X = np.asarray(X, dtype=float)
        Xk = self._kernel_inputs(X)
        Ks = self._k(Xk, self._kernel_inputs(self.X_train))
        v = solve_triangular(self.L, Ks.T, lower=True)
        return self._mean(X) + Ks @ self.alpha, self._k(Xk, Xk) - v.T @ v

    def loo_residuals(self, rows=None) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out residuals ``y_i - mu_-i`` of the training ``rows`` (all by default) and their
        predictive variances, in closed form from the inverse covariance (Rasmussen & Williams 2006,
        eq. 5.10-5.12; the hyper-parameters and the mean function's parameters held at the fit's)."""
        Kinv = cho_solve((self.L, True), np.eye(len(self.L)))
        d = np.diag(Kinv)
        rows = np.arange(len(d)) if rows is None else np.asarray(rows)
        var = 1.0 / d[rows]
        return self.alpha[rows] * var, var

    def loo_log_density(self, rows=None) -> float:
        """Sum of the leave-one-out log predictive densities of the training ``rows`` (all by default)."""
        resid, var = self.loo_residuals(rows)
        return float(np.sum(-0.5 * np.log(2 * np.pi * var) - 0.5 * resid * resid / var))

    # -- JSON state (the keys GPRegressor's model files have always used, plus the optional parts)
    def state(self) -> dict:
        out = {"variance": self.variance, "lengthscale": self.lengthscale, "noise_variance": self.noise_variance,
               "log_marginal_likelihood": self.log_marginal_likelihood, "X_train": self.X_train,
               "y_train": self.y_train}
        if self.mean_weight is not None:
            out["mean_offset"], out["mean_weight"] = self.mean_offset, self.mean_weight
        if self.warp_a is not None:
            out["warp_a"], out["warp_b"], out["warp_epsilon"] = self.warp_a, self.warp_b, self.warp_epsilon
            if self.warp_dims is not None:
                out["warp_dims"] = self.warp_dims
        if self.add_variance is not None:
            out["add_variance"], out["add_lengthscale"] = self.add_variance, self.add_lengthscale
        return out

    @classmethod
    def from_state(cls, state: dict, kernel: str, n_inputs: int) -> FittedGP:
        lml = state.get("log_marginal_likelihood", np.nan)
        kw = {}
        if state.get("mean_weight") is not None:
            kw.update(mean_offset=float(state["mean_offset"]), mean_weight=float(state["mean_weight"]))
        if state.get("warp_a") is not None:
            kw.update(warp_a=state["warp_a"], warp_b=state["warp_b"],
                      warp_epsilon=float(state.get("warp_epsilon", 1e-6)), warp_dims=state.get("warp_dims"))
        if state.get("add_variance") is not None:
            kw.update(add_variance=state["add_variance"], add_lengthscale=state["add_lengthscale"])
        return cls(kernel=kernel, variance=float(state["variance"]),
                   lengthscale=np.asarray(state["lengthscale"], dtype=float),
                   noise_variance=float(state["noise_variance"]),
                   X_train=np.asarray(state["X_train"], dtype=float).reshape(-1, n_inputs),
                   y_train=np.asarray(state["y_train"], dtype=float),
                   log_marginal_likelihood=float(np.nan if lml is None else lml), **kw)


def import_gpy():
    """GPy, imported with the process's warning format kept: GPy's Laplace module replaces
    ``warnings.formatwarning`` with a format of its own when it is imported, which would change how every later
    warning of the process is printed (the CLI's one-line ``perfmodel: warning: ...`` among them)."""
    before = warnings.formatwarning
    try:
        import GPy
    finally:
        warnings.formatwarning = before
    return GPy


def _prior_mapping(d: int):
    """GPy mapping ``f(x) = a + b * x[:, d]`` (the last input column is the prior's value)."""
    import_gpy()
    from GPy.core.mapping import Mapping
    from GPy.core.parameterization import Param

    class PriorLinear(Mapping):
        def __init__(self):
            super().__init__(input_dim=d + 1, output_dim=1, name="prior_mean")
            self.offset = Param("offset", np.zeros(1))
            self.weight = Param("weight", np.ones(1))
            self.link_parameters(self.offset, self.weight)

        def f(self, X):
            return (self.offset.values[0] + self.weight.values[0] * X[:, d])[:, None]

        def update_gradients(self, dL_dF, X):
            self.offset.gradient = np.array([dL_dF.sum()])
            self.weight.gradient = np.array([(dL_dF[:, 0] * X[:, d]).sum()])

        def gradients_X(self, dL_dF, X):
            g = np.zeros_like(X)
            g[:, d] = dL_dF[:, 0] * self.weight.values[0]
            return g

    return PriorLinear()


_ADDITIVE_KERN = None


def _additive_kernel(GPy):
    """GPy kernel class of ``KERNELS``' ``additive``: one ARD Matern 5/2 term over the d inputs plus d
    first-order Matern 5/2 terms, in one kernel object (GPy's ``Add`` of d + 1 kernels computes the same,
    at about 6x the cost per likelihood evaluation in paramz overhead)."""
    global _ADDITIVE_KERN
    if _ADDITIVE_KERN is not None:
        return _ADDITIVE_KERN
    import_gpy()
    from paramz.transformations import Logexp
    from GPy.core.parameterization import Param

    s5 = np.sqrt(5.0)

    class AdditiveMatern52(GPy.kern.Kern):
        def __init__(self, d: int, ard: bool = True, name: str = "additive"):
            super().__init__(d, list(range(d)), name)
            self.variance = Param("variance", np.ones(1), Logexp())
            self.lengthscale = Param("lengthscale", np.ones(d if ard else 1), Logexp())
            self.add_variance = Param("add_variance", np.ones(d), Logexp())
            self.add_lengthscale = Param("add_lengthscale", np.ones(d), Logexp())
            self.link_parameters(self.variance, self.lengthscale, self.add_variance, self.add_lengthscale)

        def _parts(self, X, X2):
            X2 = X if X2 is None else X2
            D = X[:, None, :] - X2[None, :, :]                       # (n, m, d)
            ls = np.broadcast_to(self.lengthscale.values, (X.shape[1],))
            r = np.sqrt(np.sum((D / ls) ** 2, axis=2))              # full term's scaled distance
            R = np.abs(D) / self.add_lengthscale.values             # first-order terms' distances
            return D, ls, r, R

        def K(self, X, X2=None):
            _, _, r, R = self._parts(X, X2)
            k = self.variance.values[0] * (1 + s5 * r + 5.0 / 3.0 * r * r) * np.exp(-s5 * r)
            return k + np.sum(self.add_variance.values * (1 + s5 * R + 5.0 / 3.0 * R * R) * np.exp(-s5 * R), axis=2)

        def Kdiag(self, X):
            return np.full(X.shape[0], self.variance.values[0] + self.add_variance.values.sum())

        def update_gradients_full(self, dL_dK, X, X2=None):
            D, ls, r, R = self._parts(X, X2)
            v, a, m = self.variance.values[0], self.add_variance.values, self.add_lengthscale.values
            e = np.exp(-s5 * r)
            self.variance.gradient = np.array([np.sum(dL_dK * (1 + s5 * r + 5.0 / 3.0 * r * r) * e)])
            # dk/dl_j = 5/3 v (1 + sqrt5 r) e^{-sqrt5 r} D_j^2 / l_j^3
            g = (dL_dK * (5.0 / 3.0) * v * (1 + s5 * r) * e)[:, :, None] * D * D / ls ** 3
            g = g.sum(axis=(0, 1))
            self.lengthscale.gradient = g if self.lengthscale.size > 1 else np.array([g.sum()])
            E = np.exp(-s5 * R)
            self.add_variance.gradient = np.sum(dL_dK[:, :, None] * (1 + s5 * R + 5.0 / 3.0 * R * R) * E, axis=(0, 1))
            self.add_lengthscale.gradient = np.sum(dL_dK[:, :, None] * (5.0 / 3.0) * a * (1 + s5 * R) * E * D * D
                                                   / m ** 3, axis=(0, 1))

        def update_gradients_diag(self, dL_dKdiag, X):
            self.variance.gradient = np.array([np.sum(dL_dKdiag)])
            self.lengthscale.gradient = np.zeros(self.lengthscale.size)
            self.add_variance.gradient = np.full(self.add_variance.size, np.sum(dL_dKdiag))
            self.add_lengthscale.gradient = np.zeros(self.add_lengthscale.size)

        def gradients_X(self, dL_dK, X, X2=None):
            if X2 is None:
                dL_dK = dL_dK + dL_dK.T
            D, ls, r, R = self._parts(X, X2)
            v, a, m = self.variance.values[0], self.add_variance.values, self.add_lengthscale.values
            # dk/dx_j = -5/3 v (1 + sqrt5 r) e^{-sqrt5 r} D_j / l_j^2 (first-order terms alike)
            full = (dL_dK * (-5.0 / 3.0) * v * (1 + s5 * r) * np.exp(-s5 * r))[:, :, None] * D / ls ** 2
            first = dL_dK[:, :, None] * (-5.0 / 3.0) * a * (1 + s5 * R) * np.exp(-s5 * R) * D / m ** 2
            return (full + first).sum(axis=1)

        def gradients_X_diag(self, dL_dKdiag, X):
            return np.zeros(X.shape)

    _ADDITIVE_KERN = AdditiveMatern52
    return AdditiveMatern52


def _gpy_model(GPy, X, z, kern, mean_fn, warp: InputWarp | None, d: int):
    if warp is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the kernel sees the first d inputs, the mean the last
            return GPy.models.GPRegression(X, z, kern, mean_function=mean_fn)
    from GPy.core import GP
    from GPy.util.input_warping_functions import KumarWarping

    class WarpedGP(GP):
        # GPy's InputWarpedGP with a mean function and the warp fixed to the unit cube
        def __init__(self):
            self.X_untransformed = X.copy()
            previous = logging.root.manager.disable
            logging.disable(logging.WARNING)      # paramz logs "reconstraining parameters" for each a, b
            try:
                dims = list(range(d)) if warp.dims is None else [int(j) for j in warp.dims]
                self.warping_function = KumarWarping(X, dims, warp.epsilon, np.zeros(X.shape[1]),
                                                     np.ones(X.shape[1]))
            finally:
                logging.disable(previous)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                super().__init__(self.warping_function.f(X), z, kern, GPy.likelihoods.Gaussian(),
                                 mean_function=mean_fn)
            self.link_parameter(self.warping_function)

        def parameters_changed(self):
            self.X = self.warping_function.f(self.X_untransformed)
            super().parameters_changed()
            dL_dX = self.kern.gradients_X(self.grad_dict["dL_dK"], self.X)
            self.warping_function.update_grads(self.X_untransformed, dL_dX)

    return WarpedGP()


def fit_gp(X, z, *, kernel: str = "matern52", ard: bool = True, hyper: Hyper = REGRESSION_HYPER,
           mean: PriorMean | None = None, warp: InputWarp | None = None, n_restarts: int = 3,
           max_iters: int = 200, seed=0, on_failure: str = "raise") -> FittedGP:
    """Fit a GP's hyper-parameters (GPy, warm start + random restarts) and return its numpy posterior.

    ``X``: inputs (with ``mean``, the last column is the prior's value and the kernel sees the others);
    ``z``: targets, already transformed and standardised. ``n_restarts``: optimisations in all (the first
    from ``hyper.start``). ``on_failure="raise"``: a :class:`ModelError` when every optimisation fails;
    ``"keep"``: the warm start's hyper-parameters are used then.
    """
    GPy = import_gpy()  # heavy: only when fitting
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=float)
    z = np.asarray(z, dtype=float).reshape(-1, 1)
    if kernel not in KERNELS:
        raise _unknown_kernel(kernel)
    d = X.shape[1] - (1 if mean is not None else 0)
    if warp is not None and (np.any(X[:, :d] < -1e-9) or np.any(X[:, :d] > 1 + 1e-9)):
        raise ModelError("input warping needs inputs in the unit cube [0, 1]")
    kern_cls = GPy.kern.RBF if _BASE[kernel] == "rbf" else GPy.kern.Matern52
    additive = kernel == "additive"
    kern = _additive_kernel(GPy)(d, bool(ard)) if additive else kern_cls(d, ARD=bool(ard), active_dims=list(range(d)))
    mean_fn = _prior_mapping(d) if mean is not None else None
    model = _gpy_model(GPy, X, z, kern, mean_fn, warp, d)
    if mean_fn is not None:
        mean_fn.weight.constrain_bounded(*mean.weight_bounds, warning=False)
        mean_fn.offset.constrain_bounded(*mean.offset_bounds, warning=False)
    noise = model.likelihood.variance
    hyper.apply(GPy, kern, noise)
    rng = np.random.default_rng(seed)
    n_ls = d if ard else 1
    best = None
    # GP matrices here are small: a multi-threaded BLAS only adds spin-waiting (3-10x slower on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for variance, ls, nv, restart in hyper.starts(n_restarts, n_ls, rng):
            if additive:
                # half the variance in the full term, half shared by the first-order terms, each first-order
                # length-scale where the full term's (of that input) starts
                kern.variance[:] = 0.5 * variance
                kern.add_variance[:] = 0.5 * variance / d
                kern.add_lengthscale[:] = np.broadcast_to(ls, (d,))
            else:
                kern.variance[:] = variance
            kern.lengthscale[:] = ls
            noise[:] = nv
            if mean_fn is not None:
                # the warm start trusts the prior (weight 1); restarts start from the plain GP (weight 0)
                mean_fn.weight[:] = 0.0 if restart else 1.0
                mean_fn.offset[:] = 0.0
            if warp is not None:
                for a, b in model.warping_function.params:        # every start from no warping (a = b = 1)
                    a[:] = 1.0
                    b[:] = 1.0
            try:
                model.optimize("lbfgsb", max_iters=int(max_iters), messages=False)
                obj = float(model.objective_function())
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                continue
            if np.isfinite(obj) and (best is None or obj < best[0]):
                best = (obj, model.param_array.copy(), float(model.log_likelihood()))
        if best is None:
            if on_failure == "raise":
                raise ModelError("Gaussian process: every hyper-parameter optimisation failed (singular covariance)")
            best = (np.nan, None, np.nan)
        else:
            model[:] = best[1]                  # paramz: sets every parameter and updates the model
    ls = np.broadcast_to(np.array(kern.lengthscale.values, dtype=float), (d,)).copy()
    kw = {}
    if additive:
        kw.update(add_variance=np.array(kern.add_variance.values, dtype=float),
                  add_lengthscale=np.array(kern.add_lengthscale.values, dtype=float))
    if mean_fn is not None:
        kw.update(mean_offset=float(mean_fn.offset.values[0]), mean_weight=float(mean_fn.weight.values[0]))
    if warp is not None:
        wp = np.asarray(model.warping_function.param_array, dtype=float).reshape(-1, 2)
        kw.update(warp_a=wp[:, 0].copy(), warp_b=wp[:, 1].copy(), warp_epsilon=warp.epsilon,
                  warp_dims=None if warp.dims is None else np.asarray(warp.dims, dtype=int))
    return FittedGP(kernel=kernel, variance=float(kern.variance.values[0]), lengthscale=ls,
                    noise_variance=max(float(noise.values[0]), hyper.noise_floor), X_train=X, y_train=z.ravel(),
                    log_marginal_likelihood=best[2], objective=best[0], **kw)


# ---------------------------------------------------------------------------------------------------------------
# Posterior samples of the hyper-parameters (Snoek et al. 2012's integrated acquisition; Murray & Adams 2010)

LENGTHSCALE_PRIORS = (None, "saas")
SAAS_TAU_SCALE = 0.1       # BoTorch's SaasPyroModel: tau ~ HalfCauchy(0.1)


class _LogPosterior:
    """Log posterior of the hyper-parameters ``theta`` of a GP on fixed data, up to a constant.

    ``theta``: log kernel variance, log length-scales, log noise variance, then (with ``mean``) the prior
    mean's offset and weight. The density is the log marginal likelihood plus the log prior of ``theta``:
    with ``hyper.regularise == "bounds"`` flat in ``theta`` (log-uniform in the variances and length-scales)
    inside the box the optimiser is held to, and the log-normal noise prior where ``hyper.noise_prior`` is set;
    with ``"priors"`` the Gamma priors (plus the log Jacobian of the log transform). The mean's offset and
    weight are flat inside their bounds. Outside the support the log density is ``-inf``.
    """

    def __init__(self, X, z, kernel: str, n_ls: int, hyper: Hyper, mean: PriorMean | None,
                 lengthscale_prior: str | None = None):
        if lengthscale_prior not in LENGTHSCALE_PRIORS:
            raise ModelError(f"unknown length-scale prior {lengthscale_prior!r}; choose saas or none")
        self.saas = lengthscale_prior == "saas"
        self.X = np.asarray(X, dtype=float)
        self.z = np.asarray(z, dtype=float).ravel()
        self.kernel = kernel
        self.hyper = hyper
        self.mean = mean
        d = self.X.shape[1] - (1 if mean is not None else 0)
        Xk = self.X[:, :d]
        self.n_ls = n_ls
        # squared differences per input (summed over the inputs sharing one length-scale without ARD)
        diff2 = (Xk[:, None, :] - Xk[None, :, :]) ** 2
        self.D2 = np.moveaxis(diff2, 2, 0) if n_ls == d else diff2.sum(axis=2)[None]
        self.n_mean = 2 if mean is not None else 0
        floor = hyper.noise_floor
        if hyper.regularise == "bounds":
            noise_lo = floor if hyper.noise_prior is not None else max(hyper.noise[0], floor)
            noise_hi = np.inf if hyper.noise_prior is not None else hyper.noise[1]
            lo = [np.log(hyper.variance[0])] + [np.log(hyper.lengthscale[0])] * n_ls + [np.log(noise_lo)]
            hi = [np.log(hyper.variance[1])] + [np.log(hyper.lengthscale[1])] * n_ls + [np.log(noise_hi)]
        elif hyper.regularise == "priors":
            lo = [-np.inf] * (n_ls + 1) + [np.log(floor)]
            hi = [np.inf] * (n_ls + 2)
        else:
            raise ModelError(f"unknown hyper-parameter regularisation {hyper.regularise!r}; choose priors or bounds")
        if mean is not None:
            lo += [mean.offset_bounds[0], mean.weight_bounds[0]]
            hi += [mean.offset_bounds[1], mean.weight_bounds[1]]
        if self.saas:
            lo.append(-np.inf)                              # log of the global shrinkage tau
            hi.append(np.inf)
        self.lower, self.upper = np.array(lo, dtype=float), np.array(hi, dtype=float)

    def theta(self, gp: FittedGP) -> np.ndarray:
        t = [np.log(gp.variance), *np.log(gp.lengthscale[:self.n_ls]), np.log(gp.noise_variance)]
        if self.mean is not None:
            t += [gp.mean_offset, gp.mean_weight]
        if self.saas:
            t.append(np.log(SAAS_TAU_SCALE))
        return np.clip(np.array(t, dtype=float), self.lower, self.upper)

    def _log_saas(self, theta: np.ndarray) -> float:
        # SAAS (Eriksson & Jankowiak 2021, BoTorch's SaasFullyBayesianSingleTaskGP): tau ~ HalfCauchy(0.1),
        # each inverse squared length-scale rho_i = 1 / l_i^2 ~ HalfCauchy(tau); densities of log tau and
        # log l_i (log Jacobians |d tau / d log tau| = tau, |d rho / d log l| = 2 rho).
        log_tau = theta[-1]
        tau = np.exp(log_tau)
        rho = np.exp(-2.0 * theta[1:self.n_ls + 1])
        out = -np.log1p((tau / SAAS_TAU_SCALE) ** 2) + log_tau
        out += np.sum(-log_tau - np.log1p((rho / tau) ** 2) + np.log(rho))
        return float(out)

    def _log_prior(self, theta: np.ndarray) -> float:
        return self._log_box_prior(theta) + (self._log_saas(theta) if self.saas else 0.0)

    def _log_box_prior(self, theta: np.ndarray) -> float:
        h = self.hyper
        if h.regularise == "bounds":
            if h.noise_prior is None:
                return 0.0
            loc, scale = h.noise_prior
            return float(-0.5 * ((theta[self.n_ls + 1] - loc) / scale) ** 2)
        out = 0.0
        for t, (e, v) in ((theta[0], h.variance), *((t, h.lengthscale) for t in theta[1:self.n_ls + 1]),
                          (theta[self.n_ls + 1], h.noise)):
            a, b = e * e / v, e / v                   # GPy's Gamma.from_EV; density of log p: a log p - b p
            out += a * t - b * np.exp(t)
        return float(out)

    def __call__(self, theta: np.ndarray) -> float:
        if np.any(theta < self.lower) or np.any(theta > self.upper):
            return -np.inf
        variance = np.exp(theta[0])
        ls = np.exp(theta[1:self.n_ls + 1])
        noise = np.exp(theta[self.n_ls + 1])
        r2 = np.tensordot(1.0 / (ls * ls), self.D2, axes=1)
        if self.kernel == "rbf":
            K = variance * np.exp(-0.5 * r2)
        else:
            r = np.sqrt(5.0 * r2)
            K = variance * (1.0 + r + r * r / 3.0) * np.exp(-r)
        K[np.diag_indices_from(K)] += noise
        resid = self.z
        if self.mean is not None:
            i = self.n_ls + 2
            resid = self.z - (theta[i] + theta[i + 1] * self.X[:, -1])
        try:
            L = cholesky(K, lower=True)
        except np.linalg.LinAlgError:
            return -np.inf
        a = solve_triangular(L, resid, lower=True)
        lml = -0.5 * float(a @ a) - float(np.log(np.diag(L)).sum()) - 0.5 * len(resid) * np.log(2 * np.pi)
        return lml + self._log_prior(theta)

    def fitted(self, theta: np.ndarray, like: FittedGP) -> FittedGP:
        kw = {}
        if self.mean is not None:
            i = self.n_ls + 2
            kw.update(mean_offset=float(theta[i]), mean_weight=float(theta[i + 1]))
        ls = np.broadcast_to(np.exp(theta[1:self.n_ls + 1]), like.lengthscale.shape).copy()
        return FittedGP(kernel=like.kernel, variance=float(np.exp(theta[0])), lengthscale=ls,
                        noise_variance=float(np.exp(theta[self.n_ls + 1])), X_train=like.X_train,
                        y_train=like.y_train, log_marginal_likelihood=np.nan, objective=np.nan, **kw)


def _slice_sweep(logp, theta: np.ndarray, lp: float, lower, upper, rng: np.random.Generator,
                 width: float = 1.0, max_steps: int = 20):
    """One sweep of univariate slice sampling with stepping out and shrinkage (Neal 2003, figs. 3 and 5)
    over the coordinates of ``theta`` in random order; returns the new point and its log density."""
    theta = theta.copy()
    for i in rng.permutation(len(theta)):
        level = lp + np.log(rng.uniform())             # the slice: {t : logp(t) > level}
        left = theta[i] - width * rng.uniform()
        right = left + width
        j = int(rng.integers(max_steps))
        k = max_steps - 1 - j
        x = theta.copy()
        while j > 0 and left > lower[i]:
            x[i] = left
            if logp(x) <= level:
                break
            left -= width
            j -= 1
        while k > 0 and right < upper[i]:
            x[i] = right
            if logp(x) <= level:
                break
            right += width
            k -= 1
        left, right = max(left, lower[i]), min(right, upper[i])   # the density is 0 outside the support
        while True:
            x[i] = rng.uniform(left, right)
            lx = logp(x)
            if lx > level:
                theta, lp = x, lx
                break
            if x[i] < theta[i]:
                left = x[i]
            else:
                right = x[i]
            if right - left < 1e-12:                  # cannot happen for a continuous density; stay put
                break
    return theta, lp


def sample_gp(gp: FittedGP, *, hyper: Hyper = REGRESSION_HYPER, mean: PriorMean | None = None,
              n_samples: int = 10, burn: int = 10, ard: bool = True, seed=0,
              lengthscale_prior: str | None = None) -> list[FittedGP]:
    """Posterior samples of a GP's hyper-parameters, each returned as a :class:`FittedGP` on the same data.

    ``gp``: the fitted optimum (from :func:`fit_gp` with the same ``hyper``, ``mean`` and ``ard``), where the
    chain starts. The target is the log marginal likelihood plus the log prior over the log variances and
    length-scales (:class:`_LogPosterior`: the optimiser's bounds as a log-uniform prior, or its priors);
    the sampler is univariate slice sampling (Neal 2003) with stepping out, ``burn`` sweeps discarded, then
    one sample per sweep (Spearmint's choice for GP hyper-parameters, Snoek et al. 2012: no step size to
    tune, every move accepted, the bounds respected by construction). Deterministic for a given ``seed``.
    Input warping is not sampled (:class:`ModelError`). ``lengthscale_prior="saas"`` adds the SAAS prior
    (Eriksson & Jankowiak 2021; BoTorch's fully Bayesian GP): a global shrinkage ``tau ~ HalfCauchy(0.1)``,
    sampled with the rest, and ``1 / l_i^2 ~ HalfCauchy(tau)``, so inputs the data do not need are switched off
    (long length-scales) rather than left anywhere in the flat box.
    """
    n_samples = int(n_samples)
    if n_samples < 1 or int(burn) < 0:
        raise ModelError(f"hyper-parameter samples: need n_samples >= 1 and burn >= 0, got {n_samples}, {burn}")
    if gp.warp_a is not None:
        raise ModelError("hyper-parameter samples of an input-warped GP are not supported")
    if (mean is not None) != (gp.mean_weight is not None):
        raise ModelError("hyper-parameter samples: the prior mean must be given exactly when the GP has one")
    n_ls = gp.n_kernel_inputs if ard else 1
    target = _LogPosterior(gp.X_train, gp.y_train, gp.kernel, n_ls, hyper, mean, lengthscale_prior)
    rng = np.random.default_rng(seed)
    theta = target.theta(gp)
    lp = target(theta)
    if not np.isfinite(lp):
        raise ModelError("hyper-parameter samples: the fitted optimum has zero posterior density")
    out = []
    with np.errstate(all="ignore"):
        for sweep in range(int(burn) + n_samples):
            theta, lp = _slice_sweep(target, theta, lp, target.lower, target.upper, rng)
            if sweep >= burn:
                out.append(target.fitted(theta, gp))
    return out


def mean_gp(samples: list[FittedGP]) -> FittedGP:
    """One GP at the posterior mean of sampled hyper-parameters: the mean of the log kernel variance, log
    length-scales and log noise variance (a geometric mean) and of the prior mean's offset and weight."""
    if not samples:
        raise ModelError("the posterior mean of the hyper-parameters needs at least one sample")
    s0 = samples[0]
    kw = {}
    if s0.mean_weight is not None:
        kw.update(mean_offset=float(np.mean([s.mean_offset for s in samples])),
                  mean_weight=float(np.mean([s.mean_weight for s in samples])))
    return FittedGP(kernel=s0.kernel, variance=float(np.exp(np.mean([np.log(s.variance) for s in samples]))),
                    lengthscale=np.exp(np.mean([np.log(s.lengthscale) for s in samples], axis=0)),
                    noise_variance=float(np.exp(np.mean([np.log(s.noise_variance) for s in samples]))),
                    X_train=s0.X_train, y_train=s0.y_train, **kw)
