"""Which shapes to train: Shape_DNN's sampling strategies and modelling strategies.

Sampling (Shape_DNN, Sec. 4.2):

* ``random``: ``m`` shapes uniformly at random (seeded).
* ``wider``: "wider-shape sampling": shapes ordered by depth then width, ascending, first ``m`` taken, so the
  shallow (cheap to train) shapes of every width come first.
* ``interval``: shapes ordered lexicographically by width then depth, ``m`` taken at evenly spaced
  positions, so the whole space is covered (the seed's best strategy).

Modelling (Shape_DNN, Sec. 4.3): ``thorough``, ``standard``, ``optimistic`` train a decreasing fraction of
the shapes, and a smaller fraction once the space is larger. The seed gives their limits (speed-ups of up
to 3x, 4x, 5x, i.e. 1/3, 1/4, 1/5 of the shapes trained in large spaces) but not its thresholds; the
thresholds below are this project's choice, read off the seed's Table 1 (about half of 20 shapes, a third
of 40-60, a quarter or less of 80).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from .space import Shape

__all__ = ["SAMPLING", "MODELLING", "n_to_train", "select"]

SAMPLING = ("interval", "random", "wider")

#: strategy -> ((space size up to, fraction trained), ...); the last row applies to any larger space.
MODELLING: dict[str, tuple[tuple[float, float], ...]] = {
    "thorough": ((20, 0.50), (60, 0.40), (math.inf, 1 / 3)),
    "standard": ((20, 0.40), (60, 0.30), (math.inf, 1 / 4)),
    "optimistic": ((20, 0.30), (60, 0.25), (math.inf, 1 / 5)),
}

#: Fewest shapes trained: below this a nine-feature regression says nothing.
MIN_TRAINED = 4


def n_to_train(n_shapes: int, modelling: str = "standard", min_trained: int = MIN_TRAINED) -> int:
    """How many of ``n_shapes`` the modelling strategy trains."""
    if modelling not in MODELLING:
        raise ConfigError(f"unknown modelling strategy {modelling!r}; choose one of {', '.join(MODELLING)}")
    if n_shapes <= 0:
        return 0
    frac = next(f for limit, f in MODELLING[modelling] if n_shapes <= limit)
    return min(n_shapes, max(min_trained, math.ceil(frac * n_shapes)))


def select(shapes: Sequence[Shape], m: int, sampling: str = "interval", seed: int = 0) -> list[Shape]:
    """Choose ``m`` of ``shapes`` by a sampling strategy."""
    shapes = list(shapes)
    if sampling not in SAMPLING:
        raise ConfigError(f"unknown sampling strategy {sampling!r}; choose one of {', '.join(SAMPLING)}")
    m = min(int(m), len(shapes))
    if m <= 0:
        return []
    if sampling == "random":
        idx = np.random.default_rng(seed).choice(len(shapes), size=m, replace=False)
        return [shapes[i] for i in sorted(idx)]
    if sampling == "wider":
        return sorted(shapes, key=lambda s: (s.depth, s.width))[:m]
    ordered = sorted(shapes, key=lambda s: (s.width, s.depth))
    idx = np.unique(np.round(np.linspace(0, len(ordered) - 1, m)).astype(int))
    return [ordered[i] for i in idx]
