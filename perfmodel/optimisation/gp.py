"""GP surrogate of one measured output (GPy), with an optional learned prior mean.

The surrogate works on configurations mapped to the unit cube. Its two options are arguments, as in
BoTorch's ``SingleTaskGP(mean_module=..., outcome_transform=...)``:

* ``outcome_transform``: ``"log"`` models ``log(y)`` when every observed value (and the prior) is positive
  (runtimes and powers are multiplicative; an objective spanning decades becomes an even one), ``"none"``
  the values themselves; either is then standardised.
* a *prior mean* (e.g. a fitted model's prediction for each configuration, given to :meth:`fit` and
  :meth:`predict` as ``prior``): the GP's mean function is ``a + b * T(prior(x))`` on the transformed,
  standardised scale, with the offset ``a`` and the weight ``b`` fitted by marginal likelihood together with
  the kernel's hyper-parameters (``prior_weight="learned"``, the default; a Gaussian process with explicit
  basis functions, Rasmussen & Williams 2006 sec. 2.7). The GP then models only the prior's error: with a
  good prior ``b`` is near 1 and few observations suffice; with a prior unrelated to the data ``b`` goes to
  0 and the surrogate is the plain GP; with ``prior_selection="evidence"`` (default) the prior is also dropped
  for the step when it does not beat the plain GP's BIC-penalised marginal likelihood.
  ``prior_weight="fixed"`` subtracts the prior as it is (``b = 1``).
"""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import OptimisationError

_MIN_STD = 1e-9
OUTCOME_TRANSFORMS = ("log", "none")
PRIOR_WEIGHTS = ("learned", "fixed")


def _prior_mapping(d: int):
    """GPy mapping ``f(x) = a + b * x[:, d]`` (the last input column is the transformed prior)."""
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


