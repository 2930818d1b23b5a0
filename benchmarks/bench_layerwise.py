"""Layer-wise runtime models on real per-layer TensorRT latencies (datasets/edge-vision-power-estimation).

The data: per fused TensorRT layer, 100 latencies of alexnet, mobilenet_v2 and resnet18 on an RTX 3060
Mobile (FP16, batch 1, 224x224), plus the engine inspector's layer description (type, shapes, kernel,
stride, weights). There is no power and no whole-network measurement: the "network runtime" here is the sum
of the per-layer medians, so the network-level figures test the composition of layer predictions only.

Two evaluations, per model (sparse polynomial, GP, gradient boosting, FLOPs-linear, roofline):
  * leave-one-network-out: fit on the layers of two networks, predict the third;
  * random layer split: half of all layers for training, half for testing, 10 seeds (the family is seen).
Reported: per-group RMSPE of layer runtimes (conv, depthwise, dense, pool, other) and the error of the
predicted network sum. The Paleo-style roofline cannot use measured peaks here (the GPU that produced the
data is not this machine), so its two constants are FITTED to the training layers and it is labelled so.

    .venv/bin/python benchmarks/bench_layerwise.py [--seeds 10]

With ``--store runs/x.sqlite`` it runs instead the leave-one-network-out evaluation of the issue on a campaign
store of the profiler (in-place units + whole-network rows; several networks x configurations): per-group
layer RMSPE and network-level MAPE / share within +-10 % for the layer-wise models (sum + learned network term)
against FLOPs-linear, FLOPs + layer count, and a Paleo roofline whose peaks are measured on this machine,
and how often the held-out networks fall within one and two predicted std's (see ``--std-folds``).

    .venv/bin/python benchmarks/bench_layerwise.py --store runs/x.sqlite [--models polynomial,gbr,gp]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfmodel.features import group_of, knob_columns, layer_features, separable_halves  # noqa: E402
from perfmodel.models import FlopsLinearRegressor, LayerwisePredictor, RooflineRegressor  # noqa: E402
from profiling.reference import measure_peaks  # noqa: E402
from perfmodel.models.metrics import rmspe  # noqa: E402

DATA = ROOT / "datasets" / "edge-vision-power-estimation" / "desktop" / "torch_trt" / "results"
NETWORKS = ("alexnet", "mobilenet_v2", "resnet18")
REPORT_GROUPS = ("conv", "depthwise", "dense", "pool", "other")


def _dims(t: dict) -> tuple[int, int, int]:
    d = list(t["Dimensions"])[1:]
    if len(d) == 1:
        return 1, 1, d[0]
    c, h, w = (d + [1, 1])[:3]
    return h, w, c


def _layer_type(L: dict, in_hwc, out_hwc) -> str:
    kind, name, tactic = L.get("LayerType", ""), L.get("Name", ""), L.get("TacticName", "")
    if L.get("ParameterType") == "Convolution":
        if int(L.get("Groups", 1)) > 1 and int(L["Groups"]) == in_hwc[2]:
            return "depthwise_conv2d"
        if "MATRIX_MULTIPLY" in name or (in_hwc[:2] == (1, 1) and out_hwc[:2] == (1, 1)):
            return "dense"
        return "conv2d"
    if kind == "CaskPooling":
        if out_hwc[:2] == (1, 1):
            return "global_pool"
        return "max_pool" if L.get("PoolingType") == "MAX" else "avg_pool"
    if kind == "gemm":
        return "dense"
    if kind == "kgen":
        if "MaxMinMea" in tactic:
            return "global_pool"
        if "_Add_" in tactic:
            return "add"
        if "MaxMinCas" in tactic:
            return "activation"
    if kind == "NoOp":
        return "reshape"
    return "other"  # Reformat copies and anything unknown


def edge_vision_table() -> pd.DataFrame:
    """The per-layer data as rows of the measurement table (source ``replay:<file>``)."""
    rows = []
    for net in NETWORKS:
        base = DATA / net / "trt_profiling"
        layers = json.loads((base / "trt_engine_info.json").read_text())["Layers"]
        lat = json.loads((base / "trt_layer_latency.json").read_text())
        for L in layers:
            ms = np.asarray(lat[L["Name"]], dtype=float)
            i_hwc, o_hwc = _dims(L["Inputs"][0]), _dims(L["Outputs"][0])
            lt = _layer_type(L, i_hwc, o_hwc)
            kh, kw = L.get("Kernel", L.get("WindowSize", [1, 1]))
            sh, sw = L.get("Stride", [1, 1])
            groups = int(L.get("Groups", 1))
            out_el = o_hwc[0] * o_hwc[1] * o_hwc[2]
            in_el = sum(int(np.prod(t["Dimensions"][1:])) for t in L["Inputs"])
            w = float(L.get("Weights", {}).get("Count", 0))
            if lt == "dense" and L.get("LayerType") == "gemm":
                w = float(np.prod(L["Inputs"][1]["Dimensions"]))
            if lt in ("conv2d", "depthwise_conv2d", "dense") and w == 0:
                w = float(i_hwc[2] * o_hwc[2] * kh * kw / groups)
            flops = 2.0 * out_el * w / max(o_hwc[2], 1) if lt in ("conv2d", "depthwise_conv2d", "dense") else \
                float(out_el * (kh * kw if "pool" in lt else 1))
            rows.append({
                "source": f"replay:datasets/edge-vision-power-estimation/desktop/torch_trt/results/{net}",
                "network": net, "level": "layer", "view": "inplace", "layer": L["Name"][:80],
                "unit": "+".join(p.strip() for p in L["Name"].split(" + "))[:200], "layer_type": lt,
                "config": "", "runtime_s": float(np.median(ms)) / 1e3, "runtime_s_std": float(ms.std()) / 1e3,
                "repeats": len(ms), "status": "ok", "in_h": i_hwc[0], "in_w": i_hwc[1], "in_c": i_hwc[2],
                "out_h": o_hwc[0], "out_w": o_hwc[1], "out_c": o_hwc[2], "kernel_h": kh, "kernel_w": kw,
                "stride_h": sh, "stride_w": sw,
                "padding": "same" if max(L.get("PrePadding", [0, 0])) > 0 else "valid", "groups": groups,
                "flops": flops, "params": w, "weight_bytes": 2.0 * w,  # FP16 engine: 2 bytes per value
                "input_bytes": 2.0 * in_el, "output_bytes": 2.0 * out_el})
    return pd.DataFrame(rows)


def _report_group(layer_type: str) -> str:
    g = group_of(layer_type)
    return g if g in REPORT_GROUPS else "other"


def _fit_predict(kind: str, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    if kind in ("polynomial", "gp", "gbr"):
        params = {"polynomial": {"degrees": (1, 2, 3), "clip_margin": 0.25},
                  "gp": {"n_restarts": 2, "max_iters": 100}, "gbr": {"n_estimators": 200}}[kind]
        m = LayerwisePredictor(model=kind, model_params=params, min_rows=5, random_state=seed).fit(train)
        return m._predict_rows(test)[0]
    ftr, fte = layer_features(train), layer_features(test)
    y = train["runtime_s"].to_numpy()
    if kind == "flops-linear":
        m = FlopsLinearRegressor(columns=(0,)).fit(ftr[["gflop"]].to_numpy(), y)
        return m.predict(fte[["gflop"]].to_numpy())
    if kind == "roofline (fitted)":
        cols = ["gflop", "weight_mb", "input_mb", "output_mb"]
        # peaks placeholders of 1 GFLOP/s and 1 MB/s in these units; calibrate=True fits the real scale
        m = RooflineRegressor(peak_flops=1.0, bandwidth_bytes_s=1.0, flops_column=0, bytes_columns=(1, 2, 3),
                              calibrate=True).fit(ftr[cols].to_numpy(), y)
        return m.predict(fte[cols].to_numpy())
    raise ValueError(kind)


MODELS = ("polynomial", "gp", "gbr", "flops-linear", "roofline (fitted)")


def evaluate(table: pd.DataFrame, seeds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = table[table["runtime_s"] > 0].reset_index(drop=True)  # zero-latency NoOps cost nothing
    group = table["layer_type"].map(_report_group)  # not a table column: it would look like a knob
    layer_rows, net_rows = [], []
    splits = [("lono", net, table["network"].ne(net)) for net in NETWORKS]
    rng = np.random.default_rng(0)
    splits += [("random", f"seed{s}", pd.Series(rng.random(len(table)) < 0.5)) for s in range(seeds)]
    for scheme, name, train_mask in splits:
        train, test = table[train_mask], table[~train_mask]
        for kind in MODELS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = _fit_predict(kind, train, test, seed=0)
            layer_rows.append(pd.DataFrame({"scheme": scheme, "split": name, "model": kind, "group": group[~train_mask],
                                            "network": test["network"], "y": test["runtime_s"], "pred": pred}))
            if scheme == "lono":
                net_rows.append({"model": kind, "network": name, "measured_sum_ms": 1e3 * test["runtime_s"].sum(),
                                 "predicted_sum_ms": 1e3 * float(np.sum(pred))})
    return pd.concat(layer_rows, ignore_index=True), pd.DataFrame(net_rows)


@functools.lru_cache(maxsize=None)
def _rebuilt_spec(net: str, size: int | None):
    """The network's spec, rebuilt (keras.applications / the synthetic generators, no weights); once per run."""
    from profiling.networks import load_network

    return load_network(net, size)[1]


