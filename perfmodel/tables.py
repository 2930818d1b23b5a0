"""Reading measurement tables (CSV) with checks that name the problem.

Every command that takes ``--table`` goes through :func:`read_table`, so a missing column, a non-numeric
value, a NaN, an empty file, duplicated headers or a file that is not UTF-8 all produce the same kind of
one-line :class:`~profiling.errors.TableError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
import warnings
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from profiling.errors import TableError

MAX_TABLE_BYTES = 2 * 1024**3
#: columns that name what was measured rather than how (the network, the input size, ...): a report compares
#: across them, and a configuration-level model or search of rows that differ in one keeps it among the knobs
GROUP_COLUMNS = ("network", "size", "input_size", "workload", "dataset", "platform", "system_name")


def parse_names(text: str | Sequence[str] | None, what: str = "column") -> list[str]:
    """Split ``"a,b,c"`` into names, refusing empty items and repeats."""
    if text is None:
        return []
    items = [t.strip() for t in text.split(",")] if isinstance(text, str) else [str(t).strip() for t in text]
    if not items or any(not t for t in items):
        raise TableError(f"empty {what} name in {text!r}")
    dupes = sorted({t for t in items if items.count(t) > 1})
    if dupes:
        raise TableError(f"{what} {dupes[0]!r} is listed twice")
    return items


def read_table(path: str | os.PathLike, *, knobs: Sequence[str] = (), objectives: Sequence[str] = (),
               numeric_knobs: bool = False, allow_nan_objectives: bool = False) -> pd.DataFrame:
    """Read a CSV measurement table and check the named columns.

    Parameters
    ----------
    path : path-like
        CSV, or gzip-compressed CSV (recognised by its content, whatever the name); ``"-"`` reads standard input
        (``perfmodel export -o - | perfmodel report --table -``).
    knobs : sequence of str
        Columns that must exist and hold no missing values (numeric when ``numeric_knobs``).
    objectives : sequence of str
        Columns that must exist and be numeric; NaN is an error unless ``allow_nan_objectives``.

    Returns
    -------
    pandas.DataFrame
        The table; an unnamed leading index column (as pandas writes) is dropped.
    """
    path = os.fspath(path)
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_TABLE_BYTES + 1)
            size = len(raw)
        else:
            size = os.path.getsize(path)
            with open(path, "rb") as fh:
                raw = fh.read(MAX_TABLE_BYTES + 1)
    except IsADirectoryError:
        raise TableError(f"table {path!r} is a directory, not a CSV file") from None
    except OSError as exc:
        raise TableError(f"cannot read table {path!r}: {exc.strerror}") from None
    if size > MAX_TABLE_BYTES:
        raise TableError(f"table {path!r} is larger than the {MAX_TABLE_BYTES / 1024**2:g} MiB limit")
    if raw[:2] == b"\x1f\x8b":  # gzip (the shipped tables are .csv.gz)
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(MAX_TABLE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise TableError(f"table {path!r} is not a readable gzip file ({exc})") from None
        if len(raw) > MAX_TABLE_BYTES:
            raise TableError(f"table {path!r} is larger than the {MAX_TABLE_BYTES / 1024**2:g} MiB limit unpacked")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"table {path!r} is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise TableError(f"table {path!r} is empty")
    kind = _json_kind(text) if text.lstrip()[:1] in ("{", "[") else None
    if kind is not None:  # a model, a result or a spec file given where a table goes
        raise TableError(f"table {path!r} is a JSON document{kind}, not a CSV table")
    try:
        header = next(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise TableError(f"table {path!r} is not valid CSV: {exc}") from None
    named = [h for h in header if h.strip()]
    dupes = sorted({h for h in named if named.count(h) > 1})
    if dupes:
        raise TableError(f"table {path!r} has the column {dupes[0]!r} twice")
    try:
        df = pd.read_csv(io.StringIO(text), low_memory=False)  # one dtype per column, no DtypeWarning
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TableError(f"table {path!r} is not valid CSV: {msg}") from None
    if len(df.columns) and (str(df.columns[0]).startswith("Unnamed: 0") or df.columns[0] == ""):
        df = df.drop(columns=df.columns[0])
    if len(df) == 0:
        raise TableError(f"table {path!r} has a header but no rows")
    df = config_columns(one_hot_knobs(df, path))
    check_columns(df, knobs=knobs, objectives=objectives, numeric_knobs=numeric_knobs,
                  allow_nan_objectives=allow_nan_objectives, source=path)
    return df


def read_joined(paths: Sequence[str | os.PathLike], **checks) -> pd.DataFrame:
    """The tables ``paths`` read by :func:`read_table` (each with ``checks``) and joined row-wise: the rows of
    all of them, a column that one lacks empty in its rows (tables of one platform, one input size each)."""
    tables = [read_table(p, **checks) for p in paths]
    return tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True, sort=False)


def joined_name(paths: Sequence[str | os.PathLike]) -> str:
    """How errors and labels name the tables ``paths`` together: the path of one, ``a.csv + b.csv`` of several
    (``stdin`` for ``-``)."""
    return " + ".join("stdin" if os.fspath(p) == "-" else os.fspath(p) for p in paths)


def config_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each key of its ``config`` column (``threads=2,batch=1``: the measurement table's) that is not
    a column of its own added as one, each value read as the configuration parser reads it (a table written
    with the config text alone, as the random-CNN checks are). A config text that does not parse adds nothing."""
    if "config" not in df.columns:
        return df
    from profiling.encoding import parse_scalar, split_config
    from profiling.errors import ConfigError

    parsed = {}
    for text in df["config"].dropna().unique():
        try:
            parsed[text] = dict(split_config(str(text)))
        except ConfigError:
            return df
    keys = [k for k in dict.fromkeys(k for items in parsed.values() for k in items) if k not in df.columns]
    if not keys:
        return df
    items = [parsed.get(text, {}) for text in df["config"]]
    return df.assign(**{k: pd.Series([parse_scalar(i[k]) if k in i else np.nan for i in items], index=df.index)
                        .infer_objects() for k in keys})


