"""ConfigSpace: typed knobs, constraints, candidates, vectors, JSON."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiling.errors import ConfigError
from profiling.space import (Boolean, Categorical, ConfigSpace, Constraint, Continuous, Integer, Ordinal,
                             config_key, format_config)


def space():
    return ConfigSpace(
        (Integer("threads", 1, 8), Integer("inter", 1, 4), Ordinal("freq", (2400, 300, 1200, 600)),
         Continuous("frac", 0.1, 0.9, n_levels=5), Continuous("lr", 1e-4, 1e-1, log=True),
         Categorical("layout", ("nhwc", "nchw")), Boolean("xla")),
        ["inter <= threads"], name="cpu")


def test_knob_validation():
    sp = space()
    assert sp["freq"].levels == (300, 600, 1200, 2400)            # sorted
    assert sp["threads"].validate("3") == 3
    with pytest.raises(ConfigError, match="out of range"):
        sp["threads"].validate(9)
    with pytest.raises(ConfigError, match="integer"):
        sp["threads"].validate(2.5)
    with pytest.raises(ConfigError):
        sp["threads"].validate(True)
    assert sp["freq"].validate(600.0) == 600
    with pytest.raises(ConfigError, match="not one of"):
        sp["freq"].validate(700)
    assert sp["frac"].validate(0.3) == pytest.approx(0.3)
    with pytest.raises(ConfigError, match="levels"):
        sp["frac"].validate(0.31)
    assert sp["lr"].validate(0.05) == 0.05
    with pytest.raises(ConfigError, match="outside"):
        sp["lr"].validate(0.5)
    for text, value in (("on", True), ("off", False), ("1", True), ("no", False)):
        assert sp["xla"].parse(text) is value
    with pytest.raises(ConfigError):
        sp["xla"].validate("maybe")
    with pytest.raises(ConfigError, match="not one of"):
        sp["layout"].validate("nchw4")


def test_bad_knob_definitions():
    with pytest.raises(ConfigError, match=r"knob name 'bad name' must be an identifier .*, e\.g\. 'bad_name'$"):
        Integer("bad name", 0, 1)
    with pytest.raises(ConfigError, match=r"e\.g\. '_2x'$"):                    # a leading digit
        Integer("2x", 0, 1)
    with pytest.raises(ConfigError, match=r"e\.g\. 'vm.dirty_ratio'$"):         # each dotted part an identifier
        Integer("vm.dirty ratio", 0, 1)
    for name, hint in (("vm..x", "vm._.x"), (".x", "_.x"), ("x.", "x._"), ("vm.2x", "vm._2x")):
        with pytest.raises(ConfigError, match=rf"'{re.escape(name)}' must be .*, e\.g\. '{re.escape(hint)}'$"):
            Integer(name, 0, 1)
    with pytest.raises(ConfigError, match=r"must be an identifier \(letters, digits, '_'\), or identifiers "
                                          r"joined by '\.'$"):
        Integer("", 0, 1)
    with pytest.raises(ConfigError):
        Integer("a", 3, 1)
    with pytest.raises(ConfigError):
        Ordinal("a", ())
    with pytest.raises(ConfigError):
        Continuous("a", 1.0, 1.0)
    with pytest.raises(ConfigError):
        Continuous("a", 0.0, 1.0, log=True)
    with pytest.raises(ConfigError):
        Categorical("a", ("x", "x"))
    with pytest.raises(ConfigError, match="duplicate"):
        ConfigSpace((Integer("a"), Integer("a")))
    with pytest.raises(ConfigError, match="unknown knob"):
        ConfigSpace((Integer("a"),), ["b < 2"])


def test_validate_parse_and_constraints():
    sp = space()
    cfg = sp.parse("threads=4,inter=2,xla=on")
    assert cfg["threads"] == 4 and cfg["xla"] is True and cfg["freq"] == 300    # defaults filled
    with pytest.raises(ConfigError, match="violates"):
        sp.parse("threads=2,inter=3")
    with pytest.raises(ConfigError, match="unknown knob 'thread'"):
        sp.parse("thread=2")
    with pytest.raises(ConfigError, match="twice"):
        sp.parse("threads=2,threads=3")
    with pytest.raises(ConfigError, match="knob=value"):
        sp.parse("threads")
    assert sp.parse(format_config(cfg)) == cfg


def test_dotted_knob_names_as_sysctl_writes_them():
    # Unicorn's tables name kernel knobs as sysctl does (vm.swappiness): a knob and a constraint take them as
    # written, and a dotted name is looked up whole, never as an attribute of a knob
    sp = ConfigSpace((Ordinal("vm.swappiness", (10, 60, 100)), Integer("vm", 0, 3), Ordinal("scheduler.policy", (0, 1))),
                     ["vm.swappiness >= 60 or scheduler.policy == 1"])
    assert sp.constraints[0].names == {"vm.swappiness", "scheduler.policy"}
    assert sp.is_feasible({"vm.swappiness": 60, "vm": 0, "scheduler.policy": 0})
    assert not sp.is_feasible({"vm.swappiness": 10, "vm": 3, "scheduler.policy": 0})
    assert sp.parse("vm.swappiness=10,scheduler.policy=1") == {"vm.swappiness": 10, "vm": 0, "scheduler.policy": 1}
    assert len(list(sp.grid())) == 4 * (3 + 2)                  # (60, 100) x any policy, or 10 x policy 1
    assert ConfigSpace.from_json(sp.to_json()) == sp
    with pytest.raises(ConfigError, match=r"names unknown knob\(s\): vm.swapiness$"):
        ConfigSpace(sp.knobs, ["vm.swapiness > 10"])
    with pytest.raises(ConfigError, match=r"names unknown knob 'vm.real'"):
        Constraint("vm.real > 1")({"vm": 2})                   # an attribute of a knob's value is not read


def test_where_narrows_a_grid_and_a_table_alike():
    grid = ConfigSpace((Integer("a", 1, 4), Integer("b", 1, 4)), ["b <= a"])
    narrowed = grid.where("a + b <= 4", "b >= 2")
    assert grid.where() is grid and narrowed.candidates is None          # a grid stays a grid, its filter added
    assert sorted((c["a"], c["b"]) for c in narrowed.grid()) == [(2, 2)]
    assert [c.expression for c in narrowed.constraints] == ["b <= a", "a + b <= 4", "b >= 2"]
    table = ConfigSpace.from_table(pd.DataFrame({"a": [1, 2, 3, 3], "b": [1, 1, 2, 3]}), ["a", "b"])
    rows = table.where("a >= 2")
    assert rows.candidates == ((2, 1), (3, 2), (3, 3))                    # the table's rows that meet it
    np.testing.assert_array_equal(rows.to_vector({"a": 3, "b": 2}), table.to_vector({"a": 3, "b": 2}))
    with pytest.raises(ConfigError, match=r"^no configuration of a, b meets a > 3 and b < 9$"):
        table.where("a > 3", "b < 9")
    with pytest.raises(ConfigError, match=r"names unknown knob\(s\): c$"):
        grid.where("c <= 1")
    # a knob held at one value outside the space: a condition takes its value
    threads = ConfigSpace((Integer("threads", 1, 4),))
    assert [c["threads"] for c in threads.where("batch * threads <= 8", fixed={"batch": 4}).grid()] == [1, 2]
    assert threads.where("vm.swappiness >= 10", fixed={"vm.swappiness": 60}).size == 4     # always met
    assert [c.expression for c in threads.where("threads < batch", fixed={"batch": 3, "threads": 9}).constraints] \
        == ["threads < 3"]                                                  # the space's own knob stays a knob
    with pytest.raises(ConfigError, match=r"^no configuration of threads meets batch <= 2 and threads > 1 "
                                          r"\(with batch=4\)$"):
        threads.where("batch <= 2", "threads > 1", fixed={"batch": 4, "dtype": "float32"})
    wide = ConfigSpace(tuple(Integer(f"k{i}", 0, 1) for i in range(8)))
    with pytest.raises(ConfigError, match=r"^no configuration of the 8 knobs meets k0 > 1$"):
        wide.where("k0 > 1")


def test_constraints_never_run_code():
    c = Constraint("__import__('os').system('true') == 0")
    with pytest.raises(ConfigError):
        c({})
    assert Constraint("a / b > 1")({"a": 1, "b": 0}) is False      # division by zero: infeasible


def test_grid_honours_constraints():
    sp = ConfigSpace((Integer("a", 1, 4), Integer("b", 1, 4)), ["b <= a"])
    grid = list(sp.grid())
    assert len(grid) == 10 and all(c["b"] <= c["a"] for c in grid)
    with pytest.raises(ConfigError, match="continuous"):
        list(space().grid())


def test_vectors_round_trip():
    sp = space()
    for cfg in sp.sample(20, "random", seed=2):
        v = sp.to_vector(cfg)
        assert v.shape == (len(sp),) and np.all((v >= 0) & (v <= 1))
        back = sp.from_vector(v)
        for k in sp.names:
            if k == "lr":
                assert back[k] == pytest.approx(cfg[k])
            else:
                assert back[k] == cfg[k]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=7, max_size=7))
def test_from_vector_always_gives_allowed_values(vec):
    sp = space()
    cfg = sp.from_vector(vec)
    for knob in sp.knobs:
        knob.validate(cfg[knob.name])


def test_json_round_trip(tmp_path):
    sp = space()
    assert ConfigSpace.from_json(sp.to_json()) == sp
    path = tmp_path / "space.json"
    sp.to_json(str(path))
    again = ConfigSpace.from_json(str(path))
    assert again == sp and again.constraints[0].expression == "inter <= threads"
    d = json.loads(sp.to_json())
    assert d["format"] == "perfmodel.ConfigSpace" and d["version"] == 1
    d["version"] = 99
    with pytest.raises(ConfigError, match="version"):
        ConfigSpace.from_dict(d)
    with pytest.raises(ConfigError, match="not valid JSON"):
        ConfigSpace.from_json("{nope")
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigSpace.from_json(str(tmp_path / "missing.json"))


def test_from_table_is_a_candidate_space():
    df = pd.DataFrame({"a": [1, 2, 2, 3], "b": [0.5, 0.5, 0.5, 1.5], "m": ["x", "y", "y", "x"]})
    sp = ConfigSpace.from_table(df, ["a", "b", "m"])
    assert sp.size == 3 and sp.is_finite                       # the repeated row counts once
    assert isinstance(sp["a"], Ordinal) and isinstance(sp["m"], Categorical)
    assert sp.validate({"a": 2, "b": 0.5, "m": "y"}) == {"a": 2, "b": 0.5, "m": "y"}
    with pytest.raises(ConfigError, match="candidates"):
        sp.validate({"a": 1, "b": 1.5, "m": "x"})              # levels exist, row does not
    assert len(list(sp.grid())) == 3
    assert ConfigSpace.from_json(sp.to_json()) == sp
    with pytest.raises(ConfigError, match="no column"):
        ConfigSpace.from_table(df, ["a", "zz"])
    with pytest.raises(ConfigError, match="missing"):
        ConfigSpace.from_table(pd.DataFrame({"a": [1, None]}), ["a"])


def test_restrict_searches_exactly_the_configurations_given_with_the_same_vectors():
    sp = ConfigSpace((Integer("a", 0, 3), Ordinal("b", (1, 2, 4))), ("a + b <= 5",))
    kept = [{"a": 3, "b": 2}, {"a": 0, "b": 1}, {"a": 1, "b": 4}]
    sub = sp.restrict(kept, name="kept")
    assert sub.size == 3 and sub.name == "kept" and sub.knobs == sp.knobs
    assert [config_key(c) for c in sub.grid()] == [config_key(c) for c in kept]
    assert np.array_equal(sub.to_matrix(kept), sp.to_matrix(kept))     # the same encoding as the whole space
    assert not sub.is_feasible({"a": 2, "b": 2}) and sp.is_feasible({"a": 2, "b": 2})
    assert {config_key(c) for c in sub.sample(3, "lhs", seed=0)} == {config_key(c) for c in kept}
    with pytest.raises(ConfigError, match="violates constraint"):
        sp.restrict([{"a": 3, "b": 4}])                             # not a configuration of the space
    with pytest.raises(ConfigError, match="at least one"):
        sp.restrict([])


def test_size_and_default():
    sp = space()
    assert math.isinf(sp.size)
    finite = ConfigSpace((Integer("a", 0, 3), Boolean("b", default=True)))
    assert finite.size == 8 and finite.default() == {"a": 0, "b": True}


def test_config_key_is_order_independent():
    assert config_key({"a": 1, "b": np.int64(2)}) == config_key({"b": 2, "a": 1})


def test_any_feasible_goes_through_small_spaces_only():
    from profiling.space import Boolean, ConfigSpace, Integer

    small = ConfigSpace((Integer("a", 0, 3), Boolean("b")), ("a >= 2",))
    assert small.any_feasible() is True
    assert ConfigSpace(small.knobs, ("a > 3",)).any_feasible() is False
    rows = ConfigSpace(small.knobs, ("a > 1",), candidates=({"a": 0, "b": False}, {"a": 3, "b": True}))
    assert rows.any_feasible() is True
    assert ConfigSpace(small.knobs, ("a > 3",), candidates=({"a": 0, "b": False},)).any_feasible() is False
    big = ConfigSpace(tuple(Integer(f"k{i}", 0, 9) for i in range(7)), ("k0 > 99",))  # 10**7 configurations
    assert big.any_feasible() is None                     # not gone through: unknown
    assert ConfigSpace(big.knobs[:3], ("k0 > 99",)).any_feasible() is False
