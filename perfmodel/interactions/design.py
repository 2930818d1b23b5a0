"""Knob encoding and polynomial terms for :mod:`perfmodel.interactions`.

Turns a table's knob columns into a numeric design (one-hot for categorical knobs, 0/1 for booleans),
drops constant and collinear knobs with a note, and enumerates the monomials of a given degree with
:mod:`perfmodel.monomials` (the polynomial core shared with the sparse polynomial model), leaving out powers that a knob's few levels cannot
identify (``b**2 == b`` for a 0/1 knob).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from ..monomials import Monomials, monomial_powers, term_name  # noqa: F401  (term_name: part of this API)

MAX_TERMS = 5000


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", str(text)).strip("_") or "x"
    return name if not name[0].isdigit() else f"_{name}"


@dataclass
class KnobEncoding:
    """How the knob columns of a table become numeric variables.

    Attributes
    ----------
    knobs : list of str
        The knob columns asked for.
    variables : list of str
        Numeric variables the polynomial is written in (knob names, or ``knob_level`` for one-hot columns).
    categories : dict
        ``knob -> levels`` for one-hot encoded knobs (the first level is the reference and has no column).
    booleans : list of str
        Knobs stored as booleans (encoded 0/1).
    dropped : dict
        ``variable -> reason`` for constant or collinear variables left out of the fit.
    notes : list of str
        Human-readable notes on what was encoded or dropped.
    """

    knobs: list[str]
    variables: list[str] = field(default_factory=list)
    categories: dict[str, list] = field(default_factory=dict)
    booleans: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def transform(self, df: pd.DataFrame, *, keep_dropped: bool = False) -> pd.DataFrame:
        """Numeric variables of ``df`` (float columns named as in :attr:`variables`)."""
        cols: dict[str, np.ndarray] = {}
        for knob in self.knobs:
            if knob not in df.columns:
                raise DataError(f"the data have no column for the knob {knob!r}")
            s = df[knob]
            if knob in self.categories:
                levels = self.categories[knob]
                unknown = sorted({str(v) for v in s.unique()} - {str(v) for v in levels})
                if unknown:
                    raise DataError(f"knob {knob!r} has the level {unknown[0]!r}, not seen when fitting")
                for level in levels[1:]:
                    cols[_onehot_name(knob, level)] = (s.astype(str) == str(level)).to_numpy(dtype=float)
            else:
                if s.isna().any():
                    raise DataError(f"knob column {knob!r} has a missing value")
                try:
                    cols[knob] = s.to_numpy(dtype=float)
                except (TypeError, ValueError):
                    raise DataError(f"knob column {knob!r} is not numeric (e.g. {s.iloc[0]!r})") from None
        out = pd.DataFrame(cols, index=df.index)
        return out if keep_dropped else out[self.variables]


def _onehot_name(knob: str, level) -> str:
    return _identifier(f"{knob}_{level}")


def encode_knobs(df: pd.DataFrame, knobs: Sequence[str]) -> KnobEncoding:
    """Decide how to encode ``knobs`` of ``df`` and which variables carry information.

    Non-numeric knobs are one-hot encoded against their first level (sorted), boolean knobs become 0/1,
    constant variables are dropped, and a variable that is a linear combination of earlier ones
    (exactly collinear) is dropped too. Every decision is written to ``notes``.
    """
    enc = KnobEncoding(knobs=list(knobs))
    for knob in knobs:
        if knob not in df.columns:
            raise DataError(f"the data have no column for the knob {knob!r}")
        s = df[knob]
        if s.isna().any():
            raise DataError(f"knob column {knob!r} has a missing value in row {int(np.flatnonzero(s.isna())[0]) + 1}")
        if pd.api.types.is_bool_dtype(s):
            enc.booleans.append(knob)
        elif not pd.api.types.is_numeric_dtype(s):
            numeric = pd.to_numeric(s, errors="coerce")
            if numeric.notna().all():  # numbers stored as text
                continue
            levels = sorted(s.astype(str).unique())
            if len(levels) > 50:
                raise DataError(f"knob {knob!r} is not numeric and has {len(levels)} levels; "
                                "too many to one-hot encode (give it as numbers)")
            enc.categories[knob] = levels
            enc.notes.append(f"knob {knob!r} is not numeric: one-hot encoded against level {levels[0]!r} "
                             f"({len(levels) - 1} column(s))")
    full = enc.transform(df, keep_dropped=True)
    kept: list[str] = []
    for col in full.columns:
        x = full[col].to_numpy()
        if np.ptp(x) == 0:
            enc.dropped[col] = "constant"
            enc.notes.append(f"variable {col!r} is constant ({x[0]:g}) in the data: left out")
            continue
        trial = kept + [col]
        z = full[trial].to_numpy()
        z = (z - z.mean(axis=0)) / z.std(axis=0)
        if np.linalg.matrix_rank(z, tol=1e-8 * max(z.shape)) < len(trial):
            enc.dropped[col] = "collinear"
            enc.notes.append(f"variable {col!r} is a linear combination of {', '.join(repr(k) for k in kept)}: "
                             "left out (collinear)")
            continue
        kept.append(col)
    if not kept:
        raise DataError("every knob is constant or collinear in the data: nothing to fit")
    enc.variables = kept
    return enc


def monomials(x: pd.DataFrame, degree: int) -> Monomials:
    """All monomials of degree 1..``degree`` of the columns of ``x`` that the data can identify.

    A power ``p`` of a variable with ``L`` distinct values is left out when ``p >= L`` (it is a linear
    combination of lower powers on those values: ``b**2 == b`` for a 0/1 variable).
    """
    n_levels = np.array([x[c].nunique() for c in x.columns])
    powers = monomial_powers(x.shape[1], degree)
    keep = np.all(powers < np.maximum(n_levels, 1)[None, :], axis=1)
    powers = powers[keep]
    if len(powers) > MAX_TERMS:
        raise DataError(f"a degree-{degree} polynomial of {x.shape[1]} knobs has {len(powers)} terms "
                        f"(more than {MAX_TERMS}): choose fewer knobs or a lower degree")
    return Monomials(tuple(x.columns), powers)


def min_rows(n_variables: int, degree: int) -> int:
    """Rows needed for ``degree``: every knob's own polynomial, an intercept and one residual dof."""
    return n_variables * degree + 2
