"""Search the configuration space for the best trade-offs in few evaluations.

Replays a recorded table (every row a configuration, evaluated by looking it up: an offline benchmark
whose true Pareto front is known) or, with --platform, measures live through the profiler. Writes the
evaluated configurations in evaluation order, with their outputs, whether they meet the constraints and
whether they are on the front found.

examples:
  perfmodel explore --table datasets/flexibo-tx2/tx2_sampled_output_xception_400x400.csv \\
      --knobs core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq \\
      --objectives inference_time,power_consumption --budget 40 --strategy bo -o run.csv
  perfmodel explore --table data.csv --knobs a,b --objectives inference_time \\
      --constraint "power_consumption<=3000" --study run.sqlite          # resumable: add --resume
  perfmodel explore ... --prior time_model.json --prior power_model.json  # fitted models as the GP's prior mean
  perfmodel explore ... --prior earlier_run.csv                          # transfer from an earlier study's -o file
  perfmodel explore ... --source earlier_run.csv       # transfer: its evaluations as extra data with a task feature
  perfmodel explore ... --constraint "power_consumption<=3000" --constraint-model power_model.json
                                                                   # skip predicted-infeasible configurations
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

import numpy as np

from profiling.atomic import STDOUT, write_csv

from . import argtypes
from .profile import EXECUTORS
from ..errors import OptimisationError
from ..tables import (check_columns, configuration_rows, joined_name, missing_values, parse_names, read_joined,
                      with_per_sample)

HELP = "find the best runtime/power trade-offs with Bayesian optimisation (replayed table or live)"

STRATEGY_CHOICES = ("bo", "random", "tpe", "nsga2")
# perfmodel.optimisation.strategies.ACQUISITIONS, without importing the optimiser to build the parser
ACQUISITIONS = ("auto", "ei", "ehvi", "hvpoi", "parego", "ts")
# perfmodel.optimisation.gp.SURROGATE_KERNELS, likewise
KERNELS = ("rbf", "matern52", "additive", "select", "average")
# perfmodel.optimisation.strategies.PRIOR_DESIGNS, likewise
PRIOR_DESIGNS = ("front", "model", "trusted", "space")
# perfmodel.optimisation.strategies.EHVI_UNITS, likewise
EHVI_UNITS = ("model", "output")
# perfmodel.optimisation.study.EXTEND_GAIN, likewise
EXTEND_GAIN = 1e-4
# below this leave-one-out R^2 the summary says an objective is mostly noise to the surrogate (docs/optimisation.md)
WEAK_FIT_R2 = 0.5


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("what to explore (one of)")
    src.add_argument("--table", metavar="CSV", action="append",
                     help="recorded measurements to replay (knob + objective columns); repeat to join tables (one "
                          "input size each, with the size among --knobs)")
    src.add_argument("--platform", metavar="NAME",
                     help="measure live on this platform: cpu, nvml[:GPU_INDEX] (PyTorch) or jetson[:SYSFS_ROOT]")
    p.add_argument("--executor", choices=EXECUTORS, metavar="{tensorflow,torch}",
                   help="with --platform: the framework that runs the network (default: torch on nvml, "
                        "tensorflow on cpu and jetson)")
    p.add_argument("--network", metavar="NAME", help="network to measure (with --platform), or the network a "
                   "layer-wise --prior predicts: a keras.applications name, a .keras file or a NetworkSpec JSON file")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --platform: measure on the boards of this Dask scheduler (tcp://host:8786; "
                        "docs/fleet.md); --batch-size Q measures Q proposals at once on Q boards")
    p.add_argument("--resource", metavar="NAME",
                   help="with --scheduler: the worker resource of the platform's boards (default: its name)")
    p.add_argument("--knobs", metavar="K1,K2,...",
                   help="knob columns of --table; with --platform, the knobs to vary (default: all)")
    p.add_argument("--config", metavar="K=V,...", default="",
                   help="with --platform: values of the knobs that are not varied (others take defaults)")
    p.add_argument("--objectives", metavar="O1,O2,...", required=True,
                   help="outputs to optimise (minimised unless named in --maximize): columns of --table; live, "
                        "runtime_s, runtime_per_sample_s and, where a power sensor reads, power_w, energy_j, "
                        "energy_per_sample_j")
    p.add_argument("--maximize", metavar="NAMES", default="", help="objectives to maximise instead")
    p.add_argument("--where", action="append", default=[], metavar="EXPR",
                   help="search only the configurations whose knobs satisfy EXPR (repeatable), e.g. \"cores <= 2\" "
                        "or \"inter_op_threads <= threads\" (live, a knob not varied counts at its --config or "
                        "default value); with --table the table's true front is taken over them too")
    p.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help="limit on an output, e.g. 'power_consumption<=3000' (repeatable)")
    p.add_argument("--budget", type=int, default=40, help="number of evaluations (default 40)")
    p.add_argument("--extend-to", type=int, default=None, metavar="N",
                   help="bo, two or more objectives: after --budget, go on 5 evaluations at a time up to N in all "
                        "while the surrogate's predicted means still expect more than --extend-gain of the "
                        "hypervolume (a model's view; on the TX2 Xception grids 194 of 200 runs of --budget 40 "
                        "--extend-to 80 reached 0.99 of the true front's hypervolume, at 45 evaluations on "
                        "average: see docs/optimisation.md)")
    p.add_argument("--extend-gain", type=float, default=None, metavar="SHARE",
                   help=f"with --extend-to: share of the hypervolume that keeps an extended study going "
                        f"(default {EXTEND_GAIN:g})")
    p.add_argument("--init", type=int, default=None,
                   help="initial design size: bo's Latin hypercube, tpe's random start-up trials, nsga2's "
                        "population (default: 10 for bo with --prior, tpe and nsga2, 6 otherwise, --source included; "
                        "with --resume, the study's own)")
    p.add_argument("--strategy", choices=STRATEGY_CHOICES, default="bo",
                   help="search strategy (default bo); tpe and nsga2 are optuna's samplers")
    p.add_argument("--acquisition", choices=ACQUISITIONS, default="auto",
                   help="bo acquisition: auto = EI for one objective, EHVI for several; parego = EI on a "
                        "random Chebyshev scalarisation per step; ts = Thompson sampling (one joint draw of "
                        "the GPs per step)")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="random seed (default 0)")
    g = p.add_argument_group("model guidance (bo)")
    g.add_argument("--prior", action="append", default=[], metavar="FILE",
                   help="a fitted model (perfmodel fit, JSON) whose prediction of an objective or constrained "
                        "output becomes the GP's prior mean, its weight learned from the measurements; or an "
                        "earlier study's -o CSV (transfer: a GP fitted on its evaluations). Repeatable, one "
                        "per output; a layer-wise model needs --network")
    g.add_argument("--source", metavar="CSV",
                   help="transfer: an earlier study's -o CSV (another input size, network or board, same knobs) "
                        "whose evaluations join the GP's data with a task feature; the correlation of the two "
                        "studies is learned, and the source is dropped at a step where it does not predict "
                        "this study's measurements better")
    g.add_argument("--prior-design", choices=PRIOR_DESIGNS, default=None,
                   help="with --prior or --source: where the initial design goes; front (default): half on the "
                        "front the priors predict (a good prior pays from the first evaluations); space: the "
                        "plain design (a prior you do not trust costs least); model, trusted: see "
                        "docs/optimisation.md")
    g.add_argument("--reference-point", metavar="O1=V1,...", default="",
                   help="the hypervolume's reference point for bo, in the objectives' units: the worst value of "
                        "each you would accept (e.g. inference_time=0.5,power_w=8); only what improves on it "
                        "counts. Objectives not named: 10%% of their observed range beyond their worst value")
    g.add_argument("--kernel", choices=KERNELS, default=None,
                   help="the GPs' kernel for bo: matern52 (ARD Matern 5/2), additive (plus a first-order term "
                        "per knob), select (the one of the two with the better leave-one-out fit at every step), "
                        "average (both, the acquisition averaged; the default with two or more objectives), rbf")
    g.add_argument("--ehvi-units", choices=EHVI_UNITS, default=None,
                   help="scale of the hypervolume that bo's EHVI measures: model (the GP's scale, the log of a "
                        "positive objective; default) or output (the objectives' own units, as a front is "
                        "judged: on the TX2 Xception grids fewer runs far from the best front and fewer within 1%% of "
                        "it; see docs/optimisation.md)")
    g.add_argument("--input-warp", action="store_true",
                   help="the GP learns a Kumaraswamy warping of each knob with three or more levels "
                        "(responses that change faster at one end of a knob's range); with a --prior you are "
                        "not sure of, it kept every run with a deliberately wrong prior >= 0.97 of the true "
                        "front's hypervolume on the TX2 tables (docs/optimisation.md)")
    g.add_argument("--constraint-model", action="append", default=[], metavar="FILE",
                   help="model(s) predicting the outputs of --constraint: configurations predicted infeasible "
                        "with probability >= --confidence are skipped before any measurement (HyperPower); "
                        "on the TX2 grids this halved the measurements of infeasible configurations but skipped "
                        "the constrained optimum, which lies at the limit, in up to a third of the runs "
                        "(docs/optimisation-results.md)")
    g.add_argument("--confidence", type=float, default=None,
                   help="probability of infeasibility above which --constraint-model skips (default 0.95)")
    g.add_argument("--batch-size", type=int, default=1, metavar="Q",
                   help="configurations proposed at once, for platforms that measure several together "
                        "(default 1)")
    p.add_argument("--duplicates", choices=("mean", "error"), default="mean",
                   help="rows of --table with the same configuration: average them (default) or refuse")
    p.add_argument("-o", "--output", metavar="CSV",
                   help="write the evaluated configurations here ('-' for stdout; the summary then goes to stderr)")
    p.add_argument("--study", metavar="SQLITE", help="record every ask and tell in this SQLite file")
    p.add_argument("--resume", action="store_true", help="continue the study in --study after an interruption")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _replay(args, objectives, constraint_metrics):
    from profiling.platforms.replay import ReplayPlatform, ReplayDuplicateWarning
    from profiling.space import ConfigSpace

    if not args.knobs:
        raise OptimisationError("--table needs --knobs (the configuration columns)")
    knobs = parse_names(args.knobs, "knob")
    outputs = list(dict.fromkeys([*objectives, *constraint_metrics]))
    clash = [k for k in knobs if k in outputs]
    if clash:
        raise OptimisationError(f"column {clash[0]!r} is both a knob and an objective/constraint (a condition on "
                                "the knobs goes in --where)")
    df = with_per_sample(configuration_rows(read_joined(args.tables), knobs, args.table), outputs)
    label = "+".join("stdin" if p == "-" else os.path.basename(p) for p in args.tables)
    # the space of every row; --where narrows it, and the rows it leaves out are not checked or replayed (a
    # configuration with no measurement of an objective can be left out by a condition on its knobs)
    space = _where(ConfigSpace.from_table(df, knobs, name=f"replay:{label}"), args.where)
    if args.where:
        df = df[[space.is_feasible(dict(zip(knobs, row)))
                 for row in df[knobs].itertuples(index=False, name=None)]].reset_index(drop=True)
    check_columns(df, objectives=outputs, source=args.table, allow_nan_objectives=True)
    for col in outputs:  # a configuration with no measurement cannot be replayed
        missing, example = missing_values(df, col, knobs)
        if missing.any():
            raise OptimisationError(f"{args.table!r}: {col} is missing in {int(missing.sum())} of the {len(df)} "
                                    f"rows{' meeting --where' if args.where else ''} (first: {example}); "
                                    "leave them out with --where on their knobs")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReplayDuplicateWarning)
        platform = ReplayPlatform(df, knobs, outputs, duplicates=args.duplicates, label=label)
    _show_warnings(caught, debug=getattr(args, "debug", False))
    return platform, space


def _show_warnings(caught, debug: bool = False) -> None:
    """Print the warnings the study raised, each distinct one once (a prior or a model may say the same thing
    at every step), in the CLI's format: the project's own in one line, other packages' as Python shows them."""
    from ..cli import format_each_once

    fmt = format_each_once(debug=debug)
    for w in caught:
        print(fmt(w.message, w.category, w.filename, w.lineno), end="", file=sys.stderr)


