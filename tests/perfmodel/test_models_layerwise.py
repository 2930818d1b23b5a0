"""LayerwisePredictor on simulated measurement tables in the exported format (docs/measurement-table.md)."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from perfmodel.errors import DataError, ModelError
from perfmodel.features import split_separable
from perfmodel.models import LayerwisePredictor, load_model
from profiling.simulated import SOURCE, synthetic_table

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


def _conv_units(sizes, network="n", seed=0):
    """In-place conv units whose runtime follows a roofline-like law (plus 5 % noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (hw, c) in enumerate(sizes):
        flops = 2.0 * hw * hw * c * c * 9
        rows.append({"network": network, "level": "layer", "view": "inplace", "layer": f"c{i}", "unit": f"c{i}",
                     "layer_type": "conv2d", "config": "threads=1", "threads": 1, "status": "ok",
                     "in_h": hw, "in_w": hw, "in_c": c, "out_h": hw, "out_w": hw, "out_c": c, "kernel_h": 3,
                     "kernel_w": 3, "stride_h": 1, "stride_w": 1, "padding": "same", "flops": flops,
                     "weight_bytes": 4.0 * 9 * c * c, "input_bytes": 4.0 * hw * hw * c,
                     "output_bytes": 4.0 * hw * hw * c,
                     "runtime_s": (2e-5 + flops / 5e10) * float(np.exp(rng.normal(0, 0.05)))})
    return pd.DataFrame(rows)


def test_roofline_base_lets_a_tree_model_extrapolate_to_larger_layers():
    small = [(hw, c) for hw in (7, 14, 28) for c in (16, 32, 64, 128)]
    train = _conv_units(small)
    big = _conv_units([(56, 256)], network="big")
    truth = 2e-5 + big["flops"].iloc[0] / 5e10
    params = {"n_estimators": 100}
    with_base = LayerwisePredictor(model="gbr", model_params=params, network_term=False).fit(train)
    no_base = LayerwisePredictor(model="gbr", model_params=params, network_term=False, base=None).fit(train)
    assert with_base._predict_rows(big)[0][0] == pytest.approx(truth, rel=0.3)
    # a tree without the base cannot predict beyond the largest runtime it was trained on
    assert no_base._predict_rows(big)[0][0] <= train["runtime_s"].max() * 1.001 < 0.5 * truth


def test_unit_predictions_keep_the_row_order_around_separable_rows(table, fitted):
    feats = _features(table, "net0").reset_index(drop=True).iloc[:4].copy()
    feats.loc[1, "layer_type"] = "separable_conv2d"
    feats["threads"], feats["batch"] = 1, 1
    together = fitted._predict_rows(feats)[0]
    alone = [fitted._predict_rows(feats.iloc[[i]])[0][0] for i in range(len(feats))]
    np.testing.assert_allclose(together, alone, rtol=1e-9)


def test_spec_layers_fuse_only_what_the_measured_units_fused():
    units = _conv_units([(hw, c) for hw in (7, 14, 28) for c in (16, 32, 64)])
    units["unit"] = units["layer"] + "+" + units["layer"] + "_bn"  # conv+bn timed together, relu apart
    units["activation"] = ""
    relu = units.assign(layer=units["layer"] + "_relu", unit=units["layer"] + "_relu", layer_type="activation",
                        activation="relu", flops=units["out_h"] ** 2 * units["out_c"], runtime_s=1e-5)
    m = LayerwisePredictor(model="gbr", model_params={"n_estimators": 20}, network_term=False).fit(
        pd.concat([units, relu], ignore_index=True))
    assert m.absorb_ == ("batch_norm",)
    spec = pd.DataFrame([{"layer": "c", "layer_type": "conv2d", "in_h": 14, "in_w": 14, "in_c": 32, "out_h": 14,
                          "out_w": 14, "out_c": 32, "kernel_h": 3, "kernel_w": 3, "flops": 1e6},
                         {"layer": "b", "layer_type": "batch_norm", "flops": 1e3},
                         {"layer": "r", "layer_type": "activation", "activation": "relu", "flops": 1e3}])
    out = m.predict_layers(spec, {"threads": 1})
    assert list(out["unit"]) == ["c+b", "r"]


def test_model_files_without_base_or_activation_features_load_as_they_were_fitted(table, tmp_path, monkeypatch):
    import json

    import perfmodel.models.layerwise as layerwise
    from perfmodel.features import GROUP_FEATURES_V1

    # a file of that time: unit models fitted on the features without act_* (load checks that they agree)
    monkeypatch.setattr(layerwise, "GROUP_FEATURES", GROUP_FEATURES_V1)
    train = table[~table["network"].isin(["net0", "net1"])]
    fitted = LayerwisePredictor(model="polynomial", model_params=FAST_POLY).fit(train)
    fitted.save(tmp_path / "new.json")
    doc = json.loads((tmp_path / "new.json").read_text())
    assert doc["state"]["params"]["base"] == "roofline" and doc["state"]["base_coef"] is not None
    for key in ("base_coef", "group_features", "absorb"):
        doc["state"].pop(key)
    doc["state"]["params"].pop("base")
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = LayerwisePredictor.load(tmp_path / "old.json")
    assert old.base is None and not hasattr(old, "base_coef_")
    assert all(not f.startswith("act_") for v in old.group_features_.values() for f in v)
    assert old.absorb_ == ("batch_norm", "activation")
    assert len(old.predict(_features(table, "net0"), {"threads": 1, "batch": 1})) == 1


def test_fusion_is_learned_from_the_unit_types_of_the_table():
    units = _conv_units([(hw, c) for hw in (7, 14, 28) for c in (16, 32, 64)])
    bn = units.assign(layer=units["layer"] + "_bn", unit=units["layer"] + "_bn", layer_type="batch_norm",
                      unit_types="batch_norm", runtime_s=1e-5)
    live = pd.concat([units.assign(unit_types="conv2d"), bn], ignore_index=True)
    live.loc[0, ["unit", "unit_types"]] = ["c0+c0_add", "conv2d+add"]  # some fusion, but never of a batch-norm
    m = LayerwisePredictor(model="gbr", model_params={"n_estimators": 20}, network_term=False).fit(live)
    assert m.fuses_ and m.absorb_ == ()
    frozen = units.assign(unit=units["layer"] + "+" + units["layer"] + "_bn", unit_types="conv2d+batch_norm")
    m = LayerwisePredictor(model="gbr", model_params={"n_estimators": 20}, network_term=False).fit(frozen)
    assert m.absorb_ == ("batch_norm",)


def test_synthetic_networks_train_the_units_but_not_the_network_term(table):
    train = table[~table["network"].isin(["net0", "net1"])].copy()
    renamed = {"net2": "synthetic_0", "net3": "synthetic_1"}
    train["network"] = train["network"].replace(renamed)
    whole = train["level"].eq("network")
    skewed = train.copy()  # synthetic whole rows far off the others' ratio must not move the term
    skewed.loc[whole & skewed["network"].str.startswith("synthetic_"), "runtime_s"] *= 3.0
    without = train[~(whole & train["network"].str.startswith("synthetic_"))]
    a = LayerwisePredictor(model="polynomial", model_params=FAST_POLY).fit(skewed)
    b = LayerwisePredictor(model="polynomial", model_params=FAST_POLY).fit(without)
    assert a.n_network_rows_ == b.n_network_rows_ < int(whole.sum())
    np.testing.assert_allclose(a.net_coef_, b.net_coef_)
    assert "synthetic_0" in a.networks_  # their units were learned from
    # with fewer than three other networks, the synthetic rows are used after all
    only = skewed[skewed["network"].str.startswith("synthetic_") | skewed["network"].isin(["net4", "net5"])]
    c = LayerwisePredictor(model="polynomial", model_params=FAST_POLY).fit(only)
    assert c.n_network_rows_ == int((only["level"] == "network").sum())


def test_predicted_ratio_to_the_roofline_stays_in_the_training_range(tmp_path):
    small = [(hw, c) for hw in (7, 14, 28) for c in (16, 32, 64, 128)]
    train = _conv_units(small)
    m = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, network_term=False).fit(train)
    lo, hi = m.ratio_range_["conv"]
    ratios = train["runtime_s"] / m._base_of(train)
    assert lo == pytest.approx(ratios.min()) and hi == pytest.approx(ratios.max())
    far = _conv_units([(224, 2048), (1, 4)], network="far")  # far outside the data on both sides
    pred = m._predict_rows(far)[0] / m._base_of(far)
    assert np.all((pred >= lo * (1 - 1e-9)) & (pred <= hi * (1 + 1e-9)))
    m.save(tmp_path / "m.json")
    again = LayerwisePredictor.load(tmp_path / "m.json")
    assert again.ratio_range_ == m.ratio_range_
    np.testing.assert_allclose(again._predict_rows(far)[0], m._predict_rows(far)[0])


