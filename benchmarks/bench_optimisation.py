"""Benchmark of the optimisers on replayed full grids (flexibo-tx2): BO with and without model priors vs
random search, optuna's TPE and NSGA-II, and a GP with ParEGO scalarisation, in one run.

Strategies (``--strategies``): ``bo`` (GP + EHVI), ``random``, ``tpe``, ``nsga2`` (optuna, population =
``--init``), ``parego`` (the same GP, EI on a random augmented-Chebyshev scalarisation per step),
``bo-transfer`` (prior mean = GP models fitted on the ``bo`` run of the same seed on another input size,
its first ``--transfer-evals`` evaluations: the earlier study warm-starts this one), ``bo-task`` (the same
earlier evaluations as extra data with a task feature, see ``GPSurrogate``), ``bo-task-wrong`` (the same
earlier evaluations with each objective's values shuffled over its rows: a deliberately wrong source study),
``bo-wrong`` (prior mean = the grid's own values shuffled over the configurations: right range, no relation
to the knobs),
``bo-multi`` (the ``bo`` runs of the same seed on every smaller input size, the smallest: the next larger,
as extra data, each its own task placed by the log of its input size in pixels: multi-source transfer on one
task axis, ``BOStrategy(source_tasks=..., task=...)``), ``bo-multi-all`` (the same from every other input size).

For every file, strategy and seed one study is run to the largest budget; because no strategy looks at
the budget, the first k evaluations of that run are exactly a run with budget k, so every budget is read
off the same trajectory. Random search is also run over the whole space (it is free) so that the number of
evaluations it needs to reach 95%/99% is never censored; TPE up to ``--tpe-cap`` evaluations.

Multi-objective: minimise (inference_time, power_consumption); score = hypervolume of the front found /
hypervolume of the table's true front, reference point = true front's nadir + 10% of its range.
Single-objective: minimise inference_time subject to power_consumption <= the table's median power;
score = best feasible found / true best (1 is optimal).

Full run used for docs/optimisation.md (as issue #4 asks; about 27 minutes on the shared 2-core machine):
    .venv/bin/python benchmarks/bench_optimisation.py --seeds 20 --budgets 10,20,40,80 --tpe-cap 200 \\
        --raw benchmarks/results/optimisation_raw.csv --markdown benchmarks/results/optimisation.md
``--bo-options linked=0,log_inputs=0,noisy=0`` runs BO close to how it was before issue #4 (numeric knobs now enter by value, not level index).

Issue 22's run (all strategies, budgets to 40; ``--seeds 0-19`` for the full run, several ``--raw`` files can
be summarised together with ``--from-raw a.csv,b.csv``):
    .venv/bin/python benchmarks/bench_optimisation.py --seeds 0-19 --budgets 10,20,40 --tpe-cap 40 \\
        --strategies bo,bo-transfer,bo-task,bo-wrong,parego,tpe,nsga2,random --single-budget 0 \\
        --raw benchmarks/results/guided_raw.csv --markdown benchmarks/results/guided.md
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from perfmodel.optimisation import optimize  # noqa: E402
from perfmodel.optimisation.gp import PRIOR_WEIGHTS, WARP_BOTH, WARP_FALLBACK  # noqa: E402
from perfmodel.optimisation.strategies import (BO_HYPER_USES, BO_KERNELS, EHVI_UNITS, LOCAL_STEPS, MEANS,  # noqa: E402
                                               PRIOR_DESIGNS, REFERENCES, initial_design_size)
from perfmodel.errors import OptimisationError  # noqa: E402
from perfmodel.models.gp_core import LENGTHSCALE_PRIORS  # noqa: E402
from profiling.designs import DESIGNS  # noqa: E402
from perfmodel.optimisation.priors import prior_from_results, source_from_results  # noqa: E402
from profiling.space import config_key  # noqa: E402
from perfmodel.pareto import hypervolume, hypervolume_trace, pareto_front, score_reference  # noqa: E402
from profiling.platforms.replay import ReplayPlatform  # noqa: E402
from profiling.space import identifier_for  # noqa: E402

KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]
OBJECTIVES = ["inference_time", "power_consumption"]
DEFAULT_FILES = os.path.join(ROOT, "datasets", "flexibo-tx2", "tx2_sampled_output_xception_*.csv")


def replay(path: str, knobs=None, objectives=None) -> ReplayPlatform:
    """A table replayed, by default with the knobs and objectives of this run (``--knobs``/``--objectives``,
    read when called: a TX2 grid's unless given; its duplicate-row notes silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ReplayPlatform(path, KNOBS if knobs is None else knobs, OBJECTIVES if objectives is None else objectives)


def grid_file(grid: str) -> str:
    """The shipped TX2 Xception grid whose file name holds ``grid`` (e.g. ``"200x200"``)."""
    found = [g for g in sorted(glob.glob(DEFAULT_FILES)) if grid in os.path.basename(g)]
    if not found:
        raise SystemExit(f"no grid {grid!r} among {DEFAULT_FILES}")
    return found[0]


def true_front(Y_all: np.ndarray):
    """The table's true front, the scoring reference point (its nadir + 10 % of its range) and its hypervolume."""
    F = pareto_front(Y_all)
    ref = score_reference(F)
    return F, ref, hypervolume(F, ref)


def greedy_hv_order(Y: np.ndarray, rows, ref: np.ndarray) -> list:
    """``rows`` of ``Y`` (minimised) in the order that adds the most hypervolume within ``ref`` at each step
    (ties to the earlier row in ``rows``)."""
    chosen, rest = [], list(rows)
    while rest:
        best = max(rest, key=lambda i: hypervolume(Y[chosen + [i]], ref))
        chosen.append(best)
        rest.remove(best)
    return chosen


def hv_trajectory(Y: np.ndarray, ref: np.ndarray, hv_true: float) -> np.ndarray:
    """Hypervolume ratio after each evaluation."""
    return hypervolume_trace(Y, ref) / hv_true


def first_reach(traj: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(traj >= level - 1e-12)
    return float(hit[0] + 1) if len(hit) else np.inf


def init_size(text: str):
    """``--init``: ``auto`` or a positive integer (the library's check, ``initial_design_size``)."""
    if text == "auto":
        return text
    try:
        return initial_design_size(int(text))
    except (ValueError, OptimisationError):
        raise argparse.ArgumentTypeError(f"not a positive integer or auto: {text!r}") from None


def run_multi(platform, table, strategy, seed, budget, init, acquisition="auto", bo_options=None,
              prior_mean=None, return_results=False, batch_size=1):
    F, ref, hv_true = true_front(table[OBJECTIVES].to_numpy(float))
    bo = strategy == "bo"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.process_time()
        opts = dict(bo_options or {})
        extra = {"gp_restarts": opts.pop("gp_restarts")} if "gp_restarts" in opts and bo else {}
        if opts.get("reference") == "table":
            # an oracle user: the reference point stated is the one the score uses (an upper bound of what
            # stating one buys, not something a user knows before the search)
            opts["reference"] = {m: float(ref[k]) for k, m in enumerate(OBJECTIVES)}
        study = optimize(platform, OBJECTIVES, budget=budget, n_init=init, strategy=strategy, seed=seed,
                         acquisition=acquisition if bo else "auto", bo_options=opts if bo else None,
                         prior_mean=prior_mean if bo else None, batch_size=batch_size if bo else 1, **extra)
        cpu = time.process_time() - t0
    res = study.results()
    traj = hv_trajectory(res[OBJECTIVES].to_numpy(float), ref, hv_true)
    return (traj, cpu, res) if return_results else (traj, cpu)


def transfer_source(files: list[str], f: str) -> str:
    """The grid whose study warm-starts ``f``: the next smaller input size (the smallest: the next larger)."""
    i = files.index(f)
    return files[i - 1] if i > 0 else files[1]


def multi_sources(files: list[str], f: str, every: bool = False) -> list[str]:
    """The grids whose studies warm-start ``f`` together (``bo-multi``): every smaller input size (the order in
    which studies are run; the smallest: the next larger, as :func:`transfer_source`), or with ``every`` all
    the other sizes."""
    if every:
        return [g for g in files if g != f]
    i = files.index(f)
    return files[:i] if i > 0 else [files[1]]


def input_pixels(path: str) -> int:
    """Pixels of the input size in a grid file's name (``..._600x600.csv`` -> 360000)."""
    digits = "".join(ch if ch.isdigit() else " " for ch in os.path.basename(path)).split()
    return int(digits[-2]) * int(digits[-1])


def shuffled_prior(table, seed: int) -> dict:
    """A deliberately wrong prior: each objective's values permuted at random over the configurations."""
    rng = np.random.default_rng([seed, 2022])
    keys = [config_key({k: row[k] for k in KNOBS}) for _, row in table[KNOBS].iterrows()]
    out = {}
    for m in OBJECTIVES:
        lookup = dict(zip(keys, rng.permutation(table[m].to_numpy(float))))
        out[m] = (lambda lk: lambda configs: [lk[config_key(c)] for c in configs])(lookup)
    return out


def shuffled_results(results: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A deliberately wrong source study: each objective's values permuted at random over the study's rows."""
    rng = np.random.default_rng([seed, 2023])
    out = results.copy()
    for m in OBJECTIVES:
        out[m] = rng.permutation(out[m].to_numpy())
    return out


UNICORN = os.path.join(ROOT, "datasets", "unicorn", "data", "sampled")
BOARD_OBJECTIVES = ["inference_time", "total_energy_consumption"]


def unicorn_table(board: str) -> pd.DataFrame:
    """A Unicorn ``*_Image_baseline.csv`` table (Xception) with its one-hot ``option@value`` columns decoded."""
    raw = pd.read_csv(os.path.join(UNICORN, board, "Image", f"{board}_Image_baseline.csv"))
    out = {}
    for col in raw.columns:
        if "@" not in col:
            continue
        opt, value = col.split("@", 1)
        opt = identifier_for(opt)            # knob names are identifiers (scheduler.policy -> scheduler_policy)
        cur = out.setdefault(opt, pd.Series(np.nan, index=raw.index))
        cur[raw[col].astype(float) > 0.5] = float(value)
    df = pd.DataFrame(out)
    for m in BOARD_OBJECTIVES:
        df[m] = raw[m].astype(float)
    return df.dropna().reset_index(drop=True)


def boards(seeds: list[int], budget: int, init: int, raw_path: str | None) -> str:
    """Transfer across boards: TX2 table -> prior for a study on the Xavier table (same knobs, Xception)."""
    from scipy.stats import spearmanr

    from perfmodel.models.config_model import ConfigModel
    from perfmodel.optimisation.priors import ModelPrior

    src, dst = unicorn_table("TX2"), unicorn_table("Xavier")
    knobs = [c for c in src.columns if c in dst.columns and c not in BOARD_OBJECTIVES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        platform = ReplayPlatform(dst, knobs, BOARD_OBJECTIVES, label="unicorn-Xavier_Image_baseline")
    table, space = platform.frame(), platform.space()
    lines = [f"TX2 -> Xavier (Unicorn, Xception, replayed baseline tables: {len(src)} TX2 rows, {len(table)} "
             f"distinct Xavier configurations, {len(knobs)} knobs)", "",
             "| objective | Spearman rho (TX2 model's prediction vs Xavier measurement) | Spearman rho of the "
             "top-10% configurations | Xavier percentile of the TX2-predicted best |", "|---|---|---|---|"]
    priors = {}
    for m in BOARD_OBJECTIVES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ConfigModel(model="gp", knobs=knobs, target=m, model_params={"n_restarts": 2}).fit(src)
        prior = ModelPrior(model, space, label=f"TX2:{m}")
        priors[m] = prior.mean_function(m)
        pred = np.asarray(priors[m](table[knobs].to_dict("records")), float)
        y = table[m].to_numpy(float)
        top = y <= np.quantile(y, 0.1)
        pct = float((y < y[int(np.argmin(pred))]).mean() * 100)
        lines.append(f"| {m} | {spearmanr(pred, y)[0]:.3f} | {spearmanr(pred[top], y[top])[0]:.3f} | {pct:.1f} % |")
    rows = []
    for seed in seeds:
        for name, prior in (("bo", None), ("bo-transfer", priors)):
            for objs in (["inference_time"], BOARD_OBJECTIVES):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    study = optimize(platform, objs, budget=budget, n_init=init, seed=seed,
                                     prior_mean=None if prior is None else {o: prior[o] for o in objs})
                res = study.results()
                if len(objs) == 1:
                    best = np.minimum.accumulate(res[objs[0]].to_numpy(float)) / table[objs[0]].min()
                    score = {f"@{b}": best[min(b, len(best)) - 1] for b in (10, budget)}
                    kind = "best found / true best (time)"
                else:
                    F, ref, hv_true = true_front(table[objs].to_numpy(float))
                    traj = hv_trajectory(res[objs].to_numpy(float), ref, hv_true)
                    score = {f"@{b}": traj[min(b, len(traj)) - 1] for b in (10, budget)}
                    kind = "HV ratio (time, energy)"
                rows.append({"strategy": name, "seed": seed, "score": kind, **score})
    df = pd.DataFrame(rows)
    if raw_path:
        df.to_csv(raw_path, index=False)
    lines += ["", f"Studies on the Xavier table, seeds {seeds[0]}..{seeds[-1]}, initial design {init} "
              "(median; worst in brackets):", "", f"| score | strategy | @10 | @{budget} |", "|---|---|---|---|"]
    for (kind, name), g in df.groupby(["score", "strategy"], sort=False):
        worst = (lambda c: g[c].max()) if kind.startswith("best") else (lambda c: g[c].min())
        lines.append(f"| {kind} | {name} | {g['@10'].median():.3f} ({worst('@10'):.3f}) | "
                     f"{g[f'@{budget}'].median():.3f} ({worst(f'@{budget}'):.3f}) |")
    return "\n".join(lines)


def parse_seeds(text: str) -> list[int]:
    """'20' -> 0..19; '5-9' -> 5..9; '1,4' -> 1, 4."""
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    if "," in text:
        return [int(t) for t in text.split(",")]
    if int(text) < 1:
        raise SystemExit(f"--seeds {text}: a number of seeds (from 0) must be at least 1; one seed S is S-S")
    return list(range(int(text)))


def run_single(platform, table, strategy, seed, budget, init, limit, bo_options=None):
    feasible = table["power_consumption"] <= limit
    true_best = table.loc[feasible, "inference_time"].min()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optimize(platform, ["inference_time"], constraints=[f"power_consumption<={limit!r}"],
                         budget=budget, n_init=init, strategy=strategy, seed=seed,
                         bo_options={k: v for k, v in (bo_options or {}).items()
                                     if k not in ("gp_restarts", "reference")}   # one objective: no hypervolume
                         if strategy == "bo" else None,
                         **({"gp_restarts": bo_options["gp_restarts"]} if strategy == "bo" and bo_options
                            and "gp_restarts" in bo_options else {}))
    res = study.results()
    t = np.where(res["feasible"], res["inference_time"], np.inf)
    return np.minimum.accumulate(t) / true_best


def parse_bo_options(text: str, ap) -> dict:
    """'linked=0,noisy=1' -> {'linked': False, 'noisy': True}."""
    # the library's choices (``reference=table``: the benchmark's own, the table's true nadir + 10 %)
    choices = {"prior_weight": PRIOR_WEIGHTS, "prior_design": PRIOR_DESIGNS, "ehvi_units": EHVI_UNITS,
               "hyper_use": BO_HYPER_USES, "reference": (*REFERENCES, "table"),
               "lengthscale_prior": tuple(p for p in LENGTHSCALE_PRIORS if p), "design": tuple(DESIGNS),
               "kernel": BO_KERNELS, "local": LOCAL_STEPS, "mean": MEANS, "input_warp": (WARP_FALLBACK, WARP_BOTH)}
    switches = ("linked", "log_inputs", "noisy", "prior_design", "input_warp", "noise_prior")
    numbers = ("gp_restarts", "hyper_samples", "extremes")
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if value in choices.get(key, ()):
            out[key] = value
            continue
        if key in numbers and value.isdigit():
            out[key] = int(value)
            continue
        if not sep or key not in switches or value not in ("0", "1"):
            ap.error(f"--bo-options: {item!r} is not {'|'.join(switches)}=0|1 or "
                     + " or ".join(f"{k}={'|'.join(v)}" for k, v in choices.items())
                     + " or " + " or ".join(f"{k}=N" for k in numbers))
        out[key] = value == "1"
    return out


def fmt_reach(values, runs) -> str:
    """Median evaluations to reach a level; '>B' when the median run never reached it within B."""
    v = np.asarray(values, float)
    med = np.median(v)
    return f">{int(np.min(runs))}" if not np.isfinite(med) else f"{med:.0f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default=DEFAULT_FILES, help="glob of grid files (default: all flexibo-tx2 grids)")
    ap.add_argument("--seeds", default="20", help="N (seeds 0..N-1), A-B or a comma list (default 20)")
    ap.add_argument("--knobs", help="comma list of the knob columns of --files (default: the flexibo-tx2 grids' "
                                    "six)")
    ap.add_argument("--objectives", help="comma list of the two minimised objective columns of --files "
                                         "(default inference_time,power_consumption)")
    ap.add_argument("--grids", help="comma list of grid sizes to run, e.g. 400x400,600x600 (default: all of --files)")
    ap.add_argument("--boards", action="store_true",
                    help="instead: transfer TX2 -> Xavier on the Unicorn tables (rank correlations, BO on Xavier "
                         "with and without the TX2 prior, budget = the largest of --budgets)")
    ap.add_argument("--transfer-evals", type=int, default=40,
                    help="evaluations of the earlier (source) study a transfer prior is fitted on (default 40)")
    ap.add_argument("--budgets", default="10,20,40,80")
    ap.add_argument("--strategies", default="bo,random,tpe")
    ap.add_argument("--init", type=init_size, default="auto",
                    help="initial design size of every study (default auto, the library's: 10 for bo with a prior, "
                         "tpe and nsga2, 6 otherwise, source data included since the eleventh session; the "
                         "figures before the tenth session used 10)")
    ap.add_argument("--batch-size", type=int, default=1,
                    help="bo strategies propose this many configurations per round (Kriging believer); the "
                         "budgets still count evaluations")
    ap.add_argument("--acquisition", default="auto", help="bo acquisition for the multi-objective runs (auto=EHVI)")
    ap.add_argument("--bo-options", default="",
                    help="BO input/acquisition switches, e.g. 'linked=0,log_inputs=0,noisy=0' (the design before "
                         "issue #4's changes); default: all on")
    ap.add_argument("--tpe-cap", type=int, default=200, help="evaluations TPE runs to (to measure reach)")
    ap.add_argument("--single-budget", type=int, default=40, help="budget of the single-objective runs (0: skip)")
    ap.add_argument("--single-only", action="store_true", help="run only the single-objective runs")
    ap.add_argument("--raw", help="write per-run figures (CSV)")
    ap.add_argument("--markdown", help="write the summary tables (Markdown)")
    ap.add_argument("--figure", help="write a PNG of median hypervolume ratio against budget")
    ap.add_argument("--from-raw", metavar="CSV", help="do not run: summarise --raw files written before (comma "
                                                      "list; a run in several files: the last one read)")
    args = ap.parse_args(argv)
    if args.single_only and (args.figure or not args.single_budget):
        ap.error("--single-only runs only the single-objective runs: it needs --single-budget > 0 and draws no "
                 "--figure (a multi-objective plot)")
    global KNOBS, OBJECTIVES
    if args.knobs:
        KNOBS = args.knobs.split(",")
    if args.objectives:
        OBJECTIVES = args.objectives.split(",")

    all_files = sorted(glob.glob(args.files), key=_size_key)
    if not all_files:
        ap.error(f"no file matches {args.files}")
    files = all_files
    if args.grids:
        files = [f for f in all_files if any(g in os.path.basename(f) for g in args.grids.split(","))]
        if not files:
            ap.error(f"no file of {args.files} matches --grids {args.grids}")
    seeds = parse_seeds(str(args.seeds))
    if args.boards:
        text = boards(seeds, max(int(b) for b in args.budgets.split(",")), args.init, args.raw)
        print(text)
        if args.markdown:
            with open(args.markdown, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return 0
    budgets = [int(b) for b in args.budgets.split(",")]
    strategies = args.strategies.split(",")
    bmax = max(budgets)
    bo_options = parse_bo_options(args.bo_options, ap)
    rows, single_rows = [], []
    from tqdm import tqdm

    if args.from_raw:
        # a (file, strategy, seed) run in several raw files: the last one read
        df = pd.concat([pd.read_csv(f) for f in args.from_raw.split(",")], ignore_index=True)
        df = df.drop_duplicates(["file", "strategy", "seed"], keep="last")
        singles = [f.replace(".csv", "_single.csv") for f in args.from_raw.split(",")]
        singles = [pd.read_csv(f) for f in singles if os.path.exists(f)]
        sdf = pd.concat(singles, ignore_index=True) if singles else pd.DataFrame()
        return report(args, files, budgets, df, sdf)

    from_source = {"bo-transfer", "bo-task", "bo-task-wrong"}        # warm-started by one source study
    known = {"bo", "random", "tpe", "nsga2", "parego", "bo-wrong", "bo-multi", "bo-multi-all", *from_source}
    if set(strategies) - known:
        ap.error(f"unknown strategy {sorted(set(strategies) - known)[0]!r}; choose from {', '.join(sorted(known))}")
    # plain BO first: a transfer run is warm-started by the bo run of the same seed on its source grid
    order = sorted(strategies, key=lambda s: s != "bo")
    need_src = bool((from_source | {"bo-multi", "bo-multi-all"}) & set(strategies))
    jobs = [] if args.single_only else [(f, s, seed) for seed in seeds for s in order for f in files]
    if need_src and jobs:
        extra = set()
        for f in files:
            if from_source & set(strategies):
                extra.add(transfer_source(all_files, f))
            if "bo-multi" in strategies:
                extra.update(multi_sources(all_files, f))
            if "bo-multi-all" in strategies:
                extra.update(multi_sources(all_files, f, every=True))
        extra -= set(files) if "bo" in strategies else set()
        jobs = [(f, "bo-source", seed) for seed in seeds for f in sorted(extra)] + jobs
    tables = {}
    for f in all_files:
        p = replay(f)
        tables[f] = (p, p.frame())
    studies = {}
    for f, strategy, seed in tqdm(jobs, desc="multi-objective runs"):
        p, table = tables[f]
        budget = {"random": len(table), "tpe": max(bmax, args.tpe_cap), "nsga2": max(bmax, args.tpe_cap),
                  "bo-source": args.transfer_evals}.get(strategy, bmax)
        if strategy == "bo" and need_src:
            budget = max(budget, args.transfer_evals)
        base, prior, acq = strategy, None, args.acquisition
        options = bo_options
        if strategy.startswith("bo-") or strategy == "parego":       # every guided variant (and the source run)
            base = "bo"
        if strategy == "parego":
            acq = "parego"
        if strategy == "bo-transfer":
            src = studies[(transfer_source(all_files, f), seed)]
            src = src[src["evaluation"] <= args.transfer_evals]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = prior_from_results(src, p.space(), OBJECTIVES, label=os.path.basename(f))
            prior = {m: fitted[m].mean_function(m) for m in OBJECTIVES}
        elif strategy in ("bo-task", "bo-task-wrong"):
            src = studies[(transfer_source(all_files, f), seed)]
            src = src[src["evaluation"] <= args.transfer_evals]
            if strategy == "bo-task-wrong":
                src = shuffled_results(src, seed)
            options = {**(bo_options or {}), "source_data": source_from_results(src, p.space(), OBJECTIVES)}
        elif strategy in ("bo-multi", "bo-multi-all"):
            # every source study as extra data, its task value the log of its input size (pixels)
            data, tasks = [], []
            for g in multi_sources(all_files, f, every=strategy == "bo-multi-all"):
                src = studies[(g, seed)]
                src = src[src["evaluation"] <= args.transfer_evals]
                pairs = source_from_results(src, p.space(), OBJECTIVES)
                data += pairs
                tasks += [float(np.log(input_pixels(g)))] * len(pairs)
            options = {**(bo_options or {}), "source_data": data, "source_tasks": tasks,
                       "task": float(np.log(input_pixels(f)))}
        elif strategy == "bo-wrong":
            prior = shuffled_prior(table, seed)
        traj, cpu, res = run_multi(p, table, base, seed, budget, args.init, acq, options, prior,
                                   return_results=True, batch_size=args.batch_size)
        if strategy in ("bo", "bo-source"):
            studies[(f, seed)] = res
        if strategy == "bo-source":
            continue
        row = {"file": os.path.basename(f), "strategy": strategy, "seed": seed, "cpu_s": cpu, "evaluations": len(traj),
               "reach95": first_reach(traj, 0.95), "reach99": first_reach(traj, 0.99)}
        if strategy in from_source:
            row["source"] = os.path.basename(transfer_source(all_files, f))
        elif strategy in ("bo-multi", "bo-multi-all"):
            row["source"] = "+".join(os.path.basename(g) for g in
                                     multi_sources(all_files, f, every=strategy == "bo-multi-all"))
        for b in budgets:
            row[f"hv{b}"] = traj[min(b, len(traj)) - 1]
        rows.append(row)
        if args.raw:  # written as it goes: a long run can be summarised early with --from-raw
            pd.DataFrame(rows).to_csv(args.raw, index=False)
    if args.single_budget:
        sjobs = [(f, s, seed) for f in files for s in strategies if s in ("bo", "random", "tpe") for seed in seeds]
        for f, strategy, seed in tqdm(sjobs, desc="single-objective runs"):
            p, table = tables[f]
            limit = float(np.median(table["power_consumption"]))
            traj = run_single(p, table, strategy, seed, args.single_budget, args.init, limit, bo_options)
            row = {"file": os.path.basename(f), "strategy": strategy, "seed": seed, "limit": limit}
            for b in [b for b in budgets if b <= args.single_budget]:
                row[f"best{b}"] = traj[b - 1]
            single_rows.append(row)

    df = pd.DataFrame(rows)
    sdf = pd.DataFrame(single_rows)
    if args.raw:
        os.makedirs(os.path.dirname(os.path.abspath(args.raw)), exist_ok=True)
        if len(df):
            df.to_csv(args.raw, index=False)
        if len(sdf):
            sdf.to_csv(args.raw.replace(".csv", "_single.csv"), index=False)
    return report(args, files, budgets, df, sdf)


def _size_key(path: str):
    base = os.path.basename(path)
    digits = "".join(ch if ch.isdigit() else " " for ch in base).split()
    return (int(digits[-2]) if len(digits) >= 2 else 0, base)


def plot(df: pd.DataFrame, budgets: list[int], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for s, g in df.groupby("strategy", sort=False):
        med = [np.median(g[f"hv{b}"]) for b in budgets]
        lo = [np.percentile(g[f"hv{b}"], 25) for b in budgets]
        hi = [np.percentile(g[f"hv{b}"], 75) for b in budgets]
        ax.plot(budgets, med, marker="o", label=s)
        ax.fill_between(budgets, lo, hi, alpha=0.2)
    ax.axhline(0.99, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume found / true")
    ax.set_title("flexibo-tx2 grids (replay), median and IQR")
    ax.set_xscale("log", base=2)
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)


def multi_objective_lines(df, budgets) -> list[str]:
    lines = ["### Multi-objective: median hypervolume ratio (found / true front)", ""]
    head = "| file | strategy | " + " | ".join(f"HV@{b}" for b in budgets) + " | evals to 95% | evals to 99% | CPU s/run |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for (f, s), g in df.groupby(["file", "strategy"], sort=False):
        lines.append(f"| {f.replace('tx2_sampled_output_xception_', '').replace('.csv', '')} | {s} | "
                     + " | ".join(f"{np.median(g[f'hv{b}']):.3f}" for b in budgets)
                     + f" | {fmt_reach(g['reach95'], g['evaluations'])} | {fmt_reach(g['reach99'], g['evaluations'])} | {g['cpu_s'].median():.1f} |")
    lines += ["", "All files pooled (median over files x seeds; min in brackets; runs >= 0.99 / >= 0.98):", ""]
    head = ("| strategy | runs | " + " | ".join(f"HV@{b}" for b in budgets) + " | "
            + " | ".join(f">=0.99 / >=0.98 @{b}" for b in budgets[-2:]) + " | evals to 95% | evals to 99% |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for s, g in df.groupby("strategy", sort=False):
        lines.append(f"| {s} | {len(g)} | " + " | ".join(f"{np.median(g[f'hv{b}']):.3f} ({g[f'hv{b}'].min():.3f})"
                                                          for b in budgets) + " | "
                     + " | ".join(f"{int((g[f'hv{b}'] >= 0.99).sum())} / {int((g[f'hv{b}'] >= 0.98).sum())}"
                                  for b in budgets[-2:])
                     + f" | {fmt_reach(g['reach95'], g['evaluations'])} | {fmt_reach(g['reach99'], g['evaluations'])} |")
    return lines


def report(args, files, budgets, df, sdf) -> int:
    if args.figure:
        plot(df, budgets, args.figure)
    files = sorted(df["file"].unique()) if len(df) else [os.path.basename(f) for f in files]
    seeds = sorted(df["seed"].unique()) if len(df) else parse_seeds(str(args.seeds))
    contiguous = seeds == list(range(seeds[0], seeds[-1] + 1))
    seed_text = f"{seeds[0]}..{seeds[-1]}" if contiguous else ",".join(map(str, seeds))

    design = "auto (10 with a prior mean, 6 otherwise)" if args.init == "auto" else args.init
    lines = [f"Seeds {seed_text} ({len(seeds)}), initial design {design}"
             + (f", BO options {args.bo_options}" if args.bo_options else "")
             + (f", batches of {args.batch_size}" if args.batch_size > 1 else "") + ", files: "
             + ", ".join(os.path.basename(f) for f in files), ""]
    if len(df):
        lines += multi_objective_lines(df, budgets)
    if len(sdf):
        sb = [b for b in budgets if f"best{b}" in sdf.columns]
        lines += ["", "### Single objective: min inference_time s.t. power_consumption <= median power of the table",
                  "", "Median of best feasible found / true best (1.000 = optimum; max in brackets):", ""]
        head = "| strategy | " + " | ".join(f"@{b}" for b in sb) + " | runs optimal at the last budget |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for s, g in sdf.groupby("strategy", sort=False):
            last = g[f"best{sb[-1]}"]
            lines.append(f"| {s} | " + " | ".join(f"{np.median(g[f'best{b}']):.3f} ({g[f'best{b}'].max():.3f})"
                                                  for b in sb)
                         + f" | {int((last <= 1 + 1e-12).sum())}/{len(last)} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
