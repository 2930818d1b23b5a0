"""How much of the hypervolume score is measurement noise? (issue 22, the 0.99 target on the TX2 grids)

The benchmark (``bench_optimisation.py``) scores a run against the table it replays: one measurement per
configuration. Had the board been measured again, the table, its true front and its reference point would all
differ a little. This script re-measures a grid in simulation (each configuration's time and power multiplied
by an independent log-normal factor of relative standard deviation ``sigma``) and asks:

``--part floor`` (about two minutes for the four grids): what does the *perfect* answer to the recorded table, its exact true front, score
against a re-measured table (its own true front and reference point, the benchmark's rule)? If that is often
below 0.99, a score of 0.99 against one measurement is finer than the measurements resolve.

``--part sigma`` (about a minute): the noise a smooth surrogate sees on each grid, the noise standard deviation
(log scale, so relative) of a Matern-5/2 GP fitted to all 768 configurations with the optimiser's log-scaled
clocks; an estimate of the grid's noise plus whatever no smooth function of the knobs explains. The grids have
no repeated configuration, so the measurement noise itself cannot be measured from them.

``--part runs`` (replays, about 14 s per BO run): the configurations BO evaluated in its first ``--budget``
evaluations, scored against the recorded table (the benchmark's figure) and against re-measured tables, beside
the perfect answer under the same re-measurements. ``--evaluated FILE`` keeps the evaluated configurations
(CSV), so that a second call re-scores without replaying.

    PYTHONPATH=. python benchmarks/noise_hv.py --part sigma
    PYTHONPATH=. python benchmarks/noise_hv.py --part floor --sigmas 0.005,0.01,0.014,0.02,0.027,fitted
    PYTHONPATH=. python benchmarks/noise_hv.py --part runs --seeds 0-19 --sigmas 0.014,0.02,0.027,fitted \\
        --evaluated benchmarks/results/s20_noise_bo_evaluated.csv --csv benchmarks/results/s20_noise_bo_runs.csv

``--part oracle`` (seconds): the fewest evaluations a search could need, an oracle's that evaluates the true
front's points in the order that adds the most hypervolume each time, to reach 0.95 / 0.98 / 0.99.

Any other recorded table (``--file`` with ``--knobs`` and ``--objectives``, for every part); where it repeats
configurations, ``--part sigma`` also reports the noise measured from the repeats and ``--sigmas repeats`` (or
``repeats-robust``) re-measures with it, e.g. the fifth TX2 table:

    PYTHONPATH=. python benchmarks/noise_hv.py --part floor --sigmas 0.014,0.027,fitted,repeats,repeats-robust \\
        --file datasets/flexibo-tx2/it_ec_te_obj.csv --objectives inference_time,energy_consumption \\
        --knobs core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq

A table whose configurations are each measured several times, and replayed as their mean, can also be
re-measured from its own repeats, without a noise model (``--sigmas bootstrap``, ``--part floor`` and ``runs``):
each configuration's mean over its recorded rows drawn again with replacement, e.g. Unicorn's TX2 NLP debug
table as ``bench_heldout_bo.py`` writes it (``--heldout``: its knob names made identifiers):

    PYTHONPATH=. python benchmarks/noise_hv.py --part floor --sigmas 0.014,bootstrap --heldout tx2-nlp-debug
    PYTHONPATH=. python benchmarks/noise_hv.py --part runs --seeds 0-19 --sigmas bootstrap --heldout tx2-nlp-debug \\
        --evaluated benchmarks/results/s24_noise_nlp_bo_evaluated.csv --csv benchmarks/results/s24_noise_nlp_bo_runs.csv

Otherwise the noise model is an assumption (independent per configuration and objective, log-normal); ``sigma``
spans the issue's stated floor (1.4-2.7 %) and the surrogate's estimates from ``--part sigma``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import bench_optimisation as bench  # noqa: E402
from bench_optimisation import (KNOBS, OBJECTIVES, grid_file, greedy_hv_order, parse_seeds, replay,  # noqa: E402
                                true_front)
from perfmodel.pareto import hypervolume, non_dominated  # noqa: E402
from profiling.encoding import log_scaled  # noqa: E402

GRIDS = ["200x200", "400x400", "600x600", "800x800"]


def remeasured(Y: np.ndarray, sigma, rng: np.random.Generator) -> np.ndarray:
    """The table measured again: each value times an independent log-normal factor (relative sd ~ sigma; one
    sigma, or one per objective)."""
    return Y * np.exp(sigma * rng.standard_normal(Y.shape))


class Scorer:
    """The benchmark's score against one table: hypervolume of some of its rows over its true front's (the
    reference point its true front's nadir + 10 % of the front's range)."""

    def __init__(self, Y_table: np.ndarray):
        self.Y = Y_table
        _, self.ref, self.hv_true = true_front(Y_table)

    def __call__(self, found: np.ndarray) -> float:
        if self.hv_true == 0:     # a front of one point (it dominates every other row): found or not
            return float(np.any(np.all(self.Y[found] <= self.ref, axis=1)))
        return hypervolume(self.Y[found], self.ref) / self.hv_true


def front_rows(Y: np.ndarray) -> np.ndarray:
    """Indices of the table's true-front rows (every row with the values of a front point)."""
    return np.flatnonzero(non_dominated(Y))


