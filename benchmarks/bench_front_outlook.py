"""Does the surrogate know when a study has fallen short? ``Study.front_outlook`` against the truth.

Replays ``bo`` with the library's defaults on the TX2 Xception grids (as ``bench_optimisation.py`` does: the same
runs, so each run's HV@40 can be checked against the recorded raw files) and, at each budget, records the
surrogate's outlook (the share of hypervolume the observed front holds against the GP's predicted means, and
against the optimistic end of their 95 % band, over every configuration not yet evaluated) beside the truth on
the same terms (the share it holds against the whole table, with the same observed reference point) and the
benchmark's score (HV ratio against the true front with the scoring reference), and the surrogate's fit
(``Study.fit_quality``: each output's leave-one-out R^2; columns ``fit_r2_<output>``)::

    PYTHONPATH=. python benchmarks/bench_front_outlook.py --seeds 0-9 --raw outlook_s09.csv
    PYTHONPATH=. python benchmarks/bench_front_outlook.py --from-raw outlook_s09.csv,outlook_s1019.csv
    # looks every 5 evaluations to 80: extending a 40-evaluation budget (optimize(extend_to=80)) read off them
    PYTHONPATH=. python benchmarks/bench_front_outlook.py --seeds 0-9 --budgets 25,30,35,40,45,50,55,60,65,70,75,80

The summary: rank correlation of each outlook with the truth and with the score, how often the optimistic share
is at or below the true share (the band holds), and how well a rule "the run fell short where the share is below
x" finds the runs that scored below 0.99; and, where the looks are regular, what extending a budget while the
means expect more (``optimize(extend_to=...)``: the same runs, since a look does not change a run) gives against
fixed budgets.
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
from perfmodel.optimisation.study import EXTEND_GAIN  # noqa: E402
from perfmodel.pareto import hypervolume  # noqa: E402
from perfmodel.reports.markdown import md_table  # noqa: E402


def run(path: str, seed: int, budgets: list[int], knobs: list[str], objectives: list[str],
        reference_table: bool = False) -> list[dict]:
    platform = replay(path, knobs, objectives)
    table = platform.frame()
    Y_all = table[objectives].to_numpy(float)
    _, ref_score, hv_true = true_front(Y_all)
    # --reference-table: the score's reference point stated (an oracle user, as bench_optimisation's reference=table)
    options = {"reference": dict(zip(objectives, map(float, ref_score)))} if reference_table else None
    study = Study(platform.space(), objectives, seed=seed, source=platform.source, bo_options=options)
    rows, t0 = [], time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while study.n_told < max(budgets):
            trial = study.ask()
            study.tell(trial, platform.evaluate(dict(trial.config)))
            if study.n_told not in budgets:
                continue
            Y = study.results()[objectives].to_numpy(float)
            ref = ref_score if reference_table else observed_reference(Y)     # the outlook's own
            outlook = study.front_outlook()
            fit = {f"fit_r2_{m}": r for m, r in study.fit_quality().items()}
            rows.append({**fit, "file": os.path.basename(path), "seed": seed, "evaluations": study.n_told,
                         "outlook_mean": outlook["found_share_mean"],
                         "outlook_optimistic": outlook["found_share_optimistic"],
                         "true_share": hypervolume(Y, ref) / hypervolume(np.vstack([Y, Y_all]), ref),
                         "hv_ratio": hypervolume(Y, ref_score) / hv_true,
                         "cpu_s": time.process_time() - t0})
    study.close()
    return rows


def summarise(df: pd.DataFrame, level: float, gain: float) -> None:
    warnings.simplefilter("ignore", category=RuntimeWarning)  # scipy: a constant share (1 in every run) has no rho
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
    fit = [c for c in df.columns if c.startswith("fit_r2_")]
    if fit:
        print("\nThe surrogate's fit (Study.fit_quality: leave-one-out R^2 on the model's scale), median (min-max) "
              "over the runs:\n")
        print(md_table(pd.DataFrame([{"evaluations": b, **{c[len("fit_r2_"):]: (
            f"{g[c].median():.2f} ({g[c].min():.2f}-{g[c].max():.2f})") for c in fit}}
            for b, g in df.groupby("evaluations")])))


def extension(df: pd.DataFrame, level: float, gain: float, budget: int) -> None:
    """``optimize(extend_to=...)`` read off the looks: from ``budget`` on, a run stops at the first look where
    the means expect no more than ``gain`` of the hypervolume, else at its last look (the cap); against fixed
    budgets at every look from ``budget`` on."""
    looks = sorted(df["evaluations"].unique())
    if budget not in looks:
        print(f"\n(no look at {budget} evaluations: no extension table)")
        return
    lines = []

    def line(name, picks):
        hv, ev = np.array([p[0] for p in picks]), np.array([p[1] for p in picks])
        lines.append({"rule": name, "runs": len(picks), f">= {level}": int((hv >= level).sum()),
                      ">= 0.98": int((hv >= 0.98).sum()), "worst HV ratio": round(float(hv.min()), 4),
                      "evaluations: median": float(np.median(ev)), "mean": round(float(ev.mean()), 1),
                      "most": int(ev.max())})

    runs = [g.sort_values("evaluations") for _, g in df.groupby(["file", "seed"])]
    for b in (b for b in looks if b >= budget):
        line(f"fixed budget {b}", [(float(g.loc[g["evaluations"] == b, "hv_ratio"].iloc[0]), b) for g in runs])
    picks = []
    for g in runs:
        g = g[g["evaluations"] >= budget]
        stop = np.flatnonzero(g["outlook_mean"].to_numpy() >= 1.0 - gain)
        i = int(stop[0]) if len(stop) else len(g) - 1
        picks.append((float(g["hv_ratio"].iloc[i]), int(g["evaluations"].iloc[i])))
    line(f"budget {budget}, extended to {looks[-1]} while the means expect > {gain:.2%}", picks)
    print(f"\nExtending the budget (optimize(extend_to=...)), looks every {int(np.diff(looks).min())} "
          "evaluations:\n")
    print(md_table(pd.DataFrame(lines)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default=DEFAULT_FILES, help="glob of grid files (default: the four Xception grids)")
    ap.add_argument("--seeds", default="0-9", help="A-B (default 0-9)")
    ap.add_argument("--knobs", default=",".join(KNOBS), help="knob columns (default: the TX2 grids' six)")
    ap.add_argument("--objectives", default=",".join(OBJECTIVES),
                    help="two or more minimised objective columns (default inference_time,power_consumption)")
    ap.add_argument("--budgets", default="20,40", help="evaluations at which to look (default 20,40)")
    ap.add_argument("--level", type=float, default=0.99, help="an HV ratio below this is a short run (0.99)")
    ap.add_argument("--gain", type=float, default=EXTEND_GAIN,
                    help="the 'expects more' rule: mean share below 1 - GAIN (default the library's "
                         f"EXTEND_GAIN, {EXTEND_GAIN:g})")
    ap.add_argument("--extend-from", type=int, default=40,
                    help="the budget an extended study starts looking at (default 40; needs a look there)")
    ap.add_argument("--reference-table", action="store_true",
                    help="state the score's reference point (the true front's nadir + 10 %% of its range) to the "
                         "study, so that the search and the outlook answer the score's question")
    ap.add_argument("--raw", help="write every (file, seed, budget) row here")
    ap.add_argument("--from-raw", help="comma list of raw files to summarise instead of running")
    args = ap.parse_args(argv)
    if args.from_raw:
        df = pd.concat([pd.read_csv(f) for f in args.from_raw.split(",")])
        summarise(df, args.level, args.gain)
        extension(df, args.level, args.gain, args.extend_from)
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
            rows += run(path, seed, budgets, args.knobs.split(","), args.objectives.split(","), args.reference_table)
            if args.raw:
                pd.DataFrame(rows).to_csv(args.raw, index=False)
    summarise(pd.DataFrame(rows), args.level, args.gain)
    extension(pd.DataFrame(rows), args.level, args.gain, args.extend_from)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