def check_measured(outputs, measured, why: str, platform: str) -> None:
    """Refuse, before any study, an objective or constraint output the live platform does not measure:
    ``measured`` are the outputs its measurements return, ``why`` the reason power and energy are not among
    them."""
    from profiling.measurement import POWER_OUTPUTS

    for name in outputs:
        if name in measured:
            continue
        if name in POWER_OUTPUTS:
            raise OptimisationError(f"{name} cannot be measured on the {platform} platform: its power sensor is "
                                    f"{why}")
        raise OptimisationError(f"{name!r} is not measured live; the {platform} platform measures "
                                f"{', '.join(m for m in measured if m != 'other_load')}")


class LiveEvaluator:
    """Live measurements through :func:`profiling.campaign.measure_network` (see docs/optimisation.md)."""

    def __init__(self, platform: str, network: str, knobs=None, base: str = "", outputs=(), executor=None):
        from profiling import campaign

        self._measure = campaign.measure_network
        # a network it cannot build: refused before any study
        campaign.check_live_network(network, platform, executor=executor)
        check_measured(outputs, *campaign.live_outputs(platform), platform)
        self.platform, self.network, self.executor = platform, network, executor
        full = campaign.platform_space(platform, executor=executor)
        self.base = full.parse_partial(base)
        varied = list(knobs) if knobs else [k.name for k in full if k.name not in self.base]
        self.space = full.subspace(varied)
        # the values every measurement takes for the knobs not varied (a --where condition may name them)
        self.fixed = {k: v for k, v in {**full.default(), **self.base}.items() if k not in varied}
        source_fn = getattr(campaign, "platform_source", None)  # simulated:jetson on a simulated tree
        self.source = source_fn(platform) if source_fn is not None else f"measured:{platform}"

    def evaluate(self, config):
        return dict(self._measure(self.network, {**self.base, **config}, platform=self.platform,
                                  executor=self.executor))


