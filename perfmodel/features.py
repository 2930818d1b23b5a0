"""Features of layers, fused units and configurations for the layer-wise models.

Per layer type, the NeuralPower feature set (Cai et al. 2017: batch, input size, channels in/out, kernel,
stride, padding) plus its "special terms" (FLOPs and memory traffic: weight, input and output bytes), which
enter the polynomial only linearly. Fused units (``conv+bn+relu``, as the runtime executes them) carry the
shapes of their main layer, the sums of FLOPs/bytes over their layers, and the number of fused layers.
Configuration knobs are appended as features so that one model spans configurations.

Input rows follow the measurement table (docs/measurement-table.md): per-sample (batch 1) shapes and
counts; the ``batch`` knob, when present, scales the per-call FLOPs and activation bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from profiling.encoding import Encoding
from profiling.fusion import FUSED_INTO_MAIN, FUSION_MAINS

from .errors import DataError

__all__ = ["RANGE_FEATURES", "layer_ranges", "layers_outside", "GROUPS", "GROUP_FEATURES", "SPECIAL_FEATURES", "GENERIC_FEATURES", "TABLE_COLUMNS", "group_of",
           "layer_features", "collapse_units", "fuse_layers", "split_separable", "separable_halves", "KnobEncoder",
           "knob_columns", "GROUP_FEATURES_V1", "run_key"]

# canonical layer_type -> model group; None = costs nothing by itself (graph input)
GROUPS: dict[str, str | None] = {
    "conv2d": "conv", "depthwise_conv2d": "depthwise", "separable_conv2d": "separable", "dense": "dense",
    "max_pool": "pool", "avg_pool": "pool", "global_pool": "pool",
    "batch_norm": "elementwise", "activation": "elementwise", "add": "elementwise", "multiply": "elementwise",
    "rescaling": "elementwise", "normalization": "elementwise",
    "concat": "memory", "zero_padding": "memory", "reshape": "memory", "other": "other", "input": None,
}
GROUPS["dropout"] = None  # no work at inference

# NeuralPower-style feature sets (derived columns, see layer_features)
GROUP_FEATURES: dict[str, list[str]] = {
    "conv": ["batch", "in_hw", "in_c", "out_c", "kernel", "stride", "pad_same", "act_any", "act_exp"],
    "depthwise": ["batch", "in_hw", "in_c", "kernel", "stride", "pad_same", "act_any", "act_exp"],
    "dense": ["batch", "in_c", "out_c", "act_any", "act_exp"],
    "pool": ["batch", "in_hw", "in_c", "kernel", "stride"],
    "elementwise": ["batch", "in_hw", "in_c", "act_any", "act_exp", "act_hard"],
    "memory": ["batch", "in_hw", "in_c", "out_hw"],
    "other": ["batch", "in_hw", "in_c", "out_hw", "out_c"],
}
# feature sets of models saved before the activation features existed (loaded files keep predicting alike)
GROUP_FEATURES_V1: dict[str, list[str]] = {g: [f for f in v if not f.startswith("act_")]
                                           for g, v in GROUP_FEATURES.items()}
# element-wise activation functions by cost: exponentials / tanh, and the piecewise "hard" approximations of
# them (softmax is a reduction over the channels, not one of these: it only counts as "some activation")
EXP_ACTIVATIONS = ("silu", "swish", "sigmoid", "tanh", "gelu", "elu", "selu", "softplus", "exponential", "mish")
HARD_ACTIVATIONS = ("hard_silu", "hard_swish", "hard_sigmoid", "hard_tanh")
# special terms: linear only (NeuralPower's F_s), per call (scaled by batch)
SPECIAL_FEATURES = ["gflop", "weight_mb", "input_mb", "output_mb", "n_fused"]
# features of the fallback model used for a type never seen in training
GENERIC_FEATURES = ["batch", "in_hw", "in_c", "out_c"]

TABLE_COLUMNS = {
    "source", "campaign", "network", "level", "view", "layer", "unit", "layer_type", "config", "runtime_s",
    "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high", "repeats", "overhead_s",
    "power_w", "energy_j", "power_sensor", "status", "reason", "other_load", "contended", "in_h", "in_w", "in_c",
    "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h", "stride_w", "padding", "groups", "flops",
    "params", "weight_bytes", "input_bytes", "output_bytes", "n_layers", "measured_at", "activation",
    # written by the exporter beside the contract's columns: properties of a row, not knobs
    "input_size", "converged", "unit_size", "unit_types", "traced_step_s", "graph_runtime_s", "unattributed_s",
    "inplace_method", "ref_compute_s", "ref_memory_s", "ref_framework_s", "duplicate_of",
}
# FUSED_INTO_MAIN, FUSION_MAINS: the fusion rule (conv+bn+relu as one unit), from profiling.fusion, shared with the
# in-place tracers that name the measured units
_SUM_COLUMNS = ("flops", "params", "weight_bytes", "input_bytes", "output_bytes")
_SHAPE_COLUMNS = ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h", "stride_w")


def group_of(layer_type: str) -> str | None:
    """Model group of a canonical layer type (an unknown type maps to ``"other"``)."""
    return GROUPS.get(str(layer_type), "other")


def config_keys(table: pd.DataFrame) -> list[str]:
    """The keys of ``table``'s ``config`` column (``k=v,...``) that are columns of it, in order of appearance;
    empty without a usable ``config`` column."""
    keys: list[str] = []
    if "config" in table.columns:
        for text in table["config"].dropna().astype(str).unique():
            for item in text.split(","):
                k = item.split("=", 1)[0].strip()
                if "=" in item and k and k not in keys and k in table.columns:
                    keys.append(k)
    return keys


def knob_columns(table: pd.DataFrame) -> list[str]:
    """Knob columns of an exported table: the keys of its ``config`` column (``k=v,...``) that are columns.

    Without a usable ``config`` column, every column that the table contract does not name.
    """
    return config_keys(table) or [c for c in table.columns
                                  if c not in TABLE_COLUMNS and not str(c).startswith("Unnamed")]


def fuse_layers(rows: pd.DataFrame, absorb: Sequence[str] = FUSED_INTO_MAIN,
                mains: Sequence[str] = FUSION_MAINS) -> pd.DataFrame:
    """Give per-layer rows (in network order) a ``unit`` as a fusing runtime would run them.

    A batch-norm and/or activation layer directly after a conv / depthwise / separable / dense layer joins its
    unit (``conv1+bn1+relu1``); every other layer is a unit of its own. Use on a spec's per-layer features when
    the training table's in-place units were fused.
    """
    rows = rows.reset_index(drop=True).copy()
    types = rows["layer_type"].astype(str).tolist()
    names = rows["layer"].astype(str).tolist() if "layer" in rows else [f"layer{i}" for i in range(len(rows))]
    units, current, seen = [], None, set()
    for name, t in zip(names, types):
        if current is not None and t in absorb and t not in seen:
            current.append(name)
            seen.add(t)
            units.append(current)
            continue
        current, seen = ([name], set()) if t in mains else (None, set())
        units.append(current if current is not None else [name])
    rows["unit"] = ["+".join(u) for u in units]
    return rows


def _num(df: pd.DataFrame, col: str, default: float = 0.0) -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), default, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").fillna(default).to_numpy(dtype=float)


def layer_features(rows: pd.DataFrame, batch: np.ndarray | None = None) -> pd.DataFrame:
    """Derived features of every row (all groups' columns; pick ``GROUP_FEATURES[g] + SPECIAL_FEATURES``).

    Parameters
    ----------
    rows : DataFrame
        Layer/unit rows with the table's feature columns (missing ones count as 0 / 1).
    batch : array, optional
        Batch size per row (default: the ``batch`` column, else 1).
    """
    if batch is None:
        batch = _num(rows, "batch", 1.0)
    batch = np.where(batch > 0, batch, 1.0)
    in_h, in_w = _num(rows, "in_h", 1.0), _num(rows, "in_w", 1.0)
    out_h, out_w = _num(rows, "out_h", 1.0), _num(rows, "out_w", 1.0)
    kh, kw = _num(rows, "kernel_h", 1.0), _num(rows, "kernel_w", 1.0)
    sh, sw = _num(rows, "stride_h", 1.0), _num(rows, "stride_w", 1.0)
    pad = rows["padding"].astype(str).str.lower().eq("same").to_numpy(dtype=float) if "padding" in rows else \
        np.zeros(len(rows))
    if "unit" in rows.columns:
        n_fused = rows["unit"].fillna("").astype(str).map(lambda u: u.count("+") + 1 if u else 1).to_numpy(float)
    else:
        n_fused = np.ones(len(rows))
    act = rows["activation"].fillna("").astype(str).str.lower() if "activation" in rows.columns else \
        pd.Series("", index=rows.index)
    act = act.where(~act.isin(("nan", "none", "linear")), "")
    return pd.DataFrame({
        "batch": batch,
        "in_hw": np.sqrt(np.maximum(in_h * in_w, 0.0)),
        "in_c": _num(rows, "in_c", 1.0),
        "out_hw": np.sqrt(np.maximum(out_h * out_w, 0.0)),
        "out_c": _num(rows, "out_c", 1.0),
        "kernel": np.sqrt(np.maximum(kh * kw, 0.0)),
        "stride": np.sqrt(np.maximum(sh * sw, 0.0)),
        "pad_same": pad,
        "gflop": batch * _num(rows, "flops") / 1e9,
        "weight_mb": _num(rows, "weight_bytes") / 1e6,
        "input_mb": batch * _num(rows, "input_bytes") / 1e6,
        "output_mb": batch * _num(rows, "output_bytes") / 1e6,
        "n_fused": n_fused,
        "act_any": act.ne("").to_numpy(dtype=float),
        "act_exp": act.isin(EXP_ACTIVATIONS).to_numpy(dtype=float),
        "act_hard": act.isin(HARD_ACTIVATIONS).to_numpy(dtype=float),
    }, index=rows.index)


def collapse_units(rows: pd.DataFrame) -> pd.DataFrame:
    """Merge per-layer rows that belong to one fused unit (same ``unit``) into one row, as the table does.

    The unit row keeps the shapes and type of its main layer (the one with the most FLOPs, first on ties) and
    sums FLOPs, params and bytes. Rows without a ``unit`` column are returned unchanged.
    """
    if "unit" not in rows.columns or rows["unit"].isna().all():
        return rows
    out = []
    for unit, grp in rows.groupby(rows["unit"].fillna(rows.get("layer", "")), sort=False):
        if len(grp) == 1:
            out.append(grp.iloc[0])
            continue
        main = grp.iloc[int(np.argmax(_num(grp, "flops")))].copy()
        for col in _SUM_COLUMNS:
            if col in grp.columns:
                main[col] = _num(grp, col).sum()
        if "activation" in grp.columns:  # the unit applies whichever nonlinearity a member applies
            acts = [a for a in grp["activation"].fillna("").astype(str) if a and a.lower() != "nan"]
            main["activation"] = acts[-1] if acts else ""
        main["layer"] = main.get("layer", unit)
        main["unit"] = unit
        out.append(main)
    return pd.DataFrame(out).reset_index(drop=True)


def _separable_parts(s: pd.DataFrame, bytes_per_value: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The depthwise and the pointwise (1x1 conv) halves of ``separable_conv2d`` rows (same index)."""
    in_c, out_c = _num(s, "in_c", 1.0), _num(s, "out_c", 1.0)
    out_hw = _num(s, "out_h", 1.0) * _num(s, "out_w", 1.0)
    k2 = _num(s, "kernel_h", 1.0) * _num(s, "kernel_w", 1.0)
    dw = s.copy()
    dw["layer_type"] = "depthwise_conv2d"
    dw["out_c"] = in_c
    dw["flops"] = 2.0 * out_hw * in_c * k2
    dw["weight_bytes"] = bytes_per_value * in_c * k2
    dw["output_bytes"] = bytes_per_value * out_hw * in_c
    pw = s.copy()
    pw["layer_type"] = "conv2d"
    pw["in_h"], pw["in_w"] = _num(s, "out_h", 1.0), _num(s, "out_w", 1.0)
    for c in ("kernel_h", "kernel_w", "stride_h", "stride_w"):
        pw[c] = 1
    pw["flops"] = 2.0 * out_hw * in_c * out_c
    pw["weight_bytes"] = np.maximum(_num(s, "weight_bytes") - dw["weight_bytes"].to_numpy(), 0.0)
    pw["input_bytes"] = dw["output_bytes"]
    return dw, pw


def split_separable(rows: pd.DataFrame, bytes_per_value: int = 4) -> pd.DataFrame:
    """Replace each ``separable_conv2d`` row by a depthwise row and a pointwise (1x1) ``conv2d`` row.

    Separable convolutions measured in one family do not extrapolate to another; their two halves do.
    Added column ``part_of`` holds the original row's index (to sum the halves back).
    """
    rows = rows.copy()
    rows["part_of"] = rows.index
    sep = rows.get("layer_type", pd.Series("", index=rows.index)).astype(str).eq("separable_conv2d")
    if not sep.any():
        return rows
    dw, pw = _separable_parts(rows[sep], bytes_per_value)
    return pd.concat([rows[~sep], dw, pw])


# the columns that name one measured run of a network (a job's view): its rows' layers are unique in it
_RUN_KEYS = ("source", "campaign", "network", "input_size", "config", "view")


def run_key(rows: pd.DataFrame, extra: Sequence[str] = ()) -> pd.Series:
    """One string per row naming its measured run (the run columns ``rows`` has) and its ``extra`` columns."""
    keys = [c for c in _RUN_KEYS if c in rows.columns] + list(extra)
    return pd.Series(["\x1f".join(map(str, r)) for r in rows[keys].itertuples(index=False)], index=rows.index)


def separable_halves(rows: pd.DataFrame, bytes_per_value: int = 4) -> pd.DataFrame:
    """Name the two halves of a separable convolution that a runtime times as two units.

    TensorFlow runs a separable convolution as a depthwise kernel followed by a pointwise (1x1) kernel,
    usually fused with the next batch-norm, so the profiler's in-place view holds two rows for one
    ``separable_conv2d`` layer, both carrying the whole layer's shapes: the depthwise part first (in
    execution order), then the pointwise part. This turns the first into a ``depthwise_conv2d`` row and the
    second into a ``conv2d`` (1x1) row with the features of their half, so that the halves train the
    depthwise and conv models (and are predicted like a split spec layer). A separable layer with one row
    (timed as one unit) is left as it is.
    """
    if "layer_type" not in rows.columns or "layer" not in rows.columns:
        return rows
    if not rows.index.is_unique:  # e.g. tables concatenated without ignore_index: rows are matched by label below
        out = separable_halves(rows.reset_index(drop=True), bytes_per_value)
        out.index = rows.index
        return out
    sep = rows["layer_type"].astype(str).eq("separable_conv2d")
    if not sep.any():
        return rows
    s = rows[sep]
    key = run_key(s, ["layer"])
    n = key.map(key.value_counts())
    nth = s.groupby(key, sort=False).cumcount()
    two = n.eq(2)
    if not two.any():
        return rows
    dw, pw = _separable_parts(s[two], bytes_per_value)
    first = nth[two].eq(0).to_numpy()
    out = rows.copy()
    for col in dw.columns.union(pw.columns):
        if col not in out.columns:
            continue
        values = np.where(first, dw[col].to_numpy(dtype=object), pw[col].to_numpy(dtype=object))
        if pd.api.types.is_numeric_dtype(out[col]) and col != "layer_type":
            values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()
        out.loc[s.index[two.to_numpy()], col] = values
    return out


class KnobEncoder:
    """Knob columns -> numeric features for the layer-wise models: the one knob encoding
    (:class:`profiling.encoding.Encoding`: numbers as is, booleans 0/1 read by the one boolean rule, other
    values one-hot; knobs constant in the training rows are left out, as they carry no information and would
    only add polynomial terms, and a different value of one at prediction is refused or warned about).

    Kept as the layer-wise models' persisted form (``{"knobs", "encoding"[, "constants"]}``).
    """

    def __init__(self, knobs: Sequence[str] = ()):
        self.knobs = list(knobs)
        self.encoding_obj_ = Encoding()

    def fit(self, df: pd.DataFrame) -> "KnobEncoder":
        self.encoding_obj_ = Encoding.learn(df, self.knobs, error=DataError)
        return self

    @property
    def encoder(self) -> Encoding:
        """The immutable :class:`profiling.encoding.Encoding` (also the declared knob types for
        :func:`profiling.encoding.parse_config`)."""
        return self.encoding_obj_

    @property
    def encoding(self) -> list[dict]:
        """The encoded knobs as dicts (``{"name", "kind"[, "levels"]}``)."""
        return self.encoding_obj_.to_list()

    @property
    def names(self) -> list[str]:
        return self.encoding_obj_.names

    @property
    def used(self) -> list[str]:
        return self.encoding_obj_.used

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        return self.encoding_obj_.frame(df, error=DataError)

    def to_dict(self) -> dict:
        d = {"knobs": self.knobs, "encoding": self.encoding}
        if self.encoding_obj_.constants:
            d["constants"] = self.encoding_obj_.constants_list()
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "KnobEncoder":
        enc = cls(d["knobs"])
        enc.encoding_obj_ = Encoding.from_list(d["encoding"], d.get("constants", ()))
        return enc


#: The per-sample layer features whose trained range a prediction is checked against (a layer outside it is
#: extrapolated): work, input size, channels in and out.
RANGE_FEATURES = ("gflop", "in_hw", "in_c", "out_c")


def layer_ranges(layers: pd.DataFrame) -> dict[str, dict[str, list[float]]]:
    """Per layer group, the [min, max] of each of :data:`RANGE_FEATURES` over ``layers`` (per sample: the
    batch is checked on its own)."""
    f = layer_features(layers.assign(batch=1.0))
    groups = layers["layer_type"].map(group_of)
    out = {}
    for g in groups.dropna().unique():
        sub = f[groups.eq(g).to_numpy()]
        out[str(g)] = {c: [float(sub[c].min()), float(sub[c].max())] for c in RANGE_FEATURES}
    return out


def layers_outside(ranges: Mapping[str, Mapping[str, Sequence[float]]], layers: pd.DataFrame) -> list[str]:
    """What of ``layers`` lies outside :func:`layer_ranges`' ``ranges``, one phrase per (group, feature):
    ``"3 conv layer(s) (e.g. conv2d_4) with out_c outside 8..128"``; empty when nothing does."""
    if not ranges or "layer_type" not in layers.columns or len(layers) == 0:
        return []
    f = layer_features(layers.assign(batch=1.0))
    groups = layers["layer_type"].map(group_of)
    outside = []
    for g, rng in ranges.items():
        mask = groups.eq(g).to_numpy()
        if not mask.any():
            continue
        for c in RANGE_FEATURES:
            a, b = rng[c]
            v = f.loc[mask, c].to_numpy()
            bad = (v < a) | (v > b)
            if bad.any():
                layer = str(layers.loc[mask].iloc[int(np.argmax(bad))].get("layer", "?"))
                outside.append(f"{int(bad.sum())} {g} layer(s) (e.g. {layer}) with {c} outside {a:g}..{b:g}")
    return outside