def one_hot_knobs(df: pd.DataFrame, source: str = "table") -> pd.DataFrame:
    """``df`` with each group of one-hot columns ``name@level`` (Unicorn's ``*_baseline.csv``: ``core_freq@345600``,
    ``core_freq@499200``, ...) read back as one column ``name`` holding the level of the row's 1 (a number where
    every level is one), with a UserWarning naming them. A group is decoded only where its columns hold 0 and 1
    alone, every row has exactly one 1, there are two or more of them, and no column is called ``name`` already
    (``name`` itself without ``@``); other columns are kept as they are. The decoding is pandas'
    ``from_dummies``."""
    groups: dict[str, list[str]] = {}
    for col in df.columns:
        name, at, level = str(col).rpartition("@")
        if at and name and level:
            groups.setdefault(name, []).append(col)
    decoded = {}
    for name, cols in groups.items():
        if len(cols) < 2 or name in df.columns:
            continue
        block = df[cols]
        if "@" in name or not block.isin([0, 1]).all().all() or not (block.sum(axis=1) == 1).all():
            continue
        levels = pd.from_dummies(block.astype(int), sep="@")[name]  # pandas' inverse of get_dummies
        numeric = pd.to_numeric(levels, errors="coerce")
        decoded[name] = (numeric if numeric.notna().all() else levels.astype(object)).to_numpy()
    if not decoded:
        return df
    dropped = [c for name in decoded for c in groups[name]]
    first = df.columns.get_loc(groups[next(iter(decoded))][0])
    out = df.drop(columns=dropped)
    for i, (name, values) in enumerate(decoded.items()):
        out.insert(min(first + i, len(out.columns)), name, values)
    shown = ", ".join(list(decoded)[:8]) + (", ..." if len(decoded) > 8 else "")
    warnings.warn(f"{source}: {len(decoded)} group(s) of one-hot columns (name@level) read as knob columns: {shown}",
                  UserWarning, stacklevel=2)
    return out


def _json_kind(text: str) -> str | None:
    """For a JSON document: `` (a perfmodel-model file)`` where it names its format, else ``""``; None for
    text that is not JSON (a CSV table whose first header begins with a bracket)."""
    import json

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, (dict, list)):
        return None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    return f" (a {fmt[:60]} file)" if isinstance(fmt, str) and fmt else ""


def check_columns(df: pd.DataFrame, *, knobs: Sequence[str] = (), objectives: Sequence[str] = (),
                  numeric_knobs: bool = False, allow_nan_objectives: bool = False,
                  source: str = "table") -> None:
    """Raise :class:`TableError` naming the first missing, non-numeric or NaN column."""
    from profiling.measurement import PER_SAMPLE

    for col in list(knobs) + list(objectives):
        if col not in df.columns:
            lacks = [c for c in (PER_SAMPLE.get(col), "batch") if c and c not in df.columns]
            if col in PER_SAMPLE and lacks:  # what with_per_sample derives, where it can
                raise TableError(f"{source!r} has no column {col!r}, derived from {PER_SAMPLE[col]} / batch where "
                                 f"a table has them; it has no {' and no '.join(lacks)} column")
            names = ", ".join(repr(str(c))[1:-1] for c in df.columns[:30])  # escaped: the message stays one line
            raise TableError(f"{source!r} has no column {col!r}; columns: {names}")
    for col in knobs:
        if df[col].isna().any():
            row = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise TableError(f"{source!r}: knob column {col!r} is empty in row {row + 1}")
        if numeric_knobs and not pd.api.types.is_numeric_dtype(df[col]):
            raise TableError(f"{source!r}: knob column {col!r} is not numeric (e.g. {df[col].iloc[0]!r})")
    for col in objectives:
        if not pd.api.types.is_numeric_dtype(df[col]):
            bad = pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()
            example = df[col][bad].iloc[0] if bad.any() else df[col].iloc[0]
            raise TableError(f"{source!r}: objective column {col!r} is not numeric (e.g. {example!r})")
        values = df[col].to_numpy(dtype=float)
        if not allow_nan_objectives and not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise TableError(f"{source!r}: objective column {col!r} has a missing or infinite value in row {row + 1}")
        if np.any(np.isinf(values)):  # a missing value can be reported as missing; an infinite one is wrong
            row = int(np.flatnonzero(np.isinf(values))[0])
            raise TableError(f"{source!r}: objective column {col!r} has an infinite value in row {row + 1}")


