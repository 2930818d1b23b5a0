"""A recorded table as a platform: evaluating a configuration looks its row up.

The space is the table's distinct knob rows (a finite candidate space), so a complete grid such as the
flexibo-tx2 files becomes an offline benchmark with a known true Pareto front. Every result is labelled
``replay:<file>``: nothing here is measured live.

Duplicated configurations (the same knob values on several rows, e.g. repeated measurements) are
**averaged**, with a :class:`ReplayDuplicateWarning` that says how many; pass ``duplicates="error"`` to
refuse them instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, TableError
from ..space import ConfigSpace, format_config
from .base import Platform


class ReplayDuplicateWarning(UserWarning):
    """A replayed table lists some configurations more than once (their outputs are averaged)."""


class ReplayPlatform(Platform):
    """Replay of a recorded table.

    Parameters
    ----------
    table : pandas.DataFrame or path
        Knob columns and output columns (a path is read with :func:`pandas.read_csv`; the CLI reads it
        with the checked reader of :mod:`perfmodel.tables` first and passes the frame).
    knobs : sequence of str
        Columns that make up a configuration.
    outputs : sequence of str
        Numeric columns returned by :meth:`evaluate` (objectives and constrained metrics).
    duplicates : {"mean", "error"}
        What to do with configurations that appear on several rows.
    label : str, optional
        File name used in :attr:`source` (defaults to the path's base name, or ``table``).
    """

    name = "replay"
    simulated = True

    def __init__(self, table: pd.DataFrame | str | os.PathLike, knobs: Sequence[str], outputs: Sequence[str],
                 *, duplicates: str = "mean", label: str | None = None):
        if duplicates not in ("mean", "error"):
            raise ConfigError(f"duplicates must be 'mean' or 'error', got {duplicates!r}")
        if not isinstance(table, pd.DataFrame):
            path = os.fspath(table)
            label = label or os.path.basename(path)
            try:
                table = pd.read_csv(path)
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                raise TableError(f"cannot read table {path!r}: {str(exc).splitlines()[0]}") from None
        self.label = label or "table"
        knobs, outputs = list(knobs), list(outputs)
        if not knobs or not outputs:
            raise ConfigError("a replay platform needs at least one knob column and one output column")
        both = sorted(set(knobs) & set(outputs))
        if both:
            raise ConfigError(f"column {both[0]!r} is both a knob and an output")
        for col in knobs + outputs:
            if col not in table.columns:
                raise TableError(f"{self.label!r} has no column {col!r}; columns: {', '.join(map(str, table.columns))}")
        for col in outputs:
            values = pd.to_numeric(table[col], errors="coerce")
            if values.isna().any() or not np.all(np.isfinite(values.to_numpy(dtype=float))):
                row = int(np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))[0])
                raise TableError(f"{self.label!r}: output column {col!r} has a missing or non-numeric value "
                                 f"in row {row + 1}")
        self.knobs = tuple(knobs)
        self.outputs = tuple(outputs)
        self._space = ConfigSpace.from_table(table, knobs, name=f"replay:{self.label}")
        frame = table[knobs + outputs].copy()
        frame[outputs] = frame[outputs].apply(pd.to_numeric)
        # Rows keyed by the validated knob values, so any spelling of a value (1 vs 1.0) finds its row.
        keys = [tuple(k.validate(v) for k, v in zip(self._space.knobs, row))
                for row in frame[knobs].itertuples(index=False, name=None)]
        frame["_key"] = keys
        counts = frame.groupby("_key", sort=False).size()
        self.n_rows = len(frame)
        self.n_duplicated = int((counts > 1).sum())
        if self.n_duplicated:
            example = dict(zip(knobs, counts[counts > 1].index[0]))
            msg = (f"{self.label}: {self.n_duplicated} configuration(s) appear on more than one row "
                   f"({self.n_rows} rows, {len(counts)} distinct), e.g. {format_config(example)}")
            if duplicates == "error":
                raise TableError(msg)
            warnings.warn(msg + "; their outputs are averaged", ReplayDuplicateWarning, stacklevel=2)
        means = frame.groupby("_key", sort=False)[outputs].mean()
        self._lookup = {key: {o: float(v) for o, v in zip(outputs, row)}
                        for key, row in zip(means.index, means.itertuples(index=False, name=None))}

    # -- Platform interface
    @property
    def source(self) -> str:
        return f"replay:{self.label}"

    def space(self) -> ConfigSpace:
        return self._space

    def describe(self) -> dict[str, Any]:
        return {"platform": "replay", "source": self.source, "rows": self.n_rows,
                "configurations": len(self._lookup), "knobs": list(self.knobs), "outputs": list(self.outputs)}

    # -- evaluation
    def evaluate(self, config: Mapping[str, Any]) -> dict[str, float]:
        """The recorded outputs of ``config`` (averaged over duplicated rows)."""
        cfg = self._space.validate(config, fill_defaults=False)
        values = self._lookup.get(tuple(cfg[n] for n in self._space.names))
        if values is None:
            raise ConfigError(f"configuration {format_config(cfg)} is not in {self.label!r}")
        return dict(values)

    __call__ = evaluate

    def frame(self) -> pd.DataFrame:
        """One row per distinct configuration: knob values and (averaged) outputs."""
        rows = [{**dict(zip(self._space.names, key)), **vals} for key, vals in self._lookup.items()]
        return pd.DataFrame(rows, columns=[*self._space.names, *self.outputs])