def _drifting(table, slow_networks, factor):
    """The table as if some networks' jobs had run while the machine was ``factor`` times slower, with the
    speed reference of each job recording it (as profiling.reference does)."""
    out = table.copy()
    slow = out["network"].isin(slow_networks)
    out["ref_compute_s"] = np.where(slow, 2e-3 * factor, 2e-3)
    out.loc[slow, "runtime_s"] *= factor
    return out


def test_speed_reference_puts_jobs_of_a_drifting_machine_at_one_speed(table, tmp_path):
    train = table[~table["network"].isin(["net0", "net1"])]
    drifted = _drifting(train, ["net2", "net3", "net4"], 1.4)
    clean = LayerwisePredictor(model="gbr", network_term=True).fit(train)
    naive = LayerwisePredictor(model="gbr").fit(drifted)
    ref = LayerwisePredictor(model="gbr", reference="ref_compute_s").fit(drifted)
    assert ref.reference_s_ == pytest.approx(2e-3)  # the median job ran at normal speed
    cfg = {"threads": 1, "batch": 1}
    truth = clean.predict(_features(table, "net0"), cfg)["runtime_s"].iloc[0]
    # normalised, the drifted table gives the model of the undisturbed one; without, a biased one
    assert ref.predict(_features(table, "net0"), cfg)["runtime_s"].iloc[0] == pytest.approx(truth, rel=0.02)
    assert abs(naive.predict(_features(table, "net0"), cfg)["runtime_s"].iloc[0] / truth - 1) > 0.05
    # a reference timed now on a machine running 1.4x slower scales every runtime and energy alike
    slow = ref.predict(_features(table, "net0"), cfg, reference_s=2.8e-3).iloc[0]
    base = ref.predict(_features(table, "net0"), cfg).iloc[0]
    for col in ("runtime_s", "layers_runtime_s", "energy_j"):
        assert slow[col] == pytest.approx(1.4 * base[col])
    units = ref.predict_layers(_features(table, "net0"), cfg, reference_s=2.8e-3)["runtime_s"]
    assert units.sum() == pytest.approx(1.4 * base["layers_runtime_s"])
    ref.save(tmp_path / "ref.json")
    again = LayerwisePredictor.load(tmp_path / "ref.json")
    assert again.reference == "ref_compute_s" and again.reference_s_ == pytest.approx(ref.reference_s_)
    assert again.predict(_features(table, "net0"), cfg, reference_s=2.8e-3)["runtime_s"].iloc[0] == \
        pytest.approx(slow["runtime_s"])


