"""Leave-one-network-out check of the table-fitted layer-wise model against baselines, on exported tables.

For every application network of the tables (synthetic networks and tiny_cnn always stay in training): fit
:class:`perfmodel.models.table_layerwise.TableLayerwisePredictor` and the baselines on the other networks'
rows, predict every (network, configuration) pair of the held-out one from its layer features (its NetworkSpec
file when ``--specs`` has one, else its layer rows' shapes: never its times), compare with the measured
whole-network rows (median over sittings). Reported per mode (``cuda_graph`` on / off) separately:

- runtime MAPE, bias (median signed error) and % of pairs within +-10 %, for the model (and for its
  composition of layer times alone, without the network-level correction) and the baselines:
  FLOPs-linear, FLOPs + layer count (log-linear), a Paleo-style roofline (time = FLOPs / peak + bytes /
  bandwidth per layer, the peaks taken from the training layer rows: the largest FLOP/s and byte/s any layer
  reached), NeuralPower's plain sum of per-layer polynomial models;
- network power MAPE, energy per inference within +-10 % (where the table has power);
- coverage of the predicted std (share of pairs within 1 and 2 std);
- layer RMSPE per layer group of the held-out network's own layer rows of the model's view (graph replays in
  graph mode).

  PYTHONPATH=. python benchmarks/bench_h200.py --std-folds 2        # the H200 tables (about 30 min on 2 busy cores)
  PYTHONPATH=. python benchmarks/bench_h200.py --networks resnet50,vgg16 --std-folds 2   # a quicker subset
  PYTHONPATH=. python benchmarks/bench_h200.py --tables datasets/cpu-keras-applications/measurements.csv.gz \\
      --specs none                                                    # the CPU export, same command
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

from perfmodel.commands.predict import parse_config
from perfmodel.features import group_of, layer_features
from perfmodel.models.table_layerwise import TableLayerwisePredictor, network_layers
from perfmodel.models.tables_input import MODE_COLUMN, read_tables
from profiling.synthetic import is_synthetic

H200 = ["datasets/h200-torch/graph.csv.gz", "datasets/h200-torch/eager.csv.gz"]
GROUPS = ("conv", "depthwise", "dense", "pool", "elementwise", "memory")


def _config_key(cfg: str, drop=("batch",)) -> str:
    return ",".join(sorted(i for i in str(cfg).split(",") if i.split("=")[0] not in drop))


def _measured(table: pd.DataFrame, net: str) -> pd.DataFrame:
    w = table[(table["network"].astype(str) == net) & table["level"].astype(str).eq("network")
              & table["view"].astype(str).eq("whole")]
    if "status" in w:
        w = w[w["status"].astype(str).eq("ok")]
    cols = {"runtime_s": "median"}
    for c in ("power_w", "energy_j"):
        if c in w.columns:
            cols[c] = "median"
    return w.groupby("config").agg(cols).reset_index()


def _baselines(train: pd.DataFrame, layers_of: dict, held_feats: pd.DataFrame, cfgs: list[dict]) -> dict:
    """Baseline predictions of the held-out network for each configuration (fitted on ``train``)."""
    whole = train[train["level"].astype(str).eq("network") & train["view"].astype(str).eq("whole")]
    whole = whole[whole["status"].astype(str).eq("ok")] if "status" in whole else whole
    whole = whole[whole["network"].astype(str).isin(layers_of)]
    out = {k: [] for k in ("flops_linear", "flops_layers_loglinear", "roofline")}
    f_h = pd.to_numeric(held_feats["flops"], errors="coerce").fillna(0).sum()
    n_h = float(held_feats["layer_type"].map(group_of).notna().sum())
    for cfg in cfgs:
        key = _config_key(parse_config_text(cfg))
        rows = whole[whole["config"].map(_config_key).eq(key)]
        b = rows["batch"].astype(float).to_numpy() if "batch" in rows else np.ones(len(rows))
        fl = np.array([pd.to_numeric(layers_of[n]["flops"], errors="coerce").fillna(0).sum()
                       for n in rows["network"].astype(str)]) * b
        nl = np.array([float(layers_of[n]["layer_type"].map(group_of).notna().sum()) for n in rows["network"]])
        y = rows["runtime_s"].to_numpy(dtype=float)
        bb = float(cfg.get("batch", 1))
        A = np.column_stack([np.ones_like(y), fl])
        c1, *_ = np.linalg.lstsq(A / y[:, None], np.ones_like(y), rcond=None)
        out["flops_linear"].append(float(c1[0] + c1[1] * f_h * bb))
        A = np.column_stack([np.ones_like(y), np.log(fl + 1), np.log(nl), np.log(b)])
        c2, *_ = np.linalg.lstsq(A, np.log(y), rcond=None)
        out["flops_layers_loglinear"].append(float(np.exp(c2 @ [1, np.log(f_h * bb + 1), np.log(n_h), np.log(bb)])))
        # Paleo: peaks = the best FLOP/s and byte/s any training layer of this mode reached
        lay = train[train["level"].astype(str).eq("layer") & train["config"].map(_config_key).eq(key)]
        lf = layer_features(lay)
        rt = lay["runtime_s"].to_numpy(dtype=float)
        peak_f = float(np.nanmax(lf["gflop"].to_numpy() * 1e9 / rt))
        peak_b = float(np.nanmax((lf["input_mb"] + lf["output_mb"] + lf["weight_mb"]).to_numpy() * 1e6 / rt))
        hf = layer_features(held_feats.assign(batch=bb))
        hf = hf[held_feats["layer_type"].map(group_of).notna().to_numpy()]
        moved = (hf["input_mb"] + hf["output_mb"] + hf["weight_mb"]).to_numpy() * 1e6
        out["roofline"].append(float(np.sum(hf["gflop"].to_numpy() * 1e9 / peak_f + moved / peak_b)))
    return out


def parse_config_text(cfg: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in cfg.items())


def _layer_errors(model, table, net: str) -> list[dict]:
    """Relative errors of the held-out network's own layer rows of each mode's view, per group."""
    out = []
    for mode, st in model.modes_.items():
        rows = table[(table["network"].astype(str) == net) & table["level"].astype(str).eq("layer")
                     & table["view"].astype(str).eq(st["view"])]
        if mode:
            rows = rows[rows[MODE_COLUMN].astype(str).eq(mode)]
        for cfg, r in rows.groupby("config"):
            r = r[r["layer_type"].map(group_of).notna()]
            if "layer" in r:
                r = r.drop_duplicates("layer")
            if r.empty:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = st["units"].predict_layers(r.drop(columns=["runtime_s"]), [{"batch": float(r["batch"].iloc[0])}])
            if len(p) != len(r):
                continue
            for g, e in zip(r["layer_type"].map(group_of), p["runtime_s"].to_numpy() / r["runtime_s"].to_numpy() - 1):
                out.append({"mode": mode, "group": g, "err": float(e)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", default=",".join(H200), help="comma-separated exported tables (one platform)")
    ap.add_argument("--specs", default="datasets/h200-torch/specs", help="folder of NetworkSpec JSON files, or none")
    ap.add_argument("--networks", help="comma-separated held-out networks (default: every application)")
    ap.add_argument("--model", default="polynomial", choices=("polynomial", "gp", "gbr"))
    ap.add_argument("--std-folds", type=int, default=3)
    ap.add_argument("-o", "--output", help="write the per-pair results here (CSV)")
    args = ap.parse_args(argv)
    t0 = time.time()
    table = read_tables(args.tables.split(","))
    specs = {}
    if args.specs and args.specs != "none":
        from profiling.spec import NetworkSpec

        for p in sorted(glob.glob(os.path.join(args.specs, "*.json"))):
            s = NetworkSpec.from_json(p)
            specs[s.name] = s
    whole_nets = set(table.loc[table["level"].astype(str).eq("network") & table["status"].astype(str).eq("ok")
                               if "status" in table else table["level"].astype(str).eq("network"), "network"])
    apps = sorted(n for n in whole_nets if not is_synthetic(n) and not str(n).startswith("tiny_"))
    if args.networks:
        apps = [n for n in args.networks.split(",") if n in apps]
    layers_all = network_layers(table, specs)
    pairs, layer_rows = [], []
    for net in apps:
        t1 = time.time()
        train = table[table["network"].astype(str) != net]
        train_specs = {k: v for k, v in specs.items() if k != net}
        model = TableLayerwisePredictor(model=args.model, std_folds=args.std_folds).fit(train, train_specs)
        meas = _measured(table, net)
        cfgs = [parse_config(c) for c in meas["config"]]
        feats = layers_all[net]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = model.predict(feats.assign(network=net), cfgs)
        base = _baselines(train, {k: v for k, v in layers_all.items() if k != net}, feats, cfgs)
        for i, cfg in enumerate(cfgs):
            row = {"network": net, "config": meas["config"].iloc[i], "mode": str(cfg.get(MODE_COLUMN, "")),
                   "batch": cfg.get("batch", 1), "runtime_s": meas["runtime_s"].iloc[i],
                   "pred_runtime_s": pred["runtime_s"].iloc[i], "pred_runtime_s_std": pred["runtime_s_std"].iloc[i],
                   "composed": pred["composed_runtime_s"].iloc[i], "plain_sum": pred["layers_runtime_s"].iloc[i],
                   **{k: v[i] for k, v in base.items()}}
            for c in ("power_w", "energy_j"):
                if c in meas:
                    row[c] = meas[c].iloc[i]
                    row[f"pred_{c}"] = pred[c].iloc[i]
                    row[f"pred_{c}_std"] = pred[f"{c}_std"].iloc[i]
            pairs.append(row)
        layer_rows += [{**e, "network": net} for e in _layer_errors(model, table, net)]
        print(f"{net}: fitted and predicted in {time.time() - t1:.0f} s", file=sys.stderr, flush=True)
        if args.output:  # as it goes: a long run stopped early keeps its networks
            pd.DataFrame(pairs).to_csv(args.output, index=False)
    R = pd.DataFrame(pairs)
    if args.output:
        R.to_csv(args.output, index=False)
    print(f"# {len(apps)} held-out networks, {len(R)} pairs; tables {args.tables}; model {args.model}; "
          f"std folds {args.std_folds}; {time.time() - t0:.0f} s")
    for mode, r in R.groupby("mode"):
        print(f"\n## mode {MODE_COLUMN}={mode or '-'} ({len(r)} pairs of {r['network'].nunique()} networks)")
        print(f"{'runtime':28s} {'MAPE %':>8s} {'bias %':>8s} {'within10 %':>10s}")
        for name, col in (("layer-wise (this model)", "pred_runtime_s"),
                          ("  its composition alone", "composed"), ("NeuralPower plain sum", "plain_sum"),
                          ("FLOPs-linear", "flops_linear"), ("FLOPs + layers (log-lin)", "flops_layers_loglinear"),
                          ("Paleo roofline (table peaks)", "roofline")):
            e = r[col] / r["runtime_s"] - 1
            print(f"{name:28s} {100 * e.abs().mean():8.1f} {100 * e.median():8.1f} "
                  f"{100 * (e.abs() <= 0.1).mean():10.0f}")
        z = (r["pred_runtime_s"] - r["runtime_s"]).abs() / r["pred_runtime_s_std"]
        print(f"runtime std coverage: {100 * (z <= 1).mean():.0f} % within 1 std, "
              f"{100 * (z <= 2).mean():.0f} % within 2")
        if "pred_power_w" in r and r["power_w"].notna().any():
            ok = r["power_w"].notna() & r["pred_power_w"].notna()
            ep = (r.loc[ok, "pred_power_w"] / r.loc[ok, "power_w"] - 1)
            ee = (r.loc[ok, "pred_energy_j"] / r.loc[ok, "energy_j"] - 1)
            zp = (r.loc[ok, "pred_power_w"] - r.loc[ok, "power_w"]).abs() / r.loc[ok, "pred_power_w_std"]
            ze = (r.loc[ok, "pred_energy_j"] - r.loc[ok, "energy_j"]).abs() / r.loc[ok, "pred_energy_j_std"]
            print(f"power MAPE {100 * ep.abs().mean():.1f} % (bias {100 * ep.median():.1f} %); energy MAPE "
                  f"{100 * ee.abs().mean():.1f} %, within 10 %: {100 * (ee.abs() <= 0.1).mean():.0f} % of {ok.sum()}")
            print(f"power std coverage {100 * (zp <= 1).mean():.0f} / {100 * (zp <= 2).mean():.0f} %; energy "
                  f"{100 * (ze <= 1).mean():.0f} / {100 * (ze <= 2).mean():.0f} % (within 1 / 2 std)")
        L = pd.DataFrame(layer_rows)
        if len(L):
            L = L[L["mode"].eq(mode)]
            if len(L):
                rms = L.groupby("group")["err"].apply(lambda e: 100 * np.sqrt(np.mean(e**2)))
                print("layer RMSPE % (held-out networks' own layer rows): "
                      + ", ".join(f"{g} {rms[g]:.1f} (n={int((L['group'] == g).sum())})" for g in GROUPS if g in rms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
