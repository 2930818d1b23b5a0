"""Summary of the issue-22 s7i runs against the default on the same runs (same file and seed).

    python benchmarks/summarise_s7i.py DEFAULT_RAW[,DEFAULT_RAW...] VARIANT_RAW [VARIANT_RAW ...]

Each variant raw file is compared run by run with the default's runs of the same (file, seed) found in the
default raw files (comma list); prints median (worst) at 20 and 40, runs >= 0.99 / >= 0.98 at 40, and the
paired differences at 40 (better / worse by more than 0.01).
"""
import sys

import pandas as pd

base = pd.concat([pd.read_csv(f) for f in sys.argv[1].split(",")])
base = base[base.strategy == "bo"].drop_duplicates(["file", "seed"]).set_index(["file", "seed"])
print("| variant | runs | HV@20 median (worst) | HV@40 median (worst) | >= 0.99 / >= 0.98 @40 | "
      "paired @40: better / worse by > 0.01 |")
print("|---|---|---|---|---|---|")
for f in sys.argv[2:]:
    d = pd.read_csv(f)
    d = d[d.strategy == "bo"].set_index(["file", "seed"])
    b = base.loc[d.index]
    for name, g in (("default (same runs)", b), (f.split("/")[-1], d)):
        diff = (g.hv40 - b.hv40)
        paired = "-" if g is b else f"{(diff > 0.01).sum()} / {(diff < -0.01).sum()}"
        print(f"| {name} | {len(g)} | {g.hv20.median():.3f} ({g.hv20.min():.3f}) | {g.hv40.median():.3f} "
              f"({g.hv40.min():.3f}) | {(g.hv40 >= 0.99).sum()} / {(g.hv40 >= 0.98).sum()} | {paired} |")
    print("per run @40 (default -> variant): " + ", ".join(
        f"{i[0].split('_')[-1].split('.')[0]}:{i[1]} {b.hv40[i]:.3f}->{d.hv40[i]:.3f}" for i in d.index))