def _network_units(store_path: str, table: pd.DataFrame, net: str) -> pd.DataFrame:
    """The network's layers as a fresh prediction would see them: its spec if the store has it, else units."""
    from profiling.store import CampaignStore

    size = table.loc[table["network"].eq(net), "input_size"].dropna()
    if store_path.endswith((".csv", ".csv.gz")):  # an exported table has no specs: rebuild the network
        spec = _rebuilt_spec(net, int(size.iloc[0]) if len(size) else None)
    else:
        with CampaignStore(store_path, readonly=True) as store:
            spec = store.spec(net, int(size.iloc[0]) if len(size) else None)
    if spec is not None:
        return spec.features()
    units = table[table["network"].eq(net) & table["level"].eq("layer") & table["view"].eq("inplace")]
    return units[units["config"].eq(units["config"].iloc[0])]


def _read(path: str) -> pd.DataFrame:
    from perfmodel.models.layerwise import store_frame

    # A campaign store, or its exported table (CSV, optionally gzipped) as shipped under datasets/.
    table = pd.read_csv(path) if path.endswith((".csv", ".csv.gz")) else store_frame(path)
    return _with_duplicates(table[table["status"].astype(str).eq("ok")])


def _with_duplicates(table: pd.DataFrame) -> pd.DataFrame:
    """Mark the duplicate layers (``duplicate_of``) of a table exported before the column existed.

    The shipped tables predate it: the specs are rebuilt (keras.applications / the synthetic generators, no
    weights) and the export's rule applied (a row whose main layer is a duplicate).
    """
    if "duplicate_of" in table.columns:
        return table
    out = table.assign(duplicate_of="")
    layers = out[out["level"].eq("layer")]
    for (net, size), idx in layers.groupby(["network", "input_size"], dropna=False).groups.items():
        try:
            dups = _rebuilt_spec(net, None if pd.isna(size) else int(size)).duplicates()
        except Exception:  # noqa: BLE001 - a network that cannot be rebuilt here keeps no duplicates
            continue
        out.loc[idx, "duplicate_of"] = [dups.get(str(name), "") for name in out.loc[idx, "layer"]]
    return out


