"""Ask/tell studies and the :func:`optimize` loop.

An *evaluator* is anything that turns a configuration into measured outputs:

* a callable ``evaluate(config: dict) -> Mapping[str, float]``, or
* an object with such an ``evaluate`` method and a ``space`` (a :class:`~profiling.space.ConfigSpace`
  attribute, or a method returning one), optionally a ``source`` label (``replay:<file>``,
  ``measured:cpu``...).

The outputs must contain every objective and every constrained metric. A NaN output, or a
:class:`~perfmodel.errors.PerfmodelError`/:class:`~profiling.errors.ProfilingError` raised by the
evaluator, marks the trial *failed* (it counts against the budget and is never asked again); any other
exception propagates and leaves the trial *asked*, to be asked again first on ``resume``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from profiling.space import ConfigSpace, config_key

from ..errors import USER_ERRORS, OptimisationError
from ..pareto import non_dominated
from .constraints import ModelConstraint, OutputConstraint, parse_constraints
from .storage import StudyStorage
from .strategies import (BO_OPTIONS, MAX_CANDIDATES, SearchState, initial_design_size, make_strategy,
                         reference_point)

# Settings that must match when a study file is resumed.
_RESUME_KEYS = ("space", "objectives", "maximize", "constraints", "strategy", "n_init", "seed", "acquisition",
                "a_priori", "reference")
# Values of settings that study files written before they existed hold implicitly.
_RESUME_DEFAULTS = {"a_priori": [], "reference": "observed"}
# optimize(extend_to=...): the share of hypervolume the surrogate's means must still expect for the study to go
# on, and the evaluations between two looks (read off the TX2 Xception grids, seeds 0-19; checked on 20-29)
EXTEND_GAIN = 1e-4
EXTEND_STEP = 5


@dataclass(frozen=True)
class Trial:
    """One configuration handed out by :meth:`Study.ask` (and, once told, its outputs)."""

    number: int
    config: dict[str, Any]
    phase: str
    state: str = "asked"
    outputs: dict[str, float] | None = field(default=None, compare=False)
    error: str | None = None


class Study:
    """An optimisation study with ask/tell, optionally stored in SQLite.

    Parameters
    ----------
    space : ConfigSpace
        The configurations to search (a finite candidate space for a replayed table).
    objectives : sequence of str
        Output names to optimise (minimised unless listed in ``maximize``).
    maximize : sequence of str
        Objectives to maximise.
    constraints : sequence of str or OutputConstraint
        Limits on outputs, e.g. ``"power_consumption<=3000"``.
    strategy : {"bo", "random", "tpe", "nsga2"}
    n_init : int or "auto"
        Initial design size (``bo``), TPE's random start-up trials or NSGA-II's population. ``"auto"``: a
        resumed study's own; otherwise 10 for ``bo`` with prior means, TPE and NSGA-II, 6 for the rest (see
        :class:`~perfmodel.optimisation.strategies.BOStrategy`). The study file records the number.
    seed : int
    storage : str, optional
        SQLite file receiving every ask and tell as it happens. A new study refuses an existing file.
    resume : bool
        Continue the study in ``storage``: its settings must match; trials asked but never told are asked
        again first, told trials are never repeated.
    acquisition : {"auto", "ei", "ehvi", "hvpoi", "parego"}
        BO acquisition (``auto``: EI for one objective, EHVI for several).
    prior_mean : mapping of output name to callable, optional
        BO only: ``f(configs) -> predicted values``; the GP models the deviation from this prediction.
    source : str, optional
        Where the outputs come from (``replay:<file>``, ``measured:cpu``); written into every result.
    bo_options : mapping, optional
        BO only: ``linked``, ``log_inputs``, ``noisy``, ``prior_design`` (all True by default;
        ``prior_design`` also takes ``"front"`` (= True), ``"model"``, ``"trusted"``, ``"space"`` (= False)),
        ``prior_weight`` (``"learned"``, default, or ``"fixed"``), ``prior_selection`` (``"evidence"``,
        default, or ``"none"``), ``input_warp`` (False by default; True, or ``"fallback"``: only the plain GP that
        replaces a rejected prior mean, or ``"both"``: warped and unwarped fits averaged; these two measured and
        not adopted), ``source_data`` (an earlier study's
        ``(config, outputs)`` pairs, transfer with a task feature; ``source_tasks`` and ``task`` for several
        earlier studies on one task axis), ``ehvi_units`` (``"model"``, default, or ``"output"``),
        ``reference`` (``"observed"``, default, ``"front"``, ``"nadir"``, ``"predicted"``,
        ``"plausible"``, ``"robust"``, or the user's reference point: a mapping of objective names to values
        in their units; checked on resume), ``noise_prior`` (False by default), ``kernel`` (``"auto"``, default:
        ``"average"`` with two or more objectives, else ``"matern52"``; or ``"matern52"``, ``"additive"``,
        ``"select"``, ``"average"``; the kernel used is stored with the study), ``design`` (the initial
        design, ``"lhs"`` by default), ``hyper_samples`` (0 by default: the acquisition averaged over that
        many posterior samples of the GPs' hyper-parameters; ``hyper_use="mean"``: one GP at their posterior
        mean instead), ``extremes`` (0 by default: every N-th model step one objective's own expected
        improvement, in turn; measured and not adopted), see :class:`~perfmodel.optimisation.strategies.BOStrategy`.
    constraint_models : sequence of ModelConstraint
        A-priori constraints (HyperPower): every configuration of the (finite) space that a model predicts
        infeasible with high probability is rejected before any measurement, by every strategy; see
        :attr:`skipped`.
    guidance : mapping, optional
        Where the prior means and the source data come from, to be stored with the study and checked on
        resume: ``{"priors": {output: {"file": name, "sha256": digest}}, "source": {"file": ..., "sha256":
        ...}}`` (any part may be left out; :func:`file_identity` describes a file). A study guided by some
        priors or source data is resumed only with the same ones (same outputs and, where a digest is given,
        the same content; a file may be renamed); without this argument only which outputs have a prior and
        whether source data are given is checked. Study files written before this check are not checked.

    Attributes
    ----------
    skipped : list of dict
        The configurations rejected a priori (never asked).
    """

    def __init__(self, space: ConfigSpace, objectives: Sequence[str], *, maximize: Sequence[str] = (),
                 constraints: Sequence[str | OutputConstraint] = (), strategy: str = "bo",
                 n_init: int | str = "auto",
                 seed: int = 0, storage: str | None = None, resume: bool = False, acquisition: str = "auto",
                 prior_mean: Mapping[str, Callable] | None = None, source: str | None = None,
                 gp_restarts: int = 1, gp_max_iters: int = 200, bo_options: Mapping[str, Any] | None = None,
                 constraint_models: Sequence[ModelConstraint] = (),
                 guidance: Mapping[str, Any] | None = None):
        if not isinstance(space, ConfigSpace):
            raise OptimisationError("a study needs a ConfigSpace")
        objectives = tuple(objectives)
        if not objectives:
            raise OptimisationError("a study needs at least one objective")
        if len(set(objectives)) != len(objectives):
            raise OptimisationError("an objective is listed twice")
        unknown = [m for m in maximize if m not in objectives]
        if unknown:
            raise OptimisationError(f"maximize names {unknown[0]!r}, which is not an objective", param="maximize")
        if resume and storage is None:
            raise OptimisationError("resume needs a study file")
        initial_design_size(n_init)                     # checked before any file is touched
        unknown = sorted(set(bo_options or {}) - set(BO_OPTIONS))
        if unknown:
            raise OptimisationError(f"unknown BO option {unknown[0]!r}; choose one of {', '.join(BO_OPTIONS)}")
        reference = reference_point((bo_options or {}).get("reference", "observed"))
        if isinstance(reference, dict):
            unknown = [m for m in reference if m not in objectives]
            if unknown:
                raise OptimisationError(f"the reference point names {unknown[0]!r}, which is not an objective")
        constraint_models = tuple(constraint_models or ())
        self.space = space
        self.objectives = objectives
        self.maximize = tuple(m in maximize for m in objectives)
        self.constraints = parse_constraints(constraints)
        self.strategy_name = strategy
        self.seed = int(seed)
        self.acquisition = acquisition
        self.source = source
        self.settings = {
            "space": space.to_dict(), "objectives": list(objectives),
            "maximize": [m for m, mx in zip(objectives, self.maximize) if mx],
            "constraints": [str(c) for c in self.constraints], "strategy": strategy, "n_init": None,
            "seed": self.seed, "acquisition": acquisition, "source": source, "reference": reference,
            "a_priori": [f"{m.constraint} ({m.label}, confidence {m.confidence:g})" for m in constraint_models],
            "priors": sorted(prior_mean or {}),
            "guidance": _guidance(prior_mean, (bo_options or {}).get("source_data"), guidance),
        }
        self.skipped: list[dict] = []
        # optimize(extend_to=...): each look past the budget, (evaluations, the front outlook's mean share)
        self.extension: list[tuple[int, float]] = []
        self._rejected: frozenset[str] = frozenset()      # set once: the a-priori rejections
        if constraint_models:
            self._reject_a_priori(constraint_models)
        if isinstance(n_init, str) and resume:
            n_init = _stored_n_init(storage)              # a resumed study keeps its design (read after the checks)
        self._strategy = make_strategy(strategy, space, n_init=n_init, acquisition=acquisition,
                                       prior_mean=prior_mean, restarts=gp_restarts, max_iters=gp_max_iters,
                                       **dict(bo_options or {}))
        # "auto" resolved by the strategy (random search has no design: the number is only recorded)
        self.n_init = int(getattr(self._strategy, "n_init", initial_design_size(n_init)))
        self.settings["n_init"] = self.n_init
        # which surrogate the proposals came from, for whoever reads the study file (not checked on resume)
        if hasattr(self._strategy, "kernel_for"):
            self.settings["kernel"] = self._strategy.kernel_for(len(objectives))
            self.settings["input_warp"] = self._strategy.input_warp
        self._trials: list[Trial] = []
        self._reissue: list[int] = []
        self._storage: StudyStorage | None = None
        if storage is not None:
            if resume:
                st = StudyStorage.open(storage)
                try:
                    self._check_resume(st.settings(), storage)
                    self._load(st.trials())
                except Exception:
                    st.close()
                    raise
                self._storage = st
            else:
                self._storage = StudyStorage.create(storage, self.settings)

    def _reject_a_priori(self, models: Sequence[ModelConstraint]) -> None:
        if not self.space.is_finite or self.space.size > MAX_CANDIDATES:
            raise OptimisationError(f"a-priori constraints need a finite space of at most {MAX_CANDIDATES} "
                                    "configurations (every one is checked before the search)")
        configs = list(self.space.grid())
        reject = np.zeros(len(configs), dtype=bool)
        for m in models:
            reject |= m.rejects(configs)
        if reject.all():
            raise OptimisationError("the constraint model(s) predict every configuration infeasible: nothing to "
                                    "search")
        self.skipped = [c for c, r in zip(configs, reject) if r]
        self._rejected = frozenset(config_key(c) for c in self.skipped)

    # -- persistence
    def _check_resume(self, stored: dict, path: str) -> None:
        for key in _RESUME_KEYS:
            if stored.get(key, _RESUME_DEFAULTS.get(key)) != self.settings[key]:
                what = (_space_difference(stored.get(key), self.settings[key]) if key == "space" else
                        f"{_short(stored.get(key))} vs {_short(self.settings[key])}")
                raise OptimisationError(f"cannot resume {path!r}: its {key} differs from this run's ({what})")
        if "guidance" in stored and _guidance_key(stored["guidance"]) != _guidance_key(self.settings["guidance"]):
            raise OptimisationError(f"cannot resume {path!r}: it was guided by {_describe(stored['guidance'])}, "
                                    f"this run by {_describe(self.settings['guidance'])} (give the same priors "
                                    "and source data)")

    def _load(self, rows: list[dict]) -> None:
        for r in rows:
            self._trials.append(Trial(r["number"], r["config"], r["phase"], r["state"], r["outputs"], r["error"]))
            if r["state"] == "asked":
                self._reissue.append(r["number"])

    def close(self) -> None:
        """Close the study file (the study stays readable in memory)."""
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    def __repr__(self) -> str:
        """``<Study bo ['runtime_s', 'power_w'] where ['power_w<=15']: 12 told, 11 complete, file s.sqlite>``."""
        where = f" where {[str(c) for c in self.constraints]}" if self.constraints else ""
        stored = f", file {self._storage.path}" if self._storage is not None else ""
        return (f"<Study {self.strategy_name} {list(self.objectives)}{where}: {self.n_told} told, "
                f"{self.n_complete} complete{stored}>")

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- ask / tell
    @property
    def trials(self) -> list[Trial]:
        return list(self._trials)

    @property
    def n_told(self) -> int:
        return sum(t.state != "asked" for t in self._trials)

    @property
    def n_complete(self) -> int:
        return sum(t.state == "complete" for t in self._trials)

    def _state(self) -> SearchState:
        return SearchState(
            space=self.space, objectives=self.objectives, maximize=self.maximize, constraints=self.constraints,
            seed=self.seed, number=len(self._trials),
            complete=[(t.config, t.outputs) for t in self._trials if t.state == "complete"],
            taken={config_key(t.config) for t in self._trials} | self._rejected, ruled_out=self._rejected)

    def ask(self) -> Trial | None:
        """The next configuration to evaluate, or ``None`` when every configuration has been tried."""
        got = self.ask_batch(1)
        return got[0] if got else None

    def ask_batch(self, q: int) -> list[Trial]:
        """Up to ``q`` configurations to evaluate at once (trials asked but never told come first).

        BO picks them one after the other, each pending one believed to return its predicted mean
        (Kriging believer); the other strategies simply avoid repeating the pending ones.
        """
        if not isinstance(q, (int, np.integer)) or q < 1:
            raise OptimisationError(f"batch size must be a positive integer, got {q!r}")
        out = []
        while self._reissue and len(out) < q:
            out.append(self._trials[self._reissue.pop(0)])
        if len(out) == q:
            return out
        picks = self._strategy.suggest_batch(self._state(), q - len(out))
        for config, phase in picks:
            config = {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}
            trial = Trial(len(self._trials), config, phase)
            if self._storage is not None:
                self._storage.record_ask(trial.number, config, config_key(config), phase)
            self._trials.append(trial)
            out.append(trial)
        return out

    def prior_weights(self) -> dict[str, float]:
        """Learned weight of each prior mean at the last BO step (empty without priors or before a model)."""
        fn = getattr(self._strategy, "prior_weights", None)
        return fn() if fn is not None else {}

    def front_outlook(self) -> dict[str, float] | None:
        """What the surrogate believes the front found so far is missing: the share of hypervolume the
        observed front holds against its predicted means, and against the optimistic end of its 95 % band,
        at every configuration not yet evaluated (:meth:`BOStrategy.front_outlook
        <perfmodel.optimisation.bo.BOStrategy.front_outlook>`). None for strategies without a surrogate, one
        objective or ParEGO. Refits the surrogate once (about one step's time)."""
        fn = getattr(self._strategy, "front_outlook", None)
        return fn(self._state()) if fn is not None else None

    def fit_quality(self) -> dict[str, float]:
        """Leave-one-out R^2 of the surrogate's GP for each modelled output, on the model's (log) scale
        (:meth:`BOStrategy.fit_quality <perfmodel.optimisation.bo.BOStrategy.fit_quality>`): near 1 the knobs
        predict the output, near 0 or below it is mostly noise to the model, and a search can do little
        better than chance on it. Empty for strategies without a surrogate. Refits the surrogate once."""
        fn = getattr(self._strategy, "fit_quality", None)
        return fn(self._state()) if fn is not None else {}

    def task_correlations(self) -> dict[str, float]:
        """Learned correlation of each output with the source data (``bo_options["source_data"]``) at the
        last BO step (0: the source was not used at that step; empty without source data)."""
        fn = getattr(self._strategy, "task_correlations", None)
        return fn() if fn is not None else {}

    def tell(self, trial: Trial | int, outputs: Mapping[str, float] | None = None, *,
             error: str | None = None) -> Trial:
        """Record the outputs of an asked trial (or its failure with ``error``)."""
        number = trial.number if isinstance(trial, Trial) else int(trial)
        if not 0 <= number < len(self._trials) or self._trials[number].state != "asked":
            raise OptimisationError(f"trial {number} is not waiting for a result")
        if number in self._reissue:
            self._reissue.remove(number)
        needed = list(dict.fromkeys([*self.objectives, *(c.metric for c in self.constraints)]))
        clean: dict[str, float] | None = None
        if error is None:
            if outputs is None:
                raise OptimisationError(f"trial {number}: give outputs or an error")
            missing = [m for m in needed if m not in outputs]
            if missing:
                raise OptimisationError(f"trial {number}: the evaluation returned no {missing[0]!r}; "
                                        f"it returned {', '.join(map(str, outputs)) or 'nothing'}")
            clean = {}
            for k, v in outputs.items():
                try:
                    clean[str(k)] = float(v)
                except (TypeError, ValueError):
                    continue
            bad = [m for m in needed if not math.isfinite(clean.get(m, math.nan))]
            if bad:
                error = f"output {bad[0]!r} is not a finite number"
        state = "failed" if error is not None else "complete"
        if self._storage is not None:
            self._storage.record_tell(number, state, clean, error)
        old = self._trials[number]
        self._trials[number] = Trial(number, old.config, old.phase, state, clean, error)
        return self._trials[number]

    # -- results
    def feasible(self, outputs: Mapping[str, float]) -> bool:
        return all(c.satisfied(outputs.get(c.metric, math.nan)) for c in self.constraints)

    def results(self) -> pd.DataFrame:
        """Every trial in evaluation order with its outputs, feasibility and whether it is on the found front."""
        rows = []
        for t in self._trials:
            row = {"evaluation": t.number + 1, **t.config}
            outputs = t.outputs or {}
            for m in dict.fromkeys([*self.objectives, *(c.metric for c in self.constraints)]):
                row[m] = outputs.get(m, math.nan)
            row["state"] = t.state
            row["phase"] = t.phase
            row["feasible"] = t.state == "complete" and self.feasible(outputs)
            row["error"] = t.error or ""
            rows.append(row)
        df = pd.DataFrame(rows, columns=["evaluation", *self.space.names,
                                         *dict.fromkeys([*self.objectives, *(c.metric for c in self.constraints)]),
                                         "state", "phase", "feasible", "error"])
        df["on_front"] = False
        ok = df["feasible"].to_numpy(dtype=bool)
        if ok.any():
            Y = df.loc[ok, list(self.objectives)].to_numpy(dtype=float)
            Y = Y * np.where(np.asarray(self.maximize), -1.0, 1.0)
            df.loc[ok, "on_front"] = non_dominated(Y)
        df["strategy"] = self.strategy_name
        df["source"] = self.source or ""
        return df

    def front(self) -> pd.DataFrame:
        """The feasible non-dominated trials found so far (the best one for a single objective)."""
        df = self.results()
        return df[df["on_front"]].reset_index(drop=True)


def file_identity(path: str) -> dict[str, str]:
    """``{"file": base name, "sha256": first 16 hex digits of the content's SHA-256}`` of a prior or source
    file, for a study's ``guidance``."""
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise OptimisationError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    return {"file": os.path.basename(path), "sha256": h.hexdigest()[:16]}


def _guidance(prior_mean: Mapping | None, source_data: Any, given: Mapping[str, Any] | None) -> dict:
    # The study's guidance setting: every output with a prior, and whether source data are given, with what
    # ``given`` says about their files.
    given = dict(given or {})
    unknown = sorted(set(given) - {"priors", "source"})
    if unknown:
        raise OptimisationError(f"guidance takes 'priors' and 'source', not {unknown[0]!r}")
    info = dict(given.get("priors") or {})
    priors = {str(m): dict(info.get(m) or {}) for m in sorted(prior_mean or {})}
    extra = sorted(set(info) - set(priors))
    if extra:
        raise OptimisationError(f"guidance describes a prior of {extra[0]!r}, which has no prior mean")
    source = dict(given.get("source") or {}) if source_data else None
    return {"priors": priors, "source": source}


def _guidance_key(g: Any) -> Any:
    # What must match on resume: the outputs with a prior, whether there is a source, and content digests.
    g = g if isinstance(g, Mapping) else {}
    priors = g.get("priors") if isinstance(g.get("priors"), Mapping) else {}
    src = g.get("source")
    return ({m: (v or {}).get("sha256") for m, v in priors.items()},
            None if src is None else (src or {}).get("sha256", ""))


def _describe(g: Any) -> str:
    g = g if isinstance(g, Mapping) else {}
    parts = []
    for m, v in sorted((g.get("priors") or {}).items()):
        v = v or {}
        parts.append(f"a prior of {m}" + (f" from {v.get('file')} (sha256 {v.get('sha256')})" if v else ""))
    src = g.get("source")
    if src is not None:
        parts.append("source data" + (f" from {src.get('file')} (sha256 {src.get('sha256')})" if src else ""))
    return ", ".join(parts) if parts else "no prior and no source data"


def _stored_n_init(path: str) -> int:
    # The initial design size a study file was started with (read before the study's strategy is built).
    settings, _ = StudyStorage.read(path)
    try:
        return initial_design_size(settings.get("n_init"))
    except OptimisationError:
        raise OptimisationError(f"study file {path!r} records no valid initial design size") from None


def load_study(path: str) -> Study:
    """The study a file holds, for reading: its trials, :meth:`Study.results` and :meth:`Study.front`.

    Read without a lock and without writing to the file (a study still running elsewhere is read as far as
    it has committed). The returned study holds no file: to go on measuring, resume it with :func:`optimize`.
    """
    settings, trials = StudyStorage.read(path)
    try:
        study = Study(ConfigSpace.from_dict(settings["space"]), settings["objectives"],
                      maximize=settings.get("maximize", ()), constraints=settings.get("constraints", ()),
                      strategy=settings.get("strategy", "bo"), n_init=settings.get("n_init") or "auto",
                      seed=settings.get("seed", 0), acquisition=settings.get("acquisition", "auto"),
                      source=settings.get("source"))
    except (KeyError, TypeError, *USER_ERRORS) as exc:
        raise OptimisationError(f"study file {path!r} holds settings this library cannot read: {exc}") from None
    study._load(trials)
    study._reissue = []
    return study


def _space_difference(stored: Any, now: dict) -> str:
    """What differs between two spaces written by ``ConfigSpace.to_dict``, in knob terms (their JSON, cut to a
    few dozen characters, says nothing)."""
    try:
        a, b = ConfigSpace.from_dict(stored), ConfigSpace.from_dict(now)
    except Exception:  # noqa: BLE001 - a space this version cannot read: show what there is
        return f"{_short(stored)} vs {_short(now)}"
    if a.names != b.names:
        return f"knobs {', '.join(a.names)} vs {', '.join(b.names)}"
    for name in a.names:
        if a[name] != b[name]:
            return f"{a[name].describe()} vs {b[name].describe()}"
    return "the constraints between its knobs"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _evaluator_parts(evaluator: Any, space: ConfigSpace | None):
    fn = getattr(evaluator, "evaluate", None) or evaluator
    if not callable(fn):
        raise OptimisationError("the evaluator must be callable or have an evaluate(config) method")
    if space is None:
        sp = getattr(evaluator, "space", None)
        space = sp() if callable(sp) else sp
    if not isinstance(space, ConfigSpace):
        raise OptimisationError("no configuration space: pass space= or give the evaluator a 'space'")
    source = getattr(evaluator, "source", None)
    return fn, space, (source() if callable(source) else source)


def optimize(evaluator: Any, objectives: Sequence[str], *, space: ConfigSpace | None = None, budget: int = 40,
             n_init: int | str = "auto", strategy: str = "bo", maximize: Sequence[str] = (),
             constraints: Sequence[str | OutputConstraint] = (), seed: int = 0, storage: str | None = None,
             resume: bool = False, acquisition: str = "auto",
             prior_mean: Mapping[str, Callable] | None = None, progress: bool = False,
             callback: Callable[[Trial], None] | None = None, batch_size: int = 1, extend_to: int | None = None,
             extend_gain: float = EXTEND_GAIN, extend_step: int = EXTEND_STEP, **study_options) -> Study:
    """Search ``space`` for the configurations that optimise ``objectives`` within ``budget`` evaluations.

    Parameters
    ----------
    evaluator : callable or object with ``evaluate`` (and ``space``)
        See the module docstring.
    budget : int
        Total number of evaluations of the study (including those of a resumed study file). Larger than
        a finite space: a warning, and every configuration is evaluated once.
    batch_size : int
        Configurations asked at once (a platform that measures several at a time); each batch is
        evaluated in order, then told; an evaluator with ``evaluate_batch(configs)`` (a list of outputs or
        errors, in order) measures each batch at once. At most the budget.
    extend_to : int, optional
        Go on past ``budget``, ``extend_step`` evaluations at a time up to ``extend_to`` in all, while the
        surrogate's predicted means still expect more than ``extend_gain`` (a share, default 0.01 %) of the
        hypervolume beyond the front found (:meth:`Study.front_outlook`; the ``bo`` strategy with two or more
        objectives, not ParEGO; with no feasible evaluation yet, the study goes on). Each look is recorded
        in ``study.extension``. A model's view: on the TX2
        Xception grids it told the runs short of 99 % at 40 evaluations from the others, on a table the
        model fits badly it did not (docs/optimisation-results.md).
    progress : bool
        Show a progress bar.
    callback : callable, optional
        Called with each told :class:`Trial`.

    Other parameters are those of :class:`Study`.

    Returns
    -------
    Study
        Closed (its results stay available).
    """
    if not isinstance(budget, (int, np.integer)) or budget < 1:
        raise OptimisationError(f"budget must be a positive integer, got {budget!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise OptimisationError(f"batch size must be a positive integer, got {batch_size!r}")
    if batch_size > budget:
        raise OptimisationError(f"batch size {batch_size} is larger than the budget ({budget} evaluations)")
    if extend_to is not None:
        _check_extension(extend_to, extend_gain, extend_step, budget, objectives, strategy, acquisition)
    fn, space, source = _evaluator_parts(evaluator, space)
    batch_fn = getattr(evaluator, "evaluate_batch", None)
    if space.is_finite and space.size < budget:
        n_feasible = space.size if space.candidates is not None else sum(1 for _ in space.grid())
        if n_feasible < budget:
            warnings.warn(f"budget {budget} is larger than the space ({n_feasible} configurations); "
                          f"every configuration will be evaluated once", stacklevel=2)
            budget = int(n_feasible)
        if extend_to is not None:
            extend_to = min(int(extend_to), int(n_feasible))
    study = Study(space, objectives, maximize=maximize, constraints=constraints, strategy=strategy,
                  n_init=n_init, seed=seed, storage=storage, resume=resume,
                  acquisition=acquisition, prior_mean=prior_mean, source=source, **study_options)
    if resume and study.n_told >= (budget if extend_to is None else extend_to):
        warnings.warn(f"the study already holds {study.n_told} evaluations, at least the budget "
                      f"({budget if extend_to is None else extend_to}): nothing is evaluated; give a larger budget "
                      "to go on", stacklevel=2)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=budget, initial=min(study.n_told, budget), desc=f"explore ({strategy})", unit="eval")

    def run_until(total: int) -> bool:
        # evaluate until ``total`` evaluations in all; False when the strategy has nothing left to ask
        while study.n_told < total:
            batch = study.ask_batch(min(int(batch_size), total - study.n_told))
            if not batch:
                return False
            # an evaluator with evaluate_batch (a fleet: one configuration per board) measures the batch at once
            measured = batch_fn([dict(t.config) for t in batch]) if batch_fn is not None and len(batch) > 1 else None
            for i, trial in enumerate(batch):
                try:
                    outputs = fn(dict(trial.config)) if measured is None else measured[i]
                    if isinstance(outputs, USER_ERRORS):
                        raise outputs
                except USER_ERRORS as exc:
                    done = study.tell(trial, error=str(exc))
                else:
                    done = study.tell(trial, outputs)
                if bar is not None:
                    bar.update(1)
                if callback is not None:
                    callback(done)
        return True

    try:
        more = run_until(budget)
        while more and extend_to is not None and study.n_told < extend_to:
            outlook = study.front_outlook()
            # no front yet (no feasible evaluation): everything is still to gain
            share = 0.0 if outlook is None else float(outlook["found_share_mean"])
            study.extension.append((study.n_told, share))
            if share >= 1.0 - extend_gain:
                break
            step = min(int(extend_step), extend_to - study.n_told)
            if bar is not None:
                bar.total = min(bar.total + step, extend_to)
                bar.refresh()
            more = run_until(study.n_told + step)
    finally:
        if bar is not None:
            bar.close()
        study.close()
    return study


def _check_extension(extend_to, gain, step, budget, objectives, strategy, acquisition) -> None:
    if not isinstance(extend_to, (int, np.integer)) or extend_to < budget:
        raise OptimisationError(f"the extended budget must be an integer of at least the budget ({budget} "
                                f"evaluations), got {extend_to!r}")
    if not isinstance(gain, (int, float, np.floating)) or not 0.0 < float(gain) < 1.0:
        raise OptimisationError(f"the gain that extends a budget is a share in (0, 1), got {gain!r}")
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise OptimisationError(f"the extension step must be a positive integer, got {step!r}")
    if len(objectives) < 2 or strategy != "bo" or acquisition == "parego":
        raise OptimisationError("extending the budget needs the surrogate's front outlook: the bo strategy with "
                                "two or more objectives, not ParEGO")
