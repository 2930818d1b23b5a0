"""Screen (twentieth session, not adopted): some outputs' GPs on the clocks' linear values, the others on
their logarithms (the default, ``log_inputs=True``, takes the logarithms for every output's GP).

The TX2 grids' power is U-shaped in the GPU clock (it falls by 23-28 % from 140 to 497 MHz and rises
after), which the log scale puts far apart; time is about 1/f, which the log scale suits. This runs
``bench_optimisation.py`` with the strategy's model fit patched so that the outputs named by
``--linear-outputs`` get the linear encoding; every other argument goes to the benchmark::

    PYTHONPATH=. python benchmarks/screen_input_scale.py --linear-outputs power_consumption \\
        --budgets 10,20,40 --tpe-cap 40 --single-budget 0 --strategies bo --seeds 0-9 --raw FILE

(Every output linear is the benchmark's own ``--bo-options log_inputs=0``.) A patch of the library's code for
a screen: it stops with an error if the line it patches has changed.
"""
from __future__ import annotations

import argparse
import inspect
import os
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import perfmodel.optimisation.bo as bo  # noqa: E402

_FIT = "        gp.fit(Xd[ok], y[ok], None if prior_d is None else prior_d[ok], source=source, warp=warp)\n"
_PREDICT = "mu, sd = gp.predict_samples(X, prior_c"


def patch(linear_outputs: set[str]) -> None:
    """Make ``BOStrategy._fit_models`` encode the ``linear_outputs``' inputs without the log scale."""
    src = textwrap.dedent(inspect.getsource(bo.BOStrategy._fit_models))
    if _FIT not in src or _PREDICT not in src:
        raise SystemExit("screen_input_scale: BOStrategy._fit_models changed; update the patch")
    src = src.replace(_FIT, (
        "        lin = m in LINEAR_OUTPUTS\n"
        "        Xd_m = self._cands.encode(done_cfgs, linked=self.linked, log_inputs=False) if lin else Xd\n"
        "        X_m = self._cands.encode(configs, linked=self.linked, log_inputs=False) if lin else X\n"
        + _FIT.replace("Xd[ok]", "Xd_m[ok]"))).replace(_PREDICT, "mu, sd = gp.predict_samples(X_m, prior_c")
    ns = dict(vars(bo), LINEAR_OUTPUTS=set(linear_outputs))
    exec(compile(src, "screen_input_scale", "exec"), ns)
    bo.BOStrategy._fit_models = ns["_fit_models"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--linear-outputs", default="power_consumption",
                    help="comma list of outputs whose GP takes the clocks' linear values")
    args, rest = ap.parse_known_args(argv)
    patch({s for s in args.linear_outputs.split(",") if s})
    import bench_optimisation
    return bench_optimisation.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
