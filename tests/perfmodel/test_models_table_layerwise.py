"""The layer-wise model fitted on exported tables (perfmodel.models.table_layerwise) on slices of the H200 data."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfmodel.errors import DataError
from perfmodel.models.composition import RuntimeComposition
from perfmodel.models.layerwise import LayerwisePredictor
from perfmodel.models.network_input import load_spec
from perfmodel.models.table_layerwise import TableLayerwisePredictor
from perfmodel.models.tables_input import modes_of, read_tables

H200 = Path(__file__).resolve().parents[2] / "datasets" / "h200-torch"
TRAIN = ["synthetic_0", "synthetic_1", "synthetic_2", "synthetic_3", "synthetic_4", "synthetic_5", "synthetic_6",
         "mobilenet"]


@pytest.fixture(scope="module")
def graph_table():
    t = pd.read_csv(H200 / "graph.csv.gz", low_memory=False)
    return t[t["network"].isin(TRAIN)].reset_index(drop=True)


@pytest.fixture(scope="module")
def model(graph_table):
    return TableLayerwisePredictor(std_folds=2).fit(graph_table)


def _measured(net, batch):
    t = pd.read_csv(H200 / "graph.csv.gz", low_memory=False)
    w = t[(t["network"] == net) & (t["level"] == "network") & (t["batch"] == batch)]
    return float(w["runtime_s"].median()), float(w["power_w"].median())


def test_predicts_an_unseen_network_from_its_spec_file(model):
    spec = load_spec(str(H200 / "specs" / "mobilenetv2.json"))
    out = model.predict(spec, [{"batch": 64, "cuda_graph": "on"}])
    rt, pw = _measured("mobilenetv2", 64)
    row = out.iloc[0]
    assert 0.5 < row["runtime_s"] / rt < 2.0  # a network never seen, from 8 small ones
    assert row["runtime_s_std"] > 0 and row["power_w_std"] > 0
    assert 0.7 < row["power_w"] / pw < 1.3
    assert row["energy_j"] == pytest.approx(row["power_w"] * row["runtime_s"])


def test_batch_raises_the_predicted_runtime(model):
    spec = load_spec(str(H200 / "specs" / "resnet50.json"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resnet50's layers lie partly outside the small training set
        out = model.predict(spec, [{"batch": b, "cuda_graph": "on"} for b in (1, 8, 64)])
    assert out["runtime_s"].is_monotonic_increasing


def test_save_load_round_trip_through_layerwise_load(model, tmp_path):
    path = tmp_path / "m.json"
    model.save(path)
    assert json.loads(path.read_text())["kind"] == "layerwise_tables"
    loaded = LayerwisePredictor.load(path)  # the two-line API of the README
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    a = model.predict(spec, [{"batch": 8, "cuda_graph": "on"}])
    b = loaded.predict(spec, [{"batch": 8, "cuda_graph": "on"}])
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("corrupt, words", [
    (lambda st: st.update(modes={}), "modes is empty"),
    (lambda st: next(iter(st["modes"].values()))["composition"].update(scale="x"), "composition.scale"),
    (lambda st: next(iter(st["modes"].values())).update(units={"kind": "gbr", "state": {}}), "units is a 'gbr'"),
    (lambda st: st["params"].update(depth=3), "unknown parameter 'depth'"),
    (lambda st: st.update(knob_ranges={"batch": [64, 1]}), "knob_ranges.batch is empty"),
    (lambda st: next(iter(st["modes"].values()))["correction"].update(coef="x"), "correction.coef"),
    (lambda st: next(iter(st["modes"].values()))["correction"].update(z_range=[1.0, -1.0]), "z_range is empty"),
    (lambda st: next(iter(st["modes"].values()))["power"].update(range=[600.0, 100.0]), "power.range is empty"),
    (lambda st: next(iter(st["modes"].values()))["layer_ranges"]["conv"].update(out_c=[64.0, 8.0]),
     r"layer_ranges\.conv\.out_c is empty"),
    (lambda st: next(iter(st["modes"].values()))["layer_ranges"].update(conv="wide"), r"layer_ranges\.conv"),
])
def test_a_corrupt_file_is_refused_in_one_line(model, tmp_path, corrupt, words):
    from perfmodel.errors import ModelError

    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    corrupt(doc["state"])
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=words) as info:
        LayerwisePredictor.load(path)
    assert "\n" not in str(info.value)


def test_switch_spellings_of_the_mode_read_by_the_one_rule(model):
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    want = model.predict(spec, [{"batch": 8, "cuda_graph": "on"}])["runtime_s"].iloc[0]
    for spelling in ("yes", "true", "ON", True, 1):
        got = model.predict(spec, [{"batch": 8, "cuda_graph": spelling}])["runtime_s"].iloc[0]
        assert got == want, spelling


@pytest.mark.parametrize("cfg, words", [
    ({"batch": 8, "cuda_graph": "on", "threads": 2}, "knob 'threads' was not in the training tables"),
    ({"batch": 8, "cuda_graph": "off"}, "cuda_graph=off was not measured"),
    ({"batch": 8, "cuda_graph": "on", "cudnn_benchmark": "off"}, "cudnn_benchmark=off was never measured"),
    ({"batch": 0, "cuda_graph": "on"}, "batch must be a number >= 1"),
])
def test_configurations_outside_the_tables_are_refused(model, cfg, words):
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    with pytest.raises(DataError, match=words):
        model.predict(spec, [cfg])


def test_batch_outside_the_calibrated_range_warns_naming_it(model):
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    with pytest.warns(UserWarning, match=r"batch=128 outside the calibrated batches 1\.\.64"):
        out = model.predict(spec, [{"batch": 128, "cuda_graph": "on"}])
    assert "batch=128 outside" in out["notes"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside the range: no warning at all
        out = model.predict(spec, [{"batch": 8, "cuda_graph": "on"}])
    assert out["notes"].iloc[0] == ""


def test_layers_outside_the_calibrated_range_warn(model):
    spec = load_spec(str(H200 / "specs" / "vgg16.json"))  # 25088x4096 dense: far beyond the synthetic ones
    with pytest.warns(UserWarning, match="layers outside the calibrated range: .*dense layer"):
        model.predict(spec, [{"batch": 1, "cuda_graph": "on"}])


def test_composition_recovers_known_costs():
    rng = np.random.default_rng(0)
    units = [rng.uniform(10e-6, 200e-6, size=rng.integers(10, 200)) for _ in range(30)]
    truth = RuntimeComposition(scale=0.9, replay_s=8e-6, gap_s=2e-6, offset_s=5e-6)
    fitted = RuntimeComposition().fit(units, truth.predict(units))
    assert fitted.replay_s == pytest.approx(8e-6, rel=0.05)
    assert fitted.scale == pytest.approx(0.9, rel=0.02)
    assert np.allclose(fitted.predict(units), truth.predict(units), rtol=1e-3)


def test_modes_and_tables(tmp_path):
    g = tmp_path / "g.csv"
    pd.DataFrame({"network": ["a"], "level": ["layer"], "view": ["isolated"], "layer_type": ["conv2d"],
                  "runtime_s": [1e-5], "in_h": [8], "cuda_graph": ["on"]}).to_csv(g, index=False)
    assert modes_of(read_tables([g])) == ["on"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"network": ["a"], "level": ["layer"], "view": ["x"], "runtime_s": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="has no column 'layer_type'"):
        read_tables([bad])


def test_a_json_file_that_is_not_a_spec_is_refused(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"layers": []}))
    with pytest.raises(DataError, match="is not a NetworkSpec file"):
        load_spec(str(p))
    p.write_text("{not json")
    with pytest.raises(DataError, match="is not JSON"):
        load_spec(str(p))


def test_a_cpu_style_table_with_a_numeric_knob_warns_outside_its_range():
    from profiling.simulated import synthetic_table

    table = synthetic_table(n_networks=8, seed=3)
    train = table[table["network"] != "net0"]
    m = TableLayerwisePredictor(model="gbr", std_folds=2).fit(train)
    assert list(m.modes_) == [""]  # no cuda_graph column: one mode
    # units timed in place: composed by scale and offset, no network correction tried
    assert m.modes_[""]["correction"] is None and "network correction: not tried" in "\n".join(m.summary())
    feats = table[(table["network"] == "net0") & table["level"].eq("layer")]
    feats = feats[feats["config"] == feats["config"].iloc[0]].drop(columns=["runtime_s", "power_w", "energy_j"])
    lo, hi = m.knob_ranges_["threads"]
    with pytest.warns(UserWarning, match=rf"threads={int(hi) + 2} outside the calibrated threads {lo:g}\.\.{hi:g}"):
        out = m.predict(feats, [{"threads": int(hi) + 2, "batch": 1}])
    assert out["power_w"].notna().all() and out["energy_j"].iloc[0] == pytest.approx(
        out["power_w"].iloc[0] * out["runtime_s"].iloc[0])


def test_the_summary_writes_a_negative_offset_as_a_subtraction(model):
    # the H200 graph-mode fit printed "... 0.00 us) + -1.2 us"
    import copy

    m = copy.deepcopy(model)
    mode = next(iter(m.modes_))
    for offset, said in ((-1.2e-6, ") - 1.2 us;"), (38.6e-6, ") + 38.6 us;")):
        m.modes_[mode]["composition"] = RuntimeComposition(scale=0.912, replay_s=9.3e-6, gap_s=0.0, offset_s=offset)
        line = next(x for x in m.summary() if "composition on" in x)
        assert f"runtime = 0.912 * sum max(t - 9.3 us, 0.00 us{said}" in line


def test_units_timed_in_place_compose_by_scale_and_offset_only():
    rng = np.random.default_rng(1)
    units = [rng.uniform(10e-6, 200e-6, size=rng.integers(10, 200)) for _ in range(20)]
    y = np.array([1.1 * u.sum() + 20e-6 for u in units])
    comp = RuntimeComposition().fit(units, y, alone=False)
    assert comp.replay_s == 0.0 and comp.gap_s == 0.0
    assert comp.scale == pytest.approx(1.1, rel=1e-3) and comp.offset_s == pytest.approx(20e-6, rel=0.05)


def test_network_correction_learns_a_network_level_effect_and_only_when_it_helps():
    from perfmodel.models.composition import NetworkCorrection

    rng = np.random.default_rng(0)
    names = np.repeat([f"n{i}" for i in range(20)], 3)
    X = np.column_stack([rng.normal(size=len(names)), rng.normal(size=len(names))])
    composed = rng.uniform(1e-4, 1e-2, len(names))
    # the measured runtime differs from the composed one by a factor the first feature sets: exp(0.4 x0)
    y = composed * np.exp(0.4 * X[:, 0]) * (1 + 0.01 * rng.normal(size=len(names)))
    c = NetworkCorrection().fit(X, composed, y, names)
    assert c.used_ and c.rel_std_ < 0.5 * c.rel_std_without_
    x_new = np.array([[0.5, 0.0], [-0.5, 1.0]])
    np.testing.assert_allclose(c.factor(x_new), np.exp(0.4 * x_new[:, 0]), rtol=0.05)
    # a factor unrelated to the features: nothing to learn, the composition is kept alone
    noise = composed * np.exp(0.05 * rng.normal(size=len(names)))
    c0 = NetworkCorrection().fit(X, composed, noise, names)
    assert not c0.used_ and np.all(c0.factor(x_new) == 1.0)
    assert NetworkCorrection.from_dict(c.to_dict()).factor(x_new) == pytest.approx(c.factor(x_new))
    # the same effect on too few networks for its features (two per feature): not tried
    few = np.isin(names, [f"n{i}" for i in range(6)])
    wide = np.column_stack([X[few]] + [rng.normal(size=(few.sum(), 1)) for _ in range(3)])  # 5 features
    cf = NetworkCorrection().fit(wide, composed[few], y[few], names[few])
    assert not cf.used_ and cf.gain_se_ is None


def test_the_correction_is_reported_and_applied(model):
    st = model.modes_["on"]
    assert "correction" in st and any("network correction" in line for line in model.summary())
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    row = model.predict(spec, [{"batch": 8, "cuda_graph": "on"}]).iloc[0]
    if st["correction"].used_:
        assert row["composition"] == "composition x network correction"
        assert row["runtime_s"] != pytest.approx(row["composed_runtime_s"])
    else:
        assert row["runtime_s"] == pytest.approx(row["composed_runtime_s"])


def test_files_without_the_correction_predict_by_the_composition_alone(model, tmp_path):
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    for st in doc["state"]["modes"].values():
        st.pop("correction")
        st["power"].pop("range")
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = TableLayerwisePredictor.load(tmp_path / "old.json")
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    row = old.predict(spec, [{"batch": 8, "cuda_graph": "on"}]).iloc[0]
    assert row["composition"] == "composition" and row["runtime_s"] == row["composed_runtime_s"]


def test_power_is_clipped_to_the_measured_range_with_a_note(model, tmp_path):
    from perfmodel.models.composition import NetworkPowerModel

    X = np.linspace(0, 1, 12)[:, None]
    pm = NetworkPowerModel("polynomial").fit(X, 100 + 400 * X[:, 0], np.arange(12).astype(str))
    assert pm.range_ == pytest.approx([100.0, 500.0])
    far = np.array([[3.0], [0.5]])  # far outside the measured inputs, and inside
    raw, clipped = pm.predict(far, clip=False)[0], pm.predict(far)[0]
    assert list(pm.outside(far)) == [True, False] and not 100 <= raw[0] <= 500
    assert clipped[0] in (100.0, 500.0) and clipped[0] == np.clip(raw[0], 100, 500)
    assert clipped[1] == raw[1] and 100 <= raw[1] <= 500
    path = tmp_path / "m.json"
    model.save(path)
    narrow = TableLayerwisePredictor.load(path)
    narrow.modes_["on"]["power"].range_ = [10.0, 20.0]  # every prediction now lies above it
    spec = load_spec(str(H200 / "specs" / "synthetic_3.json"))
    with pytest.warns(UserWarning, match="power clipped to the measured 10..20 W"):
        row = narrow.predict(spec, [{"batch": 8, "cuda_graph": "on"}]).iloc[0]
    assert row["power_w"] == 20.0 and "power clipped" in row["notes"]


@pytest.mark.parametrize("cls", [LayerwisePredictor, TableLayerwisePredictor])
def test_the_estimator_checks_their_inputs_allow(cls):
    """get_params / set_params / clone are scikit-learn's (BaseEstimator); the checks feeding fit(X, y) with
    arrays do not apply: these predictors learn from measurement tables (see the module docstrings)."""
    from sklearn.base import clone
    from sklearn.utils.estimator_checks import (check_get_params_invariance, check_no_attributes_set_in_init,
                                                check_parameters_default_constructible, check_set_params)

    for check in (check_get_params_invariance, check_set_params, check_no_attributes_set_in_init,
                  check_parameters_default_constructible):
        check(cls.__name__, cls())
    m = cls(std_folds=3)
    assert clone(m).get_params() == m.get_params() and clone(m) is not m


def test_answers_what_a_report_asks_as_the_layerwise_predictor_does(model):
    """trained_networks / known_knobs / required_knobs / layer_view / predict_layers (perfmodel.reports.prediction)."""
    assert set(model.trained_networks()) == set(TRAIN)
    assert {"batch", "cuda_graph"} <= set(model.known_knobs())
    on = {"batch": 1, "cuda_graph": "on"}
    assert model.layer_view(on) == model.modes_["on"]["view"] == "isolated"
    spec = load_spec(str(H200 / "specs" / "mobilenetv2.json"))
    cfgs = [on, {"batch": 64, "cuda_graph": "on"}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = model.predict_layers(spec, cfgs)
        whole = model.predict(spec, cfgs)
    assert sorted(units["config_index"].unique()) == [0, 1]
    sums = units.groupby("config_index")["runtime_s"].sum().to_numpy()
    # the per-unit times are what the composition composes: their sum is the prediction's layer sum
    np.testing.assert_allclose(sums, whole["layers_runtime_s"].to_numpy(), rtol=1e-9)
    assert sums[1] > sums[0]
    with pytest.raises(DataError, match="threads"):
        model.predict_layers(spec, [{"batch": 1, "cuda_graph": "on", "threads": 2}])


def test_the_report_predicts_unseen_networks_with_the_tables_model(model, tmp_path):
    from perfmodel.reports import write_report

    t = pd.read_csv(H200 / "graph.csv.gz", low_memory=False)
    table = t[t["network"].isin(["synthetic_0", "mobilenetv3small"]) & t["batch"].isin([1, 8])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = write_report(table, ["batch", "cuda_graph"], ["runtime_s"], tmp_path, model=model,
                             model_label="tables.json")
    sec = paths["markdown"].read_text().split("## Prediction: how far to trust the layer-wise model")[1]
    sec = sec.split("## Decision")[0]
    assert "on the isolated (cuda_graph=on) view" in sec and "predictions: not computed" not in sec
    assert "| mobilenetv3small |" in sec and "| synthetic_0 |" not in sec  # only the network it did not learn
    assert "Errors by layer type (isolated (cuda_graph=on) view" in sec
