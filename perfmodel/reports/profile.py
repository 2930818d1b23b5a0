"""The profile section: where the time (and the energy) of each network goes, layer by layer.

Built from a measurement table with per-layer rows (``perfmodel export``, a campaign store, the shipped
H200 tables): per network and configuration the layer-by-layer breakdown, the comparison across networks
and how the runtime moves with each knob. What the table cannot give is said in the section's problems.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import analysis
from . import figures
from .content import Block, Figure, Section

TOP_LAYERS = 10
MAX_DETAILED = 4   # networks drawn in the top-layers figure
MAX_TYPES = 8      # layer types drawn by name in the share figure; the rest are "other types"


def joules(v: float) -> str:
    """An energy with a unit that keeps the number short (mJ under 1 J)."""
    return f"{v:.3g} J" if abs(v) >= 1 else f"{v * 1e3:.3g} mJ"


def level(v) -> str:
    """A knob level as written in a configuration (64, not 64.0)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def common_items(labels: pd.Series) -> set[str]:
    """The ``k=v`` items every configuration label shares (``cudnn_benchmark=on`` on every row says nothing)."""
    sets = [set(i) for i in labels.astype(str).drop_duplicates().str.split(",")]
    return set.intersection(*sets) if sets else set()


def short_configs(labels: pd.Series, common: set[str] | None = None) -> pd.Series:
    """``labels`` without the items in ``common`` (default: those all of ``labels`` share)."""
    common = common_items(labels) if common is None else common
    if not common:
        return labels.astype(str)
    return labels.astype(str).str.split(",").map(lambda parts: ",".join(p for p in parts if p not in common) or "all")


def _batch_of(config: str) -> float:
    for item in str(config).split(","):
        k, _, v = item.partition("=")
        if k.strip() == "batch":
            try:
                return float(v)
            except ValueError:
                return np.nan
    return np.nan


def reference_configs(breakdown: pd.DataFrame) -> dict[str, str]:
    """Per network, the configuration drawn in the per-network figures: the one with the most layer rows
    (every view), ties to the largest batch (the least launch-bound), then the first."""
    counts = breakdown.groupby(["network", "config"], sort=False).size().reset_index(name="n")
    counts["batch"] = counts["config"].map(_batch_of).fillna(0.0)
    counts = counts.sort_values(["network", "n", "batch"], ascending=[True, False, False], kind="stable")
    return dict(counts.groupby("network", sort=False)["config"].first())


#: the network of a table that has no network column
UNNAMED = "network"


def _whole_frame(table: pd.DataFrame, knobs: Sequence[str]) -> pd.DataFrame:
    w = analysis.whole_rows(table)
    if w.empty or "runtime_s" not in w.columns:
        return pd.DataFrame()
    w = w[w["runtime_s"].notna()]
    d = pd.DataFrame({"network": w["network"].astype(str) if "network" in w else UNNAMED,
                      "config": analysis.config_labels(w, knobs), "runtime_s": w["runtime_s"].astype(float)})
    for c in ("power_w", "energy_j", "flops", "params", "n_layers"):
        d[c] = pd.to_numeric(w[c], errors="coerce") if c in w.columns else np.nan
    batch = pd.to_numeric(w["batch"], errors="coerce") if "batch" in w.columns else d["config"].map(_batch_of)
    d["batch"] = batch.fillna(1.0).to_numpy()
    g = (d.groupby(["network", "config"], sort=False)
          .agg(runtime_s=("runtime_s", "median"), power_w=("power_w", "median"), energy_j=("energy_j", "median"),
               flops=("flops", "max"), params=("params", "max"), n_layers=("n_layers", "max"), batch=("batch", "first"),
               repeats=("runtime_s", "size"))
          .reset_index())
    g["energy_per_inference_j"] = g["energy_j"] / g["batch"]
    g["throughput_per_s"] = g["batch"] / g["runtime_s"]
    g["gflop_per_s"] = g["flops"] * g["batch"] / g["runtime_s"] / 1e9
    return g