def test_speed_reference_errors_name_the_problem(table, fitted):
    train = table[~table["network"].isin(["net0", "net1"])]
    with pytest.raises(DataError, match="no speed reference column 'ref_compute_s'"):
        LayerwisePredictor(model="gbr", reference="ref_compute_s").fit(train)
    partial = _drifting(train, ["net2"], 1.2)
    partial.loc[partial.index[:5], "ref_compute_s"] = np.nan
    with pytest.raises(DataError, match="5 rows of the table have no valid 'ref_compute_s'"):
        LayerwisePredictor(model="gbr", reference="ref_compute_s").fit(partial)
    with pytest.raises(ModelError, match="fitted without a speed reference"):
        fitted.predict(_features(table, "net0"), {"threads": 1, "batch": 1}, reference_s=1e-3)


def _twin_pools(dup_cost, carrier="first"):
    """Conv units, pooling units, and pairs of equal pooling layers on one input (``duplicate_of`` names the
    first of a pair, as the export writes it): one member of a pair (``carrier``) takes the pooling's time,
    the other ``dup_cost`` times that."""
    convs = _conv_units([(hw, c) for hw in (7, 14, 28) for c in (16, 32, 64)])
    rows = []
    for i, (hw, c) in enumerate((hw, c) for hw in (7, 14, 28) for c in (16, 32, 64, 128)):
        t = 5e-6 + 4.0 * hw * hw * c / 2e9
        base = {**convs.iloc[0].to_dict(), "layer_type": "avg_pool", "in_h": hw, "in_w": hw, "in_c": c,
                "out_h": hw, "out_w": hw, "out_c": c, "flops": 9.0 * hw * hw * c, "weight_bytes": 0.0,
                "input_bytes": 4.0 * hw * hw * c, "output_bytes": 4.0 * hw * hw * c}
        tp, tq = (t, dup_cost * t) if carrier == "first" else (dup_cost * t, t)
        rows.append({**base, "layer": f"s{i}", "unit": f"s{i}", "runtime_s": t, "duplicate_of": ""})
        rows.append({**base, "layer": f"p{i}", "unit": f"p{i}", "runtime_s": tp, "duplicate_of": ""})
        rows.append({**base, "layer": f"q{i}", "unit": f"q{i}", "runtime_s": tq, "duplicate_of": f"p{i}"})
    return pd.concat([convs.assign(duplicate_of=""), pd.DataFrame(rows)], ignore_index=True)


