"""Configuration-level prediction on the Jetson TX2 DVFS grid (datasets/flexibo-tx2), the TX1 design-space study's task.

For each of the four full-factorial grids (Xception at 200..800 px, 768 configurations each) and each
objective, train on a random 5 / 10 / 20 % of the grid and predict the rest, 10 seeds; report MAPE and the
share of predictions within +-10 %, per model (sparse polynomial, GP, gradient boosting = the TX1 design-space study's choice,
plain linear).

    .venv/bin/python benchmarks/bench_config_models.py                  # full run
    .venv/bin/python benchmarks/bench_config_models.py --seeds 2 --sizes 200x200   # quick look

``--models`` also takes ``gp-logknobs``, a screen that is not a ConfigModel option: the same GP (log
target, ARD, the same restarts) on features where each numeric knob with three or more positive levels
(the frequencies) enters as its logarithm (``profiling.encoding.Encoding.learn(..., log=...)``, the rule
the optimiser's GP inputs use), to measure what that encoding alone buys; ``gp-logknobs-additive`` is that GP
with the additive kernel (``GPRegressor(kernel="additive")``: the ARD Matern 5/2 term plus one first-order term
per input); ``gp-bottleneck`` is gp-logknobs on the log residual of a parametric mean written for this board
(``_bottleneck_mean``: a fixed time plus a smooth maximum of a CPU path, ``b / f_cpu * (1 + g / cores)``, and a
GPU path, ``c / f_gpu + e / f_emc``, plus ``h * cores``; seven positive parameters fitted by least squares on
the log), a screen of "time is set by the slower of the CPU and the GPU" that names the knobs' roles.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfmodel.models.config_model import ConfigModel  # noqa: E402
from perfmodel.models.metrics import mape, within  # noqa: E402
from perfmodel.tables import read_table  # noqa: E402

DATA = ROOT / "datasets" / "flexibo-tx2"
KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]
TARGETS = ["inference_time", "power_consumption"]


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no tabulate dependency)."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200x200,400x400,600x600,800x800")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--models", default="polynomial,gp,gbr,linear")
    ap.add_argument("--fractions", default="0.05,0.1,0.2")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--gp-restarts", type=int, default=2, help="GP restarts (library default 3)")
    ap.add_argument("--gp-iters", type=int, default=100, help="L-BFGS iterations per GP restart (default 100)")
    ap.add_argument("--csv", help="write every (size, target, model, fraction, seed) result here")
    ap.add_argument("--summarise", metavar="CSV", help="only print the summary of a (partial) --csv of a run")
    args = ap.parse_args(argv)
    if args.summarise:
        res = pd.read_csv(args.summarise)
        args.seeds = res["seed"].nunique()
        summarise(res, sorted(res["size"].unique()), args)
        return 0
    sizes, targets = args.sizes.split(","), args.targets.split(",")
    models, fractions = args.models.split(","), [float(f) for f in args.fractions.split(",")]
    # seeds outermost: an interrupted run still covers every condition (with fewer seeds)
    jobs = [(s, t, f, seed, m) for seed in range(args.seeds) for s in sizes for t in targets for f in fractions
            for m in models]
    tables = {s: read_table(DATA / f"tx2_sampled_output_xception_{s}.csv", knobs=KNOBS, objectives=targets)
              for s in sizes}
    rows = []
    if args.csv:
        Path(args.csv).write_text("")
    for size, target, frac, seed, model in tqdm(jobs, desc="fits", unit="fit"):
        df = tables[size]
        rng = np.random.default_rng(seed)
        n_train = max(int(round(frac * len(df))), 6)
        idx = rng.permutation(len(df))
        train, test = df.iloc[idx[:n_train]], df.iloc[idx[n_train:]]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = {"n_restarts": args.gp_restarts, "max_iters": args.gp_iters} if model.startswith("gp") else None
            if model in ("gp-logknobs", "gp-logknobs-additive"):
                kernel = "additive" if model.endswith("additive") else "matern52"
                pred = _gp_logknobs(df, train, test, target, {**params, "kernel": kernel}, seed)
            elif model == "gp-bottleneck":
                mean = _bottleneck_mean(train, train[target].to_numpy(dtype=float))
                pred = mean(test) * _gp_logknobs(df, train, test, target, {**params, "kernel": "matern52"}, seed,
                                                 y=train[target].to_numpy(dtype=float) / mean(train))
            else:
                m = ConfigModel(model=model, knobs=KNOBS, target=target, model_params=params,
                                random_state=seed).fit(train)
                pred = m.predict(test)
        rows.append({"size": size, "target": target, "model": model, "fraction": frac, "seed": seed,
                     "n_train": n_train, "mape": mape(test[target], pred), "within10": within(test[target], pred),
                     "fit_s": time.perf_counter() - t0})
        if args.csv:  # written as it goes, so a long run can be inspected or summarised early
            pd.DataFrame(rows[-1:]).to_csv(args.csv, mode="a", header=len(rows) == 1, index=False)
    summarise(pd.DataFrame(rows), sizes, args)
    return 0


def _gp_logknobs(df, train, test, target, params, seed, y=None):
    # The configuration model's GP (log target, ARD) with log-encoded numeric knobs of >= 3 positive levels
    # (``y``: the values to fit instead of the target's, e.g. ratios to a parametric mean).
    from perfmodel.models.gp import GPRegressor
    from profiling.encoding import Encoding

    log = [k for k in KNOBS if df[k].nunique() >= 3 and (df[k] > 0).all()]
    enc = Encoding.learn(train, KNOBS, log=log)
    gp = GPRegressor(log_target=True, random_state=seed, **params)
    y = train[target].to_numpy(dtype=float) if y is None else y
    return gp.fit(enc.transform(train), y).predict(enc.transform(test))


def _bottleneck_mean(train, y):
    # A parametric "slower of two paths" model of the TX2 grids (see the module docstring); returns f(df) -> values.
    from scipy.optimize import least_squares

    top = train[["core_freq", "gpu_freq", "emc_freq"]].max().to_numpy(dtype=float)

    def model(theta, d):
        a, b, c, e, g, h, k = np.exp(theta)
        n = 1.0 + d[KNOBS[:3]].to_numpy(dtype=float).sum(axis=1)
        f = d[["core_freq", "gpu_freq", "emc_freq"]].to_numpy(dtype=float) / top
        cpu, gpu = b / f[:, 0] * (1.0 + g / n), c / f[:, 1] + e / f[:, 2]
        return a + (cpu ** k + gpu ** k) ** (1.0 / k) + h * n

    start = np.log([0.05, 0.1, 0.1, 0.05, 1.0, 0.01, 3.0]) + np.log(np.median(y) / 0.3)
    start[-1], start[4] = np.log(3.0), 0.0
    fit = least_squares(lambda th: np.log(model(th, train)) - np.log(y), start,
                        bounds=(np.full(7, np.log(1e-6)), np.log([1e3, 1e3, 1e3, 1e3, 10, 1e3, 50])))
    return lambda d: model(fit.x, d)


def summarise(res: pd.DataFrame, sizes, args) -> None:
    agg = (res.groupby(["target", "fraction", "model"])
           .agg(n_train=("n_train", "mean"), mape=("mape", "mean"), mape_sd=("mape", "std"),
                within10=("within10", "mean"), fit_s=("fit_s", "mean")).reset_index())
    print(f"\nsizes: {', '.join(sizes)}; {args.seeds} seeds; GP {args.gp_restarts} restarts x {args.gp_iters} "
          "iterations; mean over sizes and seeds (sd over all runs)\n")
    print("| target | train share | model | train rows | MAPE % | sd | within +-10 % | fit+predict s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in agg.itertuples():
        print(f"| {r.target} | {r.fraction:.0%} | {r.model} | {r.n_train:.0f} | {r.mape:.2f} | {r.mape_sd:.2f} | "
              f"{100 * r.within10:.1f} % | {r.fit_s:.2f} |")
    per_size = res.groupby(["target", "size", "fraction", "model"])["mape"].mean().unstack("model")
    print("\nMAPE % per grid:\n")
    print(markdown(per_size.round(2).reset_index()))


if __name__ == "__main__":
    sys.exit(main())