def build_profile(table: pd.DataFrame, knobs: Sequence[str], source: str, objectives: Sequence[str] = ()) -> Section:
    """The profile section of ``table`` (every row: whole-network and per-layer). ``objectives``: what the knob
    effects show when the table has no ``runtime_s`` (a table of another tool's columns)."""
    sec = Section("profile", "Profile: where the time and the energy go")
    knobs = [k for k in knobs if k in table.columns]
    common = common_items(analysis.config_labels(pd.concat([analysis.whole_rows(table), analysis.layer_rows(table)]),
                                                 knobs))
    bd = sec.attempt("layer breakdown", analysis.layer_breakdown, table, knobs)
    whole = _whole_frame(table, knobs)
    views = sorted(set(bd["view"])) if bd is not None and len(bd) else []
    n_layer = int(bd["repeats"].sum()) if bd is not None and len(bd) else 0
    nets = sorted(set(whole["network"]) if len(whole) else set()) + sorted(
        set(bd["network"]) - set(whole["network"] if len(whole) else []) if bd is not None and len(bd) else set())
    if nets:
        sec.text(f"From {source}: {len(nets)} network(s), {len(whole)} measured network/configuration pair(s) as "
                 f"whole networks, {n_layer} per-layer measurement(s)"
                 + (f" in the view(s) {', '.join(views)}" if views else "") + ". Repeated measurements are averaged "
                 "(median). Views: whole = the network's runtime; inplace = each layer's time inside the running "
                 "network; isolated = each layer run alone.")
    else:  # another tool's table: configurations and its own objective columns, no runtime_s, no layers
        sec.text(f"From {source}: {len(analysis.whole_rows(table))} row(s) of configurations, without a runtime_s "
                 "column or per-layer rows: this section shows how "
                 + (" and ".join([", ".join(objectives[:-1]), objectives[-1]] if len(objectives) > 1 else
                                 objectives) if objectives else "the objectives")
                 + " move with each knob. Repeated measurements are averaged (median).")
    if nets:
        sec.highlights.append(f"Profile: {len(nets)} network(s), {len(whole)} network/configuration pair(s) measured "
                              f"whole, {n_layer} per-layer measurement(s)"
                              + (f" ({', '.join(views)})" if views else "") + ".")
    if bd is None or bd.empty:
        sec.problem("layer-by-layer breakdown (top layers, share by layer type, in-place vs isolated vs whole, the "
                    "gap between the sum of layers and the network): not computed (the table has no per-layer rows; "
                    "profile with 'perfmodel profile --level layer')")
    per_network = None if bd is None or bd.empty else _layers(sec, bd, table, knobs, common)
    if whole.empty:
        sec.problem("comparison across networks (runtime against FLOPs, energy per inference): not computed (the "
                    "table has no successful whole-network rows with a runtime_s)")
    else:
        _across_networks(sec, whole, common)
    _knobs(sec, table, knobs, objectives)
    if per_network is not None:
        sec.heading("Every network, layer by layer")
        sec.blocks.append(per_network)
    return sec