def _fit_gbr(table):
    return LayerwisePredictor(model="gbr", model_params={"n_estimators": 30}, network_term=False).fit(table)


@pytest.mark.parametrize("carrier", ["first", "second"])
def test_duplicates_computed_once_cost_what_the_table_says_and_teach_no_unit_model(carrier, tmp_path):
    table = _twin_pools(dup_cost=0.05, carrier=carrier)
    m = _fit_gbr(table)
    pairs = table[table["layer"].str.match(r"[pq]\d")]
    cheap = pairs.groupby(pairs["layer"].str[1:])["runtime_s"].min()
    assert m.duplicate_s_ == pytest.approx(cheap.median())
    assert m.train_rows_["pool"] == 12  # the pools of no pair only: a pair's times are not its members' own
    pair = table[table["layer"].isin(["p5", "q5"])]
    out = m.predict_layers(pair.drop(columns=["runtime_s"]), {"threads": 1}).set_index("layer")["runtime_s"]
    assert out["q5"] == pytest.approx(m.duplicate_s_)
    assert out["p5"] > 5 * out["q5"]
    m.save(tmp_path / "m.json")
    assert LayerwisePredictor.load(tmp_path / "m.json").duplicate_s_ == pytest.approx(m.duplicate_s_)


def test_duplicates_that_cost_like_their_originals_are_layers_like_any_other(tmp_path):
    import json

    table = _twin_pools(dup_cost=1.0)  # a runtime without common-subexpression elimination
    m = _fit_gbr(table)
    assert m.duplicate_s_ is None and m.train_rows_["pool"] == 3 * 12
    pair = table[table["layer"].isin(["p5", "q5"])]
    out = m.predict_layers(pair.drop(columns=["runtime_s"]), {"threads": 1})["runtime_s"]
    assert out.iloc[0] == pytest.approx(out.iloc[1])
    # a model file from before duplicates were known predicts them as layers, as it did
    cheap = _fit_gbr(_twin_pools(dup_cost=0.05))
    cheap.save(tmp_path / "new.json")
    doc = json.loads((tmp_path / "new.json").read_text())
    doc["state"].pop("duplicate_s")
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert LayerwisePredictor.load(tmp_path / "old.json").duplicate_s_ is None


