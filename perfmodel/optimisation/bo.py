"""Gaussian-process Bayesian optimisation (``bo``): an initial design, then the maximiser of EI, EHVI, HVPoI,
ParEGO's scalarised EI or a Thompson draw, times the probability of feasibility; prior means, source data
and the hypervolume's reference point as options."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

from profiling.designs import sample as design_sample
from profiling.space import config_key

from ..errors import OptimisationError
from ..models.gp_core import InputWarp
from ..pareto import hypervolume, hypervolume_improvement, non_dominated, pareto_front
from .acquisition import (expected_hypervolume_improvement, hypervolume_probability_of_improvement,
                          log_expected_hypervolume_improvement, log_expected_improvement,
                          log_probability_of_feasibility)
from .base import N_INIT, N_INIT_UNGUIDED, SearchState, Strategy, initial_design_size
from .candidates import MAX_CANDIDATES
from .gp import SURROGATE_KERNELS, GPSurrogate, check_model_options, input_warp_mode

ACQUISITIONS = ("auto", "ei", "ehvi", "hvpoi", "parego", "ts")
# The BO surrogate's kernels: the GP's, and "auto" (see BOStrategy)
BO_KERNELS = ("auto", *SURROGATE_KERNELS)
# Thompson sampling draws the GPs jointly at no more than this many candidates per step (a random subset).
TS_MAX_CANDIDATES = 2_000
EHVI_UNITS = ("model", "output")
LOCAL_STEPS = ("off", "alternate", "all")
MEANS = ("constant", "monotone")
# The BO strategy's options a study passes through (``bo_options``), beside its own settings.
BO_OPTIONS = ("linked", "log_inputs", "noisy", "prior_weight", "prior_design", "prior_selection", "input_warp",
              "source_data", "source_tasks", "task", "ehvi_units", "reference", "noise_prior", "design",
              "hyper_samples", "hyper_use", "lengthscale_prior", "kernel", "local", "mean", "extremes")
# What BOStrategy does with hyper-parameter samples: average the acquisition over them, or use their mean
BO_HYPER_USES = ("acquisition", "mean")
REFERENCES = ("observed", "front", "nadir", "predicted", "plausible", "robust")

PRIOR_DESIGNS = ("front", "model", "trusted", "space")


def _spread_front(configs: list[dict], P: np.ndarray, k: int) -> list[dict]:
    """``k`` of ``configs`` spread along the successive non-dominated layers of their values ``P`` (minimised)."""
    order = np.lexsort(P.T[::-1])                         # by the first objective, ties by the next
    if P.shape[1] == 1:
        return [configs[i] for i in order[:k]]
    picked: list[int] = []
    remaining = np.ones(len(configs), dtype=bool)
    while len(picked) < k and remaining.any():            # successive non-dominated layers
        rows = np.flatnonzero(remaining)
        layer = rows[non_dominated(P[rows])]
        layer = layer[np.argsort(P[layer, 0], kind="stable")]
        want = k - len(picked)
        take = layer if len(layer) <= want else layer[np.unique(np.round(np.linspace(0, len(layer) - 1,
                                                                                      want)).astype(int))]
        picked.extend(int(i) for i in take)
        remaining[layer] = False
    return [configs[i] for i in picked[:k]]


def monotone_prior(B_done: np.ndarray, y: np.ndarray, B_cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mean="monotone"``: (leave-one-out values at the evaluations, values at the candidates) of a
    non-negative least-squares fit of ``y`` on the basis ``B``; values floored at a millionth of the median
    observation (positive, so that the GP's log scale holds them)."""
    from scipy.optimize import nnls

    ok = np.flatnonzero(np.isfinite(y))
    floor = 1e-6 * abs(float(np.median(y[ok]))) if len(ok) else 1e-12
    scale = np.maximum(np.abs(B_done[ok]).max(axis=0), 1e-12) if len(ok) else np.ones(B_done.shape[1])
    fit = lambda rows: nnls(B_done[rows] / scale, y[rows])[0] / scale  # noqa: E731
    loo = np.full(len(y), floor)
    for i in ok:
        w = fit(ok[ok != i])
        loo[i] = B_done[i] @ w
    cand = B_cand @ fit(ok)
    return np.maximum(loo, floor), np.maximum(cand, floor)


def observed_reference(Y: np.ndarray) -> np.ndarray:
    """The ``"observed"`` reference point of minimised objectives ``Y`` (rows: evaluations): the worst observed
    value of each + 10 % of its observed range."""
    return Y.max(axis=0) + 0.1 * np.maximum(Y.max(axis=0) - Y.min(axis=0), 1e-9)


def reference_point(value) -> str | dict[str, float]:
    """A BO reference-point setting, checked: ``"observed"``, ``"front"``, or a mapping of objective names
    to finite values (the user's reference point, in the objectives' units)."""
    if isinstance(value, str):
        if value not in REFERENCES:
            raise OptimisationError(f"unknown reference point {value!r}; choose one of {', '.join(REFERENCES)} "
                                    "or give a value for each objective")
        return value
    if not isinstance(value, Mapping) or not value:
        raise OptimisationError(f"a reference point is {' or '.join(map(repr, REFERENCES))} or a mapping of "
                                f"objective names to values, not {value!r}")
    out = {}
    for name, v in value.items():
        try:
            out[str(name)] = float(v)
        except (TypeError, ValueError):
            raise OptimisationError(f"reference point: {name} = {v!r} is not a number") from None
        if not np.isfinite(out[str(name)]):
            raise OptimisationError(f"reference point: {name} = {v!r} is not finite")
    return out


def _prior_design_mode(value) -> str:
    # True/False (the former switch) are "front"/"space".
    if isinstance(value, (bool, np.bool_)):
        return "front" if value else "space"
    if value not in PRIOR_DESIGNS:
        raise OptimisationError(f"unknown prior design {value!r}; choose one of {', '.join(PRIOR_DESIGNS)}")
    return str(value)


