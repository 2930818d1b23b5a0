"""Compare ``bo`` runs (or another strategy's, ``--strategy``) of a variant (raw files of bench_optimisation.py) with the recorded default on the same
(file, seed) runs: the table row of each (runs, HV@20 and HV@40 median with the worst run, runs >= 0.99 / 0.98
at 40, mean CPU s/run), per-run differences, a paired Wilcoxon signed-rank test of HV@20 and HV@40, and an exact
McNemar test of the runs >= 0.99 (and >= 0.98) at 40: do the two pass different numbers of the same runs?

    PYTHONPATH=. python benchmarks/compare_bo_raw.py --seeds 0-9 \\
        --default benchmarks/results/logei_bo_s05_raw.csv,benchmarks/results/s5_guided_s619_raw.csv \\
        --variant hs10=benchmarks/results/s7b_hs10_s04_raw.csv,benchmarks/results/s7b_hs10_s59_raw.csv

Several ``--variant name=a.csv,b.csv`` may be given; ``--strategy bo-transfer`` (or ``bo-task``, ``bo-wrong``)
compares the guided runs instead. Where a (file, seed) run occurs in several files, the last
one read is kept (the default's files are read in the order given).
"""
from __future__ import annotations

import argparse

import pandas as pd
from scipy.stats import wilcoxon
from statsmodels.stats.contingency_tables import mcnemar


def load(files: list[str], strategy: str = "bo") -> pd.DataFrame:
    d = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    d = d[d.strategy == strategy].copy()
    d["file"] = d.file.str.replace("tx2_sampled_output_xception_", "").str.replace(".csv", "")
    return d.drop_duplicates(["file", "seed"], keep="last").set_index(["file", "seed"])


def row(name: str, d: pd.DataFrame) -> str:
    h = d.hv40
    return (f"| {name} | {len(d)} | {d.hv20.median():.3f} ({d.hv20.min():.3f}) | {h.median():.3f} ({h.min():.3f}) | "
            f"{(h >= 0.99).sum()} / {(h >= 0.98).sum()} | {d.cpu_s.mean():.1f} |")


def passes(default: pd.Series, variant: pd.Series, level: float) -> str:
    """Which of the same runs reach ``level`` under one of the two only, with the exact McNemar test's p."""
    a, b = default >= level, variant >= level
    only_v, only_d = int((b & ~a).sum()), int((a & ~b).sum())
    table = [[int((a & b).sum()), only_d], [only_v, int((~a & ~b).sum())]]
    p = mcnemar(table, exact=True).pvalue if only_v + only_d else 1.0
    return (f">= {level:g} @40: in the variant only {only_v}, in the default only {only_d}, "
            f"exact McNemar p {p:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", required=True, help="A-B")
    ap.add_argument("--default", required=True, help="comma list of the default's raw files")
    ap.add_argument("--variant", action="append", required=True, help="name=comma list of raw files")
    ap.add_argument("--strategy", default="bo", help="which strategy's runs to compare (default bo)")
    a = ap.parse_args(argv)
    lo, hi = map(int, a.seeds.split("-"))
    default = load(a.default.split(","), a.strategy)
    print("| variant | runs | HV@20 median (worst) | HV@40 median (worst) | >=0.99 / >=0.98 @40 | CPU s/run |")
    print("|---|---|---|---|---|---|")
    for item in a.variant:
        name, files = item.split("=", 1)
        v = load(files.split(","), a.strategy)
        v = v[(v.index.get_level_values(1) >= lo) & (v.index.get_level_values(1) <= hi)]
        d = default.loc[v.index]
        print(row("default (same runs)", d))
        print(row(name, v))
        for h in ("hv20", "hv40"):
            diff = v[h] - d[h]
            nz = diff[diff != 0]
            p = wilcoxon(nz).pvalue if len(nz) > 1 else float("nan")
            print(f"  {h}: better in {(diff > 0).sum()}, worse in {(diff < 0).sum()} (by > 0.01: "
                  f"{(diff > 0.01).sum()} / {(diff < -0.01).sum()}), median difference {diff.median():+.4f}, "
                  f"paired Wilcoxon p {p:.3f}; |difference| median {diff.abs().median():.4f}, "
                  f"largest {diff.abs().max():.4f}")
        for level in (0.99, 0.98):
            print("  " + passes(d.hv40, v.hv40, level))
        worst = v.hv40.sort_values().head(5)
        print("  worst runs:", ", ".join(f"{f} s{s} {x:.3f} (default {d.hv40[(f, s)]:.3f})"
                                        for (f, s), x in worst.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
