"""Configuration-level prediction on the Jetson TX2 DVFS grid (datasets/flexibo-tx2), the TX1 design-space study's task.

For each of the four full-factorial grids (Xception at 200..800 px, 768 configurations each) and each
objective, train on a random 5 / 10 / 20 % of the grid and predict the rest, 10 seeds; report MAPE and the
share of predictions within +-10 %, per model (sparse polynomial, GP, gradient boosting = the TX1 design-space study's choice,
plain linear).

    .venv/bin/python benchmarks/bench_config_models.py                  # full run
    .venv/bin/python benchmarks/bench_config_models.py --seeds 2 --sizes 200x200   # quick look

``--models`` also takes screens that are not ConfigModel options: ``gp-linknobs``, the GP with every knob
as its value (``log_knobs=False``: ConfigModel's GP before the frequencies entered as logarithms);
``gp-logknobs``, the GP with log-scaled frequencies (``log_knobs=True``; since that is ConfigModel's default
for the GP, the same as ``gp``, the name kept for the commands of earlier figures); ``gp-logknobs-additive``,
that GP with the additive kernel (``model_params={"kernel": "additive"}``: the ARD Matern 5/2 term plus one
first-order term per input); ``gp-average``, the geometric mean of those two GPs' predictions (the two-kernel
average that the optimiser's surrogate uses with several objectives); ``gp-gbr-average`` and
``gpwarp-gbr-average``, the geometric mean of the GP's (``gp``, or ``gp-warp``) and gradient boosting's
predictions, a blend of a smooth model and a tree model; ``gp-bottleneck``, the GP on the ratio to a parametric mean written for this
board (``_bottleneck_mean``: a fixed time plus a smooth maximum of a CPU path, ``b / f_cpu * (1 + g / cores)``,
and a GPU path, ``c / f_gpu + e / f_emc``, plus ``h * cores``; seven positive parameters fitted by least
squares on the log), a screen of "time is set by the slower of the CPU and the GPU" that names the knobs' roles;
``gp-linked``, the GP with the optimiser's linked inputs (knobs that only move together, the per-core flags,
merged into one input, their sum), and ``gp-linked-log``, the same with that sum plus one (the number of cores)
log-scaled as the clocks are. ``gp-monotone``, the GP on the ratio to a monotone additive mean that names no
knob's role, the optimiser's ``mean="monotone"`` prior (``Candidates.monotone_basis``, ``bo.monotone_prior``): a
non-negative least-squares fit, on the target's own scale, of a constant and ``r / max(r)``, ``1 / r`` of every GP
input, ``r`` the input as a ratio to its smallest level (``f / f_min`` for a clock, the number of cores for the
linked per-core flags, ``1 + u`` for other inputs); every term can only raise or only lower the target, which is
how a clock acts on time (``1 / f``) and on power (``f``). ``gp-warp``, the GP with input warping
(``model_params={"input_warp": True}``, ``perfmodel fit --input-warp``: a learned Kumaraswamy CDF of each
input with three or more levels), and ``gp-warp-additive``, that GP with the additive kernel as well.

``--heldout`` runs the same comparison on tables that no default was chosen on, with a fixed number of
training rows (``--train-rows``, 77 = 10 % of a grid): ``flexibo-tx2/it_ec_te_obj.csv`` (another TX2 grid:
inference time, energy, temperature), Unicorn's TX2 NLP debug measurements (the six DVFS knobs and three
kernel settings) and Unicorn's sampled Xavier Image table (26 hardware and kernel knobs)::

    .venv/bin/python benchmarks/bench_config_models.py --heldout --models gp,gp-linknobs,gbr --seeds 6
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
UNICORN = ROOT / "datasets" / "unicorn" / "data"
# held-out tables: name -> (file, knob columns (None: every column but the targets and unnamed indices), targets)
HELDOUT = {
    "tx2-it-ec-te": (DATA / "it_ec_te_obj.csv", KNOBS, ["inference_time", "energy_consumption", "temperature"]),
    "tx2-nlp-debug": (UNICORN / "measurement" / "debug" / "single" / "TX2" / "NLP" / "data.csv",
                      KNOBS + ["scheduler.policy", "vm.swappiness", "vm.vfs_cache_pressure"],
                      ["inference_time", "total_energy_consumption"]),
    "xavier-image": (UNICORN / "sampled" / "Xavier" / "Image" / "Xavier_Image_sampled.csv", None,
                     ["inference_time", "total_energy_consumption"]),
}


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
    ap.add_argument("--heldout", action="store_true",
                    help="the held-out tables (see above) instead of the four Xception grids")
    ap.add_argument("--train-rows", type=int, default=77, help="training rows per split with --heldout (77)")
    ap.add_argument("--csv", help="write every (size, target, model, fraction, seed) result here")
    ap.add_argument("--summarise", metavar="CSV", help="only print the summary of a (partial) --csv of a run")
    args = ap.parse_args(argv)
    if args.summarise:
        res = pd.read_csv(args.summarise)
        args.seeds = res["seed"].nunique()
        summarise(res, sorted(res["size"].unique()), args)
        return 0
    models = args.models.split(",")
    if args.heldout:
        tables = {name: heldout_table(name) for name in HELDOUT}
        sizes, fractions = list(HELDOUT), [None]
    else:
        sizes, fractions = args.sizes.split(","), [float(f) for f in args.fractions.split(",")]
        tables = {s: (read_table(DATA / f"tx2_sampled_output_xception_{s}.csv", knobs=KNOBS, objectives=TARGETS),
                      KNOBS, args.targets.split(",")) for s in sizes}
    # seeds outermost: an interrupted run still covers every condition (with fewer seeds)
    jobs = [(s, t, f, seed, m) for seed in range(args.seeds) for s in sizes for t in tables[s][2]
            for f in fractions for m in models]
    rows = []
    if args.csv:
        Path(args.csv).write_text("")
    for size, target, frac, seed, model in tqdm(jobs, desc="fits", unit="fit"):
        df, knobs, _ = tables[size]
        rng = np.random.default_rng(seed)
        n_train = args.train_rows if frac is None else max(int(round(frac * len(df))), 6)
        idx = rng.permutation(len(df))
        train, test = df.iloc[idx[:n_train]], df.iloc[idx[n_train:]]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = {"n_restarts": args.gp_restarts, "max_iters": args.gp_iters} if model.startswith("gp") else None
            pred = predict(model, train, test, knobs, target, params, seed)
        rows.append({"size": size, "target": target, "model": model,
                     "fraction": n_train / len(df) if frac is None else frac, "seed": seed,
                     "n_train": n_train, "mape": mape(test[target], pred), "within10": within(test[target], pred),
                     "fit_s": time.perf_counter() - t0})
        if args.csv:  # written as it goes, so a long run can be inspected or summarised early
            pd.DataFrame(rows[-1:]).to_csv(args.csv, mode="a", header=len(rows) == 1, index=False)
    summarise(pd.DataFrame(rows), sizes, args)
    return 0


def heldout_table(name: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(rows, knobs, targets) of a held-out table: complete rows with positive targets."""
    path, knobs, targets = HELDOUT[name]
    raw = pd.read_csv(path)
    knobs = knobs or [c for c in raw.columns if c not in targets and not c.startswith("Unnamed")]
    df = raw[knobs + targets].dropna()
    return df[(df[targets] > 0).all(axis=1)].reset_index(drop=True), knobs, targets