def run(args) -> int:
    from ..optimisation import optimize
    from ..optimisation.constraints import parse_constraints
    from ..optimisation.study import file_identity

    if bool(args.table) == bool(args.platform):
        raise OptimisationError("give exactly one of --table (replay) or --platform (live)")
    if args.table:  # the files, and how messages name them
        args.tables, args.table = list(args.table), joined_name(args.table)
    if args.executor and not args.platform:
        raise OptimisationError("--executor runs a network live: give --platform and --network as well")
    if args.platform and not args.network:
        raise OptimisationError("--platform needs --network")
    if args.scheduler and not args.platform:
        raise OptimisationError("--scheduler measures live: give --platform (the boards' platform) and --network")
    if args.resume and not args.study:
        raise OptimisationError("--resume needs --study FILE")
    if args.budget < 1:
        raise OptimisationError(f"--budget must be at least 1, got {args.budget}")
    if args.init is not None and args.init < 1:
        raise OptimisationError(f"--init must be at least 1, got {args.init}")
    objectives = parse_names(args.objectives, "objective")
    maximize = parse_names(args.maximize, "objective") if args.maximize else []
    unknown = [m for m in maximize if m not in objectives]
    if unknown:
        raise OptimisationError(f"--maximize names {unknown[0]!r}, which is not in --objectives")
    constraints = parse_constraints(args.constraint)
    if args.study and not args.resume and os.path.exists(args.study):
        raise OptimisationError(f"study file {args.study!r} already exists; add --resume to continue it")
    if args.batch_size < 1:
        raise OptimisationError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.batch_size > args.budget:
        raise OptimisationError(f"--batch-size {args.batch_size} is larger than --budget {args.budget}")
    if args.extend_to is not None and args.extend_to < args.budget:
        raise OptimisationError(f"--extend-to {args.extend_to} is smaller than --budget {args.budget}")
    if args.extend_gain is not None and args.extend_to is None:
        raise OptimisationError("--extend-gain sets when an extended study stops; give --extend-to as well")
    extend_gain = EXTEND_GAIN if args.extend_gain is None else args.extend_gain
    if not 0 < extend_gain < 1:
        raise OptimisationError(f"--extend-gain must be a share in (0, 1), got {extend_gain}")
    if args.confidence is not None and not args.constraint_model:
        raise OptimisationError("--confidence is the --constraint-model's skipping threshold; give a "
                                "--constraint-model as well")
    confidence = 0.95 if args.confidence is None else args.confidence
    if not 0.5 <= confidence < 1:
        raise OptimisationError(f"--confidence must be in [0.5, 1), got {confidence}")
    if args.prior_design and not (args.prior or args.source):
        raise OptimisationError("--prior-design places the initial design by a --prior or a --source; give one")
    for flag, given in (("--prior", args.prior), ("--source", args.source), ("--input-warp", args.input_warp),
                        ("--prior-design", args.prior_design), ("--kernel", args.kernel),
                        ("--ehvi-units", args.ehvi_units), ("--reference-point", args.reference_point)):
        if given and args.strategy != "bo":
            raise OptimisationError(f"{flag} guides the bo strategy, not {args.strategy}")
    for flag, given in (("--reference-point", args.reference_point), ("--ehvi-units", args.ehvi_units)):
        if given and len(objectives) < 2:
            raise OptimisationError(f"{flag} is for two or more objectives (a hypervolume)")
    reference = _reference_point(args.reference_point, objectives)
    if args.constraint_model and not constraints:
        raise OptimisationError("--constraint-model needs a --constraint to check")

    if args.table:
        evaluator, space = _replay(args, objectives, [c.metric for c in constraints])
        table = evaluator.frame()
        if constraints:
            ok = np.ones(len(table), dtype=bool)
            for c in constraints:
                ok &= np.array([c.satisfied(v) for v in table[c.metric].to_numpy(dtype=float)])
            if not ok.any():
                raise OptimisationError(f"no configuration of {args.table!r} meets "
                                        f"{' and '.join(map(str, constraints))}")
    elif args.scheduler:  # the fleet: each proposal measured on a board, a batch on several at once
        from profiling.fleet import FleetMeasurer

        evaluator = FleetMeasurer(args.scheduler, args.platform, args.network,
                                  parse_names(args.knobs, "knob") if args.knobs else None, args.config,
                                  resource=args.resource, executor=args.executor)
        try:
            check_measured([*objectives, *(c.metric for c in constraints)], evaluator.outputs,
                           evaluator.power_note, args.platform)
        except OptimisationError:
            evaluator.close()
            raise
    else:
        evaluator = LiveEvaluator(args.platform, args.network,
                                  parse_names(args.knobs, "knob") if args.knobs else None, args.config,
                                  outputs=[*objectives, *(c.metric for c in constraints)], executor=args.executor)

    if not args.table:  # a replayed table's space is narrowed with its rows
        space = evaluator.space() if callable(getattr(evaluator, "space", None)) else evaluator.space
        space = _where(space, args.where, getattr(evaluator, "fixed", None))
    outputs = list(dict.fromkeys([*objectives, *(c.metric for c in constraints)]))
    prior_mean, prior_files = _priors(args.prior, space, outputs, args.network)
    constraint_models = _constraint_models(args.constraint_model, space, constraints, args.network, confidence)
    bo_options = {"input_warp": True} if args.input_warp else {}
    if args.prior_design:
        bo_options["prior_design"] = args.prior_design
    if args.kernel:
        bo_options["kernel"] = args.kernel
    if args.ehvi_units:
        bo_options["ehvi_units"] = args.ehvi_units
    if reference:
        bo_options["reference"] = reference
    if args.source:
        from ..optimisation.priors import source_from_results

        if not os.path.isfile(args.source):
            raise OptimisationError(f"--source {args.source!r}: no such file")
        bo_options["source_data"] = source_from_results(args.source, space, outputs)
    # which files guided the study: stored with it, and a resume must give the same ones
    identity = {path: file_identity(path) for path in {*prior_files.values(), *([args.source] if args.source else [])}}
    guidance = {"priors": {m: identity[path] for m, path in prior_files.items()},
                "source": identity[args.source] if args.source else None}

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            study = optimize(evaluator, objectives, space=space, budget=args.budget, strategy=args.strategy,
                             n_init="auto" if args.init is None else args.init, maximize=maximize,
                             constraints=constraints, seed=args.seed, storage=args.study,
                             resume=args.resume, acquisition=args.acquisition, progress=not args.quiet,
                             prior_mean=prior_mean or None, constraint_models=constraint_models,
                             batch_size=args.batch_size, bo_options=bo_options or None, guidance=guidance,
                             extend_to=args.extend_to, extend_gain=extend_gain)
    finally:
        # a fleet measurer holds a connection to the scheduler: closed however the study ends
        if callable(getattr(evaluator, "close", None)):
            evaluator.close()
    _show_warnings(caught, debug=getattr(args, "debug", False))

    results = study.results()
    if args.output:
        write_csv(args.output, results, error=OptimisationError, what="results file")
    if not args.quiet:  # beside a table printed to standard output, on standard error
        with contextlib.redirect_stdout(sys.stderr if args.output == STDOUT else sys.stdout):
            _summary(study, results, evaluator if args.table else None, extend_gain)
    return 0


