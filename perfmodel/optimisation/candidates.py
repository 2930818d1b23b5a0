"""The candidate set of a search space and the GP's input encoding of its configurations.

:class:`Candidates` holds a finite space's grid (or draws a random subset of an infinite or very large one)
and maps configurations to the surrogate's inputs; :func:`linked_groups` finds the knobs that move together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from profiling.designs import sample as design_sample
from profiling.encoding import log_scaled
from profiling.space import ConfigSpace, config_key

from ..errors import OptimisationError

if TYPE_CHECKING:
    from .base import SearchState

# Above this many configurations a finite space is searched through a random subset of candidates.
MAX_CANDIDATES = 20_000


def _is_chain(pairs: np.ndarray) -> bool:
    # Distinct (a, b) rows sorted by a then b (np.unique's order) form a chain iff b never decreases.
    return bool(np.all(np.diff(pairs[:, 1]) >= 0))


def linked_groups(matrix: np.ndarray) -> list[tuple[int, ...]]:
    """Groups of columns of ``matrix`` that move together over its rows (*linked* knobs).

    Two columns are linked when their distinct joint values form a chain: ordered by one column, the
    other never decreases (e.g. per-core on/off flags where core k+1 is only ever on when core k is:
    000, 100, 110, 111). A group is a set of varying columns linked pairwise, so the group's joint values
    are totally ordered; columns are taken in order and join the first group they are linked to every
    member of. Columns that do not vary are never grouped. Returns every group, singletons included, in
    the order of their first column.
    """
    matrix = np.asarray(matrix, dtype=float)
    d = matrix.shape[1]
    varying = [np.unique(matrix[:, j]).size > 1 for j in range(d)]
    # Two columns that form a chain are comonotone, so their covariance is positive (Hoeffding): the exact
    # test runs only on such pairs (a categorical knob's one-hot columns, never positively correlated, number
    # hundreds for a table's label column: all pairs tested took minutes)
    centred = matrix - matrix.mean(axis=0)
    cov = centred.T @ centred
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    comonotone = cov > -1e-9 * np.outer(sd, sd)
    groups: list[list[int]] = []
    for j in range(d):
        for g in groups:
            if varying[j] and all(varying[i] and comonotone[i, j] and _is_chain(np.unique(matrix[:, [i, j]], axis=0))
                                  for i in g):
                g.append(j)
                break
        else:
            groups.append([j])
    return [tuple(g) for g in groups]


def _log_scaled_knob(knob) -> bool:
    # Whether an integer or ordinal knob's levels are a scale the GP sees as logarithms (log_scaled).
    return getattr(knob, "kind", None) in ("integer", "ordinal") and knob.levels is not None \
        and log_scaled(knob.levels)


class Candidates:
    """The finite candidate set of a space (cached grid and unit-cube matrix) and the GP's input encoding.

    :meth:`encode` maps configurations to the GP's inputs through the one knob encoder,
    :meth:`ConfigSpace.encoding <profiling.space.ConfigSpace.encoding>` (:class:`profiling.encoding.Encoding`):
    a numeric knob is its value, a boolean 0/1, a categorical knob one 0/1 input per level (one-hot, never
    its level's index: the GP must not read an order into unordered choices). Each input is then min-max
    scaled over the knob's declared range (its levels, or ``low..high`` for a continuous knob; on a finite
    grid where every level occurs that is the range over the candidates), and:

    * ``log_inputs``: an integer or ordinal knob whose (three or more) levels are all positive numbers is
      encoded by the log of its value (frequencies, batch sizes, thread counts act multiplicatively, and the
      outputs are modelled on a log scale); a continuous knob declared ``log`` always is;
    * ``linked``: each group of linked inputs (:func:`linked_groups` over the candidates of a finite space)
      becomes one input, the mean of its members. Along a chain every member is non-decreasing and at least
      one increases, so the mean strictly increases: the encoding stays one-to-one on the candidates and
      only removes dimensions that carry no information of their own (three per-core flags that only occur
      as 000/100/110/111 become one "number of cores" input).

    The unit-cube matrix (:meth:`ConfigSpace.to_matrix`, a categorical knob at its choice's index) is kept
    for what designs and samplers draw in (snapping a proposal to the nearest free configuration).
    """

    def __init__(self, space: ConfigSpace):
        self.space = space
        self.finite = space.is_finite and space.size <= MAX_CANDIDATES
        self.log_knobs = tuple(k.name for k in space.knobs if _log_scaled_knob(k))
        self._enc: dict[bool, tuple] = {}
        self._ranks: np.ndarray | None = None          # level index of each candidate's inputs, when asked
        if self.finite:
            self.configs = list(space.grid())
            if not self.configs:
                raise OptimisationError("the configuration space has no feasible configuration")
            self.keys = [config_key(c) for c in self.configs]
            self.index = {k: i for i, k in enumerate(self.keys)}
            self.matrix = space.to_matrix(self.configs)

    def _encoding(self, log_inputs: bool) -> tuple:
        # (encoding, lower bounds, spans, linked groups, features of the candidates or None), cached.
        got = self._enc.get(log_inputs)
        if got is not None:
            return got
        enc = self.space.encoding(log=self.log_knobs if log_inputs else ())
        lo, hi = [], []
        for k in enc.knobs:
            if k.kind != "number":
                lo += [0.0] * len(k.columns)
                hi += [1.0] * len(k.columns)
                continue
            knob = self.space[k.name]
            ends = knob.levels if knob.levels is not None else (knob.low, knob.high)
            v = k.encode(np.asarray(ends, dtype=float))[:, 0]
            lo.append(float(v.min()))
            hi.append(float(v.max()))
        lo_a = np.asarray(lo, dtype=float)
        span = np.asarray(hi, dtype=float) - lo_a
        span[span <= 0] = 1.0
        feats = groups = None
        if self.finite:
            feats = (self._transform(enc, self.configs) - lo_a) / span
            if len(self.configs) > 1:
                groups = linked_groups(feats)
        got = self._enc[log_inputs] = (enc, lo_a, span, groups, feats)
        return got

    def _transform(self, enc, configs: Sequence[Mapping]) -> np.ndarray:
        import pandas as pd

        if not len(configs):
            return np.empty((0, len(enc.names)))
        return enc.transform(pd.DataFrame(list(configs), columns=list(self.space.names)), error=OptimisationError)

    @property
    def groups(self) -> list[tuple[int, ...]]:
        """Groups of linked GP inputs (columns of the log-encoded features; singletons included)."""
        enc, _, _, groups, _ = self._encoding(True)
        return groups if groups is not None else [(j,) for j in range(len(enc.names))]

    def encode(self, configs: Sequence[Mapping], *, linked: bool = True, log_inputs: bool = True) -> np.ndarray:
        """GP inputs of the configurations ``configs`` (see the class docstring)."""
        enc, lo, span, groups, feats = self._encoding(bool(log_inputs))
        rows = [self.index.get(config_key(c)) for c in configs] if feats is not None else [None]
        if feats is not None and all(i is not None for i in rows):
            X = feats[np.asarray(rows, dtype=int)] if rows else np.empty((0, feats.shape[1]))
        else:
            X = (self._transform(enc, configs) - lo) / span
        if not linked or groups is None or all(len(g) == 1 for g in groups):
            return X
        return np.column_stack([X[:, list(g)].mean(axis=1) for g in groups]) if len(X) else \
            np.empty((0, len(groups)))

    def monotone_basis(self, configs: Sequence[Mapping]) -> np.ndarray:
        """A constant and two monotone functions of each GP input of ``configs``: ``r / max(r)``, ``1 / r``.

        ``r`` is each (linked) input as a ratio to its smallest level: the knob's value over its smallest
        level for a positive numeric knob (a clock: ``f / f_min``), one plus the number of members set for a
        group of linked knobs (the number of cores), ``1 + u`` otherwise (``u`` the input in [0, 1]). A
        non-negative combination can only raise or only lower an output along each input, as a clock does a
        runtime (``1 / f``) and a power (``f``): the basis of :class:`BOStrategy`'s ``mean="monotone"``."""
        _, lo, span, groups, _ = self._encoding(False)
        U = self.encode(configs, linked=True, log_inputs=False)
        groups = groups if groups is not None and self.finite else [(j,) for j in range(U.shape[1])]
        cols = [np.ones(len(U))]
        for j, g in enumerate(groups):
            if len(g) > 1:
                r, top = 1.0 + len(g) * U[:, j], 1.0 + len(g)
            elif lo[g[0]] > 0:
                r, top = (lo[g[0]] + U[:, j] * span[g[0]]) / lo[g[0]], (lo[g[0]] + span[g[0]]) / lo[g[0]]
            else:
                r, top = 1.0 + U[:, j], 2.0
            cols += [r / top, 1.0 / r]
        return np.column_stack(cols)

    def neighbours(self, centres: Sequence[Mapping], configs: Sequence[Mapping]) -> np.ndarray:
        """Which of ``configs`` are one level step from one of ``centres`` on the GP's inputs (finite spaces).

        Each (linked, log-encoded) input's distinct values over the grid are its levels; a configuration
        neighbours a centre when their level indices differ by one in exactly one input."""
        if not self.finite or not len(centres) or not len(configs):
            return np.zeros(len(configs), dtype=bool)
        if self._ranks is None:
            F = self.encode(self.configs)
            self._ranks = np.column_stack([np.unique(np.round(F[:, j], 12), return_inverse=True)[1]
                                           for j in range(F.shape[1])])
        R = self._ranks
        c = R[[self.index[config_key(x)] for x in centres]]
        r = R[[self.index[config_key(x)] for x in configs]]
        d = np.abs(r[:, None, :] - c[None, :, :]).sum(axis=2)
        return np.any(d == 1, axis=1)

    def remaining(self, state: SearchState, n_random: int = 2048) -> tuple[list[dict], np.ndarray]:
        if self.finite:
            idx = [i for i, k in enumerate(self.keys) if k not in state.taken]
            return [self.configs[i] for i in idx], self.matrix[idx]
        seed = int(state.rng(7).integers(2**31))
        configs = [c for c in design_sample(self.space, n_random, "random", seed)
                   if config_key(c) not in state.taken]
        return configs, (self.space.to_matrix(configs) if configs else np.empty((0, len(self.space))))

    def nearest_free(self, state: SearchState, vector: np.ndarray) -> dict | None:
        configs, mat = self.remaining(state)
        if not configs:
            return None
        d = np.sum((mat - vector[None, :]) ** 2, axis=1)
        return configs[int(np.argmin(d))]
