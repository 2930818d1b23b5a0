"""Screen (twenty-first session, not adopted): a random forest (SMAC's surrogate) beside the GPs in the average.

The runs that fall short of 0.99 on the TX2 grids miss front configurations whose log power the GPs predict
0.08-0.36 too high with a predictive sd of 0.01-0.12 (``diag_bo_front.py --runs 200x200:13,400x400:8 --probe
39``): power steps between neighbouring clock levels at some levels of another knob (on 400x400 with one core,
from 4640 to 7771 mW between CPU 1114 and 1267 MHz at GPU 1300 MHz), and a smooth model interpolates across
the step with confidence. Trees split at steps, and where no evaluation pins a step down their bootstrap
replicas disagree, so a forest is uncertain exactly there. This runs ``bench_optimisation.py`` with the strategy's model fit wrapped: every objective's fit gains
one more member, a random forest on the same inputs and on the GP's scale (log), with the mean and the
standard deviation over its trees (floored at ``--sd-floor``); EHVI is averaged over the members as it is
over the two kernels' fits (``--mode average``), or the forest replaces them (``--mode alone``)::

    PYTHONPATH=. python benchmarks/screen_forest.py --mode average \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

A patch of the library's strategy for a screen, reproducible: the forest's seed comes from the study's own
random stream (``SearchState.rng`` with a salt the strategy does not use).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from sklearn.ensemble import RandomForestRegressor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfmodel.optimisation.bo as bo  # noqa: E402

_SALT = 73


def forest_predictions(Xd: np.ndarray, y: np.ndarray, X: np.ndarray, seed: int, *, trees: int, leaf: int,
                       sd_floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd over a random forest's trees at ``X``, fitted on (``Xd``, ``y``)."""
    rf = RandomForestRegressor(n_estimators=trees, min_samples_leaf=leaf, max_features=5 / 6, bootstrap=True,
                               random_state=seed, n_jobs=1).fit(Xd, y)
    per_tree = np.array([t.predict(X) for t in rf.estimators_])
    return per_tree.mean(axis=0), np.maximum(per_tree.std(axis=0), sd_floor)


def patch(mode: str, trees: int, leaf: int, sd_floor: float) -> None:
    """Wrap ``BOStrategy._fit_models`` so that every objective's predictions gain a forest member."""
    original = bo.BOStrategy._fit_models

    def _fit_models(self, state, configs):
        models, Xd, X = original(self, state, configs)
        for j, m in enumerate(state.objectives):
            if m not in models:
                continue
            gp, y, mu, sd = models[m]
            ok = np.isfinite(y)
            seed = int(state.rng(_SALT + j).integers(2**31))
            fm, fs = forest_predictions(Xd[ok], gp.transform(y[ok]), X, seed, trees=trees, leaf=leaf,
                                        sd_floor=sd_floor)
            if mode == "alone":
                mu, sd = fm[None, :], fs[None, :]
            else:
                mu, sd = np.vstack([mu, fm]), np.vstack([sd, fs])
            models[m] = (gp, y, mu, sd)
        self._last = self._summarise(models, configs)
        return models, Xd, X

    bo.BOStrategy._fit_models = _fit_models


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--mode", choices=("average", "alone"), default="average",
                    help="average: the forest beside the GPs' fits; alone: the forest instead of them")
    ap.add_argument("--trees", type=int, default=50, help="trees in the forest")
    ap.add_argument("--leaf", type=int, default=1, help="minimum evaluations in a leaf")
    ap.add_argument("--sd-floor", type=float, default=0.01, help="smallest sd of the forest (model scale)")
    args, rest = ap.parse_known_args(argv)
    patch(args.mode, args.trees, args.leaf, args.sd_floor)
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