def test_network_std_is_the_spread_on_networks_the_unit_models_never_saw(table, tmp_path):
    train = table[table["network"].isin(["net2", "net3", "net4", "net5"])]
    # four networks, four folds: one network each (the term fitted on the training sums: stacked_term=False)
    m = LayerwisePredictor(model="gbr", std_folds=4, stacked_term=False).fit(train)
    sums, counts, whole = _unseen_sums(train)
    y = whole["runtime_s"].to_numpy()
    rel = m._network_design(sums, counts, whole) @ m.net_coef_ / y - 1
    assert m.net_rel_std_ == pytest.approx(np.sqrt(np.mean(rel**2))) and m.net_std_folds_ == 4
    # the folds measure the spread only: same network term, same predictions, the std scaled by the spread
    m0 = LayerwisePredictor(model="gbr", std_folds=0).fit(train)
    assert m0.net_std_folds_ == 0
    np.testing.assert_allclose(m0.net_coef_, m.net_coef_)
    cfg = {"threads": 2, "batch": 1}
    p, p0 = m.predict(_features(table, "net0"), cfg).iloc[0], m0.predict(_features(table, "net0"), cfg).iloc[0]
    assert p["runtime_s"] == pytest.approx(p0["runtime_s"])
    assert p["runtime_s_std"] / p0["runtime_s_std"] == pytest.approx(m.net_rel_std_ / m0.net_rel_std_)
    m.save(tmp_path / "m.json")
    back = LayerwisePredictor.load(tmp_path / "m.json")
    assert back.std_folds == 4 and back.net_rel_std_ == m.net_rel_std_ and back.net_std_folds_ == 4
    pd.testing.assert_frame_equal(back.predict(_features(table, "net0"), cfg), m.predict(_features(table, "net0"), cfg))
    net2_units = table.index[(table["network"] == "net2") & table["level"].eq("layer")]
    lopsided = table[table["network"].isin(["net2", "net3"]) & ~table.index.isin(net2_units[4:])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few networks: types go to the fallback
        # one network with whole rows: no fold to leave out, the training networks' spread
        assert LayerwisePredictor(model="gbr", std_folds=4).fit(table[table["network"].eq("net2")]).net_std_folds_ == 0
        # a fold whose other networks are too few to fit on: the training networks' spread, no error
        assert LayerwisePredictor(model="gbr", std_folds=2).fit(lopsided).net_std_folds_ == 0


def test_model_files_without_std_folds_load_as_they_were_fitted(table, fitted, tmp_path):
    import json

    fitted.save(tmp_path / "new.json")
    doc = json.loads((tmp_path / "new.json").read_text())
    assert doc["state"]["network_term"]["std_folds"] == fitted.net_std_folds_ > 0
    doc["state"]["params"].pop("std_folds")
    doc["state"]["network_term"].pop("std_folds")
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = LayerwisePredictor.load(tmp_path / "old.json")
    assert old.std_folds == 0 and old.net_std_folds_ == 0 and old.net_rel_std_ == fitted.net_rel_std_
    cfg = {"threads": 1, "batch": 2}
    feats = _features(table, "net1")
    pd.testing.assert_frame_equal(old.predict(feats, cfg), fitted.predict(feats, cfg))


def test_parameters_follow_the_estimator_contract():
    from sklearn.base import clone

    m = LayerwisePredictor(model="gbr", std_folds=2, reference_window=5)
    assert m.get_params()["std_folds"] == 2 and m.get_params()["model_params"] is None
    twin = clone(m)
    assert twin is not m and twin.get_params() == m.get_params()
    assert m.set_params(std_folds=0, model="polynomial") is m and (m.std_folds, m.model) == (0, "polynomial")
    with pytest.raises(ValueError, match="Invalid parameter 'folds'"):
        m.set_params(folds=3)


def test_std_fold_fallback_leaves_a_warning(table):
    """A fold whose other networks are too few to fit on: the std falls back, and says so (issue 21)."""
    net2_units = table.index[(table["network"] == "net2") & table["level"].eq("layer")]
    lopsided = table[table["network"].isin(["net2", "net3"]) & ~table.index.isin(net2_units[4:])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = LayerwisePredictor(model="gbr", std_folds=2).fit(lopsided)
    assert m.net_std_folds_ == 0
    assert any("could not be measured on networks left out" in str(w.message) for w in caught)


def test_plain_sum_fallback_of_the_network_term_is_reported(table, fitted):
    """A network term that leaves its range falls back to the plain sum with a warning and a column (issue 21)."""
    feats = _features(table, "net0")
    ok = fitted.predict(feats, {"threads": 2, "batch": 1}).iloc[0]
    assert ok["network_term"] == "learnt"
    m = copy.deepcopy(fitted)  # the fixture stays intact
    m.net_coef_ = np.zeros_like(m.net_coef_)
    m.net_coef_[2] = -1.0  # runtime = -1 s whatever the units: out of range
    with pytest.warns(UserWarning, match="outside its range; predicted as the plain sum"):
        out = m.predict(feats, {"threads": 2, "batch": 1}).iloc[0]
    assert out["network_term"].startswith("plain sum")
    assert out["runtime_s"] == pytest.approx(out["layers_runtime_s"])


from perfmodel.models.composition import knob_matrix  # noqa: E402


def test_knob_matrix_reads_switch_spellings_and_numbers():
    f = pd.DataFrame({"xla": ["on", "off", "yes", "False"], "threads": [1, 2, 4, 8]})
    np.testing.assert_array_equal(knob_matrix(f, ["xla", "threads"]), [[1, 1], [0, 2], [1, 4], [0, 8]])


def test_knob_matrix_refuses_other_words_in_one_line():
    with pytest.raises(DataError, match="xla"):
        knob_matrix(pd.DataFrame({"xla": ["maybe"]}), ["xla"])


def test_a_layer_outside_the_trained_sizes_warns_with_its_range(table, fitted, tmp_path):
    feats = _features(table, "net0")
    conv = feats["layer_type"].eq("conv2d").to_numpy()
    assert conv.any()
    hi = fitted.layer_ranges_["conv"]["out_c"][1]
    big = feats.copy()
    first = int(np.flatnonzero(conv)[0])
    big.loc[big.index[first], "out_c"] = 4 * hi  # four times the widest conv of training
    with pytest.warns(UserWarning, match=rf"layers outside the training range: .*conv layer\(s\).* with out_c "
                                         rf"outside .*\.\.{hi:g}"):
        fitted.predict(big, {"threads": 1, "batch": 1})
    # a network built only of trained layers (one of the training networks) gets no such warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.predict(_features(table, "net5"), {"threads": 1, "batch": 1})
    assert not [w for w in caught if "layers outside" in str(w.message)]
    # the ranges travel with the model file; a file written before them loads and checks no layer
    fitted.save(tmp_path / "m.json")
    assert LayerwisePredictor.load(tmp_path / "m.json").layer_ranges_ == fitted.layer_ranges_
    import json
    doc = json.loads((tmp_path / "m.json").read_text())
    # a corrupt range is refused on load in one line
    from perfmodel.errors import ModelError
    bad = copy.deepcopy(doc)
    bad["state"]["layer_ranges"]["conv"]["gflop"] = [1.0, 0.5]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ModelError, match=r"layer_ranges\.conv\.gflop is empty") as info:
        LayerwisePredictor.load(tmp_path / "bad.json")
    assert "\n" not in str(info.value)
    doc["state"].pop("layer_ranges")
    (tmp_path / "old.json").write_text(json.dumps(doc))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LayerwisePredictor.load(tmp_path / "old.json").predict(big, {"threads": 1, "batch": 1})
    assert not [w for w in caught if "layers outside" in str(w.message)]


def test_knob_matrix_log_batch_is_the_log_of_the_batch_column_and_zero_without_one():
    from perfmodel.models.composition import LOG_BATCH

    f = pd.DataFrame({"batch": [1, 4, 8], "threads": [1, 2, 2]})
    np.testing.assert_allclose(knob_matrix(f, [LOG_BATCH, "threads"]),
                               [[0.0, 1], [np.log(4), 2], [np.log(8), 2]])
    np.testing.assert_array_equal(knob_matrix(pd.DataFrame({"threads": [1, 2]}), [LOG_BATCH]), [[0.0], [0.0]])


def _batch_dependent_whole(table, ratio_at_1, drop_per_log_batch):
    """The table with every whole-network runtime set to its measured units' sum times a ratio that falls with
    log(batch): what a call costs beyond its units amortises over the batch."""
    out = table.copy()
    units = out[out["level"].eq("layer")].groupby(["network", "config"])["runtime_s"].sum()
    whole = out["level"].eq("network")
    for idx in out.index[whole]:
        b = float(out.at[idx, "batch"])
        out.at[idx, "runtime_s"] = units[(out.at[idx, "network"], out.at[idx, "config"])] * \
            (ratio_at_1 - drop_per_log_batch * np.log(b))
    return out


def test_network_term_learns_a_whole_to_units_ratio_that_falls_with_the_batch(table, tmp_path):
    """With network_batch the term's ratio follows the batch; without it, one ratio for every batch."""
    train = _batch_dependent_whole(table[~table["network"].isin(["net0", "net1"])], 1.6, 0.5)
    feats = _features(table, "net0")
    cfgs = [{"threads": 1, "batch": 1}, {"threads": 1, "batch": 2}]
    with_b = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0).fit(train)
    without = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0,
                                 network_batch=False).fit(train)
    assert "log_batch" in with_b.net_knobs_ and "log_batch" not in without.net_knobs_
    r = with_b.predict(feats, cfgs)
    ratio = (r["runtime_s"] / r["layers_runtime_s"]).to_numpy()
    # true ratios 1.6 and 1.6 - 0.5 ln 2 = 1.25; the unit sums are predicted, so not exact
    assert ratio[0] == pytest.approx(1.6, rel=0.08) and ratio[1] == pytest.approx(1.25, rel=0.08)
    r0 = without.predict(feats, cfgs)
    ratio0 = (r0["runtime_s"] / r0["layers_runtime_s"]).to_numpy()
    assert abs(ratio0[1] - 1.25) > 2 * abs(ratio[1] - 1.25)
    # the term's log-batch knob survives the JSON file
    path = tmp_path / "m.json"
    with_b.save(path)
    back = load_model(path)
    assert back.network_batch is True and back.net_knobs_ == with_b.net_knobs_
    np.testing.assert_allclose(back.predict(feats, cfgs)["runtime_s"], r["runtime_s"], rtol=1e-12)


