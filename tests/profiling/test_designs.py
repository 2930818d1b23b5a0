"""Experimental designs: distinct, feasible, on the knobs' levels."""

import numpy as np
import pandas as pd
import pytest

from profiling.designs import DESIGNS, sample
from profiling.errors import ConfigError
from profiling.space import Categorical, ConfigSpace, Continuous, Integer, Ordinal, config_key


def space(constraints=()):
    return ConfigSpace((Integer("threads", 1, 8), Ordinal("freq", (300, 600, 1200, 2400)),
                        Categorical("mode", ("a", "b")), Continuous("frac", 0.1, 0.9, n_levels=5)), constraints)


@pytest.mark.parametrize("design", sorted(DESIGNS))
@pytest.mark.parametrize("n", [1, 7, 40])
def test_designs_are_distinct_feasible_and_on_levels(design, n):
    sp = space(["threads * frac <= 4"])
    configs = sample(sp, n, design, seed=3)
    assert 1 <= len(configs) <= n
    assert len({config_key(c) for c in configs}) == len(configs)
    for c in configs:
        assert sp.is_feasible(c)
        assert c == sp.validate(c)            # values are exactly the allowed levels


@pytest.mark.parametrize("design", ["random", "lhs", "sobol", "interval"])
def test_designs_honour_a_candidate_set(design):
    rows = pd.DataFrame({"a": [1, 2, 3, 4, 5, 1], "b": [10, 10, 20, 20, 30, 30]})
    sp = ConfigSpace.from_table(rows, ["a", "b"])
    configs = sample(sp, 4, design, seed=1)
    allowed = {(r.a, r.b) for r in rows.itertuples()}
    assert len(configs) == 4
    assert all((c["a"], c["b"]) in allowed for c in configs)
    assert len({config_key(c) for c in configs}) == 4


def test_small_space_yields_fewer_configurations():
    sp = ConfigSpace((Integer("a", 0, 2),))
    for design in DESIGNS:
        assert len(sample(sp, 10, design, seed=0)) == 3


def test_lhs_covers_every_level_of_each_knob_once():
    sp = ConfigSpace((Integer("a", 0, 9), Integer("b", 0, 9)))
    configs = sample(sp, 10, "lhs", seed=5)
    assert sorted(c["a"] for c in configs) == list(range(10))
    assert sorted(c["b"] for c in configs) == list(range(10))


def test_interval_design_is_evenly_spaced_in_lexicographic_order():
    sp = ConfigSpace((Integer("depth", 1, 4), Integer("width", 1, 5)))   # 20 shapes
    grid = list(sp.grid())
    configs = sample(sp, 5, "interval", seed=0)
    positions = [grid.index(c) for c in configs]
    assert positions == [0, 4, 8, 12, 16]
    shifted = [grid.index(c) for c in sample(sp, 5, "interval", seed=7)]
    assert np.all(np.diff(shifted) == 4) and 0 <= shifted[0] < 4
    assert len({c["depth"] for c in configs}) == 4     # covers the whole space


def test_interval_needs_a_finite_space():
    sp = ConfigSpace((Continuous("x", 0.0, 1.0),))
    with pytest.raises(ConfigError, match="finite"):
        sample(sp, 3, "interval")


def test_seeded_designs_are_reproducible():
    sp = space()
    for design in ("random", "lhs", "sobol"):
        assert sample(sp, 6, design, seed=11) == sample(sp, 6, design, seed=11)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown design"):
        sample(space(), 3, "grid-search")
    with pytest.raises(ConfigError):
        sample(space(), 0)