def _whole_over_units(table: pd.DataFrame) -> pd.Series:
    """Whole-network runtime / sum of its in-place units, per (network, configuration)."""
    whole = table[table["level"].eq("network") & table["view"].eq("whole")].set_index(["network", "config"])
    units = table[table["level"].eq("layer") & table["view"].eq("inplace")].groupby(["network", "config"])
    return (whole["runtime_s"] / units["runtime_s"].sum()).dropna()


def _at_reference_speed(tables: list[pd.DataFrame], column: str) -> list[pd.DataFrame]:
    """Every runtime put at the median speed of the machine (LayerwisePredictor's ``reference``, same window)."""
    from perfmodel.models.layerwise import at_reference_speed

    refs = pd.concat([t.drop_duplicates(["network", "config"])[column] for t in tables if column in t.columns])
    out, ref0 = at_reference_speed(tables, column)
    print(f"speed reference {column}: jobs {1e3 * refs.min():.3f}-{1e3 * refs.max():.3f} ms, smoothed median "
          f"{1e3 * ref0:.3f} ms; every runtime scaled to that speed")
    return out


def _print_coverage(netres: pd.DataFrame) -> None:
    """How honest the predicted std of the held-out networks is: the share of pairs within +-1 and +-2 std."""
    print("\npredicted std of the held-out networks (a calibrated std holds 68 % within +-1 std, 95 % within +-2):\n")
    print("| model | median std, % of prediction | within +-1 std | within +-2 std |")
    print("|---|---|---|---|")
    for model, d in netres.groupby("model", sort=False):
        z = np.abs(d["y"] - d["pred"]) / d["std"]
        if not np.isfinite(z).any():
            print(f"| {model} | none | - | - |")
            continue
        print(f"| {model} | {100 * np.nanmedian(d['std'] / d['pred']):.1f} | {100 * (z <= 1).mean():.0f} % | "
              f"{100 * (z <= 2).mean():.0f} % |")