def test_synthetic_networks_join_the_network_term_when_the_others_are_too_few_for_its_knobs(table):
    """Three named networks x 4 configurations are 12 rows, fewer than 3 per coefficient of a term with threads
    and log batch (7): the synthetic networks' rows join; without network_batch they stay out (as before)."""
    keep = ["net2", "net3", "net4", "net5", "net6", "net7", "net8"]
    train = table[table["network"].isin(keep)].copy()
    train["network"] = train["network"].replace({"net5": "synthetic_0", "net6": "synthetic_1",
                                                 "net7": "synthetic_2", "net8": "synthetic_3"})
    n_whole = int(train["level"].eq("network").sum())
    a = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0).fit(train)
    b = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0, network_batch=False).fit(train)
    assert a.n_network_rows_ == n_whole == 28
    assert b.n_network_rows_ == 12
    assert a.net_knobs_ == ["threads", "log_batch"] and b.net_knobs_ == []


def test_model_files_without_network_batch_load_with_it_off(fitted, tmp_path):
    import json

    path = tmp_path / "m.json"
    fitted.save(path)
    doc = json.loads(path.read_text())
    state = doc["state"] if "state" in doc else doc
    state["params"].pop("network_batch")
    path.write_text(json.dumps(doc))
    assert load_model(path).network_batch is False


