"""Screen (nineteenth session, not adopted): does a per-level term per knob help the GP predict the TX2 grids?

The grids' power jumps between neighbouring CPU clocks (see docs/optimisation-results.md, "Why the worst runs
stall"), which a stationary kernel cannot follow. This throw-away screen fits GPy GPs directly (not the
project's GP core) on random subsets of each Xception grid (log outputs, standardised; log-scaled clocks and
the core flags in the unit cube) with four kernels:

* 0: ARD Matern 5/2;
* 1: that plus one "level" term per knob, ``v_j * [x_j == x'_j]`` (an RBF of fixed length-scale 1e-3 on input
  j: a random effect per level, variance learned);
* 2: the additive kernel (ARD Matern 5/2 plus a first-order Matern 5/2 term per knob), as ``kernel=additive``;
* 3: the additive kernel plus the level terms;

and prints the mean test MAPE (%) and negative log predictive density (log scale) on the configurations left
out, per grid and output and pooled::

    OMP_NUM_THREADS=1 python benchmarks/screen_level_kernel.py --train 77 --seeds 4
    OMP_NUM_THREADS=1 python benchmarks/screen_level_kernel.py --train 40 --seeds 6
"""
from __future__ import annotations

import argparse
import glob
import os
import warnings

import numpy as np
import pandas as pd

KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def encode(d: pd.DataFrame) -> np.ndarray:
    cols = []
    for k in KNOBS:
        v = d[k].astype(float).values
        v = np.log(v) if k.endswith("freq") else v
        cols.append((v - v.min()) / (v.max() - v.min()))
    return np.column_stack(cols)


def fit(GPy, X: np.ndarray, z: np.ndarray, variant: int):
    d = X.shape[1]
    k = GPy.kern.Matern52(d, ARD=True)
    if variant >= 2:
        for j in range(d):
            k = k + GPy.kern.Matern52(1, active_dims=[j], name=f"add{j}")
    if variant in (1, 3):
        for j in range(d):
            r = GPy.kern.RBF(1, active_dims=[j], lengthscale=1e-3, name=f"level{j}")
            r.lengthscale.fix()
            r.variance = 0.05
            k = k + r
    m = GPy.models.GPRegression(X, z[:, None], k)
    m.likelihood.variance = 0.01
    m.likelihood.variance.constrain_bounded(1e-6, 0.5, warning=False)
    m.optimize(max_iters=300)
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=77, help="training configurations per fit (default 77)")
    ap.add_argument("--seeds", type=int, default=4, help="random subsets per grid and output (default 4)")
    args = ap.parse_args(argv)
    import GPy
    warnings.filterwarnings("ignore")
    rows = []
    for path in sorted(glob.glob(os.path.join(HERE, "datasets/flexibo-tx2/tx2_sampled_output_xception_*.csv"))):
        d = pd.read_csv(path)
        X = encode(d)
        grid = path.rsplit("_", 1)[-1][:-4]
        for out in ("inference_time", "power_consumption"):
            y = np.log(d[out].values)
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                tr = rng.choice(len(d), args.train, replace=False)
                te = np.setdiff1d(np.arange(len(d)), tr)
                mu, sd = y[tr].mean(), y[tr].std()
                for variant in range(4):
                    m = fit(GPy, X[tr], (y[tr] - mu) / sd, variant)
                    p, v = m.predict(X[te])
                    p, v = p[:, 0] * sd + mu, v[:, 0] * sd * sd
                    mape = 100 * np.mean(np.abs(np.exp(p) - np.exp(y[te])) / np.exp(y[te]))
                    nlpd = np.mean(0.5 * np.log(2 * np.pi * v) + 0.5 * (y[te] - p) ** 2 / v)
                    rows.append((grid, out, seed, variant, mape, nlpd))
    r = pd.DataFrame(rows, columns=["grid", "output", "seed", "kernel", "mape_pct", "nlpd"])
    print(r.groupby(["grid", "output", "kernel"])[["mape_pct", "nlpd"]].mean().unstack("kernel").round(3))
    print(r.groupby(["output", "kernel"])[["mape_pct", "nlpd"]].mean().unstack("kernel").round(3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
