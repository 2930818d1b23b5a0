"""Screen (twenty-first session, not adopted): epsilon-greedy model steps (after De Ath et al. 2021).

At each model step, with probability ``--epsilon``, the step does not take the acquisition's best candidate:
``--pick front`` takes one at random from the candidates the GPs' means put on the front of the observed
evaluations and the predicted remaining ones, ``--pick random`` one at random from every remaining candidate
(De Ath et al.'s "Greed is good" has both for one objective: epsilon-PF picks from the front of the model's
mean and sd, epsilon-RS at random). The runs that fall short of 0.99 on the TX2 grids have GPs confidently wrong about
level combinations never sampled; a few steps off the acquisition's choice may sample them. This runs
``bench_optimisation.py`` with the strategy's model step wrapped; every other argument goes to the benchmark::

    PYTHONPATH=. python benchmarks/screen_greedy.py --epsilon 0.1 --pick front \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

A patch of the library's strategy for a screen, reproducible: the draw uses the study's own random stream
(``SearchState.rng`` with a salt the strategy does not use).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfmodel.optimisation.bo as bo  # noqa: E402
from perfmodel.pareto import non_dominated  # noqa: E402
from profiling.space import config_key  # noqa: E402

_SALT = 71


def patch(epsilon: float, pick: str) -> None:
    """Wrap ``BOStrategy._model_step`` so that a share ``epsilon`` of model steps take the ``pick`` rule."""
    original = bo.BOStrategy._model_step

    def _model_step(self, state):
        got = original(self, state)
        if got is None or got[1] != "model" or len(state.objectives) < 2:
            return got
        r = state.rng(_SALT)
        if r.random() >= epsilon:
            return got
        configs, _ = self._cands.remaining(state)
        if pick == "random":
            return configs[int(r.integers(len(configs)))], "model"
        sign = np.where(np.asarray(state.maximize), -1.0, 1.0)
        cols = []
        for j, m in enumerate(state.objectives):
            keys = self._last[m][1]                  # the fit's columns, by configuration
            cols.append(sign[j] * self._last_values(m)[[keys[config_key(c)] for c in configs]])
        P = np.column_stack(cols)
        used = self._usable(state)
        if used is not None:
            Y = used[0]
            mask = non_dominated(np.vstack([Y, P]))[len(Y):]
        else:
            mask = np.zeros(len(P), dtype=bool)
        if not mask.any():
            mask = non_dominated(P)
        idx = np.flatnonzero(mask)
        return configs[int(idx[r.integers(len(idx))])], "model"

    bo.BOStrategy._model_step = _model_step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--epsilon", type=float, default=0.1, help="share of model steps off the acquisition's choice")
    ap.add_argument("--pick", choices=("front", "random"), default="front",
                    help="front: one of the means' predicted front; random: any remaining candidate")
    args, rest = ap.parse_known_args(argv)
    if not 0.0 <= args.epsilon <= 1.0:
        ap.error(f"--epsilon must be a share in [0, 1], got {args.epsilon!r}")
    patch(args.epsilon, args.pick)
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
