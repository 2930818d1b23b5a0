"""Benchmark of the optimisers on replayed full grids (flexibo-tx2): bo vs random vs tpe.

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
``--bo-options linked=0,log_inputs=0,noisy=0`` runs BO as it was before issue #4's changes.
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
from perfmodel.pareto import hypervolume, pareto_front  # noqa: E402
from profiling.platforms.replay import ReplayPlatform  # noqa: E402

KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]
OBJECTIVES = ["inference_time", "power_consumption"]
DEFAULT_FILES = os.path.join(ROOT, "datasets", "flexibo-tx2", "tx2_sampled_output_xception_*.csv")


def hv_trajectory(Y: np.ndarray, ref: np.ndarray, hv_true: float) -> np.ndarray:
    """Hypervolume ratio after each evaluation."""
    out = np.empty(len(Y))
    for k in range(1, len(Y) + 1):
        out[k - 1] = hypervolume(Y[:k], ref) / hv_true
    return out


def first_reach(traj: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(traj >= level - 1e-12)
    return float(hit[0] + 1) if len(hit) else np.inf


def run_multi(platform, table, strategy, seed, budget, init, acquisition="auto", bo_options=None):
    Y_all = table[OBJECTIVES].to_numpy(float)
    F = pareto_front(Y_all)
    ref = F.max(axis=0) + 0.1 * (F.max(axis=0) - F.min(axis=0))
    hv_true = hypervolume(F, ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.process_time()
        study = optimize(platform, OBJECTIVES, budget=budget, n_init=init, strategy=strategy, seed=seed,
                         acquisition=acquisition if strategy == "bo" else "auto",
                         bo_options=bo_options if strategy == "bo" else None)
        cpu = time.process_time() - t0
    Y = study.results()[OBJECTIVES].to_numpy(float)
    return hv_trajectory(Y, ref, hv_true), cpu


def run_single(platform, table, strategy, seed, budget, init, limit, bo_options=None):
    feasible = table["power_consumption"] <= limit
    true_best = table.loc[feasible, "inference_time"].min()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optimize(platform, ["inference_time"], constraints=[f"power_consumption<={limit!r}"],
                         budget=budget, n_init=init, strategy=strategy, seed=seed,
                         bo_options=bo_options if strategy == "bo" else None)
    res = study.results()
    t = np.where(res["feasible"], res["inference_time"], np.inf)
    return np.minimum.accumulate(t) / true_best


def parse_bo_options(text: str, ap) -> dict:
    """'linked=0,noisy=1' -> {'linked': False, 'noisy': True}."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in ("linked", "log_inputs", "noisy") or value not in ("0", "1"):
            ap.error(f"--bo-options: {item!r} is not linked|log_inputs|noisy=0|1")
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
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", default="10,20,40,80")
    ap.add_argument("--strategies", default="bo,random,tpe")
    ap.add_argument("--init", type=int, default=10)
    ap.add_argument("--acquisition", default="auto", help="bo acquisition for the multi-objective runs (auto=EHVI)")
    ap.add_argument("--bo-options", default="",
                    help="BO input/acquisition switches, e.g. 'linked=0,log_inputs=0,noisy=0' (the design before "
                         "issue #4's changes); default: all on")
    ap.add_argument("--tpe-cap", type=int, default=200, help="evaluations TPE runs to (to measure reach)")
    ap.add_argument("--single-budget", type=int, default=40, help="budget of the single-objective runs (0: skip)")
    ap.add_argument("--raw", help="write per-run figures (CSV)")
    ap.add_argument("--markdown", help="write the summary tables (Markdown)")
    ap.add_argument("--figure", help="write a PNG of median hypervolume ratio against budget")
    ap.add_argument("--from-raw", metavar="CSV", help="do not run: summarise a --raw file written before")
    args = ap.parse_args(argv)

    files = sorted(glob.glob(args.files))
    if not files:
        ap.error(f"no file matches {args.files}")
    budgets = [int(b) for b in args.budgets.split(",")]
    strategies = args.strategies.split(",")
    bmax = max(budgets)
    bo_options = parse_bo_options(args.bo_options, ap)
    rows, single_rows = [], []
    from tqdm import tqdm

    if args.from_raw:
        df = pd.read_csv(args.from_raw)
        single = args.from_raw.replace(".csv", "_single.csv")
        sdf = pd.read_csv(single) if os.path.exists(single) else pd.DataFrame()
        return report(args, files, budgets, df, sdf)

    jobs = [(f, s, seed) for f in files for s in strategies for seed in range(args.seeds)]
    tables = {}
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = ReplayPlatform(f, KNOBS, OBJECTIVES)
        tables[f] = (p, p.frame())
    for f, strategy, seed in tqdm(jobs, desc="multi-objective runs"):
        p, table = tables[f]
        budget = {"random": len(table), "tpe": max(bmax, args.tpe_cap)}.get(strategy, bmax)
        traj, cpu = run_multi(p, table, strategy, seed, budget, args.init, args.acquisition, bo_options)
        row = {"file": os.path.basename(f), "strategy": strategy, "seed": seed, "cpu_s": cpu, "evaluations": len(traj),
               "reach95": first_reach(traj, 0.95), "reach99": first_reach(traj, 0.99)}
        for b in budgets:
            row[f"hv{b}"] = traj[min(b, len(traj)) - 1]
        rows.append(row)
    if args.single_budget:
        sjobs = [(f, s, seed) for f in files for s in strategies for seed in range(args.seeds)]
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
        df.to_csv(args.raw, index=False)
        if len(sdf):
            sdf.to_csv(args.raw.replace(".csv", "_single.csv"), index=False)
    return report(args, files, budgets, df, sdf)


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


def report(args, files, budgets, df, sdf) -> int:
    if args.figure:
        plot(df, budgets, args.figure)
    files = sorted(df["file"].unique()) if len(df) else [os.path.basename(f) for f in files]
    seeds = int(df["seed"].max()) + 1 if len(df) else args.seeds

    lines = [f"Seeds 0..{seeds - 1}, initial design {args.init}"
             + (f", BO options {args.bo_options}" if args.bo_options else "") + ", files: "
             + ", ".join(os.path.basename(f) for f in files), ""]
    lines += ["### Multi-objective: median hypervolume ratio (found / true front)", ""]
    head = "| file | strategy | " + " | ".join(f"HV@{b}" for b in budgets) + " | evals to 95% | evals to 99% | CPU s/run |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for (f, s), g in df.groupby(["file", "strategy"], sort=False):
        lines.append(f"| {f.replace('tx2_sampled_output_xception_', '').replace('.csv', '')} | {s} | "
                     + " | ".join(f"{np.median(g[f'hv{b}']):.3f}" for b in budgets)
                     + f" | {fmt_reach(g['reach95'], g['evaluations'])} | {fmt_reach(g['reach99'], g['evaluations'])} | {g['cpu_s'].median():.1f} |")
    lines += ["", "All files pooled (median over files x seeds; min in brackets):", ""]
    head = "| strategy | " + " | ".join(f"HV@{b}" for b in budgets) + " | evals to 95% | evals to 99% |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for s, g in df.groupby("strategy", sort=False):
        lines.append(f"| {s} | " + " | ".join(f"{np.median(g[f'hv{b}']):.3f} ({g[f'hv{b}'].min():.3f})"
                                              for b in budgets)
                     + f" | {fmt_reach(g['reach95'], g['evaluations'])} | {fmt_reach(g['reach99'], g['evaluations'])} |")
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