def missing_values(df: pd.DataFrame, column: str, knobs: Sequence[str]) -> tuple[np.ndarray, str]:
    """Which rows of ``df`` have no ``column`` value (a reading not taken there), and the first such row's
    configuration (``k=v,...`` of ``knobs``; ``""`` when every row has one)."""
    from profiling.space import format_config

    missing = df[column].isna().to_numpy()
    first = format_config(df.loc[df.index[missing.argmax()], list(knobs)].to_dict()) if missing.any() else ""
    return missing, first


def with_per_sample(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``df`` with the per-sample outputs among ``names`` that it lacks (``runtime_per_sample_s``,
    ``energy_per_sample_j``: :data:`profiling.measurement.PER_SAMPLE`) derived as a live search measures them,
    the per-call value divided by the ``batch`` column (missing in a row without a positive batch, a failed job's);
    unchanged where there is no such column."""
    from profiling.measurement import PER_SAMPLE

    wanted = [n for n in names if n in PER_SAMPLE and n not in df.columns and PER_SAMPLE[n] in df.columns]
    if not wanted or "batch" not in df.columns:
        return df
    batch = pd.to_numeric(df["batch"], errors="coerce")
    batch = batch.where(batch > 0)
    if batch.isna().all():
        return df
    return df.assign(**{n: pd.to_numeric(df[PER_SAMPLE[n]], errors="coerce") / batch for n in wanted})


def configuration_rows(df: pd.DataFrame, knobs: Sequence[str], source: str = "table") -> pd.DataFrame:
    """The rows of ``df`` that describe configurations, for a configuration-level model or a replayed search.

    A profiler's export (a ``level`` or ``view`` column) also holds per-layer and failed rows: only its
    successful whole-network rows are configurations, and a UserWarning says how many were kept. A table of
    several networks is refused unless ``network`` is one of ``knobs``: a configuration-level model of it would
    average networks together. The knob columns must exist and hold a value in every kept row (a failed
    measurement, left out, may have none).
    """
    check_columns(df.iloc[:0], knobs=knobs, source=source)  # the columns exist
    kept = df
    if "level" in df.columns or "view" in df.columns:
        from .analysis import whole_rows

        kept = whole_rows(df).reset_index(drop=True)
        if kept.empty:
            raise TableError(f"{source!r} has no successful whole-network rows (its rows are per-layer or "
                             "failed measurements)")
    if "network" in kept.columns and "network" not in knobs:
        nets = sorted(set(kept["network"].astype(str)))
        if len(nets) > 1:
            shown = ", ".join(nets[:4]) + (", ..." if len(nets) > 4 else "")
            raise TableError(f"{source!r} holds {len(nets)} networks ({shown}); a configuration-level model or "
                             "search is of one network: give a table of one, make network one of the knobs, or "
                             "fit the layer-wise model")
    check_columns(kept, knobs=knobs, source=source)
    differ = [c for c in GROUP_COLUMNS[1:] if c in kept.columns and c not in knobs and kept[c].nunique() > 1]
    for c in differ:  # tables of several input sizes joined, say: the same configuration at each size
        levels = sorted(map(str, kept[c].dropna().unique()))
        warnings.warn(f"{source}: the rows differ in {c} ({', '.join(levels[:4])}{', ...' if len(levels) > 4 else ''}"
                      f"), which is not a knob: a configuration's rows of each {c} are taken together; add {c} to "
                      "the knobs to tell them apart", UserWarning, stacklevel=2)
    if len(kept) < len(df):
        warnings.warn(f"{source}: using its {len(kept)} successful whole-network rows of {len(df)} (per-layer and "
                      "failed rows are not configurations)", UserWarning, stacklevel=2)
    return kept