def _layers(sec: Section, bd: pd.DataFrame, table: pd.DataFrame, knobs: Sequence[str], common: set[str]) -> Block:
    """The layer-by-layer part; returns every network's tables, which go at the end of the section."""
    sec.heading("Layer by layer")
    bd = bd.copy()
    bd["config"] = short_configs(bd["config"], common)
    ref = reference_configs(bd)
    main_view = "inplace" if (bd["view"] == "inplace").any() else str(bd["view"].iloc[0])
    sums = sec.attempt("sum of layers against the whole network", analysis.view_sums, table, knobs)
    if sums is not None and len(sums):
        sums["config"] = short_configs(sums["config"], common)
    ref_rows = bd[np.array([ref.get(n) == c for n, c in zip(bd["network"], bd["config"])], dtype=bool)]
    shares = analysis.type_shares(ref_rows[ref_rows["view"] == main_view])
    if len(shares):
        top = shares.loc[shares.groupby(["network", "config"], sort=False)["share"].idxmax()]
        kind = top["layer_type"].mode().iloc[0]
        sec.highlights.append(f"Where the time goes: {kind} layers take the largest share of the layers' {main_view} "
                              f"time in {int((top['layer_type'] == kind).sum())} of {len(top)} network(s) (median "
                              f"share {top.loc[top['layer_type'] == kind, 'share'].median():.0%}).")
        png = sec.attempt("share-by-layer-type figure", figures.type_shares, shares, MAX_TYPES)
        if png:
            sec.figure(Figure("profile-types", f"Share of each layer type in the sum of the layers' {main_view} "
                              "runtimes, per network, in the configuration shown in brackets (the one with the "
                              "most layer rows). Numbers: the table's per-layer rows, median over repeats.", png))
    if sums is not None and len(sums):
        ratio_cols = [c for c in sums.columns if c.endswith("_ratio")]
        gaps = [f"{c.removesuffix('_ratio')} {sums[c].median():.2f}" for c in ratio_cols if sums[c].notna().any()]
        if gaps:
            sec.highlights.append("Sum of the layers / whole network, median over networks and configurations: "
                                  + ", ".join(gaps) + ".")
        if ratio_cols and sums["whole_s"].notna().any():
            png = sec.attempt("sum-of-layers figure", figures.view_gap, sums, ratio_cols)
            if png:
                sec.figure(Figure("profile-gap", "Sum of the layers' runtimes divided by the whole network's runtime "
                                  "(1 = the layers account for the network exactly), per network and configuration, "
                                  "for each layer view. Numbers: the table's per-layer and whole-network rows, "
                                  "median over repeats.", png))
        elif not sums["whole_s"].notna().any():
            sec.problem("gap between the sum of layers and the network: not computed (no whole-network rows)")
        show = sums.copy()
        for c in [c for c in show.columns if c.endswith("_s")]:
            show[c.removesuffix("_s") + "_ms"] = show.pop(c) * 1e3
        views_here = [c.removesuffix("_ratio") for c in ratio_cols]
        cols = ["network", "config", "whole_ms"] + [f"{v}_{what}" for v in views_here
                                                    for what in ("sum_ms", "units", "ratio")]
        sec.table("Whole network against the sum of its layers, per network and configuration (ms; ratio = sum / "
                  "whole: above 1 when timing layers one by one costs more than the network).",
                  show[cols].sort_values(["network", "config"], kind="stable"), max_rows=400)
    every = analysis.type_shares(bd)
    if len(every):
        top_types = list(every.groupby("layer_type")["runtime_s"].sum().sort_values(ascending=False).index[:MAX_TYPES])
        wide = (every.assign(kind=every["layer_type"].where(every["layer_type"].isin(top_types), "other types"))
                .pivot_table(index=["network", "config", "view"], columns="kind", values="share", aggfunc="sum")
                .fillna(0.0))
        wide = wide[[c for c in top_types + ["other types"] if c in wide.columns]].reset_index()
        wide.columns.name = None  # else HTML shows the pivot's "kind" as an empty first column
        sec.table("Share of each layer type in the sum of the layers' runtimes, every network, configuration and view "
                  "(the figure above shows one configuration per network).", wide, max_rows=1000)
    detailed = _pick_networks(bd, ref, main_view)
    if detailed:
        png = sec.attempt("top-layers figure", figures.top_layers,
                          {f"{n} ({ref[n]})": bd[(bd["network"] == n) & (bd["config"] == ref[n])
                                                 & (bd["view"] == main_view)] for n in detailed}, TOP_LAYERS)
        if png:
            sec.figure(Figure("profile-top-layers", f"The {TOP_LAYERS} slowest layers ({main_view} view) of "
                              f"{len(detailed)} network(s), in their configuration named in the title, colour = "
                              "layer type. Numbers: the table's per-layer rows, median over repeats.", png))
    per_net = []
    for net in sorted(ref):
        rows = bd[(bd["network"] == net) & (bd["config"] == ref[net])]
        blocks = []
        for view in sorted(set(rows["view"])):
            v = rows[rows["view"] == view].nlargest(TOP_LAYERS, "runtime_s")
            t = pd.DataFrame({"layer": v["layer"], "unit": v["unit"], "layer_type": v["layer_type"],
                              "runtime_ms": v["runtime_s"] * 1e3, "share": v["share"], "GFLOP": v["flops"] / 1e9})
            if v["power_w"].notna().any():
                t["power_w"] = v["power_w"]
            if (t["unit"] == t["layer"]).all():
                t = t.drop(columns="unit")
            n_view = int((rows["view"] == view).sum())
            blocks.append(Block("table", f"{view}: top {len(v)} of {n_view} layers", table=t))
        st = analysis.type_shares(rows)
        blocks.append(Block("table", "share by layer type",
                            table=st.assign(runtime_ms=st["runtime_s"] * 1e3)[["view", "layer_type", "units",
                                                                               "runtime_ms", "share"]]))
        per_net.append(Block("details", f"{net} ({ref[net]}): top layers and share by layer type", children=blocks))
    return Block("details", f"Top layers and share by layer type of each of the {len(per_net)} network(s)",
                 children=per_net)