class BOStrategy(Strategy):
    """GP Bayesian optimisation: an initial design, then the maximiser of a (constrained) acquisition.

    Parameters
    ----------
    n_init : int or "auto"
        Size of the initial design (Latin hypercube by default, as in the Jetson TX1 design-space study).
        ``"auto"``: 10 (``N_INIT``) with prior means, else 6 (``N_INIT_UNGUIDED``; source data included).
    acquisition : {"auto", "ei", "ehvi", "hvpoi", "parego", "ts"}
        ``auto`` is EI for one objective and EHVI for several. ``parego`` (Knowles 2006): at every step the
        objectives (log scale where positive, normalised to the observed range) are scalarised with a random
        weight vector ``w`` (uniform on the simplex) as ``max_j w_j f_j + 0.05 sum_j w_j f_j``, and one GP of
        that scalar is searched with EI. ``ts``: Thompson sampling (TSEMO's idea on a finite candidate set,
        Bradford et al. 2018): one joint draw of every objective's GP at the candidates (at most
        ``TS_MAX_CANDIDATES``, a random subset beyond), each candidate scored by the hypervolume (one
        objective: the improvement) its drawn values add to the observed front; where the draw improves
        nowhere, EHVI (EI) ranks the step. Every acquisition is multiplied by the
        probability that the constrained outputs meet their limits (HyperPower); before any feasible
        configuration is known, that probability alone is maximised. All are computed in log space (log-EI
        and log-EHVI, as BoTorch's ``LogExpectedImprovement``), so a step is ranked by the model even where
        the acquisition itself underflows to zero everywhere (a confident model, e.g. with a good prior).
    prior_mean : mapping of output name to callable, optional
        ``f(configs) -> values`` in the output's units: the GP of that output models the deviation from it.
    linked, log_inputs : bool
        GP input encoding (see :class:`~perfmodel.optimisation.candidates.Candidates`): merge linked knobs
        into one input (finite spaces only); place numeric levels by the log of their value.
    noisy : bool
        Acquisitions use the predictive distribution of the value an evaluation would *return* (latent
        function plus the fitted noise) rather than of the latent function: a configuration is evaluated
        once, and what enters the front is its measured value.
    prior_weight : {"learned", "fixed"}
        How a prior mean enters the GP (:class:`~perfmodel.optimisation.gp.GPSurrogate`).
    prior_selection : {"evidence", "none"}
        ``evidence``: at every fit the prior is used only when it beats the plain GP's BIC-penalised
        marginal likelihood.
    prior_design : bool or {"front", "model", "trusted", "space"}
        How a prior for every objective (or source data) shapes the initial design (finite spaces).
        ``"front"`` (True): half of it is space-filling and half spread along the priors' predicted front;
        ``"model"``: only the space-filling half is kept, and the model (GP with the prior mean, or with the
        source data) chooses from there on, so the prior steers those evaluations through the acquisition
        after it has been calibrated on the measured points; ``"trusted"``: as ``"model"``, but each of
        those steps is the model's only when the evidence keeps the prior (or the source) for every
        objective at that fit, and otherwise the next point of the plain space-filling design (a prior the
        data do not support changes nothing); ``"space"`` (False): the plain design.
    input_warp : bool, "fallback" or "both"
        The GPs learn a Kumaraswamy warping of each input with three or more levels in the space
        (:class:`~perfmodel.optimisation.gp.GPSurrogate`; a two-level input is left as it is, since no warp
        can change it, as in the configuration models' ``input_warp``). ``"fallback"``: only the plain GP
        that replaces a prior mean the evidence test rejects at a fit is warped (not with source data).
        ``"both"``: every kernel fitted with and without the warp, the acquisition averaged over all the fits
        (as with ``kernel="average"``). Both measured in docs/optimisation-results.md and not adopted.
    ehvi_units : {"model", "output"}
        Scale of the hypervolume that EHVI measures. ``"model"``: the GP's scale (log of a positive
        objective), Gaussian predictions. ``"output"``: the objectives' own units, as a front is judged (a
        hypervolume in seconds x watts): a minimised objective modelled on the log scale is log-normal in its
        units and its factor of each box is the closed-form log-normal partial expectation
        (:func:`~perfmodel.optimisation.acquisition.expected_hypervolume_improvement` with ``lognormal``);
        other objectives stay on the model's scale. Where that EHVI underflows to 0 at every candidate the
        step is ranked by the log-space EHVI on the model's scale.
    reference : {"observed", "front", "nadir", "predicted", "plausible", "robust"} or mapping
        Reference point of the hypervolume, per objective (minimised, on the scale EHVI is computed on):
        ``"observed"``: the worst observed value + 10 % of the observed range; ``"front"``: the observed
        front's nadir + 10 % of the front's range (BoTorch's ``infer_reference_point``); ``"nadir"``: the
        front's nadir + 10 % of the observed range; ``"predicted"``: as ``"nadir"`` from the worse of that
        nadir and the nadir of the front the GP means predict for the remaining configurations;
        ``"plausible"``: as ``"predicted"`` with the optimistic end of the 95 % band instead of the mean;
        ``"robust"``: the ``"observed"`` rule over the observations within Tukey's upper fence, never short
        of the front's nadir. A mapping of objective name to value is the user's reference point in the
        objectives' units (the worst value of each they would accept, as BoTorch asks for where it can):
        only what improves on it counts; an objective it does not name, or a value the objective's log
        scale cannot hold (zero or below), takes the ``"observed"`` rule (the latter with a warning). Only
        ``"observed"`` and a stated point are recommended; the others are options measured in
        docs/optimisation-results.md and not adopted.
    noise_prior : bool
        The GPs' noise variance has a log-normal prior instead of bounds
        (:class:`~perfmodel.optimisation.gp.GPSurrogate`).
    kernel : {"auto", "matern52", "additive", "rbf", "select", "average"}
        The GPs' kernel (:class:`~perfmodel.optimisation.gp.GPSurrogate`): ARD Matern 5/2, or that kernel plus
        a first-order term per input (``"additive"``), or at every fit the one of the two with the higher
        leave-one-out density (``"select"``), or both with the acquisition averaged over the two
        (``"average"``, as over ``hyper_samples``). ``"auto"`` (default): ``"average"`` with two or more
        objectives (EHVI, HVPoI, Thompson sampling), ``"matern52"`` with one objective, with ``parego`` or
        with ``hyper_samples`` (measured in docs/optimisation-results.md).
    source_data : sequence of (config, outputs), optional
        Transfer as extra data with a task feature: an earlier study's evaluations (configurations of this
        space, e.g. on another input size or board) join each output's GP as a second task whose
        correlation with this study is learned (:class:`~perfmodel.optimisation.gp.GPSurrogate`). An
        output that also has a prior mean uses the prior instead.
    source_tasks : sequence of float, optional
        Several earlier studies in ``source_data``: the task value of each of its rows (e.g. the log of the
        input size the study measured), with ``task`` this study's. Each distinct value is a source task of
        its own, placed on the surrogate's task input by its distance from ``task`` (nearer studies are more
        correlated under the one learned task length-scale); the prior-guided half of the design follows the
        nearest source's front. Without it, all of ``source_data`` is one source task.
    task : float, optional
        This study's task value (required with ``source_tasks``, which must not contain it).
    hyper_samples : int
        0 (default): every acquisition uses each GP's optimum of the hyper-parameters. N >= 1: the
        *integrated acquisition* (Snoek et al. 2012, Spearmint; BoTorch's fully Bayesian GPs): each GP also
        draws N posterior samples of its hyper-parameters (slice sampling,
        :func:`~perfmodel.models.gp_core.sample_gp`), the acquisition (EHVI, EI, HVPoI, each times the
        probability of feasibility) is computed with the k-th sample of every output's GP, and the
        candidates are ranked by the mean over k of those values (in log space: log-mean-exp of the
        per-sample log acquisitions). Not with ``input_warp``.
    hyper_use : {"acquisition", "mean"}
        With ``hyper_samples``: integrate the acquisition over the samples (``"acquisition"``, default), or
        use one GP per output at the samples' posterior mean (``"mean"``; the acquisition of that GP).
    lengthscale_prior : {None, "saas"}
        With ``hyper_samples``: the SAAS prior on the sampled length-scales (BoTorch's fully Bayesian GP).
    local : {"off", "alternate", "all"}
        Steps next to the observed front (finite spaces, two or more objectives; Pareto local search's
        neighbourhood with the acquisition's ranking): on every second model step (``"alternate"``) or on
        every one (``"all"``) only the configurations one level step from an observed non-dominated
        evaluation (:meth:`~perfmodel.optimisation.candidates.Candidates.neighbours`) are candidates,
        while any of them has a finite acquisition. ``"off"`` (default): every remaining configuration.
        Measured in docs/optimisation-results.md and not adopted.
    mean : {"constant", "monotone"}
        ``"monotone"``: an output with neither a prior mean nor source data gets, at every model step, a prior
        mean fitted to this study's own evaluations: a non-negative least-squares combination of
        :meth:`~perfmodel.optimisation.candidates.Candidates.monotone_basis` (each knob can only raise or only
        lower the output). Its values at the evaluated configurations are leave-one-out predictions, so the
        GP's evidence test (``prior_selection``) judges it on data it was not fitted to. ``"constant"``
        (default): the GP's constant mean. Measured in docs/optimisation-sessions.md and not adopted.
    extremes : int
        With two or more objectives, every ``extremes``-th model step is a single-objective step: the
        objectives in turn, each step the expected improvement of that objective alone over its best
        feasible value (the front's ends, which a reference point beyond the worst observed values weights
        heavily, are where near-equal configurations differ only by noise). 0 (default): every model step
        is the multi-objective acquisition's.
    """

    name = "bo"

    def __init__(self, space, n_init: int | str = "auto", acquisition: str = "auto", design: str = "lhs",
                 prior_mean: Mapping[str, Callable[[list[dict]], Sequence[float]]] | None = None,
                 restarts: int = 1, max_iters: int = 200, log: bool = True, linked: bool = True,
                 log_inputs: bool = True, noisy: bool = True, prior_weight: str = "learned",
                 prior_design: bool = True, prior_selection: str = "evidence", input_warp: bool = False,
                 source_data: Sequence[tuple[dict, dict]] | None = None,
                 source_tasks: Sequence[float] | None = None, task: float | None = None,
                 ehvi_units: str = "model", reference: str = "observed", noise_prior: bool = False,
                 hyper_samples: int = 0, hyper_use: str = "acquisition", lengthscale_prior: str | None = None,
                 kernel: str = "auto", local: str = "off", mean: str = "constant", extremes: int = 0):
        super().__init__(space)
        if isinstance(extremes, bool) or not isinstance(extremes, (int, np.integer)) or extremes < 0:
            raise OptimisationError(f"extremes must be a whole number >= 0, got {extremes!r}")
        self.extremes = int(extremes)
        if mean not in MEANS:
            raise OptimisationError(f"unknown mean {mean!r}; choose one of {', '.join(MEANS)}")
        self.mean = mean
        if local not in LOCAL_STEPS:
            raise OptimisationError(f"unknown local steps {local!r}; choose one of {', '.join(LOCAL_STEPS)}")
        self.local = local
        self.kernel = kernel
        if kernel not in BO_KERNELS:
            raise OptimisationError(f"unknown kernel {kernel!r}; choose one of {', '.join(BO_KERNELS)}")
        self.hyper_samples = check_model_options("matern52" if kernel == "auto" else kernel, hyper_samples,
                                                 input_warp, lengthscale_prior)
        if hyper_use not in BO_HYPER_USES:
            raise OptimisationError(f"unknown use of the hyper-parameter samples {hyper_use!r}; choose one of "
                                    f"{', '.join(BO_HYPER_USES)}")
        self.hyper_use = hyper_use
        self.lengthscale_prior = lengthscale_prior
        if ehvi_units not in EHVI_UNITS:
            raise OptimisationError(f"unknown EHVI units {ehvi_units!r}; choose one of {', '.join(EHVI_UNITS)}")
        self.reference = reference_point(reference)
        self.ehvi_units = ehvi_units
        self.noise_prior = bool(noise_prior)
        if acquisition not in ACQUISITIONS:
            raise OptimisationError(f"unknown acquisition {acquisition!r}; choose one of {', '.join(ACQUISITIONS)}")
        self.acquisition = acquisition
        self.design = design
        self.prior_mean = dict(prior_mean or {})
        self.restarts = restarts
        self.max_iters = max_iters
        self.log = log
        self.linked = bool(linked)
        self.log_inputs = bool(log_inputs)
        self.noisy = bool(noisy)
        self.prior_weight = prior_weight
        self.prior_design = _prior_design_mode(prior_design)
        self.prior_selection = prior_selection
        self.input_warp = input_warp_mode(input_warp)
        self.source_data = list(source_data or [])
        self.n_init = initial_design_size(n_init, N_INIT if self.prior_mean else N_INIT_UNGUIDED)
        self.source_tasks = None
        if source_tasks is not None:
            ts = np.asarray(list(source_tasks), dtype=float).ravel()
            if ts.shape[0] != len(self.source_data):
                raise OptimisationError(f"source tasks: {ts.shape[0]} values for {len(self.source_data)} rows "
                                        "of source data")
            if task is None or not np.isfinite(float(task)) or not np.all(np.isfinite(ts)):
                raise OptimisationError("source tasks need this study's task value, and every value finite")
            if np.any(ts == float(task)):
                raise OptimisationError("a source task equals this study's task value")
            self.source_tasks = ts - float(task)          # signed task distance of each source row
        self._source_X = None
        self._prior_cache: dict[str, dict[str, float]] = {}
        self._last: dict[str, tuple] = {}
        self._fitted_on: tuple | None = None          # the evaluations self._last was fitted to
        self._init: list[dict] | None = None
        self._warned = False
        self._warned_reference = False

    def initial_design(self, state: SearchState) -> list[dict]:
        """The initial design: ``n_init`` space-filling points, or, when every objective has a prior mean
        (or source data, ``source_data``) and the space is a finite candidate set, half of them
        space-filling and half spread along the front the priors predict (or the source study measured):
        a warm start that costs at most half the design when the priors or the source are wrong."""
        if self._init is None:
            space = self.space
            if state.ruled_out and self._cands.finite:
                # spread over the configurations the search may ask, not over the whole space (a-priori
                # constraints can rule out most of it: a design drawn there would lose most of its points)
                space = space.restrict([c for c, k in zip(self._cands.configs, self._cands.keys)
                                        if k not in state.ruled_out])
            n = min(self.n_init, int(min(space.size, MAX_CANDIDATES)))
            by_prior = all(m in self.prior_mean for m in state.objectives)
            by_source = bool(self.source_data) and all(
                np.isfinite([float(o.get(m, np.nan)) for _, o in self.source_data]).sum() >= 2
                for m in state.objectives)
            guided = self.prior_design != "space" and self._cands.finite and n >= 2 and (by_prior or by_source)
            n_fill = n - n // 2 if guided else n
            self._n_fill = n_fill
            # "trusted" keeps the whole plain design to fall back on (its first n_fill points come first)
            self._init = design_sample(space, n if self.prior_design == "trusted" else n_fill, self.design,
                                       state.seed)
            if guided and self.prior_design == "front":
                exclude = {config_key(c) for c in self._init}
                self._init += (self._prior_front(state, n - n_fill, exclude) if by_prior
                               else self._source_front(state, n - n_fill, exclude))
        return self._init

    def _prior_front(self, state: SearchState, k: int, exclude: set[str]) -> list[dict]:
        # ``k`` configurations spread along the non-dominated set of the priors' predictions.
        idx = [i for i, key in enumerate(self._cands.keys) if key not in exclude and key not in state.taken]
        configs = [self._cands.configs[i] for i in idx]
        if not configs or k < 1:
            return []
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        P = np.column_stack([sign[j] * self._prior(m, configs) for j, m in enumerate(state.objectives)])
        return _spread_front(configs, P, k)

    def _source_front(self, state: SearchState, k: int, exclude: set[str]) -> list[dict]:
        # ``k`` configurations spread along the front the source study measured (configurations of this space).
        known = set(self._cands.keys)
        seen: set[str] = set()
        configs, rows = [], []
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        d = self.source_tasks
        nearest = None if d is None else np.min(np.abs(d))
        for r, (c, o) in enumerate(self.source_data):
            if d is not None and abs(d[r]) != nearest:    # several sources: the nearest one's front
                continue
            key = config_key(c)
            v = np.array([float(o.get(m, np.nan)) for m in state.objectives], dtype=float)
            if key in known and key not in exclude and key not in state.taken and key not in seen \
                    and np.all(np.isfinite(v)):
                seen.add(key)
                configs.append(self._cands.configs[self._cands.keys.index(key)])
                rows.append(sign * v)
        if not configs or k < 1:
            return []
        return _spread_front(configs, np.array(rows), k)

    def suggest(self, state):
        self._last = {}
        if state.number < self.n_init:
            free = [c for c in self.initial_design(state) if config_key(c) not in state.taken]
            trial_model = (self.prior_design == "trusted" and self._n_fill < len(self._init)
                           and state.number >= self._n_fill and len(state.complete) >= 2)
            if free and not trial_model:
                return free[0], "design"
            if free:
                # "trusted": the model takes this step of the design only when the prior (or the source)
                # is kept for every objective at this fit; otherwise the plain design goes on.
                got = self._model_step(state)
                if got is not None and got[1] == "model" and self._guidance_used(state):
                    return got
                self._last = {}
                return free[0], "design"
        if len(state.complete) < 2:
            cfg = self._random(state)
            return None if cfg is None else (cfg, "random")
        return self._model_step(state)

    def _guidance_used(self, state: SearchState) -> bool:
        # Whether every objective's surrogate kept its prior (or the source data) at the last fit.
        fits = [self._last.get(m) for m in state.objectives]
        return all(f is not None and (getattr(f[0], "prior_used_", False) and f[0].has_prior_
                                      or getattr(f[0], "source_used_", False)) for f in fits)

    def _model_step(self, state: SearchState) -> tuple[dict, str] | None:
        configs, X = self._cands.remaining(state)
        if not configs:
            return None
        k = state.number - self.n_init
        single = None                                 # ``extremes``: this step's one objective
        if self.extremes and len(state.objectives) >= 2 and k >= 0 and (k + 1) % self.extremes == 0:
            single = (k // self.extremes) % len(state.objectives)
        # Small matrices: BLAS threads only contend (up to 1000x slower on a loaded 2-core machine).
        with threadpool_limits(1):
            acq = self.acquisition_values(state, configs, X, single=single)
        local = self._local_mask(state, configs)
        if local is not None and np.any(local) and np.any(np.isfinite(acq[local])):
            acq = np.where(local, acq, -np.inf)
        best = np.max(acq)
        if not np.isfinite(best):                         # zero everywhere even in log space
            return self._random(state), "random"
        ties = np.flatnonzero(acq >= best - 1e-9)          # a relative tolerance of 1e-9 on the acquisition
        i = int(ties[state.rng(3).integers(len(ties))]) if len(ties) > 1 else int(ties[0])
        return configs[i], "model"

    def _local_mask(self, state: SearchState, configs: list[dict]) -> np.ndarray | None:
        # Candidates one level step from the observed front, on the steps ``self.local`` makes local.
        k = state.number - self.n_init
        on = self.local == "all" or self.local == "alternate" and k % 2 == 1
        if not on or len(state.objectives) < 2 or not self._cands.finite:
            return None
        got = self._usable(state)
        if got is None:
            return None
        Y, done = got
        centres = [done[i] for i in np.flatnonzero(non_dominated(Y))]
        return self._cands.neighbours(centres, configs)

    def _source(self, name: str, enc: dict):
        # (inputs, values) of output ``name`` in the source study, or None when it has none.
        if not self.source_data:
            return None
        if self._source_X is None:
            try:
                cfgs = [{k.name: k.validate(c[k.name]) for k in self.space.knobs} for c, _ in self.source_data]
                self._source_X = self._cands.encode(cfgs, **enc)
            except Exception as e:  # a configuration outside this space
                raise OptimisationError(f"source data does not fit the space: {e}") from None
        y = np.array([float(o.get(name, np.nan)) for _, o in self.source_data], dtype=float)
        if np.isfinite(y).sum() < 2:
            return None
        return (self._source_X, y) if self.source_tasks is None else (self._source_X, y, self.source_tasks)

    def _prior(self, name: str, configs: list[dict]):
        # Values of the prior mean of output ``name`` (None without one), each configuration predicted once.
        fn = self.prior_mean.get(name)
        if fn is None:
            return None
        cache = self._prior_cache.setdefault(name, {})
        keys = [config_key(c) for c in configs]
        todo = [i for i, k in enumerate(keys) if k not in cache]
        if todo:
            values = np.asarray(fn([configs[i] for i in todo]), dtype=float).ravel()
            if values.shape[0] != len(todo) or not np.all(np.isfinite(values)):
                raise OptimisationError(f"prior mean of {name!r} must return one finite value per configuration")
            cache.update(zip((keys[i] for i in todo), values.tolist()))
        return np.array([cache[k] for k in keys], dtype=float)

    def believed_outputs(self, state, config):
        # Kriging believer: the predicted mean (output units) of every modelled output at ``config``.
        key = config_key(config)
        out = {}
        for m, (gp, keys, mu, _) in self._last.items():
            i = keys.get(key)
            if i is None:
                return None
            out[m] = float(np.exp(mu[i]) if gp.log_ else mu[i])
        return out or None

    def front_outlook(self, state: SearchState, z: float = 1.96) -> dict | None:
        """What the surrogate believes the observed front is missing (two or more objectives; not ParEGO).

        The GPs are fitted to every evaluation so far; each objective's predicted mean at every configuration
        not yet evaluated (and, for the optimistic figure, the better end of the central band of ``z``
        predictive sd, 95 % by default) is added to the observed feasible evaluations, and the hypervolume of
        the observed front is compared with that of the joint front, in the objectives' own units, with the
        reference point of the ``"observed"`` rule (the worst observed value + 10 % of the observed range;
        remaining configurations beyond it add nothing), or the user's where one is stated (objectives it
        does not name take the rule). With constraints, only candidates whose predicted means meet every
        limit count. Returns ``{"found_share_mean", "found_share_optimistic", "remaining"}`` (shares in
        [0, 1]: 1 means nothing left to gain, 0 that nothing found lies within a stated reference point
        while the model predicts something does), or None where it does not apply."""
        if not np.isfinite(z) or z < 0:
            raise OptimisationError(f"the band's half-width must be a finite number of sd >= 0, got {z!r}")
        if len(state.objectives) < 2 or self.acquisition == "parego" or len(state.complete) < 2:
            return None
        got = self._usable(state)
        if got is None:
            return None
        Y, _ = got
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        configs, _ = self._cands.remaining(state)
        out = {"found_share_mean": 1.0, "found_share_optimistic": 1.0, "remaining": len(configs)}
        if not configs:
            return out
        with threadpool_limits(1):
            self._fit_models(state, configs)           # the GPs' predictions; no acquisition is needed
        ref = observed_reference(Y)
        stated = self._stated(state, self._last, np.ones(len(state.objectives), dtype=bool))  # objectives' units
        if stated is not None:
            ref = np.where(np.isnan(stated), ref, stated)
        found = hypervolume(Y, ref)
        allowed = np.ones(len(configs), dtype=bool)
        for c in state.constraints:
            allowed &= np.array([c.satisfied(v) for v in self._last_values(c.metric)], dtype=bool)
        for key, k in (("found_share_mean", 0.0), ("found_share_optimistic", z)):
            P = np.column_stack([sign[j] * self._last_values(m, -sign[j] * k)
                                 for j, m in enumerate(state.objectives)])
            P = P[allowed & np.all(np.isfinite(P), axis=1)]
            whole = hypervolume(np.vstack([Y, P]), ref) if len(P) else found
            out[key] = float(found / whole) if whole > 0 else 1.0
        return out

    def fit_quality(self, state: SearchState) -> dict[str, float]:
        """How well the GPs predict each modelled output (the objectives, or none with ParEGO, and the
        constrained outputs) from the inputs: the leave-one-out R^2 of every evaluation so far on the model's
        scale (:attr:`GPSurrogate.loo_r2_ <perfmodel.optimisation.gp.GPSurrogate.loo_r2_>`). Refits the GPs
        (about one step's time); empty before two evaluations are complete."""
        if len(state.complete) < 2:
            return {}
        if not self._last or self._fitted_on != _data_key(state):   # not fitted to these evaluations yet
            configs, _ = self._cands.remaining(state)
            with threadpool_limits(1):                 # predictions only where the fit needs some
                self._fit_models(state, configs or [state.complete[0][0]])
        return {m: gp.loo_r2_ for m, (gp, *_) in self._last.items()}

    def prior_weights(self) -> dict[str, float]:
        """Learned weight of each output's prior at the last model fit (1: trusted as is, 0: ignored)."""
        return {m: gp.prior_weight_ for m, (gp, *_) in self._last.items() if gp.has_prior_}

    def task_correlations(self) -> dict[str, float]:
        """Learned correlation of each output with the source data at the last model fit (0: not used)."""
        return {m: gp.task_correlation_ for m, (gp, *_) in self._last.items()
                if getattr(gp, "has_source_", False)}

    def acquisition_values(self, state: SearchState, configs: list[dict], X: np.ndarray | None = None, *,
                           single: int | None = None) -> np.ndarray:
        """Log of the acquisition of each candidate (higher is better; ``-inf`` where it is zero).

        EI, EHVI and the probability of feasibility are computed in log space
        (:func:`~perfmodel.optimisation.acquisition.log_expected_improvement`, as BoTorch's
        ``LogExpectedImprovement``), so candidates are still ranked where the values themselves underflow
        (a model confident that nothing improves, e.g. after a good prior). ``X`` is not used (the GP inputs
        come from the configurations; kept for callers passing the unit-cube matrix). ``single``: with two or
        more objectives, the EI of that objective (its index) alone instead (``extremes``' steps)."""
        parego = self.acquisition == "parego"
        if parego and len(state.objectives) < 2:
            raise OptimisationError("acquisition 'parego' needs two or more objectives")
        models, Xd, X = self._fit_models(state, configs)
        n_samples = next(iter(models.values()))[2].shape[0] if models else 1
        feasible, obj_ok = self._feasibility(state)       # of the evaluations: the same for every sample
        if parego:
            pof = self._log_pof(state, models, 0, len(configs))
            if not np.any(feasible & obj_ok):
                return pof
            return self._parego(state, Xd, X, feasible & obj_ok, obj_ok) + pof
        if self.acquisition == "ts":
            return self._thompson(state, models, X, configs, feasible, obj_ok)
        per_sample = np.array([self._log_acquisition(state, models, k, feasible, obj_ok, single)
                               for k in range(n_samples)])
        if n_samples == 1:
            return per_sample[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            # log of the mean over the samples of the acquisition (-inf where it is 0 in every sample)
            return logsumexp(per_sample, axis=0) - np.log(n_samples)

    def _fit_models(self, state: SearchState, configs: list[dict]) -> tuple[dict, np.ndarray, np.ndarray]:
        # One GP per modelled output (the objectives, or none with ParEGO, and the constrained outputs), fitted to
        # every evaluation, with its predictions at ``configs``: ({output: (gp, y, mu, sd)}, Xd, X), the
        # predictions (samples, candidates) on the model's scale. Remembers the fit in ``self._last``.
        done_cfgs = [c for c, _ in state.complete]
        enc = {"linked": self.linked, "log_inputs": self.log_inputs}
        Xd = self._cands.encode(done_cfgs, **enc)
        X = self._cands.encode(configs, **enc)
        parego = self.acquisition == "parego"
        metrics = list(dict.fromkeys([*([] if parego else state.objectives),
                                      *(c.metric for c in state.constraints)]))
        models: dict[str, tuple[GPSurrogate, np.ndarray, np.ndarray, np.ndarray]] = {}
        kernel = self.kernel_for(len(state.objectives))
        # the space's inputs with three or more levels (a two-level input gains nothing from a warp)
        warp = InputWarp.for_levels(np.vstack([Xd, X])) if self.input_warp else None
        for j, m in enumerate(metrics):
            y = np.array([o.get(m, np.nan) for _, o in state.complete], dtype=float)
            ok = np.isfinite(y)
            if ok.sum() < 2:
                raise OptimisationError(f"output {m!r} has fewer than 2 finite observations")
            prior_d, prior_c = self._prior(m, done_cfgs), self._prior(m, configs)
            source = self._source(m, enc) if prior_d is None else None
            if prior_d is None and source is None and self.mean == "monotone":
                prior_d, prior_c = monotone_prior(self._cands.monotone_basis(done_cfgs), y,
                                                   self._cands.monotone_basis(configs))
            gp = GPSurrogate(log=self.log, restarts=self.restarts, max_iters=self.max_iters,
                             seed=int(state.rng(11 + j).integers(2**31)), prior_weight=self.prior_weight,
                             prior_selection=self.prior_selection,
                             input_warp=self.input_warp if warp is not None else False,
                             noise_prior=self.noise_prior, hyper_samples=self.hyper_samples,
                             hyper_use="mean" if self.hyper_use == "mean" else "samples",
                             lengthscale_prior=self.lengthscale_prior, kernel=kernel)
            gp.fit(Xd[ok], y[ok], None if prior_d is None else prior_d[ok], source=source, warp=warp)
            # (members, candidates): the hyper-parameter samples or the kernels' fits, else the one fit's
            mu, sd = gp.predict_samples(X, prior_c, noisy=self.noisy)
            models[m] = (gp, y, mu, sd)
        self._last = self._summarise(models, configs)
        self._fitted_on = _data_key(state)
        return models, Xd, X

    @staticmethod
    def _summarise(models: dict, configs: list[dict]) -> dict:
        # What ``self._last`` keeps of a fit: {output: (gp, {config key: column}, mean, sd)} at ``configs``; the
        # mean is noise-free; over the members (hyper-parameter samples, kernels' fits), the mixture's mean and sd
        keys = {config_key(c): i for i, c in enumerate(configs)}
        return {m: (gp, keys, mu.mean(axis=0), np.sqrt((sd ** 2).mean(axis=0) + mu.var(axis=0)))
                for m, (gp, _, mu, sd) in models.items()}

    def _last_values(self, m: str, shift: float = 0.0) -> np.ndarray:
        # Output m's predicted mean + shift sd at the configurations of the last fit, in the output's own units
        gp, _, mu, sd = self._last[m]
        v = mu + shift * sd
        return np.exp(v) if gp.log_ else v

    def kernel_for(self, n_objectives: int) -> str:
        """The kernel the GPs use in a study of ``n_objectives`` objectives (``"auto"`` resolved)."""
        if self.kernel != "auto":
            return self.kernel
        several = n_objectives >= 2 and self.acquisition != "parego"
        return "average" if several and not self.hyper_samples else "matern52"

    def _usable(self, state: SearchState) -> tuple[np.ndarray, list[dict]] | None:
        # (objectives to minimise, configurations) of the feasible evaluations with every objective finite
        feasible, obj_ok = self._feasibility(state)
        ok = feasible & obj_ok
        if not ok.any():
            return None
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        used = [(c, o) for (c, o), u in zip(state.complete, ok) if u]
        return (np.array([[sign[j] * o[m] for j, m in enumerate(state.objectives)] for _, o in used]),
                [c for c, _ in used])

    def _feasibility(self, state: SearchState) -> tuple[np.ndarray, np.ndarray]:
        feasible = np.array([all(c.satisfied(o.get(c.metric, np.nan)) for c in state.constraints)
                             for _, o in state.complete], dtype=bool)
        obj_ok = np.array([all(np.isfinite(o.get(m, np.nan)) for m in state.objectives)
                           for _, o in state.complete], dtype=bool)
        return feasible, obj_ok

    def _log_pof(self, state: SearchState, models: dict, k: int, n: int) -> np.ndarray:
        # Log probability of feasibility (HyperPower), on the model's scale, with hyper-parameter sample k.
        pof = np.zeros(n)
        for c in state.constraints:
            gp, _, mu, sd = models[c.metric]
            if gp.log_ and c.limit <= 0:
                pof = pof + (-np.inf if c.upper else 0.0)
                continue
            limit = float(gp.transform(c.limit))
            pof = pof + log_probability_of_feasibility(mu[k], sd[k], limit, upper=c.upper)
        return pof

    def _log_acquisition(self, state: SearchState, models: dict, k: int, feasible: np.ndarray,
                         obj_ok: np.ndarray, single: int | None = None) -> np.ndarray:
        # Log acquisition of every candidate with the k-th hyper-parameter sample of every output's GP
        # (the optimum's predictions are "sample" 0 of 1); ``feasible``, ``obj_ok``: of the evaluations.
        pof = self._log_pof(state, models, k, models[state.objectives[0]][2].shape[1])
        if not np.any(feasible & obj_ok):
            return pof
        sign, Y, Yf = self._observed(state, models, feasible & obj_ok)
        mu = np.column_stack([sign[j] * models[m][2][k] for j, m in enumerate(state.objectives)])
        sd = np.column_stack([models[m][3][k] for m in state.objectives])
        if len(state.objectives) == 1:
            if self.acquisition not in ("auto", "ei", "ts"):
                raise OptimisationError(f"acquisition {self.acquisition!r} needs two or more objectives")
            return log_expected_improvement(mu[:, 0], sd[:, 0], float(Yf[:, 0].min())) + pof
        if single is not None:                        # a single-objective step (``extremes``)
            return log_expected_improvement(mu[:, single], sd[:, single], float(Yf[:, single].min())) + pof
        Yall = Y[obj_ok]
        front = pareto_front(Yf)
        optimistic = mu - 1.96 * sd if self.reference == "plausible" else mu
        ref = self._reference(Yall, front, self._stated(state, models, np.zeros(len(state.objectives), bool)),
                              predicted=optimistic)
        if self.acquisition == "hvpoi":
            with np.errstate(divide="ignore"):
                return np.log(hypervolume_probability_of_improvement(mu, sd, front, ref)) + pof
        if self.acquisition == "ei":
            raise OptimisationError("acquisition 'ei' is for one objective; use ehvi or hvpoi")
        logn = np.array([self.ehvi_units == "output" and models[m][0].log_ and not state.maximize[j]
                         for j, m in enumerate(state.objectives)], dtype=bool)
        if logn.any():
            # The hypervolume in the objectives' own units (what a front is judged by), with the GP's
            # log-normal predictions: exact EHVI, log-normal factors for the log-modelled objectives.
            U = Y.copy()
            for j, m in enumerate(state.objectives):
                if logn[j]:
                    U[:, j] = models[m][1]
            front_u = pareto_front(U[feasible & obj_ok])
            with np.errstate(divide="ignore"):
                v = np.log(expected_hypervolume_improvement(
                    mu, sd, front_u, self._reference(U[obj_ok], front_u, self._stated(state, models, logn),
                                                     predicted=np.where(logn, np.exp(optimistic),
                                                                        optimistic)),
                    lognormal=logn))
            if np.any(np.isfinite(v)):
                return v + pof
        return log_expected_hypervolume_improvement(mu, sd, front, ref) + pof

    def _thompson(self, state: SearchState, models: dict, X: np.ndarray, configs: list[dict],
                  feasible: np.ndarray, obj_ok: np.ndarray) -> np.ndarray:
        # Thompson sampling (TSEMO's idea on a finite candidate set; Bradford et al. 2018): one joint draw
        # of every objective's GP at the candidates; a candidate scores the hypervolume (one objective: the
        # improvement) its drawn values would add to the observed front, times the probability of
        # feasibility. Where the draw improves nowhere, log-EHVI (log-EI) ranks the step instead.
        base = self._log_acquisition(state, models, 0, feasible, obj_ok)
        if not np.any(feasible & obj_ok):
            return base
        rng = state.rng(17)
        n = len(configs)
        rows = np.arange(n) if n <= TS_MAX_CANDIDATES else np.sort(rng.choice(n, TS_MAX_CANDIDATES, replace=False))
        sign, Y, Yf = self._observed(state, models, feasible & obj_ok)
        picked = [configs[i] for i in rows]
        draws = np.column_stack([sign[j] * models[m][0].sample_joint(X[rows], self._prior(m, picked), rng=rng)[0]
                                 for j, m in enumerate(state.objectives)])
        if len(state.objectives) == 1:
            gain = np.clip(Yf[:, 0].min() - draws[:, 0], 0.0, None)
        else:
            front = pareto_front(Yf)
            stated = self._stated(state, models, np.zeros(len(state.objectives), bool))
            ref = self._reference(Y[obj_ok], front, stated)
            gain = hypervolume_improvement(draws, front, ref)
        if not np.any(gain > 0):
            return base
        out = np.full(n, -np.inf)
        with np.errstate(divide="ignore"):
            out[rows] = np.log(gain) + self._log_pof(state, models, 0, n)[rows]
        return out

    @staticmethod
    def _observed(state: SearchState, models: dict, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # The objectives' signs (-1 where maximised), the evaluations' objective values on the models' scale
        # signed to be minimised (one column per objective), and the rows of those that are ``usable``.
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        Y = np.column_stack([sign[j] * models[m][0].transform(models[m][1]) for j, m in enumerate(state.objectives)])
        return sign, Y, Y[usable]

    def _stated(self, state: SearchState, models: dict, output_units: np.ndarray) -> np.ndarray | None:
        # The user's reference point on the scale the hypervolume is computed on (the GP's, or the objective's
        # own units where ``output_units``), minimised; NaN where the objective takes the rule.
        if not isinstance(self.reference, dict):
            return None
        ref = np.full(len(state.objectives), np.nan)
        for k, m in enumerate(state.objectives):
            if m not in self.reference:
                continue
            value, gp = self.reference[m], models[m][0]
            if not output_units[k] and gp.log_ and value <= 0:
                if not self._warned_reference:
                    warnings.warn(f"the reference point's {m} = {value:g} is not positive, but {m} is modelled on "
                                  "the log scale: the observed rule is used for it", UserWarning, stacklevel=3)
                    self._warned_reference = True
                continue
            v = value if output_units[k] else float(gp.transform(value))
            ref[k] = -v if state.maximize[k] else v
        return ref

    def _reference(self, Yall: np.ndarray, front: np.ndarray, stated: np.ndarray | None = None,
                   predicted: np.ndarray | None = None) -> np.ndarray:
        # The rule of ``self.reference`` (see the class docstring; for "front", the range of every
        # observation where the front has none; ``predicted``: the predicted means of the remaining
        # configurations, minimised, on the same scale); a stated value (not NaN in ``stated``) wins.
        span_all = np.maximum(Yall.max(axis=0) - Yall.min(axis=0), 1e-9)
        if self.reference in ("predicted", "plausible") and predicted is not None and len(predicted):
            ok = np.all(np.isfinite(predicted), axis=1)
            nadir = front.max(axis=0)
            if ok.any():
                nadir = np.maximum(nadir, pareto_front(predicted[ok]).max(axis=0))
            rule = nadir + 0.1 * span_all
        elif self.reference == "robust":
            q1, q3 = np.percentile(Yall, [25, 75], axis=0)
            inside = np.where(Yall <= q3 + 1.5 * (q3 - q1), Yall, np.nan)      # Tukey's upper fence
            top = np.maximum(np.nanmax(inside, axis=0), front.max(axis=0))
            span = np.maximum(top - np.nanmin(inside, axis=0), 1e-9)
            rule = top + 0.1 * span
        elif self.reference in ("nadir", "predicted", "plausible"):
            rule = front.max(axis=0) + 0.1 * span_all
        elif self.reference == "front":
            span = front.max(axis=0) - front.min(axis=0)
            span = np.where(span > 1e-12 * np.maximum(1.0, np.abs(front.max(axis=0))), span, span_all)
            rule = front.max(axis=0) + 0.1 * span
        else:
            rule = observed_reference(Yall)
        return rule if stated is None else np.where(np.isnan(stated), rule, stated)

    def _parego(self, state, Xd, X, feasible, obj_ok) -> np.ndarray:
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        Y = np.array([[o.get(m, np.nan) for m in state.objectives] for _, o in state.complete], dtype=float)
        Y = Y[obj_ok]
        for k in range(Y.shape[1]):
            if self.log and np.all(Y[:, k] > 0):
                Y[:, k] = np.log(Y[:, k])
        Y = Y * sign
        lo, hi = Y.min(axis=0), Y.max(axis=0)
        Y = (Y - lo) / np.maximum(hi - lo, 1e-12)
        w = state.rng(13).dirichlet(np.ones(Y.shape[1]))
        f = np.max(Y * w, axis=1) + 0.05 * (Y @ w)
        # (no prior mean or source data here: "fallback" leaves this GP as it is)
        warp = InputWarp.for_levels(np.vstack([Xd, X])) if self.input_warp is True else None
        gp = GPSurrogate(log=False, restarts=self.restarts, max_iters=self.max_iters,
                         seed=int(state.rng(17).integers(2**31)), input_warp=warp is not None,
                         noise_prior=self.noise_prior, hyper_samples=self.hyper_samples,
                         hyper_use="mean" if self.hyper_use == "mean" else "samples",
                         lengthscale_prior=self.lengthscale_prior, kernel=self.kernel_for(1))
        gp.fit(Xd[obj_ok], f, warp=warp)
        best = float(f[feasible[obj_ok]].min())
        if not self.hyper_samples or self.hyper_use == "mean":
            mu, sd = gp.predict(X, noisy=self.noisy)
            return log_expected_improvement(mu, sd, best)
        mu, sd = gp.predict_samples(X, noisy=self.noisy)
        with np.errstate(divide="ignore", invalid="ignore"):
            return logsumexp([log_expected_improvement(m, s, best) for m, s in zip(mu, sd)], axis=0) - np.log(len(mu))


def _data_key(state: SearchState) -> tuple:
    # the evaluations a fit sees (believed outcomes of a batch's pending configurations included)
    return tuple((config_key(c), tuple(sorted(o.items()))) for c, o in state.complete)
