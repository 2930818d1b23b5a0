"""The prediction section: a layer-wise model's predictions of the networks it did not train on.

Uses only what both layer-wise predictors (:class:`~perfmodel.models.layerwise.LayerwisePredictor`,
:class:`~perfmodel.models.table_layerwise.TableLayerwisePredictor`) answer: ``predict``, ``predict_layers``,
``trained_networks()``, ``known_knobs()``, ``required_knobs()``, ``layer_view(config)`` and the fitted
``knob_ranges_`` and ``model`` a user can read. Every network of the table that is
not among the model's training networks is predicted from its layers' shapes (its per-layer rows) in
every configuration measured for it as a whole network, and compared with those measurements.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import analysis
from . import figures
from .content import Figure, Section

# columns of a measured row that are measurements, not the layer's shape: dropped before predicting
_MEASURED = ("runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high", "repeats",
             "power_w", "energy_j", "pipelined_s", "power_calls", "sm_clock_mhz", "overhead_s", "config", "status",
             "reason", "other_load", "contended", "measured_at", "converged", "graph_runtime_s", "traced_step_s",
             "unattributed_s", "ref_compute_s", "ref_memory_s", "ref_framework_s")


def model_knobs(model) -> list[str]:
    """Every knob the model knows (varied in training or held at a default)."""
    return list(model.known_knobs())


def required_knobs(model) -> list[str]:
    """The knobs the model was trained across (a prediction must set them)."""
    return list(model.required_knobs())


def _features(rows: pd.DataFrame, knobs: Sequence[str], keep_units: bool) -> pd.DataFrame:
    drop = [c for c in list(_MEASURED) + list(knobs) if c in rows.columns]
    if not keep_units and "unit" in rows.columns:
        drop.append("unit")  # the model fuses the layers as it was trained to, as it would a new network's spec
    return rows.drop(columns=drop).reset_index(drop=True)


def _value(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def build_prediction(table: pd.DataFrame, model, label: str, knobs: Sequence[str]) -> Section:
    sec = Section("prediction", "Prediction: how far to trust the layer-wise model")
    trained = [str(n) for n in model.trained_networks()]
    ranges = getattr(model, "knob_ranges_", None) or {}
    need = required_knobs(model)
    known = model_knobs(model)
    view = model.layer_view()
    sec.text(f"Model {label}: layer-wise predictor ({getattr(model, 'model', '?')} unit models on the {view} "
             f"view), trained on {len(trained)} network(s): {', '.join(trained) or 'not recorded in the file'}. "
             "Each network of this table that is not one of them is predicted from its layers' shapes (its "
             "per-layer rows) in every configuration measured for it as a whole network.")
    rng = pd.DataFrame([{"knob": k, "trained from": lo, "trained to": hi,
                         "must be set to predict": "yes" if k in need else "no (the model's default)"}
                        for k, (lo, hi) in ranges.items()])
    if len(rng):
        sec.table("Ranges of the knobs the model was trained on (a prediction outside them extrapolates).", rng)
    missing = [k for k in need if k not in table.columns]
    if missing:
        held = ", ".join(k for k in known if k in table.columns) or "none of the model's knobs"
        sec.problem(f"predictions: not computed (the model was trained across the knob(s) {', '.join(missing)}, "
                    f"which the table lacks; its columns hold {held})")
        return sec
    whole = analysis.whole_rows(table)
    layers = analysis.layer_rows(table)
    if whole.empty or "network" not in whole.columns:
        sec.problem("predictions: not computed (the table has no whole-network rows to compare with)")
        return sec
    unseen = sorted(set(whole["network"].astype(str)) - set(trained))
    if not unseen:
        sec.problem("predictions: not computed (every network of the table was one the model trained on: "
                    f"{', '.join(sorted(set(whole['network'].astype(str))))})")
        return sec
    # every measured configuration: the model's knobs and the report's (a knob the model does not know still
    # tells measured configurations apart; its predictions are then the same for each of its values)
    cfg_knobs = list(dict.fromkeys([k for k in known if k in whole.columns] + [k for k in knobs if k in whole.columns]))
    unknown = [k for k in knobs if k in whole.columns and k not in known and whole[k].nunique() > 1]
    if unknown:
        sec.text(f"The model does not know the knob(s) {', '.join(unknown)}: it predicts the same for each of their "
                 "values, so its error there shows what they change.")
    rows, unit_rows, notes = [], [], []
    for net in unseen:
        lw = layers[layers["network"].astype(str) == net]
        if lw.empty:
            sec.problem(f"{net}: not predicted (the table has no per-layer rows to take its layers' shapes from)")
            continue
        fview = "isolated" if (lw["view"] == "isolated").any() else str(lw["view"].iloc[0])
        fl = lw[lw["view"] == fview]
        first = analysis.config_labels(fl, knobs)
        fl = fl[first == first.iloc[0]]
        if "layer" in fl.columns:
            fl = fl.drop_duplicates("layer" if fview == "isolated" else ["layer", "unit"])
        wn = whole[(whole["network"].astype(str) == net) & whole["runtime_s"].notna()]
        wn = wn.assign(**{c: pd.to_numeric(wn[c], errors="coerce") if c in wn else np.nan
                          for c in ("power_w", "energy_j")})
        meas = wn.groupby(cfg_knobs, dropna=False, sort=True).agg(
            runtime_s=("runtime_s", "median"), power_w=("power_w", "median"),
            energy_j=("energy_j", "median")).reset_index()
        measured_cfgs = [{k: _value(r[k]) for k in cfg_knobs} for r in meas.to_dict("records")]
        configs = [{k: v for k, v in c.items() if k in known} for c in measured_cfgs]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pred = sec.attempt(f"{net}: prediction", model.predict, _features(fl, list(knobs) + known,
                                                                              keep_units=fview != "isolated"), configs)
        notes += sorted({f"{net}: {w.message}" for w in caught})
        if pred is None:
            continue
        for (_, m), (_, p), cfg in zip(meas.iterrows(), pred.iterrows(), measured_cfgs):
            outside = [k for k, (lo, hi) in ranges.items() if k in cfg and isinstance(cfg[k], (int, float))
                       and not lo <= float(cfg[k]) <= hi]
            err = p["runtime_s"] / m["runtime_s"] - 1
            std = p.get("runtime_s_std", np.nan)
            row = {"network": net, "config": ",".join(f"{k}={cfg[k]}" for k in cfg_knobs if k in need or k in knobs)
                   or "default",
                   "measured_ms": m["runtime_s"] * 1e3, "predicted_ms": p["runtime_s"] * 1e3,
                   "std_ms": std * 1e3, "error": err,
                   "z": abs(p["runtime_s"] - m["runtime_s"]) / std if std and np.isfinite(std) else np.nan,
                   "outside training": ", ".join(outside) or "no"}
            if np.isfinite(p.get("energy_j", np.nan)) and np.isfinite(m["energy_j"]):
                row["energy_error"] = p["energy_j"] / m["energy_j"] - 1
            rows.append(row)
            # the model's view (of this configuration), unit by unit, for errors by layer type
            mv = lw[(lw["view"] == model.layer_view({k: v for k, v in cfg.items() if k in known}))]
            if len(mv):
                sel = np.ones(len(mv), dtype=bool)
                for k in cfg_knobs:
                    if k in mv.columns:
                        sel &= (mv[k].astype(str) == str(cfg[k])).to_numpy()
                mv = mv[sel]
            if len(mv):
                keys = [c for c in ("layer", "unit") if c in mv.columns]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pl = sec.attempt(f"{net}: per-layer prediction", model.predict_layers,
                                     _features(mv.drop_duplicates(keys), list(knobs) + known, keep_units=True),
                                     [{k: v for k, v in cfg.items() if k in known}])
                if pl is not None and "unit" in pl.columns and "unit" in mv.columns:
                    got = mv.groupby("unit", sort=False).agg(measured_s=("runtime_s", "median"),
                                                            layer_type=("layer_type", "first"))
                    pu = pl.groupby("unit", sort=False)["runtime_s"].sum().rename("predicted_s")
                    j = got.join(pu, how="inner").reset_index()
                    unit_rows.append(j.assign(network=net))
    for n in notes[:10]:
        sec.problem(f"note: {n}")
    if not rows:
        sec.problem("predictions: none computed (see above)")
        return sec
    res = pd.DataFrame(rows)
    _coverage(sec, res, label)
    if unit_rows:
        _by_type(sec, pd.concat(unit_rows, ignore_index=True), view)
    else:
        sec.problem(f"errors by layer type: not computed (no {view} per-layer rows of the predicted networks, the "
                    "view the model was trained on)")
    return sec


def _coverage(sec: Section, res: pd.DataFrame, label: str) -> None:
    a = res["error"].abs()
    z = res["z"].dropna()
    sec.highlights.append(f"Prediction by {label}: {res['network'].nunique()} network(s) it did not train on, median "
                          f"|error| {a.median():.0%} over {len(res)} configuration(s)"
                          + (f"; {float((z <= 1).mean()):.0%} within 1 predicted std, {float((z <= 2).mean()):.0%} "
                             "within 2" if len(z) else "") + ".")
    pct = lambda v: round(100 * float(v), 1)  # noqa: E731 - percentages in the tables
    summary = pd.DataFrame([{
        "networks": res["network"].nunique(), "configurations": len(res),
        "median |error| %": pct(a.median()), "MAPE %": pct(a.mean()), "max |error| %": pct(a.max()),
        "within 1 std %": pct((z <= 1).mean()) if len(z) else np.nan,
        "within 2 std %": pct((z <= 2).mean()) if len(z) else np.nan}])
    sec.text("Errors are relative (predicted / measured - 1) on the whole-network runtime. The std's coverage is the "
             "share of predictions whose error is within one and two predicted standard deviations (about 68 % and "
             "95 % if the std is calibrated).")
    sec.table("Accuracy on networks the model did not train on.", summary)
    png = sec.attempt("predicted-vs-measured figure", figures.unseen_predictions, res)
    if png:
        sec.figure(Figure("prediction-unseen", f"Runtime predicted by {label} (error bars: 1 predicted std) against "
                          "the measured runtime of each network it did not train on, per configuration; dashed: "
                          "perfect agreement, dotted: ±25 %. Numbers: the model's predictions from the table's "
                          "per-layer rows (layer shapes) and the table's whole-network rows (measured).", png))
    show = res.copy()
    for c in [c for c in show.columns if c.endswith("error")]:
        show[c.replace("error", "error_%")] = (show.pop(c) * 100).round(1)
    show = show[[c for c in show.columns if c != "outside training"] + ["outside training"]]
    sec.table("Every prediction (error: predicted / measured - 1, in %; z: |predicted - measured| in predicted std's; "
              "outside training: knobs out of the trained range).", show, max_rows=400)


def _by_type(sec: Section, units: pd.DataFrame, view: str) -> None:
    units = units[(units["measured_s"] > 0) & units["predicted_s"].notna()]
    units = units.assign(error=units["predicted_s"] / units["measured_s"] - 1)
    g = (units.groupby("layer_type")
              .agg(units=("error", "size"), measured_ms=("measured_s", "sum"), predicted_ms=("predicted_s", "sum"),
                   median_abs_error=("error", lambda e: float(e.abs().median())),
                   median_error=("error", "median"))
              .reset_index())
    g["measured_ms"] *= 1e3
    g["predicted_ms"] *= 1e3
    g["share of measured time"] = g["measured_ms"] / g["measured_ms"].sum()
    g["median_abs_error"] = (100 * g["median_abs_error"]).round(1)
    g["median_error"] = (100 * g["median_error"]).round(1)
    g = g.rename(columns={"median_abs_error": "median |error| %", "median_error": "median error %"})
    g = g.sort_values("measured_ms", ascending=False)
    png = sec.attempt("errors-by-layer-type figure", figures.errors_by_type, units)
    if png:
        sec.figure(Figure("prediction-types", f"Relative error of each layer's predicted runtime ({view} view) in the "
                          "networks the model did not train on, by layer type (box: quartiles; n = units). Numbers: "
                          "the model's per-layer predictions against the table's per-layer rows.", png))
    sec.table(f"Errors by layer type ({view} view; error = predicted / measured - 1 per unit, in %; times summed "
              "over every predicted network and configuration).", g)