def _pick_networks(bd: pd.DataFrame, ref: dict[str, str], view: str) -> list[str]:
    """Up to MAX_DETAILED networks for the top-layers figure: named applications before synthetic ones, the
    slowest first."""
    in_ref = np.array([ref.get(n) == c for n, c in zip(bd["network"], bd["config"])], dtype=bool)
    tot = (bd[(bd["view"] == view).to_numpy() & in_ref]
           .groupby("network")["runtime_s"].sum())
    order = sorted(tot.index, key=lambda n: (str(n).startswith("synthetic"), -tot[n]))
    return order[:MAX_DETAILED]


def _across_networks(sec: Section, whole: pd.DataFrame, common: set[str]) -> None:
    sec.heading("Across networks")
    whole = whole.copy()
    whole["config"] = short_configs(whole["config"], common)
    if whole["flops"].notna().any():
        png = sec.attempt("runtime-vs-FLOPs figure", figures.runtime_vs_flops, whole)
        if png:
            has_e = whole["energy_per_inference_j"].notna().any()
            sec.figure(Figure("profile-flops", "Runtime of one call (left) " + ("and energy per inference "
                              "(right; energy per call / batch) " if has_e else "") + "against the network's FLOPs "
                              "per sample, one colour per configuration. Numbers: the table's whole-network rows "
                              "(median over repeats); FLOPs from the network's layer shapes." + (
                                  "" if has_e else " No energy: the table has no power measurement."), png))
    else:
        sec.problem("runtime against FLOPs: not drawn (the whole-network rows have no flops column)")
    e = whole.dropna(subset=["energy_per_inference_j"])
    if len(e):
        lo, hi = e.loc[e["energy_per_inference_j"].idxmin()], e.loc[e["energy_per_inference_j"].idxmax()]
        p = e["power_w"].dropna()      # energy without power: a table that recorded energy alone
        power = f"; power {p.min():.3g}-{p.max():.3g} W" if len(p) else ""
        # a table without a network column (a study's file) has one unnamed network: its configurations only
        named = not whole["network"].eq(UNNAMED).all()

        def where(r) -> str:
            return f"{r['network']}, {r['config']}" if named else str(r["config"])

        sec.highlights.append(f"Energy per inference: from {joules(lo['energy_per_inference_j'])} ({where(lo)}) "
                              f"to {joules(hi['energy_per_inference_j'])} ({where(hi)}){power}.")
    if not whole["energy_j"].notna().any():
        sec.highlights.append("No power or energy: these measurements had no power sensor (reported missing, not "
                              "filled in).")
        sec.problem("energy per inference: not computed (no power sensor in these measurements: power_w and "
                    "energy_j are empty)")
    t = pd.DataFrame({"network": whole["network"], "config": whole["config"], "runtime_ms": whole["runtime_s"] * 1e3,
                      "GFLOP/sample": whole["flops"] / 1e9, "GFLOP/s": whole["gflop_per_s"],
                      "samples/s": whole["throughput_per_s"], "power_w": whole["power_w"],
                      "energy/inference_mJ": whole["energy_per_inference_j"] * 1e3, "repeats": whole["repeats"]})
    t = t.dropna(axis=1, how="all").sort_values(["network", "config"], kind="stable")
    sec.table("Networks compared, per configuration (whole-network rows; energy per inference = energy per call / "
              "batch).", t, max_rows=400)


