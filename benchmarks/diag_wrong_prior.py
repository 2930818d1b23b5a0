"""Diagnostic (issue 22t): how fast a deliberately wrong prior is dropped, step by step.

For the ``bo-wrong`` runs of ``bench_optimisation.py`` (prior = the grid's own values shuffled over the
configurations), replays the study with ask/tell and prints, after every model step, whether each objective's
surrogate kept the prior (the evidence selection) and its learned weight, and the hypervolume ratio of the
run against the same seed's plain ``bo`` run. Also how many of the design's prior-guided points lie on the
true front, and the same wrong prior with the plain design (``prior_design=space``: the run is plain ``bo``
until the evidence keeps the prior at some step), which separates what the prior-guided half of the design
costs from what the prior's weight in the model costs. Usage:

    PYTHONPATH=. python benchmarks/diag_wrong_prior.py --grid 200x200 --seeds 12,4
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_optimisation import KNOBS, OBJECTIVES, grid_file, hv_trajectory, replay, shuffled_prior, true_front  # noqa: E402
from perfmodel.optimisation import Study  # noqa: E402
from perfmodel.pareto import non_dominated  # noqa: E402
from profiling.space import config_key  # noqa: E402


def run(platform, table, seed, prior, budget=40, n_init=10, design="front"):
    space = platform.space()
    lookup = {config_key(space.validate({k: r[k] for k in KNOBS})): {m: float(r[m]) for m in OBJECTIVES}
              for _, r in table.iterrows()}
    study = Study(platform.space(), OBJECTIVES, n_init=n_init, seed=seed, prior_mean=prior,
                  bo_options={"prior_design": design} if prior else None)
    steps = []
    for _ in range(budget):
        t = study.ask()
        w = study.prior_weights() if prior else {}
        steps.append((t.number + 1, t.phase, w))
        study.tell(t, lookup[config_key(t.config)])
    return study, steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", default="200x200")
    ap.add_argument("--seeds", default="12")
    args = ap.parse_args(argv)
    platform = replay(grid_file(args.grid))
    table = platform.frame()
    Y = table[OBJECTIVES].to_numpy(float)
    F, ref, hv_true = true_front(Y)
    space = platform.space()
    front = {config_key(space.validate({k: r[k] for k in KNOBS}))
             for (_, r), nd in zip(table.iterrows(), non_dominated(Y)) if nd}
    for seed in (int(s) for s in args.seeds.split(",")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrong, steps = run(platform, table, seed, shuffled_prior(table, seed))
            plain, _ = run(platform, table, seed, None)
            spaced, steps_s = run(platform, table, seed, shuffled_prior(table, seed), design="space")
        tw = hv_trajectory(wrong.results()[OBJECTIVES].to_numpy(float), ref, hv_true)
        tp = hv_trajectory(plain.results()[OBJECTIVES].to_numpy(float), ref, hv_true)
        design = [t for t in wrong.trials[:10]]
        print(f"\n{args.grid} seed {seed}: HV@10/20/40 wrong {tw[9]:.3f} {tw[19]:.3f} {tw[39]:.3f}, "
              f"plain bo {tp[9]:.3f} {tp[19]:.3f} {tp[39]:.3f}; design points on the true front: wrong "
              f"{sum(config_key(t.config) in front for t in design)}, plain "
              f"{sum(config_key(t.config) in front for t in plain.trials[:10])}; first 5 design points shared: "
              f"{sum(config_key(a.config) == config_key(b.config) for a, b in zip(design[:5], plain.trials[:5]))}")
        kept = {m: [] for m in OBJECTIVES}
        for n, phase, w in steps:
            if phase == "model":
                for m in OBJECTIVES:
                    kept[m].append(w.get(m, 0.0))
        for m in OBJECTIVES:
            v = np.array(kept[m])
            print(f"  {m}: prior kept at {int((v != 0).sum())} of {len(v)} model steps "
                  f"(steps {[i + 11 for i in np.flatnonzero(v != 0)]}), weights when kept "
                  f"{np.round(v[v != 0], 2).tolist()}")
        ts = hv_trajectory(spaced.results()[OBJECTIVES].to_numpy(float), ref, hv_true)
        ks = {m: sum(w.get(m, 0.0) != 0 for n, ph, w in steps_s if ph == "model") for m in OBJECTIVES}
        first = next((i for i, (a, b) in enumerate(zip(spaced.trials, plain.trials))
                      if config_key(a.config) != config_key(b.config)), None)
        print(f"  wrong prior with the plain design (prior_design=space): HV@10/20/40 {ts[9]:.3f} {ts[19]:.3f} "
              f"{ts[39]:.3f}; prior kept at {ks} model steps; first evaluation that differs from plain bo: "
              f"{None if first is None else first + 1}")
        same = next((i for i, (a, b) in enumerate(zip(wrong.trials, plain.trials))
                     if config_key(a.config) != config_key(b.config)), None)
        print(f"  first evaluation that differs from plain bo: {None if same is None else same + 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
