"""Exported measurement tables as the input of a layer-wise model: reading, checking, splitting by mode.

A layer-wise model learns from the rows of exported tables (docs/measurement-table.md): the per-layer rows of
one view teach the unit models, the whole-network rows teach the network-level composition and power. Tables
of one platform combine (rows are concatenated; their knob columns come from the ``config`` column).

A table with a ``cuda_graph`` column holding both ``on`` and ``off`` (the H200 tables,
``datasets/h200-torch``) describes two execution modes that compose layers differently: CUDA-graph replay
(``on``: no per-call launch cost) and eager PyTorch (``off``: one Python launch per kernel). Each mode is
learnt from its own rows; by default graph mode from the ``isolated`` layer rows (each layer captured and
replayed alone, the only per-layer view in graph mode) and eager mode from the ``inplace`` rows (timed inside
the eager forward pass, whose sum is about the eager network). A table without that column is one mode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from ..tables import read_table

__all__ = ["MODE_COLUMN", "NEEDED_COLUMNS", "FEATURE_COLUMNS", "read_tables", "store_frame", "modes_of",
           "ModeRows", "mode_rows", "default_view"]

MODE_COLUMN = "cuda_graph"
# what a layer-wise model cannot be fitted without
NEEDED_COLUMNS = ("network", "level", "view", "layer_type", "runtime_s")
# per-layer shape columns: without any of them every layer of a type looks alike
FEATURE_COLUMNS = ("in_h", "in_w", "in_c", "out_c", "flops")
_DEFAULT_VIEWS = {"on": "isolated", "off": "inplace", None: "inplace"}


def check_columns(df: pd.DataFrame, name: str = "the table") -> None:
    """Raise :class:`DataError` naming the first column a layer-wise model needs that ``df`` lacks."""
    missing = [c for c in NEEDED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{name} has no column {missing[0]!r}, which a layer-wise model needs "
                        f"({', '.join(NEEDED_COLUMNS)}; docs/measurement-table.md)")


def check_layer_table(df: pd.DataFrame, name: str = "the table") -> None:
    """:func:`check_columns`, and per-layer rows with shape columns (the tables together must have them)."""
    check_columns(df, name)
    if not any(c in df.columns for c in FEATURE_COLUMNS):
        raise DataError(f"{name} has no layer shape columns ({', '.join(FEATURE_COLUMNS)}): its layers cannot "
                        "be told apart")
    levels = set(df["level"].astype(str))
    if "layer" not in levels:
        raise DataError(f"{name} has no per-layer rows (level 'layer')")


def read_tables(paths: Sequence[str | os.PathLike] | str | os.PathLike) -> pd.DataFrame:
    """Read and concatenate exported measurement tables (CSV, optionally gzipped) of one platform.

    Each table must have the columns a layer-wise model needs (``NEEDED_COLUMNS``), and the tables together
    per-layer rows with shape columns (a table of whole-network rows only may join one with layer rows).
    Tables whose ``source`` columns name different platforms are refused: their runtimes do not mix.
    A ``table`` column records which file each row came from.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DataError("no table to fit on")
    frames = []
    for p in paths:
        df = read_table(p)  # the project's one table reader: CSV or gzip, size-limited, one-line errors
        check_columns(df, f"table {p!r}")  # a table of whole-network rows only may join one with layer rows
        frames.append(df.assign(table=os.path.basename(p)))
    platforms = [sorted(set(f["source"].dropna().astype(str))) if "source" in f.columns else [] for f in frames]
    named = {tuple(s) for s in platforms if s}
    if len(named) > 1:
        a, b = sorted(named)[:2]
        raise DataError(f"the tables come from different sources ({', '.join(a)} vs {', '.join(b)}): "
                        "fit one model per platform")
    out = pd.concat(frames, ignore_index=True, sort=False)
    check_layer_table(out, f"table {paths[0]!r}" if len(paths) == 1 else "the tables together")
    return out


