"""Every command and model reads a configuration alike (one parser, one encoder); old model files still load."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from perfmodel.commands.predict import declared_knobs
from perfmodel.commands.predict import parse_config as predict_config
from perfmodel.commands.shape import _config as shape_config
from perfmodel.errors import DataError, ModelError
from perfmodel.features import KnobEncoder
from perfmodel.interactions import fit_equation
from perfmodel.models import ConfigModel, LayerwisePredictor
from perfmodel.models.persistence import load_model
from profiling.errors import ConfigError
from profiling.simulated import random_network, synthetic_table
from profiling.space import Boolean, ConfigSpace, Integer

DATA = Path(__file__).resolve().parent / "data"
ON = ["xla=on", "xla=ON", "xla=yes", "xla=1", "xla=true", "xla=True"]
OFF = ["xla=off", "xla=no", "xla=0", "xla=false"]


def _xla_table():
    """A simulated table whose knob is xla (booleans), standing in for two thread counts."""
    t = synthetic_table(n_networks=4, threads=(1, 2), seed=3)
    t["xla"] = t["threads"] == 2
    t["config"] = "xla=" + t["xla"].map({True: "true", False: "false"}) + ",batch=" + t["batch"].astype(str)
    return t


@pytest.fixture(scope="module")
def xla_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LayerwisePredictor(model="polynomial", std_folds=0).fit(_xla_table())


def test_the_untyped_parsers_of_the_commands_are_one():
    # predict --config and shape/tune --config (tune reads its --config with shape's function)
    for text in ON + OFF + ["threads=2,batch=1", "cuda_graph=on,batch=8", "f=1.5,mode=eco", "b=1e3"]:
        assert predict_config(text) == shape_config(text)
    assert predict_config("cuda_graph=on,batch=8") == {"cuda_graph": "on", "batch": 8}
    with pytest.raises(DataError, match="not key=value"):
        predict_config("threads")
    with pytest.raises(ConfigError, match="not key=value"):
        shape_config("threads")


def test_a_boolean_knob_means_the_same_to_every_command(xla_model):
    # the configuration-space commands (profile --config, explore's base) read with the space's Boolean knob
    space = ConfigSpace((Boolean("xla"), Integer("batch", 1, 8)))
    assert all(space.parse_partial(t) == {"xla": True} for t in ON)
    assert all(space.parse_partial(t) == {"xla": False} for t in OFF)
    # predict --config reads each value by the model's own knob encoding: on/yes/1 are true, off/no/0 false
    types = declared_knobs(xla_model)
    assert [predict_config(t, types) for t in ON] == [{"xla": True}] * len(ON)
    assert [predict_config(t, types) for t in OFF] == [{"xla": False}] * len(OFF)
    net = random_network(np.random.default_rng(7), "user_net", n_blocks=4, hw=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on = [float(xla_model.predict(net, [{**predict_config(t, types), "batch": 1}])["runtime_s"].iloc[0])
              for t in ON]
        off = [float(xla_model.predict(net, [{**predict_config(t, types), "batch": 1}])["runtime_s"].iloc[0])
               for t in OFF]
    assert max(on) == min(on) and max(off) == min(off)
    assert abs(on[0] / off[0] - 1) > 0.05  # the knob matters in this table: "on" is not read as off
    with pytest.raises(DataError, match="'xla'.*'maybe'"):
        predict_config("xla=maybe", types)
    # a knob the encoding does not declare is read untyped (the model names it if it does not know it)
    assert predict_config("batch=2,xla=on", types) == {"batch": 2, "xla": True}
    with pytest.raises(ConfigError, match="'xla'.*'maybe'"):
        space.parse_partial("xla=maybe")


def test_explore_and_profile_read_the_cpu_platforms_switches_alike():
    from perfmodel.commands.explore import LiveEvaluator
    from perfmodel.commands.profile import _parse_config
    from profiling.campaign import build_executor, build_platform

    platform = build_platform("cpu")
    space = build_executor(None, platform).space(platform)  # as profile does by default
    for t in ON:
        assert LiveEvaluator("cpu", "tiny_dense", base=f"{t},threads=2").base == {"xla": True, "threads": 2}
        assert _parse_config(platform, space, t) == {"xla": True}
    for t in OFF:
        assert LiveEvaluator("cpu", "tiny_dense", base=t).base == {"xla": False}
    with pytest.raises(ConfigError, match="'xla'.*'maybe'"):
        LiveEvaluator("cpu", "tiny_dense", base="xla=maybe")


def test_knob_encoder_and_config_model_read_switch_words_alike():
    df = pd.DataFrame({"xla": ["true", "false"] * 6, "f": np.repeat([1.0, 2.0, 3.0], 4)})
    df["y"] = np.where(df["xla"] == "true", 2.0, 1.0) * df["f"]
    enc = KnobEncoder(["xla", "f"]).fit(df)
    cm = ConfigModel(model="linear", knobs=["xla", "f"], target="y", log_target=False).fit(df)
    eq = fit_equation(df, ["xla", "f"], "y", degree=1, p_max=None)
    for t in ON:
        row = pd.DataFrame([{**predict_config(t), "f": 2.0}])
        assert enc.transform(row)["xla"].iloc[0] == 1.0
        assert cm.predict(row)[0] == pytest.approx(cm.predict(pd.DataFrame([{"xla": True, "f": 2.0}]))[0])
        assert eq.predict(row)[0] == pytest.approx(eq.predict(pd.DataFrame([{"xla": "true", "f": 2.0}]))[0])
    bad = pd.DataFrame([{"xla": "maybe", "f": 2.0}])
    for use in (enc.transform, cm.predict, eq.predict):
        with pytest.raises(DataError, match="'xla'.*'maybe'") as err:
            use(bad)
        assert "\n" not in str(err.value)


def test_config_model_fit_leaves_its_parameters_as_given():
    df = pd.DataFrame({"a": np.arange(12.0), "mode": ["x", "y", "z"] * 4, "const": 3})
    df["y"] = 1.0 + df["a"] + (df["mode"] == "y")
    knobs = ("a", "mode", "const")
    m = ConfigModel(model="linear", knobs=knobs, target="y")
    before = m.get_params()
    m.fit(df)
    assert m.get_params() == before and m.knobs is knobs
    assert m.knobs_ == ["a", "mode", "const"] and m.target_ == "y"
    assert m.feature_names_ == ["a", "mode=x", "mode=y", "mode=z"]  # the constant knob carries nothing
    assert clone(m).get_params() == before
    # fit(X, y) is the same model as fit(table)
    m2 = ConfigModel(model="linear").fit(df[["a", "mode", "const"]], df["y"])
    np.testing.assert_allclose(m2.predict(df[["a", "mode", "const"]]), m.predict(df))
    with pytest.warns(UserWarning, match="'const' was 3 in every training row"):
        m.predict(df.assign(const=4))


def test_config_model_files_keep_constant_knobs(tmp_path):
    df = pd.DataFrame({"a": np.arange(12.0), "mode": "eco", "y": 2.0 + np.arange(12.0) ** 1.5})
    m = ConfigModel(model="polynomial", knobs=["a", "mode"], target="y").fit(df)
    m.save(tmp_path / "m.json")
    state = json.loads((tmp_path / "m.json").read_text())["state"]
    assert state["constants"] == [{"name": "mode", "kind": "category", "value": "eco"}]
    back = ConfigModel.load(tmp_path / "m.json")
    np.testing.assert_allclose(back.predict(df), m.predict(df), rtol=1e-12)
    with pytest.raises(DataError, match="'mode' has the value 'fast', unseen"):
        back.predict(df.assign(mode="fast"))
    # a file whose constants are not the model's knobs, or not text, is refused on load in one line
    doc = json.loads((tmp_path / "m.json").read_text())
    for bad, match in [({"name": "other", "kind": "category", "value": "eco"}, "constants\\[0\\] names 'other'"),
                       ({"name": "mode", "kind": "category", "value": 3}, "constants\\[0\\].value must be a string"),
                       ({"name": "mode", "kind": "colour", "value": "eco"}, "constants\\[0\\].kind")]:
        doc["state"]["constants"] = [bad]
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        with pytest.raises(ModelError, match=match) as err:
            ConfigModel.load(tmp_path / "bad.json")
        assert "\n" not in str(err.value)


def test_model_files_written_before_the_one_encoding_load_and_predict_as_before():
    # written by tests/perfmodel/data/make_old_models.py with the code of commit 14d021c (before this change):
    # every knob in "encoding" (the constant one too, true/false words as a category), no "constants"
    cm = load_model(DATA / "old_config_model.json", kind="config_model")
    ref = json.loads((DATA / "old_config_model_pred.json").read_text())
    rows = pd.DataFrame(ref["rows"])
    np.testing.assert_allclose(cm.predict(rows), ref["pred"], rtol=1e-9)
    # the one boolean rule reaches the old category too: on/True name its level "true"
    np.testing.assert_allclose(cm.predict(rows.assign(xla=rows["xla"].map({"true": "on", "false": "off"}))),
                               ref["pred"], rtol=1e-9)
    lw = load_model(DATA / "old_layerwise_model.json", kind="layerwise")
    ref = json.loads((DATA / "old_layerwise_model_pred.json").read_text())
    net = pd.read_csv(DATA / "old_layerwise_probe_net.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = lw.predict(net, ref["configs"])
    np.testing.assert_allclose(pred["runtime_s"], ref["runtime_s"], rtol=1e-9)


def test_models_synthetic_is_a_deprecated_alias():
    import importlib
    import sys

    sys.modules.pop("perfmodel.models.synthetic", None)
    with pytest.warns(DeprecationWarning, match="profiling.simulated"):
        mod = importlib.import_module("perfmodel.models.synthetic")
    assert mod.synthetic_table is synthetic_table
