"""Knob encoding and polynomial terms for :mod:`perfmodel.interactions`.

Turns a table's knob columns into a numeric design with the one knob encoding of every model
(:class:`profiling.encoding.Encoding`, reference coding: one-hot for categorical knobs against their first
level, 0/1 for booleans), drops constant and collinear knobs with a note, and enumerates the monomials of a given degree with
:mod:`perfmodel.monomials` (the polynomial core shared with the sparse polynomial model), leaving out powers that a knob's few levels cannot
identify (``b**2 == b`` for a 0/1 knob).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from profiling.encoding import Encoding

from ..errors import DataError
from ..monomials import Monomials, count_monomials, monomial_powers, term_name  # noqa: F401  (term_name: part of this API)

MAX_TERMS = 5000


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", str(text)).strip("_") or "x"
    return name if not name[0].isdigit() else f"_{name}"


@dataclass
class KnobEncoding:
    """How the knob columns of a table become numeric variables (the one knob encoding,
    :class:`profiling.encoding.Encoding`, with reference coding, plus the variables an equation can use).

    Attributes
    ----------
    knobs : list of str
        The knob columns asked for.
    variables : list of str
        Numeric variables the polynomial is written in (knob names, or ``knob_level`` for one-hot columns).
    categories : dict
        ``knob -> levels`` for one-hot encoded knobs (the first level is the reference and has no column).
    booleans : list of str
        Knobs encoded 0/1 (booleans, or the words true/false: read by the one boolean rule).
    dropped : dict
        ``variable -> reason`` for constant or collinear variables left out of the fit.
    notes : list of str
        Human-readable notes on what was encoded or dropped.
    encoder : profiling.encoding.Encoding
        The shared encoding the variables come from.
    """

    knobs: list[str]
    variables: list[str] = field(default_factory=list)
    categories: dict[str, list] = field(default_factory=dict)
    booleans: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    encoder: Encoding = field(default_factory=lambda: Encoding(reference=True))

    def _names(self) -> list[str]:
        out = []
        for k in self.encoder.knobs:
            out += [_onehot_name(k.name, lev) for lev in k.levels[1:]] if k.kind == "category" else [k.name]
        return out

    def transform(self, df: pd.DataFrame, *, keep_dropped: bool = False) -> pd.DataFrame:
        """Numeric variables of ``df`` (float columns named as in :attr:`variables`)."""
        for knob in self.knobs:
            if knob not in df.columns:
                raise DataError(f"the data have no column for the knob {knob!r}")
        out = pd.DataFrame(self.encoder.transform(df, error=DataError), index=df.index, columns=self._names())
        return out if keep_dropped else out[self.variables]


def _onehot_name(knob: str, level) -> str:
    return _identifier(f"{knob}_{level}")


#: the most levels of a knob that is not numeric that an equation one-hot encodes (one variable per level)
MAX_CATEGORY_LEVELS = 50


def encode_knobs(df: pd.DataFrame, knobs: Sequence[str]) -> KnobEncoding:
    """Decide how to encode ``knobs`` of ``df`` and which variables carry information.

    The one knob encoding (:meth:`profiling.encoding.Encoding.learn`) decides each knob's kind: numbers (also
    written as text), booleans 0/1, other knobs one-hot against their first level (sorted). Constant knobs
    are dropped, and a variable that is a linear combination of earlier ones (exactly collinear) is dropped
    too. Every decision is written to ``notes``.
    """
    encoder = Encoding.learn(df, knobs, error=DataError, reference=True)
    enc = KnobEncoding(knobs=list(knobs), encoder=encoder)
    for k in encoder.knobs:
        if k.kind == "bool":
            enc.booleans.append(k.name)
        elif k.kind == "category":
            if len(k.levels) > MAX_CATEGORY_LEVELS:
                raise DataError(f"knob {k.name!r} is not numeric and has {len(k.levels)} levels; "
                                "too many to one-hot encode (give it as numbers)")
            enc.categories[k.name] = list(k.levels)
            enc.notes.append(f"knob {k.name!r} is not numeric: one-hot encoded against level {k.levels[0]!r} "
                             f"({len(k.levels) - 1} column(s))")
    for c in encoder.constants:
        enc.dropped[c.name] = "constant"
        enc.notes.append(f"variable {c.name!r} is constant ({c.levels[0]}) in the data: left out")
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


def rows_needed(x: pd.DataFrame, degree: int) -> int:
    """Rows a degree-``degree`` equation of the variables ``x`` is fitted on: :func:`min_rows`, and no more
    candidate terms than rows (with the intercept and one residual dof). With more candidates than rows the
    selection among them is unstable and the Lasso path slow: 26 knobs give 355 terms at degree 2 and 3059 at
    degree 3, which took minutes per degree on 266 rows (docs/interactions.md)."""
    return max(min_rows(x.shape[1], degree), count_terms(x, degree) + 2)


def count_terms(x: pd.DataFrame, degree: int) -> int:
    """How many terms :func:`monomials` gives, counted without building them (:func:`count_monomials`, each
    variable's powers up to the highest its levels identify)."""
    tops = [max(int(x[c].nunique()), 1) - 1 for c in x.columns]
    return count_monomials(x.shape[1], degree, max_powers=tops)