def store_frame(path: str | os.PathLike) -> pd.DataFrame:
    """The measurement table of a campaign store: a SQLite file (``profiling.store.CampaignStore``) or a
    database URL (``postgresql://...``, through ``profiling.store.open_store``)."""
    from profiling.store import CampaignStore

    if "://" in os.fspath(path):  # a database: profiling.store.open_store
        from profiling.store import open_store

        store = open_store(path, readonly=True)
    elif not os.path.exists(os.fspath(path)):
        raise DataError(f"store {os.fspath(path)!r} does not exist")
    else:
        store = CampaignStore(path, readonly=True)  # a read: no lock, never creates or changes the file
    try:
        table = store.to_frame()
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
    if table is None or len(table) == 0:
        raise DataError(f"store {os.fspath(path)!r} holds no measurements")
    return table


def modes_of(table: pd.DataFrame) -> list[str | None]:
    """The execution modes a table describes: ``["on", "off"]`` values of ``cuda_graph``, or ``[None]``."""
    if MODE_COLUMN not in table.columns:
        return [None]
    values = sorted(set(table[MODE_COLUMN].dropna().astype(str)), reverse=True)  # "on" first
    return values or [None]


def default_view(mode: str | None) -> str:
    """The layer view a mode is learnt from by default (see the module docstring)."""
    return _DEFAULT_VIEWS.get(mode, "inplace")


@dataclass(frozen=True)
class ModeRows:
    """The rows of one mode: all of them (``table``), and counts saying what the model learns from."""

    mode: str | None
    view: str
    table: pd.DataFrame
    n_layer_rows: int
    layer_networks: tuple[str, ...]
    n_network_rows: int
    network_networks: tuple[str, ...]
    n_power_rows: int

    def describe(self) -> str:
        label = "all rows" if self.mode is None else f"{MODE_COLUMN}={self.mode}"
        return (f"{label}: {self.n_layer_rows} layer rows (view {self.view}) of {len(self.layer_networks)} "
                f"networks teach the layer models; {self.n_network_rows} whole-network rows of "
                f"{len(self.network_networks)} networks teach the composition"
                f" ({self.n_power_rows} of them with power)")


def _ok(table: pd.DataFrame) -> pd.DataFrame:
    if "status" in table.columns:
        table = table[table["status"].astype(str).eq("ok")]
    rt = pd.to_numeric(table["runtime_s"], errors="coerce")
    return table[np.isfinite(rt) & (rt > 0)]


def mode_rows(table: pd.DataFrame, mode: str | None, view: str | None = None) -> ModeRows:
    """The successful rows of ``mode`` (a ``cuda_graph`` value, or None for the whole table).

    Raises :class:`DataError` when the mode has no layer rows of ``view`` or no whole-network rows.
    """
    view = view or default_view(mode)
    t = _ok(table)
    if mode is not None:
        t = t[t[MODE_COLUMN].astype(str).eq(mode)]
    level, views = t["level"].astype(str), t["view"].astype(str)
    layers = t[level.eq("layer") & views.eq(view)]
    whole = t[level.eq("network") & views.eq("whole")]
    label = "the table" if mode is None else f"the rows with {MODE_COLUMN}={mode}"
    if len(layers) == 0:
        have = sorted(set(views[level.eq("layer")]))
        raise DataError(f"{label} have no successful layer rows of view {view!r}"
                        + (f" (layer views: {', '.join(have)})" if have else ""))
    power = pd.to_numeric(whole["power_w"], errors="coerce") if "power_w" in whole.columns else \
        pd.Series(np.nan, index=whole.index)
    return ModeRows(mode=mode, view=view, table=t[(level.eq("layer") & views.eq(view)) | level.eq("network")],
                    n_layer_rows=len(layers), layer_networks=tuple(sorted(set(layers["network"].astype(str)))),
                    n_network_rows=len(whole), network_networks=tuple(sorted(set(whole["network"].astype(str)))),
                    n_power_rows=int(np.isfinite(power).sum()))