class GPSurrogate:
    """Gaussian-process model of one output.

    Parameters
    ----------
    log : bool
        Shorthand for ``outcome_transform="log"`` (True) or ``"none"`` (False); ``outcome_transform`` wins.
    outcome_transform : {"log", "none"}, optional
        Transform of the output before standardisation; ``"log"`` applies only when every observed value and
        the prior are positive (else the values are modelled as they are).
    prior_weight : {"learned", "fixed"}
        How a prior given to :meth:`fit` enters the mean function (see the module docstring).
    prior_selection : {"evidence", "none"}
        ``evidence``: the plain GP is fitted too, and the prior is kept only when the log marginal likelihood
        with it exceeds the plain GP's by more than ``ln(n)`` (BIC for its two parameters); otherwise
        ``prior_used_`` is False and predictions are the plain GP's.
    restarts : int
        Random restarts of the hyper-parameter optimisation (in addition to a warm start).
    max_iters : int
        L-BFGS iterations per optimisation; kept small because fits happen at every step.
    seed : int
        Seed of the restarts.
    """

    def __init__(self, log: bool = True, restarts: int = 1, max_iters: int = 200, seed: int = 0,
                 outcome_transform: str | None = None, prior_weight: str = "learned",
                 prior_selection: str = "evidence"):
        self.log = log
        self.restarts = restarts
        self.max_iters = max_iters
        self.seed = seed
        self.outcome_transform = outcome_transform
        self.prior_weight = prior_weight
        self.prior_selection = prior_selection

    # Transform of the output scale: shared with the acquisition so that limits are mapped the same way.
    def transform(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return np.log(y) if self.log_ else y

    def _augment(self, X: np.ndarray, prior) -> np.ndarray:
        if not self.has_prior_:
            if prior is not None:
                raise OptimisationError("the surrogate was fitted without a prior mean; predict without one")
            return X
        if prior is None:
            raise OptimisationError("the surrogate was fitted with a prior mean; give its values to predict")
        p = np.asarray(prior, dtype=float).ravel()
        if p.shape[0] != X.shape[0]:
            raise OptimisationError("the prior must give one value per row")
        zp = (self.transform(p) - self.mean_) / self.std_
        return np.column_stack([X, zp])

    def fit(self, X, y, prior=None) -> GPSurrogate:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise OptimisationError("the surrogate needs at least one observation")
        transform = self.outcome_transform or ("log" if self.log else "none")
        if transform not in OUTCOME_TRANSFORMS:
            raise OptimisationError(f"unknown outcome transform {transform!r}; choose log or none")
        if self.prior_weight not in PRIOR_WEIGHTS:
            raise OptimisationError(f"unknown prior weight {self.prior_weight!r}; choose learned or fixed")
        prior = None if prior is None else np.asarray(prior, dtype=float).ravel()
        if prior is not None and (prior.shape[0] != y.shape[0] or not np.all(np.isfinite(prior))):
            raise OptimisationError("the prior must give one finite value per observation")
        self.log_ = bool(transform == "log" and np.all(y > 0) and (prior is None or np.all(prior > 0)))
        self.has_prior_ = prior is not None
        learned = self.has_prior_ and self.prior_weight == "learned"
        t = self.transform(y)
        if self.has_prior_ and not learned:
            t = t - self.transform(prior)
        self.mean_ = float(t.mean())
        self.std_ = float(max(t.std(), _MIN_STD)) if t.size > 1 else 1.0
        z = ((t - self.mean_) / self.std_)[:, None]
        self.model_ = self._optimise(X, z, prior if learned else None)
        self.prior_used_ = self.has_prior_
        if learned and self.prior_selection == "evidence":
            # The prior's two parameters (offset, weight) must pay for themselves: BIC-penalised evidence
            # of the GP with the prior's mean function against the plain GP on the same data.
            plain = self._optimise(X, z, None)
            penalty = np.log(max(len(y), 2))          # 0.5 * 2 parameters * ln(n)
            if -float(plain.objective_function()) >= -float(self.model_.objective_function()) - penalty:
                self.model_, self.prior_used_ = plain, False
        return self

    def _optimise(self, X, z, prior):
        import GPy

        d = X.shape[1]
        kern = GPy.kern.Matern52(d, ARD=True, lengthscale=np.full(d, 0.5), active_dims=list(range(d)))
        learned = prior is not None
        if learned:
            Xa = self._augment(X, prior)
            mean_fn = _prior_mapping(d)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the kernel sees the first d inputs, the mean the last
                model = GPy.models.GPRegression(Xa, z, kern, mean_function=mean_fn)
            mean_fn.weight.constrain_bounded(-5.0, 5.0, warning=False)
            mean_fn.offset.constrain_bounded(-10.0, 10.0, warning=False)
        else:
            model = GPy.models.GPRegression(X, z, kern)
        model.kern.lengthscale.constrain_bounded(0.02, 20.0, warning=False)
        model.kern.variance.constrain_bounded(1e-3, 20.0, warning=False)
        model.Gaussian_noise.variance.constrain_bounded(1e-6, 0.5, warning=False)
        model.Gaussian_noise.variance = 1e-3
        rng = np.random.default_rng(self.seed)
        best, best_obj = None, np.inf
        # Tiny matrices: BLAS threads only contend with each other (3x slower on 2 cores).
        with warnings.catch_warnings(), np.errstate(all="ignore"), threadpool_limits(1):
            warnings.simplefilter("ignore")
            for attempt in range(1 + max(0, int(self.restarts))):
                if attempt:
                    model.kern.lengthscale = np.exp(rng.uniform(np.log(0.05), np.log(2.0), d))
                    model.kern.variance = float(np.exp(rng.uniform(np.log(0.1), np.log(3.0))))
                    model.Gaussian_noise.variance = float(np.exp(rng.uniform(np.log(1e-5), np.log(1e-1))))
                    if learned:
                        # The other end of the prior's range of trust: the plain GP (weight 0).
                        model.mean_function.weight = 0.0
                        model.mean_function.offset = 0.0
                try:
                    model.optimize(max_iters=int(self.max_iters))
                except (np.linalg.LinAlgError, ValueError):
                    continue
                obj = float(model.objective_function())
                if np.isfinite(obj) and obj < best_obj:
                    best, best_obj = model.param_array.copy(), obj
        if best is not None:
            model.param_array[:] = best
            model.parameters_changed()
        return model

    @property
    def prior_weight_(self) -> float:
        """Fitted weight ``b`` of the prior (1: taken as it is, 0: ignored); NaN without a learned prior."""
        if self.has_prior_ and not self.prior_used_:
            return 0.0
        mf = getattr(self.model_, "mean_function", None)
        return float(mf.weight.values[0]) if mf is not None else (1.0 if self.has_prior_ else np.nan)

    @property
    def noise_variance(self) -> float:
        """Fitted noise variance on the standardised scale."""
        return float(np.asarray(self.model_.Gaussian_noise.variance).ravel()[0])

    def predict(self, X, prior=None, noisy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the output on the transformed (log or linear) scale.

        ``prior``: the prior's values at ``X`` (required when the surrogate was fitted with one).
        ``noisy``: of a new evaluation (latent function plus the fitted noise) instead of the function.
        """
        X = np.asarray(X, dtype=float)
        learned = self.has_prior_ and self.prior_weight == "learned"
        Xa = self._augment(X, prior) if learned and self.prior_used_ else X
        if self.has_prior_ and not learned and prior is None:
            raise OptimisationError("the surrogate was fitted with a prior mean; give its values to predict")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            mu, var = self.model_.predict_noiseless(Xa)
        mu = mu.ravel() * self.std_ + self.mean_
        if self.has_prior_ and not learned:
            mu = mu + self.transform(np.asarray(prior, dtype=float).ravel())
        var = var.ravel() + (self.noise_variance if noisy else 0.0)
        sd = np.sqrt(np.clip(var, 1e-12, None)) * self.std_
        return mu, sd
