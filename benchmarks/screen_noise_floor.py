"""Screen (twenty-third session): a floor under the GPs' noise, stated as a relative measurement noise.

The surrogate's noise variance is bounded to ``[1e-6, 0.5]`` of the standardised variance. Traced on a short
run (``diag_bo_front.py --runs 200x200:13 --probe 20,30,40``), the power GP's fitted noise sits at that lower
bound at every model step: the GP treats the measurements as exact, so a configuration one memory-clock level
from an evaluated one is predicted with a standard deviation of 0.00 on the log scale (4.5 % off in truth)
and the acquisition ranks such neighbours of the front near the bottom, while late steps go to multi-core
configurations far from it. A measurement is never exact: a user who has profiled a board knows its repeatability (say 1 % in
time and power). This screen puts a floor under each GP's noise at that relative noise: ``sigma`` on the log
scale, i.e. a noise variance of at least ``(sigma / s)^2`` on the standardised scale, where ``s`` is the
standard deviation the log outputs were standardised by (outputs modelled as they are take ``sigma`` times
their mean, the same relative noise). The noise is still fitted above the floor::

    PYTHONPATH=. python benchmarks/screen_noise_floor.py --relative-noise 0.01 \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

``--relative-noise 0`` patches nothing: the default as it is.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from perfmodel.optimisation.gp import GPSurrogate  # noqa: E402


def floor_variance(sigma: float, outcome) -> float:
    """The standardised noise variance a relative noise ``sigma`` amounts to under the fitted ``outcome``
    transform (log: ``sigma`` on the log scale; as they are: ``sigma`` times the outputs' mean)."""
    scale = float(outcome.scale_)
    if not scale > 0:
        return 0.0
    if outcome.log_:
        return (sigma / scale) ** 2
    return (sigma * abs(float(outcome.mean_)) / scale) ** 2


def patch(sigma: float) -> None:
    """Floor every surrogate GP's noise variance at the relative noise ``sigma`` (0: no change)."""
    if sigma < 0:
        raise ValueError(f"the relative noise must be >= 0, got {sigma}")
    if sigma == 0:
        return
    original = GPSurrogate._hyper

    def _hyper(self):
        hyper = original(self)
        outcome = getattr(self, "outcome_", None)
        if outcome is None:
            return hyper
        floor = min(floor_variance(sigma, outcome), 0.5 * hyper.noise[1])
        return replace(hyper, noise_floor=max(hyper.noise_floor, floor))

    GPSurrogate._hyper = _hyper


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--relative-noise", type=float, default=0.01,
                    help="the floor's relative noise (sd on the log scale; default 0.01; 0: no floor)")
    args, rest = ap.parse_known_args(argv)
    if not args.relative_noise >= 0:
        print(f"error: --relative-noise must be >= 0, got {args.relative_noise}", file=sys.stderr)
        return 2
    patch(args.relative_noise)
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
