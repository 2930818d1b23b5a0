"""Why the input-size transfer prior falls short of issue 22's target (>= 0.99 HV ratio at 20 evaluations).

Four parts, on the four flexibo-tx2 xception grids (replays, no GPU):

* ``relations``: how each transfer pair's grids relate over all 768 configurations (the benchmark's pairs:
  200<-400, 400<-200, 600<-400, 800<-600): Spearman rho, the least-squares affine map of log values
  (slope, residual std against the target's own std), the share of the target's log-variance each knob
  explains (a one-way ANOVA eta^2, per grid) and all of them as additive factors, alone and with their pairwise
  interactions (least-squares R^2), how many true-front configurations the two grids share and in
  which non-dominated layer of the source grid the target's front points lie.
* ``bounds``: BO (the benchmark's ``bo-transfer`` settings, initial design 10) with two priors that no
  transfer from 40 evaluations can beat, HV ratio at 10 and 20 evaluations: ``oracle`` (the target grid's
  own values: what the prior machinery does with a perfect prior) and ``full-source`` (the source grid's
  values at every configuration: a perfect model of the source study, i.e. only the difference between the
  grids is left).
* ``transplant``: no model at all, the source grid's true front itself measured on the target, in the order
  that adds the most hypervolume on the source (what a perfect source study would recommend first): the
  target's score of its first 5, 10, 15 and 20 points, of the whole front, and of the front with the source's
  second non-dominated layer added.
* ``--bo-options`` as in ``bench_optimisation.py`` (e.g. ``prior_design=model``) and ``--init`` (the initial
  design's size, 10 by default) for the ``bounds`` runs.

    PYTHONPATH=. python benchmarks/diag_transfer.py --part relations
    PYTHONPATH=. python benchmarks/diag_transfer.py --part bounds --seeds 0-1
    PYTHONPATH=. python benchmarks/diag_transfer.py --part transplant
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_optimisation as B  # noqa: E402
from perfmodel.pareto import hypervolume, non_dominated  # noqa: E402
from profiling.space import config_key  # noqa: E402


def _layers(P: np.ndarray) -> np.ndarray:
    # index of the successive non-dominated layer (0 = front) of each row of P (minimised)
    layer = np.zeros(len(P), dtype=int)
    rest = np.ones(len(P), dtype=bool)
    k = 0
    while rest.any():
        idx = np.flatnonzero(rest)
        nd = idx[non_dominated(P[idx])]
        layer[nd] = k
        rest[nd] = False
        k += 1
    return layer


def relations(files: list[str]) -> list[str]:
    tabs = {f: pd.read_csv(f).set_index(B.KNOBS)[B.OBJECTIVES].sort_index() for f in files}
    name = lambda f: os.path.basename(f).split("_")[-1].replace(".csv", "")  # noqa: E731
    lines = ["| target <- source | output | Spearman rho | log-affine slope | residual std / target std |",
             "|---|---|---|---|---|"]
    fronts = []
    for f in files:
        s = B.transfer_source(files, f)
        A, T = tabs[s], tabs[f].loc[tabs[s].index]
        for m in B.OBJECTIVES:
            la, lt = np.log(A[m].to_numpy()), np.log(T[m].to_numpy())
            c = np.polyfit(la, lt, 1)
            r = lt - np.polyval(c, la)
            lines.append(f"| {name(f)} <- {name(s)} | {m} | {spearmanr(la, lt)[0]:.3f} | {c[0]:.2f} | "
                         f"{r.std() / lt.std():.2f} |")
        fa, ft = non_dominated(A.to_numpy()), non_dominated(T.to_numpy())
        lay = _layers(A.to_numpy())[ft]
        fronts.append(f"| {name(f)} <- {name(s)} | {ft.sum()} | {(fa & ft).sum()} | {np.median(lay):.0f} "
                      f"({lay.min()}-{lay.max()}) |")
    lines += ["", "| target <- source | true front points | shared with the source's front | their layer in the "
              "source grid, median (range) |", "|---|---|---|---|", *fronts, ""]
    knobs = ("cores", "core_freq", "gpu_freq", "emc_freq")
    lines += ["| grid | output | " + " | ".join(knobs) + " | every knob's levels (R^2) | and every pair's |",
              "|---|---|---|---|---|---|---|---|"]
    main_effects = " + ".join(f"C({k})" for k in knobs)
    for f in files:
        d = pd.read_csv(f)
        d["cores"] = 1 + d["core1_status"] + d["core2_status"] + d["core3_status"]
        for m in B.OBJECTIVES:
            y = np.log(d[m])
            eta = [d.assign(y=y).groupby(k)["y"].transform("mean").var() / y.var() for k in knobs]
            # least squares on every level of every knob as a factor (additive in log space), then with every
            # pairwise interaction of levels as well
            r2 = [smf.ols(f"y ~ {terms}", d.assign(y=y)).fit().rsquared
                  for terms in (main_effects, f"({main_effects}) ** 2")]
            lines.append(f"| {name(f)} | {m} | " + " | ".join(f"{e:.2f}" for e in eta) + " | "
                         + " | ".join(f"{r:.3f}" for r in r2) + " |")
    return lines


def _lookup(table: pd.DataFrame) -> dict:
    keys = [config_key({k: r[k] for k in B.KNOBS}) for _, r in table[B.KNOBS].iterrows()]
    return {m: (lambda lk: lambda cs: [lk[config_key(c)] for c in cs])(dict(zip(keys, table[m].to_numpy(float))))
            for m in B.OBJECTIVES}


def bounds(files: list[str], seeds: list[int], options: dict, init: int = 10) -> list[str]:
    tabs = {}
    for f in files:
        p = B.replay(f)
        tabs[f] = (p, p.frame())
    lines = ["| grid | prior | HV@10 per seed | HV@20 per seed |", "|---|---|---|---|"]
    for f in files:
        p, t = tabs[f]
        for kind, table in (("oracle", t), ("full-source", tabs[B.transfer_source(files, f)][1])):
            got = [B.run_multi(p, t, "bo", seed, 20, init, bo_options=options or None,
                               prior_mean=_lookup(table))[0] for seed in seeds]
            lines.append(f"| {os.path.basename(f).split('_')[-1][:-4]} | {kind} | "
                         + ", ".join(f"{g[9]:.3f}" for g in got) + " | " + ", ".join(f"{g[19]:.3f}" for g in got)
                         + " |")
            print(lines[-1], flush=True)
    return lines


def transplant_scores(Y_source: np.ndarray, Y_target: np.ndarray, ks=(5, 10, 15, 20)) -> dict:
    """The target's score (the benchmark's HV ratio) of the source's true front measured on the target, rows
    aligned (row i is the same configuration in both). The source's front is taken in the order that adds
    the most hypervolume on the source (within the source's scoring reference point); ``k``: its first k
    points, ``"front"``: all of them, ``"front+layer2"``: and the source's second non-dominated layer."""
    _, ref, _ = B.true_front(Y_source)
    _, ref_t, hv_t = B.true_front(Y_target)
    layer = _layers(Y_source)
    order = B.greedy_hv_order(Y_source, np.flatnonzero(layer == 0), ref)
    score = lambda rows: hypervolume(Y_target[rows], ref_t) / hv_t  # noqa: E731
    out = {k: score(order[:k]) for k in ks if k <= len(order)}
    out["front"] = score(order)
    out["front+layer2"] = score(order + list(np.flatnonzero(layer == 1)))
    out["front_points"], out["layer2_points"] = len(order), int((layer == 1).sum())
    return out


def transplant(files: list[str]) -> list[str]:
    tabs = {f: B.replay(f).frame().set_index(B.KNOBS)[B.OBJECTIVES].sort_index() for f in files}
    name = lambda f: os.path.basename(f).split("_")[-1].replace(".csv", "")  # noqa: E731
    lines = ["| target <- source | source front points | first 5 | 10 | 15 | 20 | the whole front | "
             "and the second layer (evaluations) |", "|---|---|---|---|---|---|---|---|"]
    for f in files:
        s = B.transfer_source(files, f)
        S, T = tabs[s], tabs[f].loc[tabs[s].index]
        r = transplant_scores(S.to_numpy(float), T.to_numpy(float))
        cells = " | ".join(f"{r[k]:.3f}" if k in r else "-" for k in (5, 10, 15, 20))
        lines.append(f"| {name(f)} <- {name(s)} | {r['front_points']} | {cells} | {r['front']:.3f} | "
                     f"{r['front+layer2']:.3f} ({r['front_points'] + r['layer2_points']}) |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("relations", "bounds", "transplant"), default="relations")
    ap.add_argument("--seeds", default="0-1", help="N, A-B or a comma list (bounds)")
    ap.add_argument("--bo-options", default="", help="as bench_optimisation.py's (bounds)")
    ap.add_argument("--init", type=int, default=10, help="initial design size (bounds; default 10)")
    args = ap.parse_args(argv)
    files = sorted(glob.glob(B.DEFAULT_FILES), key=B._size_key)
    if args.part == "relations":
        print("\n".join(relations(files)))
    elif args.part == "transplant":
        print("\n".join(transplant(files)))
    else:
        opts = B.parse_bo_options(args.bo_options, ap)
        bounds(files, B.parse_seeds(args.seeds), opts, args.init)
    return 0


if __name__ == "__main__":
    sys.exit(main())