def _where(space, expressions, fixed=None):
    """``space`` with the ``--where`` conditions on its knobs, the knobs not varied at their ``fixed`` values
    (:meth:`ConfigSpace.where`; its errors in one line naming the option)."""
    from profiling.errors import ConfigError

    try:
        return space.where(*expressions, fixed=fixed)
    except ConfigError as exc:
        raise OptimisationError(f"--where: {exc}") from None


def _reference_point(text: str, objectives) -> dict[str, float]:
    """``"inference_time=0.5,power_w=8"`` -> {objective: value}; every name an objective, every value a number."""
    from profiling.encoding import split_config

    out = {}
    for name, raw in split_config(text, error=OptimisationError, whole="--reference-point",
                                  what="--reference-point item", name="objective", example="inference_time=0.5"):
        if name not in objectives:
            raise OptimisationError(f"--reference-point names {name!r}, which is not in --objectives")
        try:
            out[name] = float(raw)
        except ValueError:
            raise OptimisationError(f"--reference-point: {name}={raw!r} is not a number") from None
    return out                       # finiteness: checked by the study (strategies.reference_point)


def _load_models(paths, space, network):
    from ..optimisation.priors import load_prior

    return [load_prior(p, space, network) for p in paths]


def _priors(paths, space, outputs, network) -> tuple[dict, dict]:
    """--prior files -> ({output: f(configs)}, {output: file}); each output at most once, each file used for
    something."""
    from ..optimisation.priors import check_prior, prior_from_results

    out, origin = {}, {}
    for path in paths:
        if path.lower().endswith(".csv"):
            found = {}
            import pandas as pd

            try:
                head = pd.read_csv(path, nrows=0).columns
            except (OSError, ValueError) as exc:
                raise OptimisationError(f"cannot read --prior {path!r}: {exc}") from None
            targets = [o for o in outputs if o in head]
            if targets:
                found = prior_from_results(path, space, targets)
        else:
            (model,) = _load_models([path], space, network)
            found = {t: model for t in model.targets if t in outputs}
        if not found:
            raise OptimisationError(f"--prior {path!r} predicts none of the objectives or constrained outputs "
                                    f"({', '.join(outputs)})")
        for target, model in found.items():
            if target in out:
                raise OptimisationError(f"two --prior files predict {target!r} ({origin[target]!r} and {path!r})")
            out[target], origin[target] = model.mean_function(target), path
            check_prior(out[target], space, path)
    return out, origin


