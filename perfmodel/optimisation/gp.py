"""GP surrogate of one measured output (GPy), with an optional prior-mean function.

The surrogate works on configurations mapped to the unit cube. Outputs that are all positive are modelled
on a log scale (runtimes and powers are multiplicative), then standardised. A *prior mean* (e.g. the
layer-wise predictor's estimate for a configuration) is subtracted before the fit and added back to the
prediction, which is exactly a GP with that fixed mean function: with few observations the surrogate
follows the prediction, with many it follows the data.
"""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import OptimisationError

_MIN_STD = 1e-9


class GPSurrogate:
    """Gaussian-process model of one output.

    Parameters
    ----------
    log : bool
        Model ``log(y)`` (used only when every observed value and the prior are positive).
    restarts : int
        Random restarts of the hyper-parameter optimisation (in addition to a warm start).
    max_iters : int
        L-BFGS iterations per optimisation; kept small because fits happen at every step.
    seed : int
        Seed of the restarts.
    """

    def __init__(self, log: bool = True, restarts: int = 1, max_iters: int = 200, seed: int = 0):
        self.log = log
        self.restarts = restarts
        self.max_iters = max_iters
        self.seed = seed

    # Transform of the output scale: shared with the acquisition so that limits are mapped the same way.
    def transform(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return np.log(y) if self.log_ else y

    def fit(self, X, y, prior=None) -> GPSurrogate:
        import GPy

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise OptimisationError("the surrogate needs at least one observation")
        prior = None if prior is None else np.asarray(prior, dtype=float).ravel()
        self.log_ = bool(self.log and np.all(y > 0) and (prior is None or np.all(prior > 0)))
        r = self.transform(y) - (0.0 if prior is None else self.transform(prior))
        self.mean_ = float(r.mean())
        self.std_ = float(max(r.std(), _MIN_STD)) if r.size > 1 else 1.0
        z = ((r - self.mean_) / self.std_)[:, None]
        d = X.shape[1]
        kern = GPy.kern.Matern52(d, ARD=True, lengthscale=np.full(d, 0.5))
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
        self.model_ = model
        return self

    @property
    def noise_variance(self) -> float:
        """Fitted noise variance on the standardised scale."""
        return float(np.asarray(self.model_.Gaussian_noise.variance).ravel()[0])

    def predict(self, X, prior=None, noisy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the output on the transformed (log or linear) scale.

        ``noisy``: of a new evaluation (latent function plus the fitted noise) instead of the function.
        """
        X = np.asarray(X, dtype=float)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            mu, var = self.model_.predict_noiseless(X)
        mu = mu.ravel() * self.std_ + self.mean_
        if prior is not None:
            mu = mu + self.transform(np.asarray(prior, dtype=float).ravel())
        var = var.ravel() + (self.noise_variance if noisy else 0.0)
        sd = np.sqrt(np.clip(var, 1e-12, None)) * self.std_
        return mu, sd
