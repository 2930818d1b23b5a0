"""The measurement table: a campaign store flattened to one row per measurement.

Columns are documented in ``docs/measurement-table.md``; units are in the names.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pandas as pd

from .spec import FEATURE_COLUMNS, NetworkSpec

_SUMMED = ("flops", "params", "weight_bytes", "input_bytes", "output_bytes")
_BASE_COLUMNS = [
    "source", "executor", "campaign", "network", "input_size", "level", "view", "layer", "unit", "layer_type", "config",
    "runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high", "repeats",
    "converged", "overhead_s", "power_w", "energy_j", "power_sensor", "status", "reason", "other_load",
    "contended", "measured_at",
]


def unit_features(spec: NetworkSpec, unit: str, main: str) -> dict[str, Any]:
    """Features of a unit of fused layers: shapes of the main layer, sums of the cost terms."""
    names = [n for n in unit.split("+") if n] or [main]
    feats = dict(spec.layer(main).features())
    for key in _SUMMED:
        feats[key] = sum(spec.layer(n).features()[key] for n in names)
    # the unit's nonlinearity is that of whichever member applies one (conv+bn+relu: relu)
    acts = [spec.layer(n).activation() for n in names]
    feats["activation"] = next((a for a in reversed(acts) if a), "")
    feats["unit_size"] = len(names)
    # which kinds of layers the runtime ran as one kernel, in execution order (``zero_padding+conv2d``)
    feats["unit_types"] = "+".join(spec.layer(n).type for n in names)
    return feats


def network_features(spec: NetworkSpec) -> dict[str, Any]:
    return {"flops": spec.flops(), "params": spec.params(),
            "weight_bytes": sum(layer.features()["weight_bytes"] for layer in spec.layers),
            "n_layers": len(spec.compute_layers)}


def measurements_frame(store) -> pd.DataFrame:
    """Flatten ``store`` (a :class:`~profiling.store.CampaignStore` or a
    :class:`~profiling.stores.sql.SqlStore`) into the measurement table."""
    campaigns = store.campaigns()
    sources = {c["name"]: c["source"] for c in campaigns}
    executors = {c["name"]: c["executor"] for c in campaigns}
    specs: dict[tuple[str, int], NetworkSpec] = {}
    for r in store.spec_rows():
        specs[(r["network"], r["input_size"])] = NetworkSpec.from_json(r["spec"])
    duplicates = {key: spec.duplicates() for key, spec in specs.items()}
    rows: list[dict[str, Any]] = []
    missing: list[tuple[str, str, str]] = []  # (network, unit, why) of rows whose features could not be derived
    knob_names: list[str] = []
    for r in store.measurement_records():
        cfg = json.loads(r["config"])
        for k in cfg:
            if k not in knob_names:
                knob_names.append(k)
        row: dict[str, Any] = {
            "source": sources.get(r["campaign"], ""), "executor": executors.get(r["campaign"], ""),
            "campaign": r["campaign"], "network": r["network"],
            "input_size": r["input_size"] or None, "level": r["level"], "view": r["view"], "layer": r["layer"],
            "unit": r["unit"], "layer_type": r["layer_type"],
            "config": ",".join(f"{k}={_fmt(v)}" for k, v in cfg.items()),
            **{k: r[k] for k in ("runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low",
                                 "runtime_s_ci_high", "repeats", "overhead_s", "power_w", "energy_j", "status",
                                 "reason", "other_load", "measured_at")},
            "converged": None if r["converged"] is None else bool(r["converged"]),
            "contended": bool(r["contended"]),
            "power_sensor": r["power_sensor"] or "",
        }
        row.update(cfg)
        spec = specs.get((r["network"], r["input_size"]))
        if spec is not None:
            try:
                if r["level"] == "network":
                    row.update(network_features(spec))
                elif r["layer"]:
                    row.update(unit_features(spec, r["unit"], r["layer"]))
                    # the unit's main layer repeats an earlier one's computation (NetworkSpec.duplicates): a
                    # runtime that computes the two once times them under one of their names
                    row["duplicate_of"] = duplicates[(r["network"], r["input_size"])].get(r["layer"], "")
            except Exception as exc:  # noqa: BLE001 - a spec that lacks the layer leaves its features empty
                # ... and says so: in the row (``features_error``) and in one warning for the whole table
                row["features_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                missing.append((r["network"], r["unit"] or r["layer"] or "network", row["features_error"]))
        if r["extra"]:
            for k, v in json.loads(r["extra"]).items():
                row.setdefault(k, v)
        rows.append(row)
    # Jobs that failed as a whole have no measurement rows: they appear as one failed row each.
    for r in store.failed_jobs_without_rows():
        cfg = json.loads(r["config"])
        rows.append({"source": sources.get(r["campaign"], ""), "executor": executors.get(r["campaign"], ""),
                     "campaign": r["campaign"], "network": r["network"],
                     "input_size": r["input_size"] or None, "level": r["level"], "view": "whole",
                     "layer": "", "unit": "", "layer_type": "",
                     "config": ",".join(f"{k}={_fmt(v)}" for k, v in cfg.items()), "status": r["status"],
                     "reason": r["reason"], "measured_at": r["finished_at"], "power_sensor": r["power_sensor"] or "",
                     **cfg})
    columns = _BASE_COLUMNS + [k for k in knob_names if k not in _BASE_COLUMNS] + list(FEATURE_COLUMNS) + [
        "unit_size", "unit_types", "n_layers", "duplicate_of"]
    if missing:
        net, unit, why = missing[0]
        warnings.warn(f"{len(missing)} measurement row(s) exported without layer features or duplicate_of (their "
                      f"network spec lacks what they name; first: {net} {unit}: {why}); see column features_error",
                      stacklevel=2)
    df = pd.DataFrame(rows)
    extra_cols = [c for c in df.columns if c not in columns]
    return df.reindex(columns=columns + extra_cols)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)