def _knobs(sec: Section, table: pd.DataFrame, knobs: Sequence[str], report_objectives: Sequence[str] = ()) -> None:
    sec.heading("How the runtime moves with each knob")
    w = analysis.whole_rows(table)
    by = "network" if "network" in w.columns else None
    # the network, given as a knob, is what the groups are: each other knob's effect is taken within one
    varied = [k for k in knobs if k != by and k in w.columns and w[k].nunique() > 1]
    if not varied:
        sec.problem("runtime against each knob: not computed (no knob takes two values in the whole-network rows)")
        return
    objectives = [o for o in ("runtime_s", "energy_j") if o in w.columns and w[o].notna().any()] or [
        o for o in list(report_objectives)[:2] if o in w.columns and pd.to_numeric(w[o], errors="coerce").notna().any()]
    if not objectives:
        sec.problem("objectives against each knob: not computed (no runtime_s or objective column with values)")
        return
    effects = {}
    for o in objectives:
        e = sec.attempt(f"effect of each knob on {o}", analysis.knob_effects, w, varied, o, by)
        if e is not None and len(e):
            effects[o] = e
    first = objectives[0]
    missing = [k for k in varied if first not in effects or k not in set(effects[first]["knob"])]
    if missing:
        sec.problem(f"{first} against {', '.join(missing)}: not computed (no two measured configurations of a network "
                    "differ in that knob alone; the equations of the decision section model them jointly)")
    if not effects:
        return
    png = sec.attempt("knob-effect figure", figures.knob_effects, effects)
    if png:
        sec.figure(Figure("profile-knobs", f"How {' and '.join(effects)} move with each knob: each grey line "
                          "is one network with the other knobs fixed, divided by its value at the knob's lowest level; "
                          "black = median. Numbers: the table's whole-network rows, median over repeats.", png))
    for k in varied:
        parts = []
        for o, e in effects.items():
            sm = analysis.knob_effect_summary(e[e["knob"] == k])
            if len(sm) > 1:
                last = sm.iloc[-1]
                parts.append(f"{o} x{last['median_ratio']:.3g}")
        if parts:
            sm = analysis.knob_effect_summary(effects[first][effects[first]["knob"] == k]) if first in effects else sm
            sec.highlights.append(f"Knob {k} from {level(sm.iloc[0]['level'])} to {level(sm.iloc[-1]['level'])}: "
                                  + ", ".join(parts) + f" (median over {int(sm.iloc[-1]['groups'])} group(s) of "
                                  "equal other knobs"
                                  + (" and network" if "network" in table.columns else "") + ").")
    for o, e in effects.items():
        sec.table(f"{o} at each knob level divided by its value at the lowest level (the other knobs held equal; "
                  "groups = networks x settings of the other knobs).", analysis.knob_effect_summary(e))
