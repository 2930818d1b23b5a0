"""Duplicate layers: weightless layers that repeat an earlier layer's computation on the same inputs.

A layer with a non-empty ``duplicate_of`` column (``NetworkSpec.duplicates``) costs, in a measured runtime that
computes it once (TensorFlow does), what the training table's duplicates cost; in a runtime that computes each,
it is a layer like any other. :func:`duplicate_cost` tells the two apart from the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import run_key

__all__ = ["DUPLICATE_EVIDENCE_S", "duplicate_mask", "duplicate_groups", "duplicate_cost"]

# a group of equal layers says whether the runtime computed it once only when its longest member takes longer
# than the timer's resolution (1 us) by a margin
DUPLICATE_EVIDENCE_S = 5e-6


def duplicate_mask(rows: pd.DataFrame) -> pd.Series:
    """Rows of layers that repeat an earlier layer's computation (a non-empty ``duplicate_of``)."""
    if "duplicate_of" not in rows.columns:
        return pd.Series(False, index=rows.index)
    col = rows["duplicate_of"]  # all-empty in a CSV reads as float NaN
    return col.notna() & col.astype(str).str.strip().ne("")


def duplicate_groups(layers: pd.DataFrame) -> pd.Series:
    """For the rows of duplicate layers and of the layers they repeat: a key naming their group in their run
    (the same for a layer and its duplicates); NaN for every other row."""
    dup = duplicate_mask(layers)
    if not dup.any():
        return pd.Series(np.nan, index=layers.index, dtype=object)
    net = layers["network"].astype(str)
    name = layers["layer"].astype(str) if "layer" in layers.columns else pd.Series("", index=layers.index)
    repeated = set(zip(net[dup], layers.loc[dup, "duplicate_of"].astype(str)))
    member = dup | pd.Series([k in repeated for k in zip(net, name)], index=layers.index)
    m = layers[member]
    first = np.where(dup[member], m["duplicate_of"].astype(str), name[member])
    return run_key(m.assign(_first=first), ["_first"]).reindex(layers.index)


def duplicate_cost(layers: pd.DataFrame, group: pd.Series) -> float | None:
    """What a duplicate layer costs in the measured runtime (``LayerwisePredictor.duplicate_s_``).

    A runtime that computes a group of equal layers once gives its time to one of them, not necessarily the
    first (TensorFlow keeps one node's name): the other members are the duplicates' cost. It computes each
    when the second-longest member of a group takes at least half of the longest; only groups whose longest
    takes ``DUPLICATE_EVIDENCE_S`` or more say which. Without such groups the runtime is taken to compute
    duplicates once, as TensorFlow, the runtime of this project's CPU and Jetson platforms, does.
    """
    t = layers.loc[group.notna(), "runtime_s"].astype(float)
    if t.empty:
        return 0.0
    g = group[t.index]
    rank = t.groupby(g).rank(method="first", ascending=False)
    top, second = t[rank.eq(1)].groupby(g).max(), t[rank.eq(2)].groupby(g).max()
    both = second.index[top.reindex(second.index) >= DUPLICATE_EVIDENCE_S]
    if len(both) and float(np.median(second[both] / top[both])) >= 0.5:
        return None
    others = t[rank.gt(1)]
    return float(np.median(others)) if len(others) else 0.0
