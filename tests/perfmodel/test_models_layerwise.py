"""LayerwisePredictor on simulated measurement tables in the exported format (docs/measurement-table.md)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from perfmodel.errors import DataError, ModelError
from perfmodel.features import split_separable
from perfmodel.models import LayerwisePredictor, load_model
from perfmodel.models.synthetic import SOURCE, synthetic_table

FAST_POLY = {"degrees": (1, 2), "cv": 3, "n_alphas": 10}


@pytest.fixture(scope="module")
def table():
    return synthetic_table(n_networks=10, seed=2)


def _features(table, net):
    rows = table[(table["network"] == net) & (table["level"] == "layer") & (table["config"] == "threads=1,batch=1")]
    return rows.drop(columns=["threads", "batch", "runtime_s", "power_w", "energy_j"])


@pytest.fixture(scope="module")
def fitted(table):
    train = table[~table["network"].isin(["net0", "net1"])]
    return LayerwisePredictor(model="polynomial", model_params=FAST_POLY).fit(train)


def test_synthetic_table_follows_the_contract(table):
    assert (table["source"] == SOURCE).all()
    assert set(table["level"]) == {"layer", "network"} and set(table["view"]) == {"inplace", "whole"}
    assert {"runtime_s", "power_w", "energy_j", "flops", "unit", "config", "status"} <= set(table.columns)


def test_predicts_unseen_networks_better_than_the_plain_layer_sum(table, fitted):
    cfgs = [{"threads": t, "batch": b} for t in (1, 2) for b in (1, 2)]
    err_model, err_sum = [], []
    for net in ("net0", "net1"):
        pred = fitted.predict(_features(table, net), cfgs)
        truth = table[(table["network"] == net) & (table["level"] == "network")].set_index("config")["runtime_s"]
        y = truth.loc[pred["config"]].to_numpy()
        err_model += list(np.abs(pred["runtime_s"] / y - 1))
        err_sum += list(np.abs(pred["layers_runtime_s"] / y - 1))
    # the simulated whole-network rows add a per-unit cost the sum misses; the network term learns it
    assert np.mean(err_model) < np.mean(err_sum)
    assert np.mean(err_model) < 0.5


def test_power_is_runtime_weighted_and_energy_is_power_times_runtime(table, fitted):
    layers = fitted.predict_layers(_features(table, "net0"), {"threads": 2, "batch": 1})
    net = fitted.predict(_features(table, "net0"), {"threads": 2, "batch": 1}).iloc[0]
    t, p = layers["runtime_s"].to_numpy(), layers["power_w"].to_numpy()
    assert net["power_w"] == pytest.approx(np.sum(t * p) / np.sum(t))
    assert p.min() <= net["power_w"] <= p.max()
    assert net["energy_j"] == pytest.approx(net["power_w"] * net["runtime_s"])
    assert net["layers_runtime_s"] == pytest.approx(t.sum())


def test_more_threads_predicted_faster_for_a_compute_heavy_network(table, fitted):
    pred = fitted.predict(_features(table, "net1"), [{"threads": 1, "batch": 2}, {"threads": 2, "batch": 2}])
    truth = table[(table["network"] == "net1") & (table["level"] == "network")].set_index("config")["runtime_s"]
    if truth["threads=2,batch=2"] < 0.9 * truth["threads=1,batch=2"]:
        assert pred["runtime_s"].iloc[1] < pred["runtime_s"].iloc[0]


def test_gp_layers_give_a_network_std(table):
    train = table[table["network"].isin(["net2", "net3", "net4"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few training networks: some types go to the fallback
        m = LayerwisePredictor(model="gp", model_params={"n_restarts": 1, "max_iters": 15}).fit(train)
        pred = m.predict(_features(table, "net0"), {"threads": 1, "batch": 1})
    assert np.isfinite(pred["runtime_s_std"].iloc[0]) and pred["runtime_s_std"].iloc[0] > 0
    assert np.isfinite(pred["energy_j_std"].iloc[0])


def test_unseen_layer_type_warns_and_uses_the_fallback(table, fitted):
    feats = _features(table, "net0").copy()
    feats.loc[feats.index[0], "layer_type"] = "concat"
    with pytest.warns(UserWarning, match="concat"):
        pred = fitted.predict(feats, {"threads": 1, "batch": 1})
    assert pred["runtime_s"].iloc[0] > 0


def test_separable_rows_are_predicted_as_depthwise_plus_pointwise(table, fitted):
    feats = _features(table, "net0")
    sep = feats.iloc[[0]].assign(layer_type="separable_conv2d", padding="same")
    halves = split_separable(sep).drop(columns=["part_of"]).assign(unit=["dw", "pw"])
    cfg = {"threads": 1, "batch": 1}
    whole = fitted.predict_layers(sep, cfg)
    parts = fitted.predict_layers(halves, cfg)
    assert len(whole) == 1 and len(parts) == 2
    assert whole["runtime_s"].iloc[0] == pytest.approx(parts["runtime_s"].sum())


def test_save_load_round_trip_is_exact(table, fitted, tmp_path):
    fitted.save(tmp_path / "lw.json")
    back = LayerwisePredictor.load(tmp_path / "lw.json")
    cfgs = [{"threads": 1, "batch": 1}, {"threads": 2, "batch": 2}]
    a = fitted.predict(_features(table, "net1"), cfgs)
    b = back.predict(_features(table, "net1"), cfgs)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ModelError, match="expected 'config_model'"):
        load_model(tmp_path / "lw.json", kind="config_model")


def test_bad_tables_are_data_errors(table):
    with pytest.raises(DataError, match="no column 'layer_type'"):
        LayerwisePredictor().fit(table.drop(columns=["layer_type"]))
    with pytest.raises(DataError, match="view 'isolated'"):
        LayerwisePredictor(view="isolated").fit(table)
    with pytest.raises(DataError, match="too few"):
        LayerwisePredictor().fit(table[table["level"] == "network"].head(3).pipe(
            lambda d: pd.concat([d, table[table["level"] == "layer"].head(3)])))
    failed = table.assign(status="failed")
    with pytest.raises(DataError):
        LayerwisePredictor().fit(failed)


def test_missing_knob_of_the_model_is_named(table, fitted):
    with pytest.raises(DataError, match="knob 'threads'"):
        fitted.predict(_features(table, "net0"), {"batch": 1})


def test_table_without_power_predicts_runtime_only(table):
    m = LayerwisePredictor(model="gbr", model_params={"n_estimators": 30}).fit(
        synthetic_table(n_networks=4, seed=5, with_power=False))
    pred = m.predict(_features(table, "net0"), {"threads": 1, "batch": 1})
    assert pred["runtime_s"].iloc[0] > 0 and np.isnan(pred["power_w"].iloc[0])


def test_configuration_outside_the_training_range_warns(table, fitted):
    with pytest.warns(UserWarning, match="batch=8 .*outside the training range"):
        fitted.predict(_features(table, "net0"), {"threads": 1, "batch": 8})


def test_per_layer_spec_rows_are_fused_like_the_training_units(table, fitted):
    # a spec lists conv, bn and relu as separate layers; the table's in-place units were fused
    feats = _features(table, "net0").drop(columns=["unit"]).iloc[:1]
    bn = feats.assign(layer="bn_x", layer_type="batch_norm", flops=10.0)
    relu = feats.assign(layer="relu_x", layer_type="activation", flops=5.0)
    spec_rows = pd.concat([feats.assign(layer_type="conv2d"), bn, relu], ignore_index=True)
    out = fitted.predict_layers(spec_rows, {"threads": 1, "batch": 1})
    assert len(out) == 1 and "+" in out["unit"].iloc[0]
    assert out["flops"].iloc[0] == pytest.approx(spec_rows["flops"].sum())
