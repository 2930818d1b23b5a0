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
* ``input_warp``: a learned Kumaraswamy warping of each unit-cube input (BoTorch's ``Warp``).
* ``hyper_samples``: besides the optimum of the hyper-parameters, that many draws from their posterior
  (:func:`~perfmodel.models.gp_core.sample_gp`, slice sampling from the optimum), whose predictions
  :meth:`GPSurrogate.predict_samples` returns, for an acquisition averaged over the hyper-parameters (Snoek et
  al. 2012's integrated acquisition).
* ``kernel``: the GP core's kernel, ``"matern52"`` (ARD Matern 5/2, the default) or ``"additive"`` (that
  kernel plus a first-order term per input, Duvenaud et al. 2011; see :data:`~perfmodel.models.gp_core.KERNELS`),
  or ``"select"``: both are fitted at every fit and the one whose leave-one-out predictive density of the
  observations is higher is kept (a two-candidate structure search; the marginal likelihoods of kernels with
  different numbers of hyper-parameters, fitted by maximising them, are not comparable as they are).
* transfer as extra data with a task feature (``source=(X_src, y_src)`` given to :meth:`fit`): an earlier
  study's evaluations (another input size, network or board) join the data with a task input (0.9 for the
  source, 1 for this study), each task transformed and standardised on its own. The task input has its
  own ARD length-scale, so the correlation between the tasks (Matern 5/2 at distance ``0.1/l_task``, between
  0 and 1) is learned by marginal likelihood with the rest: a related study shapes the surrogate where this
  one has no data yet, an unrelated one gets a short task length-scale and is ignored (Swersky et al. 2013's
  multi-task BO in its simplest, one-parameter form). Several source studies that differ along one known
  axis (e.g. the input size) are given with each row's signed *task distance* from this study (e.g. the
  difference of the log input sizes): each source is a task of its own, placed on the task input in
  proportion to its distance (the nearest where a single source is), so one learned task length-scale
  makes nearer studies count more, and studies on both sides of this one bracket it. The sources are
  taken nearest first: the k nearest (k = 1..K) with the best leave-one-out density of this study's
  observations are kept if they beat the plain GP, so a far source that does not fit cannot cost a near one.
  One source without distances is the single-source case above.

Kernel (ARD Matern 5/2), bounds, restarts, mean function, warping and posterior are the project's one GP core
(:mod:`perfmodel.models.gp_core`, shared with :class:`~perfmodel.models.gp.GPRegressor`); this class only
chooses its arguments and adds the evidence-based prior selection.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ModelError, OptimisationError
from ..models.gp_core import (KERNELS, LENGTHSCALE_PRIORS, SURROGATE_HYPER, FittedGP, InputWarp,
                              OutcomeTransform, PriorMean, fit_gp, jittered_cholesky, mean_gp, sample_gp)

OUTCOME_TRANSFORMS = ("log", "none")
# Task input of this study and of the source data: 0.1 apart, so that the surrogate's first length-scale
# (0.5) starts the optimisation at a task correlation of 0.9 and the bounds (0.02..20) span 0..1.
_TASK, _SOURCE_TASK = 1.0, 0.9
PRIOR_WEIGHTS = ("learned", "fixed")
#: the GP core's kernels, "select" (the better of matern52 and additive by leave-one-out density) and
#: "average" (both, the acquisition averaged over the two)
SURROGATE_KERNELS = (*KERNELS, "select", "average")
# Log-normal prior (loc, scale) of the noise variance on the standardised scale with ``noise_prior``:
# BoTorch's default since 0.12 (median 0.018; Hvarfner et al. 2024, "Vanilla Bayesian optimization
# performs great in high dimensions").
NOISE_PRIOR = (-4.0, 1.0)
HYPER_USES = ("samples", "mean")


#: ``input_warp`` besides True and False: warp only the plain GP that stands in for a prior mean the
#: evidence test rejected (see :class:`GPSurrogate`)
WARP_FALLBACK = "fallback"
#: ``input_warp``: every kernel fitted with and without the warp, the fits kept as members (see :class:`GPSurrogate`)
WARP_BOTH = "both"


