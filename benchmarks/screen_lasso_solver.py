"""Settings of the interaction equations' Lasso (perfmodel.interactions.model._select_refit), compared.

Fits the equation (degree chosen by cross-validation, max 3) on real tables with one Lasso setting and prints
per table the wall time, the degree, the nested CV RMSE of the whole procedure (selection + refit: the
honest error), R² and the number of terms. Rerun one setting per process:

    .venv/bin/python benchmarks/screen_lasso_solver.py default           # the code as it is
    .venv/bin/python benchmarks/screen_lasso_solver.py kw:max_iter=20000 # LassoCV with these arguments
    .venv/bin/python benchmarks/screen_lasso_solver.py kw:tol=1e-3
    .venv/bin/python benchmarks/screen_lasso_solver.py kw:eps=1e-2
    .venv/bin/python benchmarks/screen_lasso_solver.py lars              # LassoLarsCV instead of LassoCV

Times depend on the machine and its load; the CV RMSEs do not.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import pandas as pd

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))

import perfmodel.interactions.model as M  # noqa: E402
from bench_interactions import TX2_KNOBS, to_ghz  # noqa: E402
from perfmodel.interactions import fit_equation  # noqa: E402


def use(setting: str) -> None:
    """Replace the LassoCV the equations use by the named setting."""
    from sklearn.linear_model import LassoCV, LassoLarsCV

    if setting == "default":
        return
    if setting == "lars":
        M.LassoCV = lambda cv=None, random_state=None, **_: LassoLarsCV(cv=cv, max_iter=500)
        return
    if not setting.startswith("kw:"):
        raise SystemExit(f"unknown setting {setting!r}: default, lars or kw:name=value,...")
    extra = {k: float(v) if any(c in v for c in ".e") else int(v)
             for k, v in (x.split("=") for x in setting[3:].split(","))}

    def make(**kw):
        return LassoCV(**{**kw, **extra})
    M.LassoCV = make


def cases():
    for size in (200, 800):
        g = to_ghz(pd.read_csv(os.path.join(ROOT, f"datasets/flexibo-tx2/tx2_sampled_output_xception_{size}x{size}.csv"),
                               index_col=0))
        for obj in ("inference_time", "power_consumption"):
            yield f"flexibo-tx2 {size}x{size}, {obj}", g, TX2_KNOBS, obj
    dbg = to_ghz(pd.read_csv(os.path.join(ROOT, "datasets/unicorn/data/measurement/debug/single/TX2/NLP/data.csv"),
                             index_col=0))
    for obj in ("inference_time", "total_energy_consumption"):
        yield f"unicorn TX2 debug, {obj}", dbg, TX2_KNOBS + ["scheduler.policy", "vm.swappiness",
                                                             "vm.vfs_cache_pressure"], obj


def main() -> None:
    setting = sys.argv[1] if len(sys.argv) > 1 else "default"
    use(setting)
    warnings.simplefilter("ignore")
    print("| setting | table, objective | wall (s) | degree | CV RMSE | CV RMSE / std | R² | terms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, df, knobs, obj in cases():
        t = time.perf_counter()
        try:
            m = fit_equation(df, knobs, obj)
        except Exception as exc:  # a solver that fails is a result of the screen
            print(f"| {setting} | {name} | {time.perf_counter() - t:.1f} | failed: {type(exc).__name__}: "
                  f"{str(exc)[:60]} | | | | |", flush=True)
            continue
        print(f"| {setting} | {name} | {time.perf_counter() - t:.1f} | {m.degree_} | {m.cv_error_:.4g} | "
              f"{m.cv_nrmse_:.3f} | {m.r2_:.4f} | {len(m.coef_)} |", flush=True)


if __name__ == "__main__":
    main()