def raw(name: str) -> pd.DataFrame:
    """A TX2 grid by name (``"200x200"``) or any table by its path, as recorded (repeated rows included)."""
    return pd.read_csv(name if name not in GRIDS else grid_file(name))


def load(name: str) -> pd.DataFrame:
    """The table as the benchmark replays it: one row per configuration, repeated rows averaged."""
    return replay(name if name not in GRIDS else grid_file(name), KNOBS, OBJECTIVES).frame()


def repeat_sd(name: str) -> dict:
    """From the table's repeated configurations, each objective's measurement noise (sd of the log over the
    repeats, pooled as an RMS, and a robust version from the median absolute log ratio of pairs); empty
    without repeats."""
    t = raw(name)
    groups = [g for _, g in t.groupby(KNOBS) if len(g) > 1]
    out = {"repeated_configurations": len(groups)}
    for o in OBJECTIVES if groups else ():
        sds = np.array([np.log(g[o].to_numpy(float)).std(ddof=1) for g in groups])
        pairs = np.array([abs(np.log(g[o].iloc[0] / g[o].iloc[1])) for g in groups])
        out[f"{o}_repeat_sd_log"] = float(np.sqrt(np.mean(sds ** 2)))
        out[f"{o}_repeat_sd_log_robust"] = float(np.median(pairs) / (0.6745 * np.sqrt(2)))
    return out


def bootstrap_draw(name: str):
    """The table re-measured from its own repeats: ``draw(rng)`` gives the replayed table's values (rows as
    ``load``) with each configuration's mean taken over its recorded rows drawn again with replacement, as many
    as it has (a configuration measured once keeps its value). No noise model is assumed: the repeats' own
    spread, outliers included, is the re-measurement's."""
    t, frame = raw(name), load(name)
    groups = {tuple(float(v) for v in k): g[OBJECTIVES].to_numpy(float) for k, g in t.groupby(KNOBS)}
    reps = [groups[tuple(r)] for r in frame[KNOBS].to_numpy(float).tolist()]
    if all(len(r) == 1 for r in reps):
        raise SystemExit(f"--sigmas bootstrap: {name} has no repeated configuration")

    def draw(rng: np.random.Generator) -> np.ndarray:
        return np.array([r[rng.integers(0, len(r), len(r))].mean(axis=0) for r in reps])
    return draw


def noise_levels(text: str, grid: str, fitted: pd.DataFrame | None):
    """``--sigmas`` for one grid: [(label, sigma per objective)]; ``fitted`` is the grid's --part sigma estimate;
    ``bootstrap`` gives (label, draw), ``draw(rng)`` a re-measured table (``bootstrap_draw``)."""
    out = []
    for item in text.split(","):
        if item == "bootstrap":
            out.append((item, bootstrap_draw(grid)))
            continue
        if item in ("fitted", "repeats", "repeats-robust"):
            row = fitted.set_index("grid").loc[grid]
            col = {"fitted": "noise_sd_log", "repeats": "repeat_sd_log", "repeats-robust": "repeat_sd_log_robust"}[item]
            if f"{OBJECTIVES[0]}_{col}" not in row or not np.isfinite(row[f"{OBJECTIVES[0]}_{col}"]):
                raise SystemExit(f"--sigmas {item}: {grid} has no repeated configuration")
            out.append((item, np.array([row[f"{o}_{col}"] for o in OBJECTIVES])))
        else:
            out.append((item, np.full(len(OBJECTIVES), float(item))))
    return out