def input_warp_mode(value) -> bool | str:
    """``input_warp`` as True, False, ``"fallback"`` or ``"both"`` (also from 0/1)."""
    if isinstance(value, str) and value in (WARP_FALLBACK, WARP_BOTH):
        return value
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    raise OptimisationError(f"unknown input warp {value!r}; choose True, False, {WARP_FALLBACK!r} or {WARP_BOTH!r}")


def check_model_options(kernel: str, hyper_samples, input_warp: bool | str, lengthscale_prior: str | None) -> int:
    """Check the surrogate's kernel and hyper-parameter sampling options together; the number of samples."""
    if kernel not in SURROGATE_KERNELS:
        raise OptimisationError(f"unknown kernel {kernel!r}; choose one of {', '.join(SURROGATE_KERNELS)}")
    if isinstance(hyper_samples, bool) or not isinstance(hyper_samples, (int, np.integer)) or hyper_samples < 0:
        raise OptimisationError(f"hyper-parameter samples must be a whole number >= 0, got {hyper_samples!r}")
    if hyper_samples and input_warp:
        raise OptimisationError("hyper-parameter samples are not available with input warping")
    if hyper_samples and kernel != "matern52":
        raise OptimisationError("hyper-parameter samples are available with the matern52 kernel only")
    if lengthscale_prior not in LENGTHSCALE_PRIORS:
        raise OptimisationError(f"unknown length-scale prior {lengthscale_prior!r}; choose saas or none")
    return int(hyper_samples)


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
    noise_prior : bool
        Regularise the noise variance by a log-normal prior (``NOISE_PRIOR``) instead of bounding it to
        ``[1e-6, 0.5]``: a GP that cannot fit the data otherwise does not explain them as noise at no cost.
    input_warp : bool, "fallback" or "both"
        Learn a Kumaraswamy CDF per input (inputs in the unit cube; BoTorch's ``Warp``), for outputs that
        change faster at one end of a knob's range than at the other; :meth:`fit`'s ``warp`` names the inputs.
        ``"fallback"``: only where a prior mean was given and the evidence test drops it
        (``prior_selection="evidence"``) is the plain GP that takes its place fitted with the warp
        (``warped_``); a fit that keeps its prior, had none, or has source data is not warped. The shape the
        prior was to supply is then learned from the data. (With source data the source is dropped at many
        steps even where it is related, and a warped stand-in cost there.) Measured in docs/optimisation-results.md
        and not adopted: it cost a good prior as much as warping every fit, and protected a wrong one less.
        ``"both"``: each kernel is fitted without and with the warp and every fit is kept as a member
        (``samples_``, as with ``kernel="average"``; ``gp_`` is the member with the best leave-one-out
        density), so that an acquisition averaged over them follows neither model alone. Measured without a
        prior and not adopted (the same runs at 0.99 as the default, at 4x its CPU time).
    hyper_samples : int
        0: the optimum of the hyper-parameters only. N >= 1: also N posterior samples of them (log-uniform
        prior inside the optimiser's bounds, or the noise prior; slice sampling started at the optimum, 10
        sweeps discarded), for :meth:`predict_samples`. Not with ``input_warp``.
    hyper_use : {"samples", "mean"}
        With ``hyper_samples``: keep the samples (``"samples"``), or replace the optimum by one GP at their
        posterior mean (``"mean"``: geometric mean of the variances and length-scales), a point estimate
        that does not jump between the likelihood's local optima from one fit to the next; then
        ``samples_`` is empty and every prediction is that GP's.
    lengthscale_prior : {None, "saas"}
        With ``hyper_samples``: the samples' length-scales get the SAAS prior (see
        :func:`~perfmodel.models.gp_core.sample_gp`) on top of the bounds.
    kernel : {"matern52", "additive", "rbf", "select", "average"}
        The GP core's kernel (:data:`~perfmodel.models.gp_core.KERNELS`). ``"additive"`` adds a first-order
        Matern 5/2 term per input to the ARD kernel, so that a main effect seen where one knob was varied
        carries over to combinations of the other knobs not yet tried. ``"select"``: ``matern52`` and
        ``additive`` are both fitted and the one with the higher leave-one-out predictive density of the
        observations is used (``gp_.kernel`` says which). ``"average"``: both are fitted and kept
        (``samples_``, as with ``hyper_samples``; ``gp_`` is the ``"select"`` choice), so that an acquisition
        averaged over the two models does not follow one kernel's blind spot.
    """

    def __init__(self, log: bool = True, restarts: int = 1, max_iters: int = 200, seed: int = 0,
                 outcome_transform: str | None = None, prior_weight: str = "learned",
                 prior_selection: str = "evidence", input_warp: bool = False, noise_prior: bool = False,
                 hyper_samples: int = 0, hyper_use: str = "samples", lengthscale_prior: str | None = None,
                 kernel: str = "matern52"):
        self.kernel = kernel
        self.hyper_samples = check_model_options(kernel, hyper_samples, input_warp, lengthscale_prior)
        if hyper_use not in HYPER_USES:
            raise OptimisationError(f"unknown use of the hyper-parameter samples {hyper_use!r}; choose one of "
                                    f"{', '.join(HYPER_USES)}")
        self.hyper_use = hyper_use
        self.lengthscale_prior = lengthscale_prior
        self.log = log
        self.restarts = restarts
        self.max_iters = max_iters
        self.seed = seed
        self.outcome_transform = outcome_transform
        self.prior_weight = prior_weight
        self.prior_selection = prior_selection
        self.input_warp = input_warp_mode(input_warp)
        self.noise_prior = noise_prior

    # Transform of the output scale: shared with the acquisition so that limits are mapped the same way.
    def transform(self, y) -> np.ndarray:
        return self.outcome_.scale(y)

    @property
    def log_(self) -> bool:
        return self.outcome_.log_

    @property
    def mean_(self) -> float:
        return self.outcome_.mean_

    @property
    def std_(self) -> float:
        return self.outcome_.scale_

    def _augment(self, X: np.ndarray, prior) -> np.ndarray:
        if prior is None:
            raise OptimisationError("the surrogate was fitted with a prior mean; give its values to predict")
        p = np.asarray(prior, dtype=float).ravel()
        if p.shape[0] != X.shape[0]:
            raise OptimisationError("the prior must give one value per row")
        return np.column_stack([X, self.outcome_.forward(self.outcome_.scale(p))])

    def fit(self, X, y, prior=None, source=None, warp: InputWarp | None = None) -> GPSurrogate:
        """Fit on this study's ``X, y`` (and the ``prior``'s values at ``X``, or an earlier study's data
        ``source = (X_src, y_src)`` as a second task, or ``(X_src, y_src, d_src)`` with each source row's
        signed task distance from this study, e.g. the difference of the log input sizes, for several source
        tasks on one task axis; see the module docstring). With ``hyper_samples``, the posterior samples of
        the hyper-parameters are drawn from the chosen model's optimum (``samples_``). ``warp``: with
        ``input_warp``, the inputs to warp (:meth:`InputWarp.for_levels
        <perfmodel.models.gp_core.InputWarp.for_levels>` of the space's levels, say; None: every input)."""
        self._warp_inputs = warp or InputWarp()      # what input_warp (in whichever mode) warps
        # kernel "average": the two fits of the chosen model stand as two "samples" of the surrogate
        self.samples_ = list(self._fit_map(X, y, prior, source))
        self.train_t_ = self.outcome_.scale(np.asarray(y, dtype=float).ravel())   # this study's, first in gp_
        if self.hyper_samples:
            try:
                self.samples_ = sample_gp(self.gp_, hyper=self._hyper(),
                                          mean=PriorMean() if self.gp_.mean_weight is not None else None,
                                          n_samples=self.hyper_samples, seed=[int(self.seed), 1],
                                          lengthscale_prior=self.lengthscale_prior)
            except ModelError as e:
                raise OptimisationError(str(e)) from None
            if self.hyper_use == "mean":
                self.gp_, self.samples_ = mean_gp(self.samples_), []
        return self

    def _fit_map(self, X, y, prior=None, source=None) -> tuple[FittedGP, ...]:
        # The optimum of the hyper-parameters (and the choice of prior mean or source data) as gp_; returns
        # the fits that gp_ stands for (kernel "average"; else none).
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise OptimisationError("the surrogate needs at least one observation")
        self.has_source_ = source is not None
        if source is not None:
            if prior is not None:
                raise OptimisationError("give the surrogate a prior mean or source data, not both")
            return self._fit_tasks(X, y, source)
        transform = self.outcome_transform or ("log" if self.log else "none")
        if transform not in OUTCOME_TRANSFORMS:
            raise OptimisationError(f"unknown outcome transform {transform!r}; choose log or none")
        if self.prior_weight not in PRIOR_WEIGHTS:
            raise OptimisationError(f"unknown prior weight {self.prior_weight!r}; choose learned or fixed")
        prior = None if prior is None else np.asarray(prior, dtype=float).ravel()
        if prior is not None and (prior.shape[0] != y.shape[0] or not np.all(np.isfinite(prior))):
            raise OptimisationError("the prior must give one finite value per observation")
        self.has_prior_ = prior is not None
        learned = self.has_prior_ and self.prior_weight == "learned"
        outcome = OutcomeTransform(log=transform == "log")
        outcome = outcome.fitted(y, also_positive=() if prior is None else (prior,))
        if self.has_prior_ and not learned:
            # the prior subtracted as it is: the GP models the transformed residual
            outcome = outcome.fitted(y, outcome.scale(prior), also_positive=(prior,))
        self.outcome_ = outcome
        t = outcome.scale(y)
        z = outcome.forward(t - outcome.scale(prior) if self.has_prior_ and not learned else t)
        self.gp_, members = self._optimise(self._augment(X, prior) if learned else X, z, learned)
        self.prior_used_ = self.has_prior_
        if learned and self.prior_selection == "evidence":
            # The prior's two parameters (offset, weight) must pay for themselves: BIC-penalised evidence
            # of the GP with the prior's mean function against the plain GP on the same data.
            plain, plain_members = self._optimise(X, z, False)
            penalty = np.log(max(len(y), 2))          # 0.5 * 2 parameters * ln(n)
            if -plain.objective >= -self.gp_.objective - penalty or not np.isfinite(self.gp_.objective):
                (self.gp_, members), self.prior_used_ = self._fallback(X, z, (plain, plain_members)), False
        return members

    def _fallback(self, X, z, plain):
        # The plain GP (fit, members) that replaces a rejected prior; refitted warped with input_warp="fallback".
        if self.input_warp != WARP_FALLBACK:
            return plain
        return self._optimise(X, z, False, warp=self._warp_inputs)

    def _fit_tasks(self, X, y, source) -> tuple[FittedGP, ...]:
        Xs = np.asarray(source[0], dtype=float)
        ys = np.asarray(source[1], dtype=float).ravel()
        if Xs.ndim != 2 or Xs.shape[1] != X.shape[1] or Xs.shape[0] != ys.shape[0]:
            raise OptimisationError("the source data must have one row of the space's inputs per value")
        if len(source) > 2 and source[2] is not None:
            ds = np.asarray(source[2], dtype=float).ravel()
            if ds.shape[0] != ys.shape[0] or not np.all(np.isfinite(ds)) or np.any(ds == 0):
                raise OptimisationError("the source data's task distances must be finite, non-zero and one per "
                                        "value")
        else:
            ds = np.full(len(ys), -1.0)                   # one source task
        keep = np.isfinite(ys)
        Xs, ys, ds = Xs[keep], ys[keep], ds[keep]
        transform = self.outcome_transform or ("log" if self.log else "none")
        outcome = OutcomeTransform(log=transform == "log")
        self.outcome_ = outcome.fitted(y, also_positive=(ys,))
        self.has_prior_ = self.prior_used_ = False
        z = self.outcome_.forward(self.outcome_.scale(y))
        # Each source task (one distinct task distance) is transformed and standardised on its own; one with
        # fewer than 2 values is left out. Task input: this study at _TASK, a source at _TASK + 0.1 d / |d_near|
        # (d: its signed task distance, d_near: the nearest source's), so the nearest source is where a single
        # source is (0.1 away) and the others lie along the same line in proportion to their distance.
        groups = sorted((g for g in np.unique(ds) if (ds == g).sum() >= 2), key=lambda g: (abs(g), g))
        near = abs(groups[0]) if groups else 1.0
        parts = []
        for g in groups:
            rows = ds == g
            src = OutcomeTransform(log=self.outcome_.log_).fitted(ys[rows])     # same scale (log or not) as y
            parts.append((Xs[rows], src.forward(src.scale(ys[rows])),
                          np.full(int(rows.sum()), _TASK + (_TASK - _SOURCE_TASK) * g / near)))
        self.n_source_tasks_ = len(groups)
        mine = np.column_stack([X, np.full(len(X), _TASK)])
        rows = np.arange(len(z))
        # The sources, nearest first, must pay for themselves on this study's data: leave-one-out predictive
        # density of this study's observations with the k nearest sources (k = 1..K) against the plain GP's
        # (the evidence of the models is not comparable, as they explain different data). Hyper-parameters
        # are shared, so an unrelated source would otherwise spoil the noise and length-scales even at zero
        # task correlation; nearest first, so that a far source that does not fit cannot cost a near one.
        best, best_loo, used = None, -np.inf, 0
        for k in range(1, len(parts) + 1):
            Xk = np.vstack([mine, *(np.column_stack([p[0], p[2]]) for p in parts[:k])])
            fit = self._optimise(Xk, np.concatenate([z, *(p[1] for p in parts[:k])]), False)
            loo = fit[0].loo_log_density(rows)
            if best is None or loo > best_loo:
                best, best_loo, used = fit, loo, k
        self.source_used_ = best is not None
        self.n_source_tasks_used_ = used
        if best is not None:
            plain = self._optimise(mine, z, False)
            if plain[0].loo_log_density() >= best_loo:
                best, self.source_used_, self.n_source_tasks_used_ = plain, False, 0
        else:
            best = self._optimise(mine, z, False)
        self.gp_, members = best
        return members

    @property
    def task_correlation_(self) -> float:
        """Learned correlation between this study and the source data at the same configuration (the
        nearest source task where there are several; NaN without source data)."""
        if not getattr(self, "has_source_", False):
            return float("nan")
        if not self.source_used_:
            return 0.0
        r = np.sqrt(5.0) * (_TASK - _SOURCE_TASK) / self.gp_.lengthscale[-1]
        return float((1.0 + r + r * r / 3.0) * np.exp(-r))

    def _hyper(self):
        return replace(SURROGATE_HYPER, noise_prior=NOISE_PRIOR) if self.noise_prior else SURROGATE_HYPER

    def _optimise(self, X, z, with_prior: bool, warp: InputWarp | None = None) -> tuple[FittedGP, tuple[FittedGP, ...]]:
        # (the fitted GP, the fits it stands for: both kernels' with "average", else none); warp: this fit's
        # warp where it is not the surrogate's own (the fallback's)
        warp = warp or (self._warp_inputs if self.input_warp is True else None)
        kernels = ("matern52", "additive") if self.kernel in ("select", "average") else (self.kernel,)
        warps = (None, self._warp_inputs) if warp is None and self.input_warp == WARP_BOTH else (warp,)
        if len(kernels) * len(warps) > 1:
            fits = tuple(self._optimise_kernel(X, z, with_prior, k, w) for k in kernels for w in warps)
            best = max(fits, key=lambda f: f.loo_log_density())      # the first (matern52) on a tie
            return best, fits if self.kernel == "average" or len(warps) > 1 else ()
        return self._optimise_kernel(X, z, with_prior, self.kernel, warp), ()

    def _optimise_kernel(self, X, z, with_prior: bool, kernel: str, warp: InputWarp | None):
        try:
            return fit_gp(X, z, kernel=kernel, ard=True, hyper=self._hyper(),
                          mean=PriorMean() if with_prior else None,
                          warp=warp,
                          n_restarts=1 + max(0, int(self.restarts)), max_iters=self.max_iters, seed=self.seed,
                          on_failure="keep")
        except ModelError as e:
            raise OptimisationError(str(e)) from None

    @property
    def warped_(self) -> bool:
        """Whether the fitted GP warps its inputs (``input_warp``, or the fallback's stand-in)."""
        return self.gp_.warp_a is not None

    @property
    def prior_weight_(self) -> float:
        """Fitted weight ``b`` of the prior (1: taken as it is, 0: ignored); NaN without a learned prior."""
        if self.has_prior_ and not self.prior_used_:
            return 0.0
        if self.gp_.mean_weight is not None:
            return float(self.gp_.mean_weight)
        return 1.0 if self.has_prior_ else np.nan

    @property
    def loo_r2_(self) -> float:
        """Share of this study's outputs' variance (on the transformed, log or linear, scale) that the fitted
        model predicts for each evaluation from the others: ``1 - sum(loo residual^2) / sum((t - mean t)^2)``,
        the leave-one-out residuals in closed form at the fitted hyper-parameters (the prior mean or the
        source data included where they were kept; with the two-kernel average, the member the fit chose).
        Near 1: the inputs predict the output; near 0 or below: to the model it is mostly noise. NaN with
        fewer than 3 observations or outputs that do not vary."""
        t = self.train_t_
        ss = float(np.sum((t - t.mean()) ** 2))
        if len(t) < 3 or not ss > 1e-12 * max(1.0, float(np.mean(t * t))) * len(t):
            return float("nan")
        resid, _ = self.gp_.loo_residuals(np.arange(len(t)))
        resid = resid * self.outcome_.scale_                  # standardised -> transformed scale
        return float(1.0 - np.sum(resid * resid) / ss)

    @property
    def noise_variance(self) -> float:
        """Fitted noise variance on the standardised scale."""
        return float(self.gp_.noise_variance)

    def predict(self, X, prior=None, noisy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the output on the transformed (log or linear) scale.

        ``prior``: the prior's values at ``X`` (required when the surrogate was fitted with one).
        ``noisy``: of a new evaluation (latent function plus the fitted noise) instead of the function.
        """
        return self._predict_with(self.gp_, X, prior, noisy)

    def predict_samples(self, X, prior=None, noisy: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Means and standard deviations as :meth:`predict`, one row per posterior sample of the
        hyper-parameters (shape ``(hyper_samples, len(X))``); the optimum's alone (one row) without samples."""
        gps = getattr(self, "samples_", None) or [self.gp_]
        out = [self._predict_with(g, X, prior, noisy) for g in gps]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])

    def sample_joint(self, X, prior=None, *, rng: np.random.Generator, n_samples: int = 1) -> np.ndarray:
        """Draws of the latent function jointly at the rows of ``X`` (one row per draw, shape
        ``(n_samples, len(X))``) on the transformed scale, from the optimum's posterior (Thompson sampling)."""
        Xa = self._inputs(X, prior)
        mu, cov = self.gp_.predict_cov(Xa)
        n = len(mu)
        try:
            L = jittered_cholesky(cov, max(float(np.mean(np.diag(cov))), 1e-12), tries=9)
        except np.linalg.LinAlgError:          # numerically singular: eigen-decomposition, negative parts cut
            w, V = np.linalg.eigh(cov)
            L = V * np.sqrt(np.clip(w, 0.0, None))
        z = mu[None, :] + rng.standard_normal((int(n_samples), n)) @ L.T
        t = self.outcome_.backward(z)
        if self.has_prior_ and self.prior_weight != "learned":
            t = t + self.transform(np.asarray(prior, dtype=float).ravel())[None, :]
        return t

    def _inputs(self, X, prior) -> np.ndarray:
        # The GP's input rows for ``X`` (this study's task column; the prior's values where it is used).
        X = np.asarray(X, dtype=float)
        if getattr(self, "has_source_", False):
            X = np.column_stack([X, np.full(len(X), _TASK)])  # predictions are for this study's task
        if not self.has_prior_ and prior is not None:
            raise OptimisationError("the surrogate was fitted without a prior mean; predict without one")
        learned = self.has_prior_ and self.prior_weight == "learned"
        if self.has_prior_ and prior is None:
            raise OptimisationError("the surrogate was fitted with a prior mean; give its values to predict")
        return self._augment(X, prior) if learned and self.prior_used_ else X

    def _predict_with(self, gpc, X, prior, noisy: bool) -> tuple[np.ndarray, np.ndarray]:
        Xa = self._inputs(X, prior)
        learned = self.has_prior_ and self.prior_weight == "learned"
        mu, var = gpc.predict(Xa, noisy=noisy)
        mu, sd = self.outcome_.backward(mu, np.sqrt(np.clip(var, 1e-12, None)))
        if self.has_prior_ and not learned:
            mu = mu + self.transform(np.asarray(prior, dtype=float).ravel())
        return mu, sd