def predict(model: str, train, test, knobs, target, params, seed) -> np.ndarray:
    """Predictions of ``model`` (a ConfigModel kind or a screen, see the module docstring) for ``test``."""
    screens = {"gp-linknobs": ({}, False), "gp-logknobs": ({}, True),
               "gp-logknobs-additive": ({"kernel": "additive"}, True), "gp-bottleneck": ({}, True),
               "gp-warp": ({"input_warp": True}, True),
               "gp-warp-additive": ({"input_warp": True, "kernel": "additive"}, True)}
    blends = {"gp-average": ("gp-logknobs", "gp-logknobs-additive"), "gp-gbr-average": ("gp", "gbr"),
              "gpwarp-gbr-average": ("gp-warp", "gbr")}
    if model in blends:
        both = [predict(m, train, test, knobs, target, params if m.startswith("gp") else None, seed)
                for m in blends[model]]
        return np.exp(np.mean(np.log(both), axis=0))
    if model in ("gp-linked", "gp-linked-log"):
        # the optimiser's linked inputs: knobs that only move together (the per-core flags, 000/100/110/111
        # over the grid) become one input, their sum (plus one: the number of cores, log-scaled, for -log)
        from perfmodel.optimisation.candidates import linked_groups

        groups = [g for g in linked_groups(pd.concat([train, test])[knobs].to_numpy(dtype=float)) if len(g) > 1]
        merged = [knobs[j] for g in groups for j in g]

        def inputs(d):
            out = d[[k for k in knobs if k not in merged]].copy()
            for i, g in enumerate(groups):
                out[f"linked{i}"] = d[[knobs[j] for j in g]].to_numpy(dtype=float).sum(axis=1) \
                    + (1.0 if model.endswith("-log") else 0.0)
            return out

        cols = list(inputs(train.head(1)).columns)
        gp = ConfigModel(model="gp", knobs=cols, target=target, model_params=params, random_state=seed)
        return gp.fit(inputs(train), train[target].to_numpy(dtype=float)).predict(inputs(test))
    if model == "gp-monotone":
        y = train[target].to_numpy(dtype=float)
        m_train, m_test = _monotone_mean(pd.concat([train, test])[knobs], train, test, y)
        gp = ConfigModel(model="gp", knobs=knobs, target=target, model_params=params, random_state=seed)
        return m_test * gp.fit(train[knobs], y / m_train).predict(test[knobs])
    if model not in screens:
        return ConfigModel(model=model, knobs=knobs, target=target, model_params=params,
                           random_state=seed).fit(train).predict(test)
    extra, log = screens[model]
    gp = ConfigModel(model="gp", knobs=knobs, target=target, model_params={**params, **extra}, random_state=seed,
                     log_knobs=log)
    y = train[target].to_numpy(dtype=float)
    if model != "gp-bottleneck":
        return gp.fit(train[knobs], y).predict(test[knobs])
    mean = _bottleneck_mean(train, y)
    return mean(test) * gp.fit(train[knobs], y / mean(train)).predict(test[knobs])


def _monotone_mean(space, train, test, y):
    # The monotone additive mean of ``gp-monotone`` (module docstring) at ``train`` and ``test``: the optimiser's
    # basis and fit (``Candidates.monotone_basis``, ``monotone_prior``), ``space`` holding the grid's configurations.
    from perfmodel.optimisation.bo import monotone_prior
    from perfmodel.optimisation.candidates import Candidates
    from profiling.space import ConfigSpace, identifier_for

    names = {k: identifier_for(k) for k in space.columns}         # a knob name must be an identifier
    cands = Candidates(ConfigSpace.from_table(space.rename(columns=names), list(names.values())))
    B_train, B_test = (cands.monotone_basis(d[list(names)].rename(columns=names).to_dict("records"))
                       for d in (train, test))
    _, values = monotone_prior(B_train, y, np.vstack([B_train, B_test]))
    return values[:len(train)], values[len(train):]


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
