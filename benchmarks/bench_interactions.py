"""Interaction equations and cross-group analyses on the real datasets (flexibo-tx2, unicorn).

Prints Markdown (equations with CV error, cross-size correlations, transfer of optima, study-vs-random
prediction error) and writes figures under docs/figures/interactions/. Rerun:

    .venv/bin/python benchmarks/bench_interactions.py            # full
    .venv/bin/python benchmarks/bench_interactions.py --quick    # max degree 2, fewer repeats

Frequencies are converted to GHz before fitting so that natural-unit coefficients are readable
(core_freq is in kHz in the files, gpu_freq and emc_freq in Hz).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import warnings

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from perfmodel import analysis  # noqa: E402
from perfmodel.interactions import fit_equation  # noqa: E402
from perfmodel.reports import figures  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
FIG = os.path.join(ROOT, "docs", "figures", "interactions")
TX2_KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]


def to_ghz(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    if "core_freq" in df:
        df["core_freq"] = df["core_freq"] / 1e6  # kHz -> GHz
    for c in ("gpu_freq", "emc_freq"):
        if c in df:
            df[c] = df[c] / 1e9  # Hz -> GHz
    return df


def flexibo() -> pd.DataFrame:
    files = sorted(glob.glob(os.path.join(ROOT, "datasets/flexibo-tx2/tx2_sampled_output_xception_*.csv")))
    return to_ghz(pd.concat([pd.read_csv(f, index_col=0) for f in files], ignore_index=True))


def md_table(df: pd.DataFrame, digits: int = 4) -> str:
    cols = list(map(str, df.columns))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(out)


def equation_block(label: str, m) -> str:
    eff = m.effects_.head(6)
    return "\n".join([
        f"**{label}** — degree {m.degree_} (CV RMSE by degree: "
        + ", ".join(f"{d}: {e:.3g}" for d, e in m.cv_errors_.items())
        + f"), R² = {m.r2_:.3f}, CV RMSE = {m.cv_error_:.3g} ({m.cv_nrmse_:.2f} of std), {len(m.coef_)} terms", "",
        "```", m.text(digits=3), "```", "",
        "Top effects (share of explained variance): " + "; ".join(f"{e.effect} {e.share:.2f}" for e in eff.itertuples()),
        ""])


def replay_tpe(table: pd.DataFrame, knobs, objective: str, n: int, seed: int) -> pd.DataFrame:
    """Optuna TPE over the recorded grid (a replay: every 'evaluation' is a table lookup)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lookup = table.groupby(knobs)[objective].mean()
    # The core-status knobs only take the patterns of the grid (1..4 enabled cores): one categorical for them.
    status = [k for k in knobs if k.endswith("_status")]
    rest = [k for k in knobs if k not in status]
    patterns = sorted({",".join(map(str, r)) for r in table[status].itertuples(index=False)})
    levels = {k: sorted(table[k].unique().tolist()) for k in rest}

    def f(trial):
        pat = dict(zip(status, map(int, trial.suggest_categorical("cores", patterns).split(","))))
        cfg = {**pat, **{k: trial.suggest_categorical(k, levels[k]) for k in rest}}
        trial.set_user_attr("config", cfg)
        return float(lookup.loc[tuple(cfg[k] for k in knobs)])

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(f, n_trials=n)
    rows = [{**t.user_attrs["config"], objective: t.value, "iteration": t.number} for t in study.trials]
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="max degree 2 and 3 repeats (for a fast check)")
    args = ap.parse_args()
    max_degree = 2 if args.quick else 3
    repeats = 3 if args.quick else 10
    os.makedirs(FIG, exist_ok=True)
    t0 = time.time()
    print(f"# bench_interactions ({'quick' if args.quick else 'full'}; max degree {max_degree})\n")

    # ---------------------------------------------------------------- flexibo-tx2: equations per size
    fx = flexibo()
    print("## flexibo-tx2 (Xception on Jetson TX2, full 768-config grid per input size)\n")
    effects = {}
    for size, g in fx.groupby("size", sort=False):
        for obj in ("inference_time", "power_consumption"):
            m = fit_equation(g, TX2_KNOBS, obj, max_degree=max_degree)
            print(equation_block(f"{obj}, {size}", m))
            if size == "200x200":
                effects[obj] = m.effects_
    with open(os.path.join(FIG, "flexibo_200_interactions.png"), "wb") as fh:
        fh.write(figures.interaction_heatmap(effects, TX2_KNOBS))

    # ------------------------------------------------------- cross-size correlations and transfer
    print("## flexibo-tx2: configurations across input sizes\n")
    for obj in ("inference_time", "power_consumption"):
        c = analysis.rank_correlations(fx, TX2_KNOBS, obj, by="size")
        print(f"Correlations of {obj} across sizes (768 common configurations):\n")
        print(md_table(c[["group_a", "group_b", "n_common", "spearman", "kendall", "pearson"]], 3), "\n")
        t = analysis.transfer_of_optima(fx, TX2_KNOBS, obj, by="size")
        print(f"Transfer of the {obj} optimum across sizes:\n")
        print(md_table(t[["source", "target", "rank", "n_configs", "regret"]], 3), "\n")
    on = analysis.pareto_by_group(fx, ["inference_time", "power_consumption"], by="size")
    print("Pareto-optimal configurations per size: "
          + ", ".join(f"{s}: {int(n)}" for s, n in on.groupby(fx["size"]).sum().items()) + "\n")
    with open(os.path.join(FIG, "flexibo_pareto.png"), "wb") as fh:
        fh.write(figures.pareto(fx, ["inference_time", "power_consumption"], on, "size"))

    # ------------------------------------------------------------ study (TPE replay) vs random
    print("## flexibo-tx2 200x200: TPE-chosen samples vs random samples (the Jetson TX1 design-space study, sec. 5.3)\n")
    print("Replay: optuna TPE minimising inference_time over the recorded grid (40 evaluations, table lookups); "
          f"gradient boosting trained on its 40 samples or on 40 random rows ({repeats} draws), scored on the "
          "configurations not sampled.\n")
    g200 = fx[fx["size"] == "200x200"]
    rows = []
    for seed in range(3 if args.quick else 5):
        st = replay_tpe(g200, TX2_KNOBS, "inference_time", 40, seed)
        if seed == 0:
            with open(os.path.join(FIG, "flexibo_tpe_convergence.png"), "wb") as fh:
                fh.write(figures.convergence(st, ["inference_time"]))
        for obj in ("inference_time", "power_consumption"):
            study = st.merge(g200[TX2_KNOBS + [obj]].drop_duplicates(TX2_KNOBS) if obj not in st else
                             g200[TX2_KNOBS].drop_duplicates(), on=TX2_KNOBS)
            r = analysis.bo_vs_random(study, g200, TX2_KNOBS, obj, repeats=repeats, seed=seed)
            rows.append({"objective": obj, "seed": seed,
                         "study_rmse": float(r.loc[r.sampler == "study", "rmse"].iloc[0]),
                         "random_rmse_mean": float(r.loc[r.sampler == "random", "rmse"].mean()),
                         "random_rmse_sd": float(r.loc[r.sampler == "random", "rmse"].std())})
    print(md_table(pd.DataFrame(rows), 3), "\n")

    # ----------------------------------------------------------------------------- unicorn
    print("## unicorn\n")
    dbg = to_ghz(pd.read_csv(os.path.join(ROOT, "datasets/unicorn/data/measurement/debug/single/TX2/NLP/data.csv"),
                             index_col=0))
    knobs = TX2_KNOBS + ["scheduler.policy", "vm.swappiness", "vm.vfs_cache_pressure"]
    print(f"measurement/debug/single/TX2/NLP/data.csv ({len(dbg)} rows, workload not named in the source):\n")
    for obj in ("inference_time", "total_energy_consumption"):
        print(equation_block(obj, fit_equation(dbg, knobs, obj, max_degree=max_degree)))
    xs = to_ghz(pd.read_csv(os.path.join(ROOT, "datasets/unicorn/data/sampled/Xavier/Image/Xavier_Image_sampled.csv"),
                            index_col=0))
    xknobs = [c for c in xs.columns if c not in ("inference_time", "total_energy_consumption")]
    print(f"sampled/Xavier/Image/Xavier_Image_sampled.csv ({len(xs)} rows, {len(xknobs)} knobs; gpu_freq holds "
          "CPU-like values in the source, see SOURCE.txt):\n")
    for obj in ("inference_time", "total_energy_consumption"):
        m = fit_equation(xs, xknobs, obj, max_degree=max_degree)
        print(equation_block(obj, m))
        print("".join(f"Note: {n}\n\n" for n in m.notes_ if "not tried" in n))
    # Cross-workload / cross-platform: the 'initial' files (25 configurations each).
    parts = []
    for plat in ("TX2", "Xavier"):
        for wl in ("Image", "NLP"):
            f = os.path.join(ROOT, f"datasets/unicorn/data/initial/single/{plat}/{wl}/{plat}_{wl}_initial.csv")
            parts.append(pd.read_csv(f).assign(platform=plat, workload=wl, group=f"{plat}/{wl}"))
    ini = pd.concat(parts, ignore_index=True)
    uk = [c for c in pd.read_csv(os.path.join(ROOT, "datasets/unicorn/data/sampled/Xavier/Image/Xavier_Image_sampled.csv"),
                                 index_col=0, nrows=1).columns if c not in ("inference_time", "total_energy_consumption")]
    c = analysis.rank_correlations(ini, uk, "inference_time", by="group")
    print("Correlations of inference_time across platform/workload (initial/*, 25 configurations each):\n")
    print(md_table(c[["group_a", "group_b", "n_common", "spearman", "kendall", "pearson"]], 3), "\n")
    print(f"(elapsed {time.time() - t0:.0f} s; figures in docs/figures/interactions/)")


if __name__ == "__main__":
    main()
