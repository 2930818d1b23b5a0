"""Shape_DNN on scikit-learn's digits: predicted vs trained accuracy and trainings avoided.

1. Exhaustive ground truth: every shape of the design space is trained (``--epochs``) and its latency
   timed on this CPU (batch ``--batch``).
2. Accuracy model: for each sampling x modelling strategy (and ridge 0 / ``--ridge``), the model is fitted on
   the shapes the strategy trains and its error measured on all the others.
3. Algorithm 1 scenarios like Shape_DNN's Table 3 (max size -> most accurate; min accuracy -> fastest /
   smallest): the shape chosen, its predicted and trained accuracy, trainings done vs exhaustive, and
   whether it is the shape exhaustive search would have chosen. Trainings reuse step 1's results (same
   seed, so identical), and latencies are step 1's measurements replayed (labelled so).

    .venv/bin/python benchmarks/bench_shape.py --preset digits --epochs 6 --out benchmarks/out/shape
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Replay:
    """Trainer/cost source that replays the exhaustive run (so scenario trainings are counted, not rerun)."""

    def __init__(self, acc, lat):
        self.acc, self.lat = acc, lat
        self.source = "measured:cpu (timed once per shape, replayed)"

    def __call__(self, shape):
        return {**self.acc[shape], "cached": False}

    def predict_costs(self, net):
        return {"runtime_s": self.lat[net.shape], "energy_j": None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="digits")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--ridge", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/out/shape")
    ap.add_argument("--reuse", metavar="CSV",
                    help="take accuracies (and latencies) from a previous run's exhaustive.csv instead of training")
    ap.add_argument("--retime", action="store_true", help="with --reuse: time the latencies again")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from perfmodel.errors import OptimisationError
    from perfmodel.shape import (PRESETS, Constraints, DigitsTrainer, InversePolynomialAccuracy, MeasuredCosts,
                                 build, n_to_train, select, shape_search)

    os.makedirs(args.out, exist_ok=True)
    space, l2 = PRESETS[args.preset]
    shapes = space.shapes()
    trainer = DigitsTrainer(epochs=args.epochs, l2=l2, seed=args.seed)
    meas = MeasuredCosts(batch_size=args.batch)
    acc, lat = {}, {}
    t0 = time.time()
    if args.reuse:
        old = pd.read_csv(args.reuse)
        for s in shapes:
            r = old[(old["depth"] == s.depth) & np.isclose(old["width"], float(s.width))].iloc[0]
            acc[s] = {"accuracy": float(r["accuracy"]), "train_time_s": float(r["train_time_s"])}
            lat[s] = float(r["latency_ms"]) / 1e3
    for s in tqdm(shapes, desc="exhaustive"):
        if not args.reuse:
            acc[s] = trainer(s)
        if not args.reuse or args.retime:
            lat[s] = meas.predict_costs(build(s, trainer.input_shape))["runtime_s"]
    exhaustive_s = time.time() - t0
    from perfmodel.shape import count_params

    truth = pd.DataFrame([{"depth": s.depth, "width": float(s.width), "params": count_params(s),
                           "accuracy": acc[s]["accuracy"], "train_time_s": acc[s]["train_time_s"],
                           "latency_ms": lat[s] * 1e3} for s in shapes])
    truth.to_csv(os.path.join(args.out, "exhaustive.csv"), index=False)

    # 2. accuracy-model error per strategy
    X_all = np.array([[s.depth, float(s.width)] for s in shapes])
    y_all = np.array([acc[s]["accuracy"] for s in shapes])
    model_rows = []
    for modelling in ("thorough", "standard", "optimistic"):
        m = n_to_train(len(shapes), modelling)
        for sampling in ("interval", "random", "wider"):
            for ridge in (0.0, args.ridge):
                errs, base = [], []
                for rep in range(5 if sampling == "random" else 1):
                    picked = select(shapes, m, sampling, seed=rep)
                    idx = [shapes.index(s) for s in picked]
                    rest = [i for i in range(len(shapes)) if i not in idx]
                    est = InversePolynomialAccuracy(alpha=ridge).fit(X_all[idx], y_all[idx])
                    errs.append(np.abs(est.predict(X_all[rest]) - y_all[rest]).mean() if rest else np.nan)
                    # trivial reference: predict the mean accuracy of the trained shapes
                    base.append(np.abs(y_all[idx].mean() - y_all[rest]).mean() if rest else np.nan)
                model_rows.append({"modelling": modelling, "sampling": sampling, "ridge": ridge, "trained": m,
                                   "of": len(shapes), "mae_untrained": float(np.nanmean(errs)),
                                   "mae_mean_of_trained": float(np.nanmean(base))})
    model_df = pd.DataFrame(model_rows)

    # 3. Algorithm 1 scenarios
    rep = Replay(acc, lat)
    sizes = sorted({int(round(q)) for q in np.quantile(truth["params"] * 4 / 1e3, [0.3, 0.6, 1.0])})
    accs = sorted({round(float(q), 3) for q in np.quantile(y_all, [0.3, 0.6, 0.85])})
    scenarios = [("accuracy", Constraints(max_size_bytes=kb * 1e3)) for kb in sizes]
    scenarios += [("latency", Constraints(min_accuracy=a)) for a in accs]
    scenarios += [("size", Constraints(min_accuracy=a)) for a in accs]
    rows = []
    for goal, cons in scenarios:
        for ridge in (0.0, args.ridge):
            try:
                r = shape_search(space, rep, rep, constraints=cons, goal=goal, ridge_alpha=ridge,
                                 input_shape=trainer.input_shape, seed=args.seed)
            except OptimisationError as exc:
                rows.append({"goal": goal, "ridge": ridge, **_cons(cons), "error": str(exc)})
                continue
            ch = r.chosen_row()
            best = _exhaustive_best(truth, goal, cons)
            trained_time = sum(acc[s]["train_time_s"] for s in shapes
                               if np.isfinite(r.table.loc[shapes.index(s), "trained_accuracy"]))
            rows.append({"goal": goal, "ridge": ridge, **_cons(cons), "chosen": r.chosen.label(),
                         "predicted": ch["predicted_accuracy"], "trained": ch["trained_accuracy"],
                         "latency_ms": ch["runtime_s"] * 1e3 if ch["runtime_s"] else None,
                         "size_kb": ch["size_bytes"] / 1e3, "n_trained": r.n_trained,
                         "n_exhaustive": r.n_exhaustive, "avoided": r.trainings_avoided,
                         "speedup_count": r.speedup,
                         "speedup_time": _exhaustive_time(r, acc, shapes) / trained_time if trained_time else None,
                         "fallbacks": sum("falling back" in n for n in r.notes),
                         "exhaustive_choice": best, "same_as_exhaustive": best == r.chosen.label()})
    scen = pd.DataFrame(rows)
    scen.to_csv(os.path.join(args.out, "scenarios.csv"), index=False)
    model_df.to_csv(os.path.join(args.out, "accuracy_model.csv"), index=False)
    summary = {"command": " ".join(["benchmarks/bench_shape.py", *(argv or sys.argv[1:])]),
               "space": space.to_dict(), "epochs": args.epochs, "exhaustive_wall_s": exhaustive_s,
               "total_train_time_s": float(truth["train_time_s"].sum()),
               "accuracy_range": [float(y_all.min()), float(y_all.max())], "cost_source": rep.source}
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    print(json.dumps(summary, indent=2))
    print("\nExhaustive ground truth\n")
    print(_md(truth))
    print("\nAccuracy model: mean absolute error on the shapes not trained\n")
    print(_md(model_df))
    print("\nAlgorithm 1 scenarios\n")
    print(_md(scen))
    _figure(truth, scen, os.path.join(args.out, "shape_accuracy.png"))
    return 0


def _md(df) -> str:
    def f(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(f(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _exhaustive_time(r, acc, shapes):
    # training time of every shape left after the non-functional filters (what exhaustive search trains)
    t = r.table
    keep = ~t["dropped_by"].isin(["max_size", "max_latency", "max_energy"])
    return sum(acc[s]["train_time_s"] for s, k in zip(shapes, keep) if k)


def _cons(c):
    return {"max_size_kb": None if c.max_size_bytes is None else c.max_size_bytes / 1e3,
            "min_accuracy": c.min_accuracy}


def _exhaustive_best(truth, goal, cons):
    t = truth
    if cons.max_size_bytes is not None:
        t = t[t["params"] * 4 <= cons.max_size_bytes]
    if cons.min_accuracy is not None:
        t = t[t["accuracy"] >= cons.min_accuracy]
    if t.empty:
        return None
    key = {"accuracy": ("accuracy", False), "latency": ("latency_ms", True), "size": ("params", True)}[goal]
    r = t.sort_values(key[0], ascending=key[1]).iloc[0]
    from fractions import Fraction

    w = Fraction(r["width"]).limit_denominator(64)
    return f"({int(r['depth'])}, {w.numerator if w.denominator == 1 else f'{w.numerator}/{w.denominator}'})"


def _figure(truth, scen, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = scen.dropna(subset=["trained"]) if "trained" in scen else scen
    fig, ax = plt.subplots(figsize=(4.5, 4))
    for ridge, g in ok.groupby("ridge"):
        ax.scatter(g["predicted"], g["trained"], label=f"ridge {ridge:g}", alpha=0.8)
    lo = min(ok["predicted"].min(), ok["trained"].min()) - 0.01
    hi = max(ok["predicted"].max(), ok["trained"].max()) + 0.01
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set(xlabel="predicted accuracy (chosen shape)", ylabel="trained accuracy", title="Shape_DNN on digits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
