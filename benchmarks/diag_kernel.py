"""The BO surrogate's kernel on the four TX2 grids (issue 22, no prior): two diagnostics.

``fit``: held-out prediction of the surrogate as BO fits it (linked cores, log-encoded clocks, log outputs):
``--n`` random configurations of each grid (3 seeds) for training, the rest for scoring; RMSE of the log
output and the fitted noise variance (standardised scale), per objective and kernel.

``choice``: seed 0 of each grid run to 40 evaluations with ``kernel=matern52``, ``additive`` and ``select``:
CPU seconds per run (same machine, same time), HV@40, and which kernel ``select`` kept at each model step.

``bound``: what a model of this kind could reach if it knew the whole grid: the surrogate fitted on all
configurations of each grid (its smooth, denoised picture of the table), then configurations picked greedily
by the hypervolume their predicted values add to the predicted values already picked (EHVI of a model with no
uncertainty left); the HV ratio of the picks' table values after 10, 20, 30 and 40 picks.

    PYTHONPATH=. python benchmarks/diag_kernel.py fit --n 25
    PYTHONPATH=. python benchmarks/diag_kernel.py choice
    PYTHONPATH=. python benchmarks/diag_kernel.py bound
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bench_optimisation import OBJECTIVES, grid_file, replay, run_multi, true_front  # noqa: E402
from perfmodel.pareto import hypervolume, hypervolume_improvement, pareto_front  # noqa: E402
from perfmodel.optimisation import gp as gpmod  # noqa: E402
from perfmodel.optimisation.candidates import Candidates  # noqa: E402

GRIDS = ("200x200", "400x400", "600x600", "800x800")


def fit(n: int) -> None:
    res: dict = {}
    for grid in GRIDS:
        p = replay(grid_file(grid))
        cands = Candidates(p.space())
        Y = np.array([[p.evaluate(c)[o] for o in OBJECTIVES] for c in cands.configs])
        X = cands.encode(cands.configs)
        for seed in range(3):
            idx = np.random.default_rng(seed).permutation(len(X))
            tr, te = idx[:n], idx[n:]
            for j, o in enumerate(OBJECTIVES):
                for k in ("matern52", "additive"):
                    gp = gpmod.GPSurrogate(kernel=k, seed=seed).fit(X[tr], Y[tr, j])
                    mu, _ = gp.predict(X[te])
                    rmse = np.sqrt(np.mean((mu - np.log(Y[te, j])) ** 2))
                    res.setdefault((o, k), []).append((rmse, gp.noise_variance))
    for (o, k), v in res.items():
        v = np.array(v)
        print(f"{o} {k}: RMSE of log output {v[:, 0].mean():.4f}, fitted noise median {np.median(v[:, 1]):.4f} "
              f"max {v[:, 1].max():.4f}")


def choice() -> None:
    chosen: list[str] = []
    orig = gpmod.GPSurrogate._optimise

    def spy(self, X, z, with_prior):
        f = orig(self, X, z, with_prior)
        if self.kernel == "select":
            chosen.append(f.kernel)
        return f

    gpmod.GPSurrogate._optimise = spy
    for grid in GRIDS:
        p = replay(grid_file(grid))
        table = p.frame()
        for k in ("matern52", "additive", "select"):
            chosen.clear()
            traj, cpu = run_multi(p, table, "bo", 0, 40, 10, bo_options={"kernel": k})
            extra = ""
            if k == "select":
                t, pw = chosen[0::2], chosen[1::2]          # each step fits time, then power
                extra = (f"; additive kept: time {t.count('additive')}/{len(t)}, "
                         f"power {pw.count('additive')}/{len(pw)}")
            print(f"{grid} {k}: CPU {cpu:.1f} s, HV@40 {traj[39]:.4f}{extra}", flush=True)


def bound() -> None:
    for grid in GRIDS:
        p = replay(grid_file(grid))
        cands = Candidates(p.space())
        Y = np.array([[p.evaluate(c)[o] for o in OBJECTIVES] for c in cands.configs])
        X = cands.encode(cands.configs)
        _, ref, hv_true = true_front(Y)
        P = np.column_stack([gpmod.GPSurrogate(seed=0, restarts=2).fit(X, Y[:, j]).predict(X)[0]
                             for j in range(Y.shape[1])])          # log scale, as the acquisition sees it
        F = pareto_front(P)
        ref_p = F.max(axis=0) + 0.1 * (F.max(axis=0) - F.min(axis=0))
        picked: list[int] = []
        for _ in range(40):
            gain = hypervolume_improvement(P, pareto_front(P[picked]) if picked else np.empty((0, P.shape[1])),
                                           ref_p)
            gain[picked] = -np.inf
            if not np.any(gain > 0):                 # predicted front covered: the nearest to it next
                gain = -P[:, 0] - P[:, 1]
                gain[picked] = -np.inf
            picked.append(int(np.argmax(gain)))
        ratios = [hypervolume(Y[picked[:k]], ref) / hv_true for k in (10, 20, 30, 40)]
        print(f"{grid}: predicted front {len(F)} configurations; HV ratio after 10/20/30/40 picks "
              + " / ".join(f"{r:.4f}" for r in ratios), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("fit", "choice", "bound"))
    ap.add_argument("--n", type=int, default=25, help="training configurations per grid (fit)")
    a = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        {"fit": lambda: fit(a.n), "choice": choice, "bound": bound}[a.what]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