def part_floor(sigmas, draws, seed, fitted, names=GRIDS) -> pd.DataFrame:
    rows = []
    for g, grid in enumerate(names):
        Y = load(grid)[OBJECTIVES].to_numpy(float)
        perfect = front_rows(Y)
        for k, (label, sigma) in enumerate(noise_levels(sigmas, grid, fitted)):
            rng = np.random.default_rng([seed, k, g])
            again = sigma if callable(sigma) else (lambda r: remeasured(Y, sigma, r))
            s = np.array([Scorer(again(rng))(perfect) for _ in range(draws)])
            rows.append({"grid": grid, "sigma": label, "front_points": len(perfect), "median": np.median(s),
                         "p05": np.quantile(s, 0.05), "min": s.min(), "share_ge_0.99": np.mean(s >= 0.99 - 1e-12),
                         "share_ge_0.98": np.mean(s >= 0.98 - 1e-12)})
    return pd.DataFrame(rows)


def mape_floor(sigma: float) -> float:
    """The mean absolute percentage error (as a fraction) of a model that knows each configuration's median
    exactly, against values with log-normal noise of log sd ``sigma``: E|exp(sigma z) - 1| =
    exp(sigma^2 / 2) (2 Phi(sigma) - 1)."""
    from scipy.stats import norm
    return float(np.exp(sigma * sigma / 2) * (2 * norm.cdf(sigma) - 1))


