"""The one configuration parser and the one knob encoder (profiling.encoding)."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from profiling.encoding import EncodedKnob, Encoding, log_scaled, parse_bool, parse_config
from profiling.errors import ConfigError
from profiling.space import Boolean, Categorical, ConfigSpace, Continuous, Integer, Ordinal

SPACE = ConfigSpace((
    Integer("threads", 1, 8),
    Ordinal("batch", (1, 2, 4, 8)),
    Continuous("freq", 0.5, 2.0, log=True),
    Categorical("mode", ("eco", "fast")),
    Boolean("xla"),
))


# ------------------------------------------------------------------------------------------ parser
@pytest.mark.parametrize("text, truth", [
    ("true", True), ("TRUE", True), ("on", True), ("On", True), ("yes", True), ("1", True), (" yes ", True),
    ("false", False), ("False", False), ("off", False), ("OFF", False), ("no", False), ("0", False),
])
def test_boolean_knob_accepts_every_spelling(text, truth):
    assert parse_bool(text, "xla") is truth
    assert SPACE.parse_partial(f"xla={text}") == {"xla": truth}
    assert EncodedKnob("xla", "bool").parse(text) is truth


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "onn", "truee", "y", "n", "nan", 2, 0.5, None])
def test_boolean_knob_refuses_anything_else_in_one_line(value):
    with pytest.raises(ConfigError) as err:
        parse_bool(value, "xla")
    msg = str(err.value)
    assert "'xla'" in msg and repr(value) in msg and "\n" not in msg
    if isinstance(value, str):
        with pytest.raises(ConfigError, match="'xla'"):
            SPACE.parse_partial(f"xla={value}")


@pytest.mark.parametrize("text, expected", [
    ("threads=2", {"threads": 2}), ("batch=4", {"batch": 4}), ("freq=1.5", {"freq": 1.5}),
    ("mode=fast", {"mode": "fast"}), ("threads=2, mode=eco ,xla=on", {"threads": 2, "mode": "eco", "xla": True}),
    ("", {}),
])
def test_space_parses_each_value_by_its_knob_type(text, expected):
    assert parse_config(text, SPACE) == expected


@pytest.mark.parametrize("text, where", [
    ("threads=two", "threads"), ("threads=9", "threads"), ("batch=3", "batch"), ("freq=3", "freq"),
    ("mode=turbo", "mode"), ("xla=maybe", "xla"), ("nosuch=1", "nosuch"), ("threads", "threads"),
    ("threads=1,threads=2", "threads"), ("threads=", "threads"), ("=2", "=2"), (",,", "empty item"),
    ("threads=2,", "empty item"), ("threads=2,,xla=on", "empty item"),
])
def test_space_refuses_bad_items_in_one_line(text, where):
    with pytest.raises(ConfigError) as err:
        parse_config(text, SPACE)
    assert where in str(err.value) and "\n" not in str(err.value)


def test_untyped_values_keep_words_for_the_model_to_read():
    # no declared type: numbers, true/false, and every other word kept as text (an on/off level or a boolean:
    # the model's encoding decides)
    assert parse_config("threads=2,freq=1.5,xla=true,cuda_graph=on,name=x1") == {
        "threads": 2, "freq": 1.5, "xla": True, "cuda_graph": "on", "name": "x1"}
    with pytest.raises(ConfigError, match="empty"):
        parse_config("  ", allow_empty=False)


def test_parser_raises_the_callers_error_type():
    class MyError(ValueError):
        pass

    with pytest.raises(MyError, match="'xla'"):
        parse_config("xla=maybe", SPACE, error=MyError)
    with pytest.raises(MyError, match="not key=value"):
        parse_config("xla", error=MyError)


def test_encoding_declares_types_for_the_parser():
    enc = Encoding.learn(pd.DataFrame({"xla": [True, False], "mode": ["on", "off"], "t": [1, 2]}), ["xla", "mode", "t"])
    assert parse_config("xla=on,mode=on,t=2", enc) == {"xla": True, "mode": "on", "t": 2}
    assert parse_config("mode=true", enc) == {"mode": "on"}  # a switch's truth names the level of that truth
    with pytest.raises(ConfigError, match="'mode' has the level 'maybe', unseen"):
        parse_config("mode=maybe", enc)
    with pytest.raises(ConfigError, match="'t' takes a number"):
        parse_config("t=fast", enc)


# ------------------------------------------------------------------------------------------ encoder
TABLE = pd.DataFrame({
    "threads": [1, 2, 4, 2, 1, 4],
    "freq": ["0.5", "1.0", "2.0", "1.0", "0.5", "2.0"],     # numbers written as text
    "xla": ["true", "False", "TRUE", "false", "true", "false"],
    "graph": ["on", "off", "on", "off", "on", "off"],        # words: a categorical knob (as the H200 tables)
    "mode": ["eco", "fast", "std", "eco", "fast", "std"],
    "same": [7, 7, 7, 7, 7, 7],
    "flag": [True] * 6,
})
KNOBS = ["threads", "freq", "xla", "graph", "mode", "same", "flag"]


def test_learn_decides_each_kind_by_one_rule():
    enc = Encoding.learn(TABLE, KNOBS)
    kinds = {k.name: k.kind for k in enc.knobs}
    assert kinds == {"threads": "number", "freq": "number", "xla": "bool", "graph": "category", "mode": "category"}
    assert [c.name for c in enc.constants] == ["same", "flag"]
    assert enc.names == ["threads", "freq", "xla", "graph=off", "graph=on", "mode=eco", "mode=fast", "mode=std"]
    X = enc.transform(TABLE)
    assert X[:, 2].tolist() == [1, 0, 1, 0, 1, 0]
    assert X[:, 1].tolist() == [0.5, 1.0, 2.0, 1.0, 0.5, 2.0]
    assert X[:, 3:5].sum(axis=1).tolist() == [1] * 6 and X[0, 4] == 1.0
    ref = Encoding.learn(TABLE, KNOBS, reference=True)
    assert ref.names == ["threads", "freq", "xla", "graph=on", "mode=fast", "mode=std"]
    np.testing.assert_array_equal(ref.transform(TABLE), X[:, [0, 1, 2, 4, 6, 7]])


@pytest.mark.parametrize("levels, scale", [
    ([345600, 960000, 2035200], True), ([1, 2, 4], True), ([0.5, 1.0, 2.0, 1.0], True),
    ([1, 2], False),                       # a switch: two levels
    ([2, 2, 4, 4], False),                 # two distinct levels, repeated
    ([0, 1, 2, 3], False), ([-1.0, 1.0, 2.0], False), ([1.0, 2.0, float("inf")], False),
    ([True, False, True], False), (["a", "b", "c"], False),
])
def test_log_scaled_calls_three_or_more_positive_levels_a_scale(levels, scale):
    assert log_scaled(levels) is scale


def test_learn_auto_log_takes_the_logarithm_of_the_scales_only():
    df = TABLE.assign(cores=[0, 1, 2, 3, 0, 1])      # a zero level: not log-scaled
    enc = Encoding.learn(df, KNOBS + ["cores"], log="auto")
    assert {k.name for k in enc.knobs if k.log} == {"threads", "freq"}
    X = enc.transform(df)
    np.testing.assert_allclose(X[:, 1], np.log([0.5, 1.0, 2.0, 1.0, 0.5, 2.0]))
    assert X[:, -1].tolist() == [0, 1, 2, 3, 0, 1]
    assert Encoding.from_list(enc.to_list(), enc.constants_list()) == enc   # the choice persists
    with pytest.raises(ValueError, match="'sometimes'"):
        Encoding.learn(df, KNOBS, log="sometimes")


def test_boolean_features_read_every_spelling_and_refuse_the_rest():
    enc = Encoding.learn(TABLE, ["xla"])
    rows = pd.DataFrame({"xla": ["on", "yes", "1", True, "off", "no", "0", False]})
    assert enc.transform(rows)[:, 0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    with pytest.raises(ConfigError) as err:
        enc.transform(pd.DataFrame({"xla": ["on", "maybe"]}))
    assert "'xla'" in str(err.value) and "'maybe'" in str(err.value) and "\n" not in str(err.value)


def test_unseen_levels_and_missing_values_are_refused_in_one_line():
    enc = Encoding.learn(TABLE, KNOBS)
    for change, match in [({"mode": "turbo"}, "'mode' has the level 'turbo', unseen"),
                          ({"threads": "two"}, "'threads' is not numeric"),
                          ({"threads": np.nan}, "'threads' has a missing value"),
                          ({"graph": "maybe"}, "'graph' has the level 'maybe'")]:
        with pytest.raises(ConfigError, match=match) as err:
            enc.transform(TABLE.assign(**change))
        assert "\n" not in str(err.value)
    for missing in (None, np.nan, pd.NA):  # in a text column too
        with pytest.raises(ConfigError, match="'mode' has a missing value"):
            enc.transform(TABLE.assign(mode=pd.array(["eco", missing, "std", "eco", "fast", "std"], dtype="string")))
        with pytest.raises(ConfigError, match="'xla' has a missing value"):
            enc.transform(TABLE.assign(xla=["true", "false", "true", missing, "true", "false"]))
    with pytest.raises(ConfigError, match="'mode' is missing"):
        enc.transform(TABLE.drop(columns=["mode"]))
    with pytest.raises(ConfigError, match="row 3"):
        Encoding.learn(TABLE.assign(xla=["true", "false", None, "true", "false", "true"]), ["xla"])
    with pytest.raises(ConfigError, match="'threads' is not numeric .*'two'"):
        Encoding.learn(TABLE.assign(threads=[1, 2, "two", 2, 1, 4]), ["threads"])


def test_constant_knobs_are_left_out_and_checked_at_prediction():
    enc = Encoding.learn(TABLE, KNOBS)
    without = TABLE.drop(columns=["same", "flag"])
    np.testing.assert_array_equal(enc.transform(without), enc.transform(TABLE))  # optional at prediction
    assert enc.transform(TABLE.assign(flag="on")).shape == (6, 8)  # the same truth, spelt otherwise
    with pytest.raises(ConfigError, match="'flag' has the value 'off', unseen .*true in every training row"):
        enc.transform(TABLE.assign(flag="off"))
    with pytest.warns(UserWarning, match="'same' was 7 in every training row: 8 is predicted as 7"):
        enc.transform(TABLE.assign(same=8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.transform(TABLE.assign(same=7.0))


def test_round_trip_through_json_lists():
    enc = Encoding.learn(TABLE, KNOBS, log=["threads"])
    back = Encoding.from_list(enc.to_list(), enc.constants_list())
    assert back == enc
    np.testing.assert_array_equal(back.transform(TABLE), enc.transform(TABLE))
    assert enc.transform(TABLE)[:, 0].tolist() == pytest.approx([math.log(v) for v in TABLE["threads"]])
    # the persisted form of an encoded knob is the one the model files always had
    assert enc.to_list()[3] == {"name": "graph", "kind": "category", "levels": ["off", "on"]}
    assert enc.constants_list() == [{"name": "same", "kind": "number", "value": "7"},
                                    {"name": "flag", "kind": "bool", "value": "true"}]


def test_space_encoding_matches_the_learnt_one_on_the_grid():
    grid = pd.DataFrame(list(ConfigSpace((Integer("threads", 1, 3), Continuous("freq", 0.5, 2.0, n_levels=3, log=True),
                                          Categorical("mode", ("eco", "fast")), Boolean("xla"),
                                          Categorical("one", ("only",)))).grid()))
    space = ConfigSpace((Integer("threads", 1, 3), Continuous("freq", 0.5, 2.0, n_levels=3, log=True),
                         Categorical("mode", ("eco", "fast")), Boolean("xla"), Categorical("one", ("only",))))
    declared = Encoding.from_space(space)
    assert space.encoding() == declared
    assert space.encoding(log=["threads"]) == Encoding.learn(grid, list(space.names), log=["freq", "threads"])
    with pytest.raises(ConfigError, match="'mode' is categorical: only a numeric knob can be log-scaled"):
        space.encoding(log=["mode"])
    learnt = Encoding.learn(grid, list(space.names), log=["freq"])
    assert declared == learnt
    np.testing.assert_allclose(declared.transform(grid), learnt.transform(grid))
    # a Boolean knob of a space is boolean even when its column holds on/off words
    words = grid.assign(xla=grid["xla"].map({True: "on", False: "off"}))
    assert Encoding.learn(words, ["xla"], space=space).knobs[0].kind == "bool"
    assert Encoding.learn(words, ["xla"]).knobs[0].kind == "category"


def test_unit_vector_of_an_infeasible_point():
    space = ConfigSpace((Integer("threads", 1, 4), Boolean("xla")), constraints=("threads <= 2 or not xla",))
    cfg = {"threads": 4, "xla": "on"}
    with pytest.raises(ConfigError, match="violates"):
        space.to_vector(cfg)
    assert space.to_vector(cfg, feasible=False).tolist() == [1.0, 1.0]
    with pytest.raises(ConfigError, match="lacks knob 'xla'"):
        space.to_vector({"threads": 4}, feasible=False)
    with pytest.raises(ConfigError, match="'xla'"):
        space.to_vector({"threads": 4, "xla": "maybe"}, feasible=False)


def test_public_names_from_the_package():
    import profiling
    from profiling import Encoding as E
    from profiling import parse_config as p

    assert E is Encoding and p is parse_config
    assert {"Encoding", "EncodedKnob", "parse_config", "parse_bool", "synthetic_table"} <= set(profiling.__all__)


def test_encoding_is_immutable():
    enc = Encoding.learn(TABLE, KNOBS)
    with pytest.raises(AttributeError):
        enc.knobs = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        enc.knobs[0].kind = "bool"  # type: ignore[misc]
