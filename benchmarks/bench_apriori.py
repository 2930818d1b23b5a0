"""A-priori constraints (HyperPower) on the replayed TX2 grids: what a constraint model skips, how much of that
was in fact infeasible, and what it saves a constrained search.

Each run minimises ``inference_time`` subject to ``power_consumption <= limit`` with the ``bo`` strategy (the
single-objective constrained EI of ``perfmodel explore --constraint``), once without a constraint model and once
with each model of ``--models``, on the same seed. The limit is a quantile of the grid's own power
(``--fractions 0.05,0.25,0.5``: about 5 %, 25 % and 50 % of the 768 configurations feasible). The constraint
models are the project's configuration models (``perfmodel fit --table``), fitted on earlier measurements that
the study does not see:

* ``sample``: the GP (``ConfigModel(model="gp")``, its own predictive std) on a random ``--sample-fraction``
  (10 %, 77 configurations) of the same grid, drawn with the run's seed: an earlier profiling campaign on the
  same board and network;
* ``sample-poly``: the polynomial (NeuralPower's model; no std, so 10 % relative error is assumed,
  ``DEFAULT_REL_STD``) on the same sample;
* ``sample-gbr``: gradient boosting on the same rows (no std: 10 % relative error assumed), a model whose trees
  can follow a step in the limited output;
* ``sample-warp``: the ``sample`` GP with input warping (``model_params={"input_warp": True}``, ``perfmodel
  fit --input-warp``): a learned Kumaraswamy CDF of each clock, which can steepen where power steps up;
* ``sample+prior``: the ``sample`` GP, also given as the prior mean of the study's power GP (``--prior`` and
  ``--constraint-model`` naming the same file): the model also tells the constrained EI where the limit lies;
* ``transfer``: the GP on the whole grid of the next smaller input size (the smallest: the next larger), the
  source of ``bench_optimisation.py``'s transfer priors. Power on these grids scales with the input size (the
  400x400 grid draws about 2.3x the 200x200 grid's), so this model shows what a model whose level is wrong
  does as a constraint (it may reject every configuration: the study refuses to start, counted as such).

Per run it records how many configurations were skipped, how many of those are infeasible in the table (a
replay: the table's value, never measured by the study), whether the constrained optimum itself was skipped,
the infeasible evaluations spent within the budget, the best feasible time found / the true constrained best
at each budget, and the evaluation at which the constrained optimum was found. Every figure is a replay.

About 6 s per study on one core. The figures' commands are in docs/optimisation-results.md (section
"A-priori constraints"); the main run, as two processes over seed halves (about 25 minutes), then one table:

    M=sample,sample-poly,sample+prior,transfer
    .venv/bin/python benchmarks/bench_apriori.py --seeds 0-4 --models $M --raw benchmarks/results/s15_apriori_s04_raw.csv
    .venv/bin/python benchmarks/bench_apriori.py --seeds 5-9 --models $M --raw benchmarks/results/s15_apriori_s59_raw.csv
    .venv/bin/python benchmarks/bench_apriori.py --markdown benchmarks/results/s15_apriori.md \\
        --from-raw benchmarks/results/s15_apriori_s04_raw.csv,benchmarks/results/s15_apriori_s59_raw.csv
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_optimisation import (DEFAULT_FILES, KNOBS, _size_key, grid_file, parse_seeds, replay,  # noqa: E402
                                transfer_source)
from perfmodel.errors import OptimisationError  # noqa: E402
from perfmodel.models.config_model import ConfigModel  # noqa: E402
from perfmodel.optimisation import optimize  # noqa: E402
from perfmodel.optimisation.constraints import OutputConstraint  # noqa: E402
from perfmodel.optimisation.priors import ModelPrior  # noqa: E402
from profiling.space import config_key  # noqa: E402

TIME, POWER = "inference_time", "power_consumption"
MODELS = ("sample", "sample-poly", "sample-gbr", "sample-warp", "sample+prior", "transfer")


def constraint_model(kind: str, files: list[str], f: str, table: pd.DataFrame, seed: int,
                     sample_fraction: float, metric: str = POWER) -> ConfigModel:
    """The configuration model behind one a-priori constraint (fitted on rows the study never sees)."""
    if kind == "transfer":
        return _transfer_model(transfer_source(files, f))
    rows = table.sample(n=max(2, int(round(sample_fraction * len(table)))), random_state=seed)
    model = {"sample-poly": "polynomial", "sample-gbr": "gbr"}.get(kind, "gp")
    params = {"input_warp": True} if kind == "sample-warp" else None
    return ConfigModel(model=model, knobs=KNOBS, target=metric, model_params=params, random_state=seed).fit(rows)


@functools.lru_cache(maxsize=None)
def _transfer_model(source: str) -> ConfigModel:
    """The GP on a whole neighbouring grid (one fit per source file; it does not depend on the seed)."""
    return ConfigModel(model="gp", knobs=KNOBS, target=POWER, random_state=0).fit(pd.read_csv(source))


def run(platform, table: pd.DataFrame, limit: float, seed: int, budget: int, model=None,
        confidence: float = 0.95, as_prior: bool = False, metric: str = POWER) -> dict:
    """One constrained study (``metric <= limit``); with ``model``, its a-priori constraint on ``metric`` (and
    with ``as_prior`` the prior mean of that output's GP)."""
    feasible = table[metric] <= limit
    best_row = table.loc[feasible, TIME].idxmin()
    true_best = float(table.loc[best_row, TIME])
    value_of = {config_key(dict(zip(KNOBS, r))): p for r, p in zip(table[KNOBS].itertuples(index=False),
                                                                    table[metric])}
    optimum_key = config_key(dict(zip(KNOBS, table.loc[best_row, KNOBS])))
    constraint = OutputConstraint(metric, "<=", limit)
    extra = {}
    if model is not None:
        prior = ModelPrior(model, platform.space(), label="constraint model")
        extra["constraint_models"] = [prior.constraint(constraint, confidence=confidence)]
        if as_prior:
            extra["prior_mean"] = {metric: prior.mean_function(metric)}
    out = {"limit": limit, "n_feasible": int(feasible.sum())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            study = optimize(platform, [TIME], constraints=[constraint], budget=budget, strategy="bo",
                             seed=seed, **extra)
        except OptimisationError as e:          # e.g. the model predicts every configuration infeasible
            out.update(refused=True, error=str(e), skipped=len(table), skipped_infeasible=int((~feasible).sum()),
                       skipped_feasible=int(feasible.sum()), optimum_skipped=True)
            return out
    skipped = [config_key(c) for c in study.skipped]
    missing = [k for k in skipped if k not in value_of]
    if missing:
        raise SystemExit(f"a skipped configuration is not in the table: {missing[0]}")
    skipped_feasible = sum(value_of[k] <= limit for k in skipped)
    res = study.results()
    t = np.where(res["feasible"], res[TIME], np.inf)
    traj = np.minimum.accumulate(t) / true_best
    hit = np.flatnonzero(traj <= 1 + 1e-12)
    out.update(refused=False, error="", skipped=len(skipped), skipped_infeasible=len(skipped) - skipped_feasible,
               skipped_feasible=int(skipped_feasible), optimum_skipped=optimum_key in set(skipped),
               infeasible_evals=int((~res["feasible"].to_numpy(bool)).sum()),
               optimum_at=float(hit[0] + 1) if len(hit) else np.inf)
    for b in (10, 20, budget):
        out[f"best{b}"] = float(traj[min(b, len(traj)) - 1])
        out[f"infeasible{b}"] = int((~res["feasible"].to_numpy(bool)[:b]).sum())
    return out


def summarise(df: pd.DataFrame, budget: int) -> str:
    """Markdown tables: what each model skipped, and the searches with and without it."""
    files = ", ".join(sorted(set(df["file"])))
    lines = [f"A-priori constraints, replays of {files} (minimise time subject to the constrained output <= "
             "its quantile in the table)", "",
             "| limit (share feasible) | model, confidence | runs | refused | skipped (mean) | of which feasible (mean) | "
             "optimum skipped | optimum found by 20 / by "
             f"{budget} | infeasible evaluations in {budget} (mean) | evaluation of the optimum (median) | "
             f"best / true best @10 (median, worst) | @20 (median, worst) | @{budget} (median, worst) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    df = df.copy()
    # one row per study: runs without a model repeat across --confidence values (the same seeds)
    none = df["model"] == "none"
    df = pd.concat([df[none].drop_duplicates(["file", "fraction", "seed"]), df[~none]], ignore_index=True)
    df["label"] = [m if m == "none" else f"{m}, {c:g}" for m, c in zip(df["model"], df["confidence"])]
    order = ["none", *[f"{m}, {c:g}" for c in sorted(set(df["confidence"])) for m in MODELS]]
    for frac, g in df.groupby("fraction", sort=True):
        for model in [m for m in order if m in set(g["label"])]:
            r = g[g["label"] == model]
            if not len(r):
                continue
            ran = r[~r["refused"].astype(bool)]

            def med_worst(col):
                if not len(ran):
                    return "-"
                return f"{ran[col].median():.3f} ({ran[col].max():.3f})"
            at = ran["optimum_at"].to_numpy(float) if len(ran) else np.array([np.inf])
            lines.append(
                f"| {frac:g} | {model} | {len(r)} | {int(r['refused'].astype(bool).sum())} | "
                f"{r['skipped'].mean():.0f} | {r['skipped_feasible'].mean():.1f} | "
                f"{int(r['optimum_skipped'].astype(bool).sum())} | {int((at <= 20).sum())} / "
                f"{int((at <= budget).sum())} | "
                f"{ran[f'infeasible{budget}'].mean():.1f} | "
                f"{np.median(at):.0f} | {med_worst('best10')} | {med_worst('best20')} | "
                f"{med_worst(f'best{budget}')} |"
                if len(ran) else
                f"| {frac:g} | {model} | {len(r)} | {int(r['refused'].astype(bool).sum())} | - | - | - | - | - | - "
                "| - | - | - |")
    lines += ["", "optimum found by B: runs whose best feasible time equals the table's constrained best within B "
              "evaluations; a skipped optimum can never be found. Worst: the largest ratio."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", default="200x200,400x400,600x600,800x800",
                    help="the shipped TX2 Xception grids to replay (comma-separated)")
    ap.add_argument("--file", help="a held-out table instead of the grids (same knobs; duplicate rows averaged, "
                                   "as the replay does; models sample, sample-poly, sample+prior)")
    ap.add_argument("--constrained", default=POWER, help=f"the output limited (default {POWER})")
    ap.add_argument("--seeds", default="0-9", help="'10' = 0..9, '5-9', or '1,4'")
    ap.add_argument("--fractions", default="0.05,0.25,0.5",
                    help="power limits as quantiles of each grid's power (the share of configurations feasible)")
    ap.add_argument("--models", default=",".join(MODELS), help=f"constraint models: {', '.join(MODELS)}")
    ap.add_argument("--budget", type=int, default=40, help="evaluations per study (default 40)")
    ap.add_argument("--confidence", type=float, default=0.95,
                    help="skip a configuration predicted infeasible with this probability (the CLI's default)")
    ap.add_argument("--sample-fraction", type=float, default=0.1,
                    help="share of the grid the sample models are fitted on (default 0.1: 77 configurations)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="leave out the studies without a constraint model (already in another raw file)")
    ap.add_argument("--raw", help="write every run to this CSV (as it goes)")
    ap.add_argument("--from-raw", help="summarise these raw CSVs (comma-separated) without running anything")
    ap.add_argument("--markdown", help="also write the summary to this file")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad:
        ap.error(f"--models: unknown model {bad[0]!r}; choose from {', '.join(MODELS)}")
    try:
        fractions = [float(x) for x in args.fractions.split(",")]
    except ValueError:
        ap.error(f"--fractions: not a list of numbers: {args.fractions!r}")
    if any(not 0 < x <= 1 for x in fractions):
        ap.error("--fractions: each share must be in (0, 1]")
    if not 0.5 <= args.confidence < 1:
        ap.error(f"--confidence must be in [0.5, 1), got {args.confidence}")
    if not 0 < args.sample_fraction < 1:
        ap.error(f"--sample-fraction must be in (0, 1), got {args.sample_fraction}")
    if args.file and not os.path.isfile(args.file):
        ap.error(f"--file: no such file: {args.file}")
    if args.file and "transfer" in models:
        ap.error("--file: the transfer model needs the neighbouring grids; leave it out of --models")
    if args.budget < 20:
        ap.error("--budget must be at least 20 (the tables report 10, 20 and the budget)")

    if args.from_raw:
        df = pd.concat([pd.read_csv(p) for p in args.from_raw.split(",")], ignore_index=True)
    else:
        from tqdm import tqdm

        import glob
        files = sorted(glob.glob(DEFAULT_FILES), key=_size_key)
        grids = [args.file] if args.file else [grid_file(g.strip()) for g in args.grids.split(",") if g.strip()]
        metric = args.constrained
        jobs = [(f, frac, seed) for f in grids for frac in fractions for seed in parse_seeds(args.seeds)]
        rows = []
        for f, frac, seed in tqdm(jobs, desc="constrained studies"):
            table = pd.read_csv(f)
            if args.file:                       # the grids have one row per configuration
                table = table.groupby(KNOBS, as_index=False)[[TIME, metric]].mean()
            platform = replay(f, KNOBS, [TIME, metric])
            limit = float(np.quantile(table[metric], frac))
            for model in ([] if args.no_baseline else ["none"]) + models:
                fitted = None if model == "none" else constraint_model(model, files, f, table, seed,
                                                                        args.sample_fraction, metric)
                row = {"file": os.path.basename(f), "fraction": frac, "seed": seed, "model": model,
                       "confidence": args.confidence,
                       **run(platform, table, limit, seed, args.budget, fitted, args.confidence,
                             as_prior=model.endswith("+prior"), metric=metric)}
                rows.append(row)
            if args.raw:
                os.makedirs(os.path.dirname(os.path.abspath(args.raw)), exist_ok=True)
                pd.DataFrame(rows).to_csv(args.raw, index=False)
        df = pd.DataFrame(rows)
    text = summarise(df, args.budget)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