def greedy_front(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An oracle that knows the table: its true-front points in the order that adds the most hypervolume at each
    step (rows of the front, and the score after each), the fewest evaluations a search could need."""
    F, ref, hv_true = true_front(Y)
    chosen = greedy_hv_order(F, range(len(F)), ref)
    scores = [hypervolume(F[chosen[:k]], ref) / hv_true for k in range(1, len(chosen) + 1)]
    return F[chosen], np.array(scores)


def part_oracle(names=GRIDS) -> pd.DataFrame:
    rows = []
    for grid in names:
        _, scores = greedy_front(load(grid)[OBJECTIVES].to_numpy(float))
        row = {"grid": grid, "front_points": len(scores)}
        for level in (0.95, 0.98, 0.99):
            row[f"evaluations_to_{level}"] = int(np.argmax(scores >= level - 1e-12)) + 1
        rows.append(row)
    return pd.DataFrame(rows)


def part_sigma(restarts, names=GRIDS) -> pd.DataFrame:
    from perfmodel.models.gp import GPRegressor
    rows = []
    for grid in names:
        t = load(grid)
        X = t[KNOBS].to_numpy(float).copy()
        for j, k in enumerate(KNOBS):
            if log_scaled(np.unique(X[:, j])):   # the optimiser's rule: 3+ positive levels on a log scale
                X[:, j] = np.log(X[:, j])
        row = {"grid": grid, **repeat_sd(grid)}
        for obj in OBJECTIVES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gp = GPRegressor(log_target=True, n_restarts=restarts).fit(X, t[obj].to_numpy(float))
            row[f"{obj}_noise_sd_log"] = sd = float(np.sqrt(gp.noise_variance_) * gp.y_scale_)
            row[f"{obj}_mape_floor_pct"] = 100 * mape_floor(sd)
        rows.append(row)
    return pd.DataFrame(rows)


def evaluated_rows(seeds, budget, strategy, init, names=GRIDS) -> pd.DataFrame:
    out = []
    saved = bench.KNOBS, bench.OBJECTIVES
    bench.KNOBS, bench.OBJECTIVES = KNOBS, OBJECTIVES      # the columns run_multi reads (a --file's own)
    try:
        out = _evaluated_rows(seeds, budget, strategy, init, names)
    finally:
        bench.KNOBS, bench.OBJECTIVES = saved
    return pd.DataFrame(out)


def _evaluated_rows(seeds, budget, strategy, init, names) -> list[dict]:
    out = []
    for grid in names:
        path = grid if grid not in GRIDS else grid_file(grid)
        table = load(grid)
        index = {tuple(r): i for i, r in enumerate(table[KNOBS].to_numpy(float).tolist())}
        for seed in seeds:
            p = replay(path, KNOBS, OBJECTIVES)
            traj, _, res = bench.run_multi(p, table, strategy, seed, budget, init, return_results=True)
            rows = [index[tuple(r)] for r in res[KNOBS].to_numpy(float).tolist()]
            out += [{"grid": grid, "strategy": strategy, "seed": seed, "step": k + 1, "row": r}
                    for k, r in enumerate(rows)]
            print(f"{grid} {strategy} seed {seed}: HV@{budget} {traj[budget - 1]:.4f}", file=sys.stderr)
    return out


def part_runs(ev: pd.DataFrame, sigmas, draws, seed, budget, fitted, names=GRIDS) -> tuple[pd.DataFrame, ...]:
    """(per run and noise level, summary per strategy and noise level, order per grid and noise level: how
    often a run below 0.99 on the recorded table scores at least as much as one at or above it, on the same
    re-measured table; over every such pair of runs of one strategy, and over the pairs less than 0.005 apart
    on the recorded table)."""
    per_run, summary, order = [], [], []
    for grid, g in ev.groupby("grid"):
        Y = load(grid)[OBJECTIVES].to_numpy(float)
        perfect = front_rows(Y)
        runs = {key: r.sort_values("step")["row"].to_numpy()[:budget] for key, r in g.groupby(["strategy", "seed"])}
        recorded = {key: Scorer(Y)(rows) for key, rows in runs.items()}
        for k, (label, sigma) in enumerate(noise_levels(sigmas, grid, fitted)):
            rng = np.random.default_rng([seed, k, list(names).index(grid)])
            again = sigma if callable(sigma) else (lambda r: remeasured(Y, sigma, r))
            tables = [Scorer(again(rng)) for _ in range(draws)]
            s_perfect = np.array([T(perfect) for T in tables])
            scores = {}
            for (strategy, s), rows in runs.items():
                s_run = scores[(strategy, s)] = np.array([T(rows) for T in tables])
                per_run.append({"grid": grid, "strategy": strategy, "seed": s, "sigma": label,
                                "recorded": recorded[(strategy, s)], "remeasured_median": np.median(s_run),
                                "share_ge_0.99": np.mean(s_run >= 0.99 - 1e-12),
                                "perfect_remeasured_median": np.median(s_perfect),
                                "perfect_share_ge_0.99": np.mean(s_perfect >= 0.99 - 1e-12),
                                "share_run_ge_perfect": np.mean(s_run >= s_perfect - 1e-12)})
            for strategy in dict.fromkeys(key[0] for key in runs):
                keys = [key for key in runs if key[0] == strategy]
                pairs = [(recorded[b] - recorded[a], np.mean(scores[a] >= scores[b] - 1e-12))
                         for a in keys if recorded[a] < 0.99 - 1e-12 for b in keys if recorded[b] >= 0.99 - 1e-12]
                close = [p for gap, p in pairs if gap < 0.005]
                order.append({"grid": grid, "strategy": strategy, "sigma": label, "pairs": len(pairs),
                              "short_ge_passing": np.mean([p for _, p in pairs]) if pairs else np.nan,
                              "pairs_within_0.005": len(close),
                              "short_ge_passing_within_0.005": np.mean(close) if close else np.nan})
    df = pd.DataFrame(per_run)
    for (strategy, sigma), g in df.groupby(["strategy", "sigma"]):
        summary.append({"strategy": strategy, "sigma": sigma, "runs": len(g),
                        "recorded_ge_0.99": int((g.recorded >= 0.99 - 1e-12).sum()),
                        "remeasured_median_ge_0.99": int((g.remeasured_median >= 0.99 - 1e-12).sum()),
                        "mean_share_ge_0.99": g["share_ge_0.99"].mean(),
                        "perfect_mean_share_ge_0.99": g["perfect_share_ge_0.99"].mean(),
                        "short_runs_mean_share_ge_0.99": g.loc[g.recorded < 0.99 - 1e-12, "share_ge_0.99"].mean(),
                        "short_runs_share_run_ge_perfect": g.loc[g.recorded < 0.99 - 1e-12, "share_run_ge_perfect"].mean()})
    return df, pd.DataFrame(summary), pd.DataFrame(order)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["floor", "sigma", "runs", "oracle"], required=True)
    ap.add_argument("--sigmas", default="0.005,0.01,0.014,0.02,0.027",
                    help="relative noise levels of the simulated re-measurement (comma list); 'fitted': each grid's "
                         "and objective's own, the --part sigma estimate; 'repeats', 'repeats-robust': measured "
                         "from a --file's repeated configurations; 'bootstrap' (--part floor, runs): each "
                         "configuration's mean over its own repeats drawn again with replacement")
    ap.add_argument("--draws", type=int, default=200, help="re-measured tables per grid and noise level")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated re-measurements")
    ap.add_argument("--seeds", default="0-19", help="BO seeds replayed by --part runs")
    ap.add_argument("--strategy", default="bo", help="strategy replayed by --part runs (bench_optimisation's names)")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--init", type=bench.init_size, default="auto")
    ap.add_argument("--restarts", type=int, default=2, help="GP restarts for --part sigma")
    ap.add_argument("--evaluated", help="CSV of evaluated configurations for --part runs (read if present, else written)")
    ap.add_argument("--csv", help="write the per-run (runs) or per-grid table here")
    ap.add_argument("--file", help="any recorded table instead of the four TX2 grids")
    ap.add_argument("--knobs", help="the --file's knob columns (comma list)")
    ap.add_argument("--objectives", help="the --file's two objective columns, both minimised (comma list)")
    ap.add_argument("--heldout", choices=("tx2-nlp-debug", "xavier-image"),
                    help="instead of --file: a held-out table as bench_heldout_bo.py replays it (time and energy)")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.heldout:            # the table written, renamed, to a folder that lasts as long as the run
            if args.file or args.knobs or args.objectives:
                ap.error("--heldout sets the table, its knobs and objectives: give it without --file, --knobs, "
                         "--objectives")
            import bench_heldout_bo
            path, knobs = bench_heldout_bo.write_table(args.heldout, stack.enter_context(tempfile.TemporaryDirectory()))
            args.file, args.knobs, args.objectives = path, ",".join(knobs), ",".join(bench_heldout_bo.OBJECTIVES)
        return run(args, ap)


def run(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    """The part ``args`` names, ``ap`` reporting bad flags."""
    global KNOBS, OBJECTIVES      # the columns every part reads (bench_optimisation's --knobs does the same)
    named = {"fitted", "repeats", "repeats-robust"}
    try:
        [float(s) for s in args.sigmas.split(",") if s not in named | {"bootstrap"}]
    except ValueError:
        ap.error(f"--sigmas: numbers, 'fitted', 'repeats', 'repeats-robust' or 'bootstrap', comma-separated: "
                 f"{args.sigmas!r}")
    if "bootstrap" in args.sigmas.split(",") and args.part not in ("floor", "runs"):
        ap.error("--sigmas bootstrap re-measures a --file's repeats for --part floor or runs")
    names = GRIDS
    if args.file:
        if not (args.knobs and args.objectives):
            ap.error("--file: with --knobs and --objectives")
        missing = set(args.knobs.split(",") + args.objectives.split(",")) - set(raw(args.file).columns)
        if missing:
            ap.error(f"--file {args.file}: no column {sorted(missing)}")
        KNOBS, OBJECTIVES, names = args.knobs.split(","), args.objectives.split(","), [args.file]
    fitted = part_sigma(args.restarts, names) if named & set(args.sigmas.split(",")) else None
    sigmas = args.sigmas
    pd.set_option("display.width", 200)
    if args.part == "oracle":
        out = part_oracle(names)
    elif args.part == "floor":
        out = part_floor(sigmas, args.draws, args.seed, fitted, names)
    elif args.part == "sigma":
        out = fitted if fitted is not None else part_sigma(args.restarts, names)
    else:
        if args.evaluated and os.path.exists(args.evaluated):
            ev = pd.read_csv(args.evaluated)
        else:
            ev = evaluated_rows(parse_seeds(args.seeds), args.budget, args.strategy, args.init, names)
            if args.evaluated:
                ev.to_csv(args.evaluated, index=False)
        if args.file:                    # the evaluated file may name the table by another (temporary) path
            ev = ev.assign(grid=args.file)
        out, summary, order = part_runs(ev, sigmas, args.draws, args.seed, args.budget, fitted, names)
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(order.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.csv:
        out.to_csv(args.csv, index=False)
    print(out.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
