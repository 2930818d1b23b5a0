"""Experimental designs over a :class:`~profiling.space.ConfigSpace`.

Random, full factorial, Latin hypercube and Sobol designs (the last two from :mod:`scipy.stats.qmc`),
all snapped to the knobs' allowed levels, deduplicated and filtered by the space's constraints.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import qmc

from .errors import ConfigError
from .space import ConfigSpace, Value, config_key

DESIGNS: dict[str, Callable[..., list[dict[str, Value]]]] = {}


def _register(name: str):
    def deco(fn):
        DESIGNS[name] = fn
        return fn

    return deco


def sample(space: ConfigSpace, n: int, design: str = "random", seed: int | None = 0) -> list[dict[str, Value]]:
    """Draw up to ``n`` distinct feasible configurations of ``space`` with ``design``.

    Parameters
    ----------
    space : ConfigSpace
    n : int
        Number of configurations wanted. A design never returns duplicates, so a space with fewer
        feasible configurations yields fewer.
    design : {"random", "factorial", "lhs", "sobol", "interval"}
        ``factorial`` ignores ``n`` when it is larger than the grid and returns the whole grid (first ``n``
        configurations otherwise, in grid order).
    seed : int or None
    """
    if design not in DESIGNS:
        raise ConfigError(f"unknown design {design!r}; choose one of {', '.join(sorted(DESIGNS))}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"number of samples must be a positive integer, got {n!r}")
    return DESIGNS[design](space, int(n), seed)


def _dedupe_feasible(space: ConfigSpace, configs, n: int) -> list[dict[str, Value]]:
    out, seen = [], set()
    cand = None if space.candidates is None else set(space.candidates)
    for cfg in configs:
        key = config_key(cfg)
        if key in seen:
            continue
        if cand is not None:
            if tuple(cfg[k] for k in space.names) not in cand:
                continue
        elif not all(c(cfg) for c in space.constraints):
            continue
        seen.add(key)
        out.append(cfg)
        if len(out) == n:
            break
    return out


def _from_candidates(space: ConfigSpace, points: np.ndarray, n: int) -> list[dict[str, Value]]:
    # For a finite candidate set, a point of the cube picks the nearest unused candidate.
    cands = list(space.grid())
    mat = space.to_matrix(cands)
    used: set[int] = set()
    out = []
    for p in points:
        d = np.sum((mat - p) ** 2, axis=1)
        d[list(used)] = np.inf
        i = int(np.argmin(d))
        if not np.isfinite(d[i]):
            break
        used.add(i)
        out.append(cands[i])
        if len(out) == n:
            break
    return out


def _cube_design(space: ConfigSpace, n: int, seed: int | None, make_points) -> list[dict[str, Value]]:
    rng = np.random.default_rng(seed)
    if space.candidates is not None:
        return _from_candidates(space, make_points(n, rng), n)
    out: list[dict[str, Value]] = []
    # Snapping to levels and constraints can lose points; draw more in rounds.
    for round_ in range(8):
        pts = make_points(max(n * (2 ** round_), n), rng)
        out = _dedupe_feasible(space, out + [space.from_vector(p) for p in pts], n)
        if len(out) >= n:
            break
    return out[:n]


@_register("random")
def random_design(space: ConfigSpace, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
    """Uniformly random configurations (uniform over levels)."""
    if space.is_finite and space.size <= 200_000:
        grid = list(space.grid())
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(grid))[:n]
        return [grid[i] for i in idx]
    return _cube_design(space, n, seed, lambda m, rng: rng.random((m, len(space))))


@_register("factorial")
def factorial_design(space: ConfigSpace, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
    """The full factorial grid (first ``n`` feasible points in grid order)."""
    out = []
    for cfg in space.grid():
        out.append(cfg)
        if len(out) == n:
            break
    return out


@_register("lhs")
def lhs_design(space: ConfigSpace, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
    """Latin hypercube (scipy.stats.qmc), snapped to levels."""
    return _cube_design(space, n, seed,
                        lambda m, rng: qmc.LatinHypercube(d=len(space), seed=rng).random(m))


@_register("sobol")
def sobol_design(space: ConfigSpace, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
    """Scrambled Sobol sequence (scipy.stats.qmc), snapped to levels."""
    def pts(m, rng):
        m2 = 1 << max(0, int(np.ceil(np.log2(max(m, 1)))))
        return qmc.Sobol(d=len(space), scramble=True, seed=rng).random(m2)[:m]

    return _cube_design(space, n, seed, pts)


@_register("interval")
def interval_design(space: ConfigSpace, n: int, seed: int | None = 0) -> list[dict[str, Value]]:
    """Interval sampling (Shape_DNN): every k-th configuration of the lexicographically ordered grid.

    The feasible configurations are ordered lexicographically by the knobs' levels (knob order, then
    level order) and ``n`` of them are taken at evenly spaced positions, which covers the whole space;
    ``seed`` shifts the first position randomly within the first interval (``None`` or 0 offset: start
    at the first configuration).
    """
    if not space.is_finite:
        raise ConfigError("interval sampling needs a finite space; give continuous knobs n_levels")
    grid = list(space.grid())
    if space.candidates is not None:
        level_index = [{v: i for i, v in enumerate(k.levels)} for k in space.knobs]
        grid.sort(key=lambda c: tuple(level_index[j][c[k.name]] for j, k in enumerate(space.knobs)))
    if n >= len(grid):
        return grid
    step = len(grid) / n
    offset = 0.0 if not seed else float(np.random.default_rng(seed).uniform(0.0, step))
    idx = np.minimum((offset + step * np.arange(n)).astype(int), len(grid) - 1)
    return [grid[i] for i in idx]
