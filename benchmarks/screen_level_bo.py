"""Screen (twenty-second session): a per-level term per knob in the BO surrogate's second kernel.

The runs that fall short of 0.99 on the TX2 grids miss front configurations whose log power the GPs predict
too high with a small predictive sd (``diag_bo_front.py --runs 200x200:13,400x400:8 --probe 39``): power steps
between neighbouring clock levels, and a smooth kernel carries the measured levels' values across the step with
confidence. A random effect per level of each knob (``v_j [x_j = x'_j]``) lets a measured level deviate from
its neighbours and leaves a level never measured with the extra variance ``v_j``, so the acquisition sees
where it does not know. The nineteenth session's prediction screen (``screen_level_kernel.py``) found such
terms slightly better for power at 40 training points, not for time.

The default surrogate averages the acquisition over two kernels' fits, ARD Matern 5/2 and the additive kernel
(that plus one first-order Matern 5/2 term per input). This runs ``bench_optimisation.py`` with the additive
kernel's first-order length-scales held at ``--level-lengthscale`` (default 1e-3, far below the smallest gap
between two levels of an input in the unit cube: 0.044, the log-scaled CPU clock's on the Xception grids),
which turns each first-order term into a per-level random effect whose variance the marginal likelihood sets::

    PYTHONPATH=. python benchmarks/screen_level_bo.py \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

A patch of the library's GP core for a screen only: ``kernel="additive"`` means the level kernel while it runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfmodel.models.gp_core as gp_core  # noqa: E402
import perfmodel.optimisation.gp as bo_gp  # noqa: E402


def level_kernel_class(GPy, level: float):
    """The additive kernel's GPy class with every first-order length-scale held at ``level``."""
    base = gp_core._additive_kernel(GPy)

    class LevelMatern52(base):
        def _parts(self, X, X2):
            D, ls, r, _ = super()._parts(X, X2)
            return D, ls, r, np.abs(D) / level

        def update_gradients_full(self, dL_dK, X, X2=None):
            # the parent's gradients take R from _parts; only the (held) first-order length-scales' is wrong
            super().update_gradients_full(dL_dK, X, X2)
            self.add_lengthscale.gradient = np.zeros(self.add_lengthscale.size)

        # gradients_X (input warping only): the first-order terms' part is zero at these distances (R >= 44)

    return LevelMatern52


def patch(level: float) -> None:
    """``kernel="additive"`` becomes Matern 5/2 plus a per-level term per input, in fits and predictions."""
    import GPy
    gp_core._ADDITIVE_KERN = level_kernel_class(GPy, level)
    original = bo_gp.fit_gp

    def fit_gp(*args, **kwargs):
        gp = original(*args, **kwargs)
        if gp.kernel == "additive":
            gp = dataclasses.replace(gp, add_lengthscale=np.full(len(gp.add_lengthscale), level))
        return gp

    bo_gp.fit_gp = fit_gp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--level-lengthscale", type=float, default=1e-3,
                    help="the first-order terms' length-scale in the unit cube (default 1e-3)")
    args, rest = ap.parse_known_args(argv)
    if not args.level_lengthscale > 0:
        ap.error(f"--level-lengthscale must be a positive length-scale, got {args.level_lengthscale!r}")
    patch(args.level_lengthscale)
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
