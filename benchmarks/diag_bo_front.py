"""Diagnosis of plain-BO runs that fall short of the true front (issue 22, no prior).

For each (grid, seed): replays the ``bo`` study step by step (ask/tell) and reports, after 40 evaluations,
which part of the true front is missed (hypervolume lost, split by where it lies along the front: the
low-power end, the middle, the low-time end), and for each model step the GP's fitted noise variance
(standardised scale) per objective, whether the step landed on the true front, and its normalised distance
to the nearest earlier evaluation in objective space.

    PYTHONPATH=. python benchmarks/diag_bo_front.py --runs 400x400:12,200x200:16 [--bo-options k=v,...]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_optimisation import KNOBS, OBJECTIVES, grid_file, parse_bo_options, replay, true_front  # noqa: E402
from perfmodel.optimisation.study import Study  # noqa: E402
from perfmodel.pareto import hypervolume, pareto_front  # noqa: E402


def lost_by_region(F_true, F_found, ref, n_bins=3):
    """Hypervolume of the true front not covered by the found one, split into n_bins equal ranges of the
    first objective (time) over the true front's span, as fractions of the true hypervolume."""
    xs = np.linspace(F_true[:, 0].min(), ref[0], 4001)
    mid = 0.5 * (xs[1:] + xs[:-1])
    w = np.diff(xs)

    def height(F):  # for each x: ref1 - min power among points with time <= x
        h = np.zeros_like(mid)
        for i, x in enumerate(mid):
            sel = F[F[:, 0] <= x]
            h[i] = ref[1] - sel[:, 1].min() if len(sel) else 0.0
        return np.clip(h, 0, None)

    gap = (height(F_true) - height(F_found)).clip(0) * w
    hv = hypervolume(F_true, ref)
    edges = np.linspace(F_true[:, 0].min(), F_true[:, 0].max(), n_bins + 1)
    edges[-1] = ref[0]
    return [float(gap[(mid >= edges[b]) & (mid < edges[b + 1])].sum() / hv) for b in range(n_bins)]


def run(grid, seed, bo_options, budget=40, init=10, verbose=True):
    p = replay(grid_file(grid))
    table = p.frame()
    Y_all = table[OBJECTIVES].to_numpy(float)
    F, ref, hv_true = true_front(Y_all)
    front_keys = {tuple(r) for r in F}
    study = Study(p.space(), OBJECTIVES, strategy="bo", n_init=init, seed=seed, bo_options=bo_options)
    strat = study._strategy
    Y, lines = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(budget):
            t = study.ask()
            out = p.evaluate(t.config)
            study.tell(t, out)
            y = np.array([out[m] for m in OBJECTIVES], float)
            noise = {m: gp.noise_variance for m, (gp, _, _) in strat._last.items()}
            logY = np.log(np.array(Y)) if Y else None
            dist = (np.min(np.max(np.abs(logY - np.log(y)), axis=1)) if Y else np.nan)
            on_front = tuple(y) in front_keys
            Y.append(y)
            hv = hypervolume(np.array(Y), ref) / hv_true
            cfg = "".join(str(int(t.config[c])) for c in KNOBS[:3]) + " " + " ".join(f"{t.config[c]/1e6:.0f}" for c in KNOBS[3:])
            lines.append(f"  {k+1:2d} {t.phase:6s} [{cfg}] t={y[0]:.4f} p={y[1]:8.1f} front={int(on_front)} "
                         f"dlog={dist:.3f} HV={hv:.4f} noise=" + ",".join(f"{v:.2g}" for v in noise.values())
                        )
    Y = np.array(Y)
    found = pareto_front(Y)
    hv = hypervolume(Y, ref) / hv_true
    n_front_found = sum(tuple(r) in front_keys for r in Y)
    lost = lost_by_region(F, found, ref)
    print(f"{grid} seed {seed}: HV@40 {hv:.4f}; true front {len(F)} points, found {n_front_found}; "
          f"lost HV by time-third (low-time .. high-time/low-power): " + ", ".join(f"{v:.4f}" for v in lost))
    Fs = F[np.argsort(F[:, 0])]
    missed = [tuple(r) for r in Fs if tuple(r) not in {tuple(q) for q in Y}]
    print("  true front (time, power), * = found:")
    print("   " + "  ".join(f"{'*' if tuple(r) not in missed else ' '}({r[0]:.3f},{r[1]:.0f})" for r in Fs))
    if verbose:
        print("\n".join(lines))
    return hv, lost


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--bo-options", default="")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    opts = parse_bo_options(a.bo_options, ap)
    for item in a.runs.split(","):
        g, s = item.split(":")
        run(g, int(s), opts, verbose=not a.quiet)
