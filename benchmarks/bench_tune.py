"""PowerML trials: cost and score per (alpha, beta), like the seed's Figure 2.

Runs PowerML's six (alpha, beta) settings, each a study of ``--iters`` iterations (TPE via
perfmodel.optimisation, ``--n-init`` random start-up iterations), on digits 0/1 (100 train + 100 test,
the analogue of the seed's mnist_small). Hardware cost: a power sensor when one is readable, else the
cachegrind memory-access proxy (this machine has no power sensor). Writes a CSV of every iteration, a JSON
summary and a figure, and prints a Markdown table.

    .venv/bin/python benchmarks/bench_tune.py --kinds dffr --iters 10 --out benchmarks/out/tune

"Converged" follows the seed's use of the word: the iteration chosen (lowest cost) keeps a score within
``--tol`` of the accuracy-only trial's (trial 1). The seed reports failure for gamma < 0.4.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TRIALS = [(0.0, 0.0), (0.5, 0.2), (0.5, 0.05), (0.5, 0.0), (0.7, 0.05), (0.05, 0.5)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", default="dffr", help="comma list of dffr,cnn")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--n-init", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int, default=2, help="digits 0..N-1 (default 2, like mnist_small)")
    ap.add_argument("--n-train", type=int, default=100)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--tol", type=float, default=0.05)
    ap.add_argument("--trials", default="", help="indices (1-6) of the seed's trials to run; default all")
    ap.add_argument("--out", default="benchmarks/out/tune")
    args = ap.parse_args(argv)

    import pandas as pd

    from perfmodel.tune import load_data, select_energy_source, tune

    os.makedirs(args.out, exist_ok=True)
    energy = select_energy_source("auto")  # one instance: its proxy cache is shared by all trials
    data = load_data(args.n_train, args.n_test, args.classes, args.seed)
    picked = [int(i) for i in args.trials.split(",")] if args.trials else list(range(1, len(TRIALS) + 1))
    rows, hist = [], []
    for kind in args.kinds.split(","):
        base_score = None
        for i in picked:
            a, b = TRIALS[i - 1]
            t0 = time.time()
            r = tune(kind, a, b, args.iters, energy=energy, epochs=args.epochs, strategy="tpe",
                     n_init=args.n_init, seed=args.seed, data=data, progress=True)
            best = r.best
            h = r.history.assign(kind=kind, trial=i, alpha=a, beta=b, gamma=r.gamma)
            hist.append(h)
            if i == 1:
                base_score = best["score"]
            conv = None if base_score is None else bool(best["score"] >= base_score - args.tol)
            rows.append({"kind": kind, "trial": i, "alpha": a, "beta": b, "gamma": round(r.gamma, 3),
                         "score": best["score"], "train_cost": best["train_cost"], "infer_cost": best["infer_cost"],
                         "cost": best["cost"], "best_iteration": int(best["iteration"]),
                         "max_score_seen": float(r.history["score"].max()),
                         "config": {k: int(best[k]) for k in r.history.columns
                                    if k in ("layers", "width", "filters", "kernel", "batch_size")},
                         "converged": conv, "std_train_cost": float(r.history["train_cost"].std()),
                         "std_infer_cost": float(r.history["infer_cost"].std()), "seconds": time.time() - t0,
                         "source": r.source})
            print(f"{kind} trial {i} a={a} b={b}: score {best['score']:.3f} train {best['train_cost']:.3f} "
                  f"infer {best['infer_cost']:.3f} ({time.time() - t0:.0f} s)", flush=True)
    pd.concat(hist).to_csv(os.path.join(args.out, "history.csv"), index=False)
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump({"command": " ".join(["benchmarks/bench_tune.py", *(argv or sys.argv[1:])]),
                   "trials": rows}, fh, indent=2, default=str)
    print()
    print("| kind | trial | alpha | beta | gamma | score | train cost | infer cost | config | converged |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kind']} | {r['trial']} | {r['alpha']} | {r['beta']} | {r['gamma']} | {r['score']:.3f} | "
              f"{r['train_cost']:.3f} | {r['infer_cost']:.3f} | {r['config']} | {r['converged']} |")
    print(f"\ncost source: {rows[0]['source']}")
    _figure(pd.concat(hist), os.path.join(args.out, "powerml_trials.png"))
    return 0


def _figure(h, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(h.groupby(["kind", "trial"]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for (kind, trial), g in groups:
        lab = f"{kind} t{trial} a={g['alpha'].iloc[0]:g} b={g['beta'].iloc[0]:g}"
        axes[0].plot(g["iteration"], g["cost"].cummin(), marker="o", ms=3, label=lab)
        axes[1].plot(g["iteration"], g["score"], marker="o", ms=3, label=lab)
    axes[0].set(xlabel="iteration", ylabel="best cost so far (Eq. 2.6)")
    axes[1].set(xlabel="iteration", ylabel="test accuracy of the iteration")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
