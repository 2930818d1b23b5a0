"""The JSON state of a :class:`~perfmodel.models.layerwise.LayerwisePredictor` (model kind ``layerwise``).

Files written by earlier versions load as they were fitted: a missing base, duplicate cost, group feature
list, fusion rule or std-fold count takes the value those versions predicted with.
"""

from __future__ import annotations

import numpy as np

from ..features import FUSED_INTO_MAIN, GROUP_FEATURES_V1, KnobEncoder
from ._common import require_state

__all__ = ["layerwise_state", "layerwise_from_state"]


def layerwise_state(m) -> dict:
    """The fitted predictor ``m`` as a JSON-able dict."""
    from .persistence import state_of

    m._check_fitted()
    return {"params": {"model": m.model, "view": m.view, "log_target": bool(m.log_target),
                       "log_features": bool(m.log_features), "network_term": bool(m.network_term),
                       "min_rows": int(m.min_rows),
                       "model_params": None if m.model_params is None else
                       {k: list(v) if isinstance(v, tuple) else v for k, v in m.model_params.items()},
                       "random_state": m.random_state, "base": m.base, "reference": m.reference,
                       "reference_window": int(m.reference_window), "std_folds": int(m.std_folds),
                       "network_batch": bool(m.network_batch), "stacked_term": bool(m.stacked_term)},
            "reference_s": getattr(m, "reference_s_", None),
            "duplicate_s": getattr(m, "duplicate_s_", None),
            "base_coef": [float(v) for v in m.base_coef_] if hasattr(m, "base_coef_") else None,
            "ratio_range": m.ratio_range_,
            "group_features": m.group_features_,
            "knobs": m.knobs_.to_dict(), "knob_defaults": {k: str(v) if not isinstance(v, (int, float, bool))
                                                           else v for k, v in m.knob_defaults_.items()},
            "has_power": m.has_power_, "fuses": m.fuses_, "absorb": list(m.absorb_),
            "knob_ranges": m.knob_ranges_,
            "layer_ranges": getattr(m, "layer_ranges_", None),
            "models": {g: state_of(r) for g, r in m.models_.items()},
            "power_models": {g: state_of(r) for g, r in m.power_models_.items() if r is not None},
            "fallback": state_of(m.fallback_),
            "power_fallback": state_of(m.power_fallback_) if m.power_fallback_ is not None else None,
            "train_rows": m.train_rows_, "skipped_types": m.skipped_types_,
            "n_train_rows": m.n_train_rows_, "networks": m.networks_,
            "network_term": {"coef": m.net_coef_, "knobs": m.net_knobs_, "knob_lo": m.net_knob_lo_,
                             "knob_span": m.net_knob_span_, "rel_std": m.net_rel_std_,
                             "std_folds": m.net_std_folds_, "stacked": bool(getattr(m, "net_stacked_", False)),
                             "n_rows": m.n_network_rows_}}


def layerwise_from_state(cls, state: dict):
    """A fitted ``cls`` (LayerwisePredictor) from :func:`layerwise_state`'s dict."""
    from .persistence import from_state

    require_state(state, ("params", "knobs", "models", "fallback", "network_term"), "layerwise")
    params = dict(state["params"])
    if params.get("model_params"):
        params["model_params"] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in params["model_params"].items()}
    params.setdefault("base", None)  # files written before the base existed predicted without one
    params.setdefault("reference", None)
    params.setdefault("std_folds", 0)  # files written before it: the spread of the training networks
    params.setdefault("network_batch", False)  # files written before it: no batch in the network term
    params.setdefault("stacked_term", False)  # files written before it: the term fitted on the training sums
    m = cls(**params)
    m.reference_s_ = None if state.get("reference_s") is None else float(state["reference_s"])
    # files written before duplicates were known predict them like any layer, as they did
    m.duplicate_s_ = None if state.get("duplicate_s") is None else float(state["duplicate_s"])
    if state.get("base_coef") is not None:
        m.base_coef_ = np.asarray(state["base_coef"], dtype=float)
    m.ratio_range_ = {g: [float(a), float(b)] for g, (a, b) in state.get("ratio_range", {}).items()}
    m.group_features_ = {g: list(v) for g, v in state.get("group_features", GROUP_FEATURES_V1).items()}
    m.knobs_ = KnobEncoder.from_dict(state["knobs"])
    m.knob_defaults_ = dict(state.get("knob_defaults", {}))
    m.has_power_ = bool(state.get("has_power", False))
    m.fuses_ = bool(state.get("fuses", False))
    m.absorb_ = tuple(state.get("absorb", FUSED_INTO_MAIN))
    m.knob_ranges_ = {k: list(v) for k, v in state.get("knob_ranges", {}).items()}
    m.layer_ranges_ = state.get("layer_ranges") or {}  # files before it: no layer range to check
    m.models_ = {g: from_state(d) for g, d in state["models"].items()}
    m.power_models_ = {g: from_state(d) for g, d in state.get("power_models", {}).items()}
    m.fallback_ = from_state(state["fallback"])
    m.power_fallback_ = from_state(state["power_fallback"]) if state.get("power_fallback") else None
    m.train_rows_ = dict(state.get("train_rows", {}))
    m.skipped_types_ = list(state.get("skipped_types", []))
    m.n_train_rows_ = int(state.get("n_train_rows", 0))
    m.networks_ = list(state.get("networks", []))
    net = state["network_term"]
    m.net_coef_ = np.asarray(net["coef"], dtype=float)
    m.net_knobs_ = list(net.get("knobs", []))
    m.net_knob_lo_ = np.asarray(net.get("knob_lo", []), dtype=float)
    m.net_knob_span_ = np.asarray(net.get("knob_span", []), dtype=float)
    m.net_rel_std_ = float(net.get("rel_std", 0.0))
    m.net_std_folds_ = int(net.get("std_folds", 0))
    m.net_stacked_ = bool(net.get("stacked", False))
    m.n_network_rows_ = int(net.get("n_rows", 0))
    return m
