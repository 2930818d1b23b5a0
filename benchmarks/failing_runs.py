"""Which runs fall short, across variants: are the failing runs the same (file, seed) runs in every variant?

Reads raw files of ``bench_optimisation.py`` (one ``name=a.csv,b.csv`` per variant; ``bo`` rows; where a (file,
seed) run occurs twice the later file wins), keeps the runs every variant has, and prints the Spearman
correlation of HV@40 between variants, how many runs fall below ``--level`` in k of the variants (against what
independent failures at each variant's rate would give), the failing runs per grid and variant with the share
of runs passing pooled over the variants, and the runs that fail in every variant (or in ``--at-least K``)::

    PYTHONPATH=. python benchmarks/failing_runs.py --seeds 0-19 \\
        default=benchmarks/results/s10_task_init6_s09_raw.csv,benchmarks/results/s10_task_init6_s1019_raw.csv \\
        monotone=benchmarks/results/s13_monotone_s09_raw.csv,benchmarks/results/s13_monotone_s1019_raw.csv
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_bo_raw import load  # noqa: E402
from perfmodel.reports.markdown import md_table  # noqa: E402


def load_hv40(files: str, strategy: str, seeds: range) -> pd.Series:
    d = load(files.split(","), strategy)          # compare_bo_raw's reading: the later file wins
    return d[d.index.get_level_values("seed").isin(seeds)]["hv40"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", metavar="NAME=FILES", help="a variant: name=comma list of raw files")
    ap.add_argument("--seeds", default="0-19", help="A-B (default 0-19)")
    ap.add_argument("--strategy", default="bo")
    ap.add_argument("--level", type=float, default=0.99, help="HV@40 below this fails (default 0.99)")
    ap.add_argument("--at-least", type=int, default=None, metavar="K",
                    help="list the runs failing in at least K variants (default: in every variant)")
    args = ap.parse_args(argv)
    if args.at_least is not None and args.at_least < 1:
        ap.error(f"--at-least must be a number of variants >= 1, got {args.at_least}")
    lo, _, hi = args.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    runs = {}
    for item in args.variants:
        name, sep, files = item.partition("=")
        if not sep or not files:
            ap.error(f"{item!r} is not name=files")
        runs[name] = load_hv40(files, args.strategy, seeds)
    hv = pd.DataFrame(runs).dropna()
    if hv.empty:
        ap.error("no (file, seed) run is in every variant")
    fails = hv < args.level
    print(f"{len(hv)} runs in every variant; runs below {args.level}: "
          + ", ".join(f"{k} {int(v)}" for k, v in fails.sum().items()))
    print("\nSpearman correlation of HV@40 between variants:\n")
    print(md_table(hv.corr(method="spearman").round(2).reset_index(names="variant")))
    dist = np.array([1.0])
    for p in fails.mean().to_numpy():               # Poisson-binomial: failures independent of the run
        dist = np.convolve(dist, [1 - p, p])
    seen = fails.sum(axis=1).value_counts()
    print("\n| variants failing | runs | expected if failures were independent |\n|---|---|---|")
    for k in range(len(dist)):
        print(f"| {k} | {int(seen.get(k, 0))} | {dist[k] * len(hv):.1f} |")
    grid = fails.reset_index()
    grid["grid"] = grid["file"].str.extract(r"(\d+x\d+)", expand=False).fillna(grid["file"])
    print("\nFailing runs per grid:\n")
    per = grid.groupby("grid")[list(runs)].sum()
    size = grid.groupby("grid").size()
    per["passing, pooled"] = [f"{1 - per.loc[g].sum() / (size[g] * len(runs)):.2f}" for g in per.index]
    print(md_table(per.reset_index()))
    k = len(runs) if args.at_least is None else args.at_least
    every = grid[(fails.sum(axis=1) >= k).to_numpy()]
    label = "every variant" if k >= len(runs) else f"at least {k} of {len(runs)} variants"
    print(f"\nFailing in {label}: "
          + (", ".join(f"{g} s{s}" for g, s in zip(every["grid"], every["seed"])) or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