def _constraint_models(paths, space, constraints, network, confidence) -> list:
    if not paths:
        return []
    models = _load_models(paths, space, network)
    out = []
    for c in constraints:
        by = [m for m in models if c.metric in m.targets]
        if not by:
            known = ", ".join(sorted({t for m in models for t in m.targets}))
            raise OptimisationError(f"constraint {str(c)!r} names {c.metric!r}, which no --constraint-model "
                                    f"predicts (they predict {known})")
        out.append(by[0].constraint(c, confidence=confidence))
    return out


def _summary(study, results, replay, extend_gain: float = EXTEND_GAIN) -> None:
    objectives = list(study.objectives)
    n_ok = int((results["state"] == "complete").sum())
    n_failed = int((results["state"] == "failed").sum())
    front = results[results["on_front"]]
    if study.strategy_name == "random":
        design = ""
    elif len(results) < study.n_init:                  # a budget below the design size: no model step yet
        design = f" (all from its initial design of {study.n_init})"
    else:
        design = f" (initial design {study.n_init})"
    print(f"{len(results)} evaluations ({n_ok} complete, {n_failed} failed) with {study.strategy_name}{design}; "
          f"source {study.source}")
    weights = study.prior_weights()
    if weights:
        print("learned prior weight (1: the model taken as it is, 0: ignored): "
              + ", ".join(f"{m} {w:.2f}" for m, w in weights.items()))
    if study.extension:
        n, share = study.extension[-1]
        looks = ", ".join(f"{k} ({1 - s:.3%})" for k, s in study.extension)
        if share >= 1.0 - extend_gain:
            why = f"the predicted means expect no more than {extend_gain:.2%} of the hypervolume"
        else:
            why = "the most allowed"
        print(f"budget {'extended to' if len(results) > study.extension[0][0] else 'kept at'} {len(results)} "
              f"evaluations: {why} (more hypervolume the predicted means expected at each look: {looks})")
    outlook = study.front_outlook()
    if outlook is not None and outlook["remaining"]:
        print(f"surrogate's outlook: the front found holds {outlook['found_share_mean']:.1%} of the hypervolume "
              f"its predicted means reach over the {outlook['remaining']} configurations not evaluated, "
              f"{outlook['found_share_optimistic']:.1%} if the better end of its 95% band held "
              "(a model's view, not a measurement)")
    quality = {m: r for m, r in study.fit_quality().items() if m in objectives and np.isfinite(r)}
    if quality:
        print("surrogate's fit (leave-one-out R^2 on the model's scale; 1: each evaluation predicted from the "
              "others): " + ", ".join(f"{m} {r:.2f}" for m, r in quality.items()))
        weak = [m for m, r in quality.items() if r < WEAK_FIT_R2]
        if weak:
            print(f"  {', '.join(weak)}: the knobs predict little of {'it' if len(weak) == 1 else 'them'} "
                  f"(R^2 < {WEAK_FIT_R2}); to the model {'it is' if len(weak) == 1 else 'they are'} mostly "
                  "noise, and the front found on it is largely chance (docs/optimisation.md)")
    correlations = study.task_correlations()
    if correlations:
        print("learned correlation with the --source study (1: the same, 0: not used): "
              + ", ".join(f"{m} {r:.2f}" for m, r in correlations.items()))
    if study.skipped or study.settings["a_priori"]:
        line = f"skipped before measuring (predicted infeasible): {len(study.skipped)} configurations"
        if replay is not None and study.skipped:
            truth = [replay.evaluate(c) for c in study.skipped]
            bad = sum(not study.feasible(o) for o in truth)
            line += f", of which {bad} are infeasible in the table (replay)"
        print(line)
    if not len(front):
        print("no evaluated configuration met the constraints: the front is empty")
        return
    print(f"front found ({len(front)} configuration{'s' if len(front) != 1 else ''}):")
    cols = ["evaluation", *study.space.names, *objectives]
    print(front[cols].sort_values(objectives[0]).to_string(index=False))
    if replay is not None:
        from ..pareto import hypervolume, pareto_front, score_reference

        table = replay.frame()
        # the configurations the search could ask (--where narrows them), and those meeting the constraints
        ok = np.array([study.space.is_feasible(cfg) for cfg in table[list(study.space.names)].to_dict("records")])
        for c in study.constraints:
            ok &= np.array([c.satisfied(v) for v in table[c.metric].to_numpy(dtype=float)])
        sign = np.where(np.asarray(study.maximize), -1.0, 1.0)
        true_Y = table.loc[ok, objectives].to_numpy(dtype=float) * sign
        found_Y = front[objectives].to_numpy(dtype=float) * sign
        if len(objectives) == 1:
            print(f"best found {found_Y.min() * sign[0]:.6g}, best in the table {true_Y.min() * sign[0]:.6g} "
                  f"(replay: the whole table is known)")
        else:
            F = pareto_front(true_Y)
            ref = score_reference(F)
            ratio = hypervolume(found_Y, ref) / max(hypervolume(F, ref), 1e-300)
            print(f"hypervolume of the front found / true front of the table: {ratio:.4f} "
                  f"(replay; reference point = true front's nadir + 10% of its range)")
            stated = study.settings.get("reference")
            if isinstance(stated, dict):
                ref = np.array([sign[k] * stated[m] if m in stated else ref[k] for k, m in enumerate(objectives)])
                whole = hypervolume(F, ref)
                if whole > 0:
                    print(f"the same within the stated reference point: "
                          f"{hypervolume(found_Y, ref) / whole:.4f}")
                else:
                    print("no configuration of the table improves on the stated reference point")