def evaluate_store(store_path: str, models: list[str], extra: str | None = None, extra_networks: int = 0,
                   per_network: bool = False, reference: str | None = None, std_folds: int = 4) -> int:
    """Leave-one-network-out on a campaign store (the issue's CPU evaluation).

    ``extra``: other stores/tables, comma-separated (e.g. the synthetic kernel networks), whose rows join the
    training set of every fold; their networks are never held out, and the baselines do not see them.
    ``extra_networks``: use only the first N networks of each (in order of their first row). ``reference``: a
    speed-reference column (``ref_compute_s``, profiling/reference.py); every runtime of every table is put at
    the median speed first (models and baselines alike, training and test rows alike).
    ``per_network``: also print each layer model's
    error per (network, configuration), of the prediction and of the predicted sum of the units.
    ``std_folds``: the predictor's parameter; how often the held-out networks fall within one and two of
    their predicted std's is printed after the network figures.
    """
    table = _read(store_path)
    extra_paths = [p for p in (extra or "").split(",") if p]
    parts = [_read(p) for p in extra_paths]
    if extra_networks:
        parts = [t[t["network"].isin(t["network"].unique()[:extra_networks])] for t in parts]
    if reference:
        table, *parts = _at_reference_speed([table, *parts], reference)
    extra_rows = pd.concat(parts, ignore_index=True) if parts else table.iloc[:0]
    if extra_paths:
        clash = sorted(set(extra_rows["network"]) & set(table["network"]))
        if clash:
            print(f"--extra-train holds networks of the evaluated table ({', '.join(clash)}): refusing to leak them")
            return 2
        print(f"extra training rows: {len(extra_rows)} of {extra_rows['network'].nunique()} networks "
              f"({', '.join(extra_paths)})")
        for name, t in (("evaluated", table), *zip(extra_paths, parts)):
            r = _whole_over_units(t)
            print(f"whole / sum of in-place units, {name}: {r.min():.2f}-{r.max():.2f} (median {r.median():.2f})")
    knobs = knob_columns(table)
    whole = table[table["level"].eq("network") & table["view"].eq("whole")]
    # a separable convolution is timed as its two halves (depthwise, pointwise): score each half
    inplace = separable_halves(table[table["level"].eq("layer") & table["view"].eq("inplace")])
    nets = sorted(set(whole["network"]) & set(inplace["network"]))
    print(f"store {store_path}: {len(nets)} networks with in-place units and whole-network rows: {', '.join(nets)}")
    if len(nets) < 3:
        print("too few networks for a leave-one-network-out evaluation")
        return 1
    peaks = measure_peaks()  # the machine is timed in profiling, the model takes the peaks as parameters
    peaks_model = RooflineRegressor(peak_flops=peaks["peak_flops"], bandwidth_bytes_s=peaks["bandwidth_bytes_s"],
                                    flops_column=0, bytes_columns=(1,)).fit(np.zeros((1, 2)))
    print(f"roofline peaks measured here: {peaks_model.peak_flops_ / 1e9:.1f} GFLOP/s, "
          f"{peaks_model.bandwidth_ / 1e9:.1f} GB/s ({peaks['method']})\n")
    layer_rows, net_rows = [], []
    cache: dict[str, pd.DataFrame] = {}

    def feats_of(net: str) -> pd.DataFrame:
        if net not in cache:
            cache[net] = _network_units(store_path, table, net)
        return cache[net]

    for held in nets:
        train = pd.concat([table[table["network"].ne(held)], extra_rows], ignore_index=True)
        test_units = inplace[inplace["network"].eq(held)]
        test_whole = whole[whole["network"].eq(held)]
        feats = feats_of(held)
        tw = whole[whole["network"].ne(held) & whole["network"].isin(nets)]
        batch_tr = tw["batch"].astype(float).to_numpy() if "batch" in tw else np.ones(len(tw))
        batch_te = test_whole["batch"].astype(float).to_numpy() if "batch" in test_whole else np.ones(len(test_whole))
        Xtr = np.column_stack([tw["flops"].astype(float) * batch_tr, tw["n_layers"].astype(float)])
        Xte = np.column_stack([test_whole["flops"].astype(float) * batch_te, test_whole["n_layers"].astype(float)])
        # FLOPs proxies: one relative least-squares line per configuration (the other networks' rows of it)
        baselines = {}
        for name, cols in (("flops-linear", (0,)), ("flops + layer count", (0, 1))):
            pred = np.full(len(test_whole), np.nan)
            for i, c in enumerate(test_whole["config"]):
                same = (tw["config"] == c).to_numpy()
                if same.sum() > len(cols) + 1:
                    pred[i] = FlopsLinearRegressor(columns=cols, relative=True).fit(
                        Xtr[same], tw["runtime_s"].to_numpy()[same]).predict(Xte[i:i + 1])[0]
            baselines[name] = pred
        def paleo(net_feats, batches):
            lf = layer_features(net_feats.assign(batch=1.0))
            out = []
            for b in batches:
                moved = lf["weight_mb"] + b * (lf["input_mb"] + lf["output_mb"])
                X = np.column_stack([1e9 * lf["gflop"] * b, 1e6 * moved])
                out.append(float(peaks_model.predict(X).sum()))
            return np.array(out)

        baselines["paleo roofline (measured peaks)"] = paleo(feats, batch_te)
        # the same roofline with one scale per configuration fitted on the other networks (peaks measured on
        # a loaded machine, or a runtime far from peak, only shift it by a factor)
        p_tr = np.concatenate([paleo(feats_of(n), [b]) for n, b in zip(tw["network"], batch_tr)])
        p_te = baselines["paleo roofline (measured peaks)"]
        scaled = np.full(len(test_whole), np.nan)
        for i, c in enumerate(test_whole["config"]):
            same = (tw["config"] == c).to_numpy()
            r = p_tr[same] / tw["runtime_s"].to_numpy()[same]
            scaled[i] = p_te[i] * np.sum(r) / np.sum(r * r)
        baselines["paleo roofline (scale fitted per configuration)"] = scaled
        # Ceiling of any unit model: the MEASURED in-place units of the held-out network, scaled by the
        # whole/units ratio fitted (relative least squares) on the other networks. Its error is what the
        # in-place view and the whole view disagree by, whatever the unit models.
        sums = inplace.groupby(["network", "config"])["runtime_s"].sum()
        tr_s = np.array([sums.get((n, c), np.nan) for n, c in zip(tw["network"], tw["config"])])
        ok = np.isfinite(tr_s)
        scale = float(np.sum(tr_s[ok] / tw["runtime_s"].to_numpy()[ok]) /
                      np.sum((tr_s[ok] / tw["runtime_s"].to_numpy()[ok]) ** 2)) if ok.any() else np.nan
        baselines["ceiling: measured units x fitted scale"] = scale * np.array(
            [sums.get((held, c), np.nan) for c in test_whole["config"]])
        for name, pred in baselines.items():
            net_rows += [{"model": name, "network": held, "config": c, "y": y, "pred": p}
                         for c, y, p in zip(test_whole["config"], test_whole["runtime_s"], pred)]
        for kind in models:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = LayerwisePredictor(model=kind, std_folds=std_folds).fit(train)
                t = m._predict_rows(test_units)[0]
                cfgs = [{k: r[k] for k in knobs if k in r} for _, r in test_whole.iterrows()]
                out = m.predict(feats, cfgs)
                pred, std = out["runtime_s"].to_numpy(), out["runtime_s_std"].to_numpy()
            layer_rows.append(pd.DataFrame({"model": kind, "group": test_units["layer_type"].map(_report_group),
                                            "network": held, "config": test_units["config"],
                                            "y": test_units["runtime_s"], "pred": t}))
            net_rows += [{"model": kind, "network": held, "config": c, "y": y, "pred": p, "std": s}
                         for c, y, p, s in zip(test_whole["config"], test_whole["runtime_s"], pred, std)]
    layers, netres = pd.concat(layer_rows), pd.DataFrame(net_rows)
    tab = layers.groupby(["model", "group"]).apply(lambda d: rmspe(d["y"], d["pred"]), include_groups=False)
    tab = tab.unstack("group")
    print("layer RMSPE % of in-place units, leave-one-network-out:\n")
    print("| model | " + " | ".join(tab.columns) + " |")
    print("|---|" + "---|" * len(tab.columns))
    for model, r in tab.iterrows():
        print(f"| {model} | " + " | ".join(f"{v:.1f}" for v in r) + " |")
    netres["err"] = np.abs(netres["pred"] / netres["y"] - 1)
    print("\nnetwork runtime, leave-one-network-out ((network, configuration) pairs):\n")
    print("| model | pairs | MAPE % | within +-10 % |")
    print("|---|---|---|---|")
    for model, d in netres.groupby("model", sort=False):
        print(f"| {model} | {len(d)} | {100 * d['err'].mean():.1f} | {100 * (d['err'] <= 0.10).mean():.0f} % |")
    _print_coverage(netres[netres["model"].isin(models)])
    if per_network:
        short = {c: ",".join(kv for kv in str(c).split(",") if kv.split("=")[0] in ("threads", "batch"))
                 for c in netres["config"].unique()}
        sums = layers.groupby(["model", "network", "config"])[["y", "pred"]].sum()
        for kind in models:
            d = netres[netres["model"].eq(kind)].set_index(["network", "config"])
            u = sums.loc[kind]
            both = pd.DataFrame({"network %": 100 * (d["pred"] / d["y"] - 1),
                                 "unit sum %": 100 * (u["pred"] / u["y"] - 1)}).reset_index()
            both["config"] = both["config"].map(short)
            print(f"\n{kind}: error per (network, configuration), of the prediction and of its units' sum:\n")
            print(both.pivot(index="network", columns="config").round(1).to_string())
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10, help="random layer splits (default 10)")
    ap.add_argument("--store", "--table", dest="store",
                    help="evaluate leave-one-network-out on this campaign store (or exported .csv/.csv.gz) instead")
    ap.add_argument("--models", default="polynomial,gbr,gp", help="layer models for --store")
    ap.add_argument("--extra-train", metavar="STORE[,STORE]",
                    help="with --store: rows added to every fold's training set "
                    "(e.g. the synthetic kernel networks); never held out")
    ap.add_argument("--extra-networks", type=int, default=0, metavar="N",
                    help="with --extra-train: only the first N networks of each (default: all)")
    ap.add_argument("--reference", metavar="COLUMN", help="with --store: divide every runtime by this speed "
                    "reference of its job (ref_compute_s, ref_memory_s or ref_framework_s) before anything else")
    ap.add_argument("--std-folds", type=int, default=4, metavar="N",
                    help="with --store: LayerwisePredictor(std_folds=N): the predicted std is measured on "
                    "networks left out of the unit models in N groups (0: on the training networks; default 4)")
    ap.add_argument("--per-network", action="store_true",
                    help="with --store: print each layer model's error per (network, configuration)")
    args = ap.parse_args(argv)
    if args.store:
        if args.extra_networks < 0 or args.std_folds < 0:
            ap.error("--extra-networks and --std-folds must be >= 0")
        return evaluate_store(args.store, args.models.split(","), args.extra_train, args.extra_networks,
                              args.per_network, args.reference, args.std_folds)
    table = edge_vision_table()
    ok = table[table["runtime_s"] > 0]
    noise = (ok["runtime_s_std"] / ok["runtime_s"]).median()
    print(f"layers: {len(table)} ({len(ok)} with non-zero latency); per-group counts: "
          f"{ok['layer_type'].map(_report_group).value_counts().to_dict()}")
    print(f"measurement noise: median over layers of std/median of the 100 runs = {100 * noise:.1f} %\n")
    layers, nets = evaluate(table, args.seeds)
    titles = {"lono": "leave-one-network-out", "random": f"random 50 % layer split, {args.seeds} seeds"}
    for scheme, title in titles.items():
        sub = layers[layers["scheme"].eq(scheme)]
        tab = sub.groupby(["model", "group"]).apply(lambda d: rmspe(d["y"], d["pred"]), include_groups=False)
        tab = tab.unstack("group").reindex(columns=[g for g in REPORT_GROUPS if g in set(sub["group"])])
        tab["all"] = sub.groupby("model").apply(lambda d: rmspe(d["y"], d["pred"]), include_groups=False)
        print(f"layer RMSPE % ({title}):\n")
        print("| model | " + " | ".join(tab.columns) + " |")
        print("|---|" + "---|" * len(tab.columns))
        for model, r in tab.reindex(list(MODELS)).iterrows():
            print(f"| {model} | " + " | ".join(f"{v:.1f}" for v in r) + " |")
        print()
    nets["error_%"] = 100 * (nets["predicted_sum_ms"] / nets["measured_sum_ms"] - 1)
    print("network = sum of layer medians, leave-one-network-out:\n")
    print("| model | " + " | ".join(NETWORKS) + " | mean abs % | within +-10 % |")
    print("|---|" + "---|" * (len(NETWORKS) + 2))
    for model in MODELS:
        r = nets[nets["model"].eq(model)].set_index("network")["error_%"]
        print(f"| {model} | " + " | ".join(f"{r[n]:+.1f} %" for n in NETWORKS) +
              f" | {r.abs().mean():.1f} | {int((r.abs() <= 10).sum())}/{len(r)} |")
    sums = nets.drop_duplicates("network").set_index("network")["measured_sum_ms"]
    print("\nmeasured sums (ms): " + ", ".join(f"{n} {sums[n]:.3f}" for n in NETWORKS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
