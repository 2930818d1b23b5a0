"""Replicate (twenty-first session): the default BO with another random stream for its GPs' restarts.

Each GP fit optimises its hyper-parameters from a warm start and one random restart, seeded from the study's
random stream (``SearchState.rng(11 + j)`` for the j-th modelled output). This runs ``bench_optimisation.py``
with those salts shifted by ``--offset``, so that the same design, data and code draw other restarts: a
replicate of the default itself. How many runs pass 0.99 under it, and which, is the yardstick for the
variants' counts (how much of their difference the algorithm's own randomness already gives)::

    PYTHONPATH=. python benchmarks/screen_restart_seed.py --offset 1000 \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

Only the GPs' restart seeds change (with ``--strategies bo``; ParEGO draws its weights with salt 13, which
this would shift too): the design, tie breaks and every other draw keep their salts. ``--offset 0``
reproduces the recorded default runs exactly.
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from perfmodel.optimisation.base import SearchState  # noqa: E402

# the salts BOStrategy._fit_models seeds its GPs with: 11 + the output's index (objectives, then constraints)
GP_SALTS = range(11, 11 + 4)


def patch(offset: int) -> None:
    """Shift the GP restarts' salts of ``SearchState.rng`` by ``offset``."""
    original = SearchState.rng

    def rng(self, salt: int = 0):
        return original(self, salt + offset if salt in GP_SALTS else salt)

    SearchState.rng = rng


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--offset", type=int, default=1000, help="added to the GPs' salts (0: the default itself)")
    args, rest = ap.parse_known_args(argv)
    patch(args.offset)
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