def _unseen_sums(train):
    """Each whole-network row's unit sum predicted by gbr unit models fitted without its network, its unit
    count, and the rows in that order (the sums a stacked network term learns from, computed here one network
    at a time)."""
    from perfmodel.features import separable_halves

    whole = train[train["level"].eq("network")]
    sums, counts, order = [], [], []
    for net, rows in whole.groupby("network", sort=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one network fewer: a type may go to the fallback
            alone = LayerwisePredictor(model="gbr", std_folds=0, network_term=False)
            alone.fit(train[train["network"] != net])
        for i in rows.index:
            units = separable_halves(train[(train["network"] == net) & train["level"].eq("layer")
                                           & (train["config"] == rows.at[i, "config"])])
            sums.append(alone._predict_rows(units)[0].sum())
            counts.append(float(len(units)))
            order.append(i)
    return np.array(sums), np.array(counts), whole.loc[order]


def test_stacked_network_term_is_fitted_on_unit_sums_of_networks_left_out(table, tmp_path):
    """stacked_term (the default): the term's coefficients are the relative least-squares fit to the unit sums
    predicted by unit models that never saw each network; without it, to the training networks' own sums."""
    train = table[table["network"].isin(["net2", "net3", "net4", "net5"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LayerwisePredictor(model="gbr", std_folds=4).fit(train)  # four networks, four folds: one each
        plain = LayerwisePredictor(model="gbr", std_folds=4, stacked_term=False).fit(train)
    assert m.stacked_term is True and m.net_stacked_ and not plain.net_stacked_
    unseen, counts, whole = _unseen_sums(train)
    y = whole["runtime_s"].to_numpy()
    A = m._network_design(unseen, counts, whole)
    n = int(np.count_nonzero(m.net_coef_))
    want, *_ = np.linalg.lstsq(A[:, :n] / y[:, None], np.ones_like(y), rcond=None)
    np.testing.assert_allclose(m.net_coef_[:n], want, rtol=1e-6)
    assert not np.allclose(m.net_coef_, plain.net_coef_)  # the training sums are not the unseen ones
    # the spread: the term's relative errors on those sums, per degree of freedom
    rel = A @ m.net_coef_ / y - 1
    assert m.net_rel_std_ == pytest.approx(np.sqrt(np.sum(rel**2) / (len(y) - n)))
    # the stacked term fits the unseen sums better than the term fitted on the training sums does
    rel_plain = m._network_design(unseen, counts, whole) @ plain.net_coef_ / y - 1
    assert np.sum(rel**2) < np.sum(rel_plain**2)
    # the flag and the stacked coefficients survive the JSON file
    m.save(tmp_path / "m.json")
    back = LayerwisePredictor.load(tmp_path / "m.json")
    assert back.stacked_term is True and back.net_stacked_
    cfg = {"threads": 2, "batch": 1}
    pd.testing.assert_frame_equal(back.predict(_features(table, "net0"), cfg), m.predict(_features(table, "net0"), cfg))


def test_stacked_term_without_folds_is_the_term_of_the_training_sums(table):
    """With no folds to leave out (std_folds=0) there are no unseen sums: the term is fitted as before."""
    train = table[~table["network"].isin(["net0", "net1"])]
    a = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0).fit(train)
    b = LayerwisePredictor(model="polynomial", model_params=FAST_POLY, std_folds=0, stacked_term=False).fit(train)
    assert a.stacked_term is True and not a.net_stacked_
    np.testing.assert_array_equal(a.net_coef_, b.net_coef_)


def test_model_files_without_stacked_term_load_with_it_off(fitted, tmp_path):
    import json

    path = tmp_path / "m.json"
    fitted.save(path)
    doc = json.loads(path.read_text())
    state = doc["state"] if "state" in doc else doc
    assert state["params"]["stacked_term"] is True and state["network_term"]["stacked"] is fitted.net_stacked_
    state["params"].pop("stacked_term")
    state["network_term"].pop("stacked")
    path.write_text(json.dumps(doc))
    old = load_model(path)
    assert old.stacked_term is False and old.net_stacked_ is False
    np.testing.assert_array_equal(old.net_coef_, fitted.net_coef_)  # predicts as it was fitted
