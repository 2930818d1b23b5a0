"""Does the surrogate know when a study has fallen short? ``Study.front_outlook`` against the truth.

Replays ``bo`` with the library's defaults on the TX2 Xception grids (as ``bench_optimisation.py`` does: the same
runs, so each run's HV@40 can be checked against the recorded raw files) and, at each budget, records the
surrogate's outlook (the share of hypervolume the observed front holds against the GP's predicted means, and
against the optimistic end of their 95 % band, over every configuration not yet evaluated) beside the truth on
the same terms (the share it holds against the whole table, with the same observed reference point) and the
benchmark's score (HV ratio against the true front with the scoring reference)::

    PYTHONPATH=. python benchmarks/bench_front_outlook.py --seeds 0-9 --raw outlook_s09.csv
    PYTHONPATH=. python benchmarks/bench_front_outlook.py --from-raw outlook_s09.csv,outlook_s1019.csv

The summary: rank correlation of each outlook with the truth and with the score, how often the optimistic share
is at or below the true share (the band holds), and how well a rule "the run fell short where the share is below
x" finds the runs that scored below 0.99.
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
from scipy.stats import spearmanr
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bench_optimisation import DEFAULT_FILES, KNOBS, OBJECTIVES, replay, true_front  # noqa: E402
from perfmodel.optimisation.bo import observed_reference  # noqa: E402
from perfmodel.optimisation import Study  # noqa: E402
from perfmodel.pareto import hypervolume  # noqa: E402
from perfmodel.reports.markdown import md_table  # noqa: E402


def run(path: str, seed: int, budgets: list[int], knobs: list[str], objectives: list[str]) -> list[dict]:
    platform = replay(path, knobs, objectives)
    table = platform.frame()
    Y_all = table[objectives].to_numpy(float)
    _, ref_score, hv_true = true_front(Y_all)
    study = Study(platform.space(), objectives, seed=seed, source=platform.source)
    rows, t0 = [], time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while study.n_told < max(budgets):
            trial = study.ask()
            study.tell(trial, platform.evaluate(dict(trial.config)))
            if study.n_told not in budgets:
                continue
            Y = study.results()[objectives].to_numpy(float)
            ref = observed_reference(Y)                                       # the outlook's own
            outlook = study.front_outlook()
            rows.append({"file": os.path.basename(path), "seed": seed, "evaluations": study.n_told,
                         "outlook_mean": outlook["found_share_mean"],
                         "outlook_optimistic": outlook["found_share_optimistic"],
                         "true_share": hypervolume(Y, ref) / hypervolume(np.vstack([Y, Y_all]), ref),
                         "hv_ratio": hypervolume(Y, ref_score) / hv_true,
                         "cpu_s": time.process_time() - t0})
    study.close()
    return rows


def summarise(df: pd.DataFrame, level: float, gain: float) -> None:
    out = []
    for b, g in df.groupby("evaluations"):
        short = g["hv_ratio"] < level
        row = {"evaluations": b, "runs": len(g), f"runs < {level}": int(short.sum())}
        for col in ("outlook_mean", "outlook_optimistic"):
            row[f"{col}: median"] = round(float(g[col].median()), 3)
            row[f"{col}: rho with truth"] = round(float(spearmanr(g[col], g["true_share"])[0]), 2)
            row[f"{col}: rho with HV ratio"] = round(float(spearmanr(g[col], g["hv_ratio"])[0]), 2)
        row["optimistic <= true share"] = f"{int((g['outlook_optimistic'] <= g['true_share'] + 1e-12).sum())}"
        out.append(row)
    print(md_table(pd.DataFrame(out).T.reset_index(names="").rename(columns=lambda c: str(c))))
    print(f"\nA rule per budget: 'the run fell short (HV ratio < {level})' predicted by 'share < x', x the quartiles "
          "of the share over the runs (flagged runs; of them short; short runs not flagged):\n")
    lines = []
    for col in ("outlook_mean", "outlook_optimistic"):
        for b, g in df.groupby("evaluations"):
            short = g["hv_ratio"] < level
            for x in np.quantile(g[col], [0.25, 0.5, 0.75]):
                flag = g[col] < x
                lines.append({"share": col, "evaluations": b, "x": round(float(x), 4), "flagged": int(flag.sum()),
                              "short among flagged": int((flag & short).sum()),
                              "short not flagged": int((~flag & short).sum())})
    print(md_table(pd.DataFrame(lines)))
    print(f"\nThe model's means still expect more than {gain:.2%} of the hypervolume (mean share < {1 - gain:.4%}), "
          "or not:\n")
    lines = []
    for b, g in df.groupby("evaluations"):
        short, more = g["hv_ratio"] < level, g["outlook_mean"] < 1.0 - gain
        lines.append({"evaluations": b, "runs expecting more": int(more.sum()),
                      "of them short": int((more & short).sum()), "runs expecting nothing": int((~more).sum()),
                      "of them short ": int((~more & short).sum())})
    print(md_table(pd.DataFrame(lines)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default=DEFAULT_FILES, help="glob of grid files (default: the four Xception grids)")
    ap.add_argument("--seeds", default="0-9", help="A-B (default 0-9)")
    ap.add_argument("--knobs", default=",".join(KNOBS), help="knob columns (default: the TX2 grids' six)")
    ap.add_argument("--objectives", default=",".join(OBJECTIVES),
                    help="two minimised objective columns (default inference_time,power_consumption)")
    ap.add_argument("--budgets", default="20,40", help="evaluations at which to look (default 20,40)")
    ap.add_argument("--level", type=float, default=0.99, help="an HV ratio below this is a short run (0.99)")
    ap.add_argument("--gain", type=float, default=1e-4,
                    help="the 'expects more' rule: mean share below 1 - GAIN (default 1e-4, i.e. 0.01 %%)")
    ap.add_argument("--raw", help="write every (file, seed, budget) row here")
    ap.add_argument("--from-raw", help="comma list of raw files to summarise instead of running")
    args = ap.parse_args(argv)
    if args.from_raw:
        summarise(pd.concat([pd.read_csv(f) for f in args.from_raw.split(",")]), args.level, args.gain)
        return 0
    lo, _, hi = args.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    files = sorted(glob.glob(args.files))
    if not files:
        ap.error(f"no file matches {args.files}")
    rows = []
    for seed in tqdm(seeds, desc="seeds"):
        for path in files:
            rows += run(path, seed, budgets, args.knobs.split(","), args.objectives.split(","))
            if args.raw:
                pd.DataFrame(rows).to_csv(args.raw, index=False)
    summarise(pd.DataFrame(rows), args.level, args.gain)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
