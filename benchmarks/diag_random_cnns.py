"""Why the calibrated layer-wise model over-predicted random CNNs (issue 19, CPU): the diagnosis tables behind docs/models-results.md (random CNNs).

Offline, from the shipped tables of ``datasets/cpu-random-cnns/`` (nothing is timed; TensorFlow only rebuilds
the random networks from their seeds to read their layer shapes). Fits gbr as ``perfmodel calibrate`` does,
with the network term on the training networks' own unit sums (``stacked_term=False``) and on the unit sums
of networks left out (the default), and prints:

1. per random-CNN pair: predicted unit sum against the measured whole, the term's ratio, the errors, per split
   (seeds < 100: dev, >= 100: check) and configuration, and by size at batch 1;
2. leave-one-network-out on the calibration table: every network's in-place units predicted by gbr unit
   models fitted without it, against in-sample; convolutions by FLOPs per sample (geometric mean of
   predicted / measured), and per-network sums against the measured whole;
3. the two network terms' coefficients per configuration, and how often the 36 pairs fall within one and
   two predicted std's.

    PYTHONPATH=. python benchmarks/diag_random_cnns.py      # about 3 minutes on 2 cores
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_random_cnns import _configs, read_measured, save_networks  # noqa: E402
from perfmodel.features import group_of, separable_halves  # noqa: E402
from perfmodel.models.layerwise import LayerwisePredictor  # noqa: E402
from perfmodel.tables import read_table  # noqa: E402

DATA = os.path.join(ROOT, "datasets", "cpu-random-cnns")
TABLE = os.path.join(DATA, "calibration-quick-2026-12-05.csv.gz")
MEASURED = [os.path.join(DATA, f) for f in ("random-cnns-seed0-2026-12-05.csv", "random-cnns-seed100-2026-12-05.csv")]
FLOP_BINS = [0, 518112, 2654208, 8294400, 36691200, 2.5e9]  # the fifths of the calibration's conv units


def fit(table, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LayerwisePredictor(model="gbr", random_state=0, **kw).fit(table)


def random_pairs(before, after) -> pd.DataFrame:
    from perfmodel.models.network_input import load_spec

    M = read_measured(MEASURED)
    paths = save_networks(sorted(M["seed"].unique()), tempfile.mkdtemp(prefix="diag-random-cnns-"))
    feats = {name: load_spec(path).features() for name, path in paths.items()}
    rows = []
    for _, m in M.iterrows():
        cfg = _configs(str(m["config"]))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p0 = before.predict(feats[m["network"]], [cfg]).iloc[0]
            p1 = after.predict(feats[m["network"]], [cfg]).iloc[0]
            units = before.predict_layers(feats[m["network"]], [cfg])
        share = units.groupby(units["layer_type"].map(group_of))["runtime_s"].sum() / units["runtime_s"].sum()
        y = float(m["runtime_s"])
        rows.append({"network": m["network"], "split": "dev 0-5" if m["seed"] < 100 else "check 100-105",
                     "config": m["config"], "measured": y, "sum": p0["layers_runtime_s"], "n_units": p0["n_units"],
                     "err_before": p0["runtime_s"] / y - 1, "err_after": p1["runtime_s"] / y - 1,
                     "ratio_before": p0["runtime_s"] / p0["layers_runtime_s"],
                     "ratio_after": p1["runtime_s"] / p1["layers_runtime_s"],
                     "z_before": abs(p0["runtime_s"] - y) / p0["runtime_s_std"],
                     "z_after": abs(p1["runtime_s"] - y) / p1["runtime_s_std"],
                     **{f"share_{g}": v for g, v in share.items()}})
    R = pd.DataFrame(rows)
    R["sum_err"] = R["sum"] / R["measured"] - 1
    return R


def print_pairs(R: pd.DataFrame) -> None:
    print("\n1. Random CNNs: unit sum (before's unit models; both terms share them) against the measured whole")
    print("| split | configuration | pairs | unit sum / measured - 1 | measured / unit sum (median, range) | "
          "term ratio before | error before | term ratio stacked | error stacked |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (sp, c), g in [*R.groupby(["split", "config"], sort=False), *(
            (("both", c), g) for c, g in R.groupby("config", sort=False))]:
        w = g["measured"] / g["sum"]
        print(f"| {sp} | {c} | {len(g)} | {100 * g.sum_err.mean():+.1f} % | {w.median():.2f} ({w.min():.2f}-"
              f"{w.max():.2f}) | {g.ratio_before.mean():.3f} | {100 * g.err_before.mean():+.1f} % | "
              f"{g.ratio_after.mean():.3f} | {100 * g.err_after.mean():+.1f} % |")
    b1 = R[R["config"].str.contains("batch=1")].assign(
        size=lambda d: np.where(d["sum"] > 0.002, "unit sum > 2 ms", "unit sum <= 2 ms"))
    print("\n| configuration | random CNNs | pairs | unit sum / measured - 1 | error before | error stacked |")
    print("|---|---|---|---|---|---|")
    for (c, s), g in b1.groupby(["config", "size"], sort=True):
        print(f"| {c} | {s} | {len(g)} | {100 * g.sum_err.mean():+.1f} % | {100 * g.err_before.mean():+.1f} % | "
              f"{100 * g.err_after.mean():+.1f} % |")
    shares = R[[c for c in R.columns if c.startswith("share_")]].mean()
    print("share of the predicted unit sum per group (mean over pairs): " +
          ", ".join(f"{k[6:]} {100 * v:.1f} %" for k, v in shares.sort_values(ascending=False).items()))
    print("\nthreads=2 / threads=1 at batch 1 per random CNN: measured, predicted unit sum, prediction (before)")
    b1 = R[R["config"].str.contains("batch=1")].assign(pred=lambda d: d["measured"] * (1 + d["err_before"]))
    piv = {c: b1.pivot(index="network", columns="config", values=c) for c in ("measured", "sum", "pred")}
    t1, t2 = "threads=1,batch=1", "threads=2,batch=1"
    ratio = pd.DataFrame({c: piv[c][t2] / piv[c][t1] for c in piv}).sort_values("measured")
    print("| network | measured | unit sum | prediction |\n|---|---|---|---|")
    for net, r in ratio.iterrows():
        print(f"| {net} | {r['measured']:.2f} | {r['sum']:.2f} | {r['pred']:.2f} |")
    for label, col in (("before", "z_before"), ("stacked", "z_after")):
        print(f"predicted std, {label}: {100 * (R[col] <= 1).mean():.0f} % of {len(R)} pairs within one std, "
              f"{100 * (R[col] <= 2).mean():.0f} % within two")


def left_out(table: pd.DataFrame) -> None:
    ok = table[table["status"].astype(str).eq("ok")]
    lay = separable_halves(ok[ok["level"].eq("layer") & ok["view"].eq("inplace")])
    lay = lay[lay["layer_type"].map(group_of).notna()].reset_index(drop=True)
    whole = ok[ok["level"].eq("network") & ok["view"].eq("whole")]
    full = fit(ok, std_folds=0, network_term=False)
    lay["pred_in"] = full._predict_rows(lay)[0]
    lay["pred_out"] = np.nan
    for net in sorted(ok["network"].unique()):
        m = fit(ok[ok["network"] != net], std_folds=0, network_term=False)
        mask = lay["network"].eq(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lay.loc[mask, "pred_out"] = m._predict_rows(lay[mask].reset_index(drop=True))[0]
    conv = lay[lay["layer_type"].map(group_of).eq("conv")].copy()
    conv["bin"] = pd.cut(pd.to_numeric(conv["flops"]) / conv["batch"], FLOP_BINS)
    print("\n2. Calibration networks left out one at a time: convolutions, geometric mean of predicted / measured, "
          "left out / in-sample, by MFLOP per sample")
    print("| threads, batch | " + " | ".join(f"{lo / 1e6:.1f}-{hi / 1e6:.1f}" for lo, hi in
                                              zip(FLOP_BINS[:-1], FLOP_BINS[1:])) + " |")
    print("|---|" + "---|" * (len(FLOP_BINS) - 1))
    for (t, b), g in conv.groupby(["threads", "batch"]):
        cells = []
        for _, h in g.groupby("bin", observed=False):
            gm = [np.exp(np.log(h[c] / h["runtime_s"]).mean()) if len(h) else np.nan for c in ("pred_out", "pred_in")]
            cells.append(f"{gm[0]:.2f} / {gm[1]:.2f}")
        print(f"| {t}, {b} | " + " | ".join(cells) + " |")
    S = lay.groupby(["network", "config"]).agg(threads=("threads", "first"), batch=("batch", "first"),
                                               meas=("runtime_s", "sum"), pin=("pred_in", "sum"),
                                               pout=("pred_out", "sum")).reset_index()
    S = S.merge(whole[["network", "config", "runtime_s"]].rename(columns={"runtime_s": "whole"}),
                on=["network", "config"])
    S["kind"] = np.where(S["network"].str.startswith("synthetic"), "synthetic", "named")
    print("\n| networks | threads | batch | rows | in-sample units / measured units | left-out units / measured "
          "units | whole / measured units | whole / in-sample units | whole / left-out units |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (k, t, b), g in S.groupby(["kind", "threads", "batch"]):
        r = [g.pin / g.meas, g.pout / g.meas, g.whole / g.meas, g.whole / g.pin, g.whole / g.pout]
        print(f"| {k} | {t} | {b} | {len(g)} | " + " | ".join(f"{x.median():.3f}" for x in r) + " |")


def print_terms(before, after) -> None:
    print("\n3. Network terms: a (scale), b (per unit), c (per call) per configuration")
    for label, m in (("before", before), ("stacked", after)):
        parts = []
        for t, b in ((1, 1), (2, 1), (2, 8)):
            knobs = pd.DataFrame({"threads": [t], "batch": [b]})
            a_ = m._network_design(np.array([1.0]), np.array([0.0]), knobs) @ m.net_coef_ - \
                m._network_design(np.array([0.0]), np.array([0.0]), knobs) @ m.net_coef_
            b_ = m._network_design(np.array([0.0]), np.array([1.0]), knobs) @ m.net_coef_ - \
                m._network_design(np.array([0.0]), np.array([0.0]), knobs) @ m.net_coef_
            c_ = m._network_design(np.array([0.0]), np.array([0.0]), knobs) @ m.net_coef_
            parts.append(f"t{t} b{b}: a {a_[0]:.3f}, b {1e6 * b_[0]:+.1f} us, c {1e3 * c_[0]:.3f} ms")
        print(f"{label:8s} (knobs {m.net_knobs_}, spread {100 * m.net_rel_std_:.1f} %): " + "; ".join(parts))


def main() -> int:
    table = read_table(TABLE)
    before = fit(table, stacked_term=False)  # std_folds=4 as calibrate: same std, term on the training sums
    after = fit(table)
    print_pairs(random_pairs(before, after))
    left_out(table)
    print_terms(before, after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
