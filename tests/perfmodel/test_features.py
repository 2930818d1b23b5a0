"""Layer, fused-unit and knob features (perfmodel.features)."""

import numpy as np
import pandas as pd
import pytest

from perfmodel.errors import DataError
from perfmodel.features import (GROUP_FEATURES, SPECIAL_FEATURES, KnobEncoder, collapse_units, config_keys, fuse_layers,
                                group_of,
                                knob_columns, layer_features, separable_halves, split_separable)
from profiling.simulated import synthetic_table


def _conv(**kw):
    row = {"layer": "c1", "unit": "c1", "layer_type": "conv2d", "in_h": 56, "in_w": 56, "in_c": 64, "out_h": 28,
           "out_w": 28, "out_c": 128, "kernel_h": 3, "kernel_w": 3, "stride_h": 2, "stride_w": 2, "padding": "same",
           "flops": 2.0 * 28 * 28 * 64 * 128 * 9, "params": 64 * 128 * 9.0, "weight_bytes": 4 * 64 * 128 * 9.0,
           "input_bytes": 4 * 56 * 56 * 64.0, "output_bytes": 4 * 28 * 28 * 128.0}
    row.update(kw)
    return row


def test_every_group_has_the_neuralpower_features_and_types_map_to_groups():
    f = layer_features(pd.DataFrame([_conv()]))
    for g, cols in GROUP_FEATURES.items():
        assert set(cols + SPECIAL_FEATURES) <= set(f.columns), g
    assert group_of("conv2d") == "conv" and group_of("depthwise_conv2d") == "depthwise"
    assert group_of("max_pool") == group_of("global_pool") == "pool"
    assert group_of("input") is None and group_of("brand_new_op") == "other"


def test_special_terms_scale_with_batch_but_weights_do_not():
    rows = pd.DataFrame([_conv(), _conv()])
    f = layer_features(rows, batch=np.array([1.0, 4.0]))
    assert f["gflop"].iloc[1] == pytest.approx(4 * f["gflop"].iloc[0])
    assert f["input_mb"].iloc[1] == pytest.approx(4 * f["input_mb"].iloc[0])
    assert f["weight_mb"].iloc[1] == f["weight_mb"].iloc[0]
    assert f["pad_same"].iloc[0] == 1.0 and f["kernel"].iloc[0] == 3.0 and f["in_hw"].iloc[0] == 56.0


def test_fused_unit_counts_its_layers():
    f = layer_features(pd.DataFrame([_conv(unit="c1+bn1+relu1")]))
    assert f["n_fused"].iloc[0] == 3


def test_collapse_units_sums_counts_and_keeps_the_main_layer():
    bn = {"layer": "bn1", "unit": "c1+bn1", "layer_type": "batch_norm", "in_h": 28, "in_w": 28, "in_c": 128,
          "out_h": 28, "out_w": 28, "out_c": 128, "flops": 4 * 28 * 28 * 128.0, "params": 512.0,
          "weight_bytes": 2048.0, "input_bytes": 4 * 28 * 28 * 128.0, "output_bytes": 4 * 28 * 28 * 128.0}
    rows = pd.DataFrame([_conv(unit="c1+bn1"), bn, _conv(layer="c2", unit="c2")])
    out = collapse_units(rows)
    assert len(out) == 2
    unit = out[out["unit"] == "c1+bn1"].iloc[0]
    assert unit["layer_type"] == "conv2d" and unit["layer"] == "c1"
    assert unit["flops"] == pytest.approx(rows["flops"].iloc[:2].sum())
    assert unit["weight_bytes"] == pytest.approx(rows["weight_bytes"].iloc[:2].sum())


def test_separable_conv_splits_into_depthwise_and_pointwise_with_the_same_flops():
    k, c, oc, hw = 3, 32, 64, 14
    sep = _conv(layer_type="separable_conv2d", in_h=hw, in_w=hw, in_c=c, out_h=hw, out_w=hw, out_c=oc, stride_h=1,
                stride_w=1, flops=2.0 * hw * hw * c * (k * k + oc), weight_bytes=4.0 * c * (k * k + oc))
    parts = split_separable(pd.DataFrame([sep, _conv()]))
    assert len(parts) == 3
    halves = parts[parts["part_of"] == 0]
    assert sorted(halves["layer_type"]) == ["conv2d", "depthwise_conv2d"]
    assert halves["flops"].sum() == pytest.approx(sep["flops"])
    assert halves["weight_bytes"].sum() == pytest.approx(sep["weight_bytes"])
    pw = halves[halves["layer_type"] == "conv2d"].iloc[0]
    assert pw["kernel_h"] == 1 and pw["in_c"] == c and pw["out_c"] == oc


def test_knob_columns_and_encoder():
    table = synthetic_table(n_networks=2, seed=0)
    assert set(knob_columns(table)) == {"threads", "batch"}
    df = pd.DataFrame({"threads": [1, 2, 2], "xla": [True, False, True], "aff": ["a", "b", "a"], "same": [1, 1, 1]})
    enc = KnobEncoder(["threads", "xla", "aff", "same"]).fit(df)
    assert enc.used == ["threads", "xla", "aff"]  # the constant knob carries nothing
    X = enc.transform(df)
    assert list(X.columns) == ["threads", "xla", "aff=a", "aff=b"]
    assert X["xla"].tolist() == [1.0, 0.0, 1.0]
    back = KnobEncoder.from_dict(enc.to_dict())
    pd.testing.assert_frame_equal(back.transform(df), X)
    with pytest.raises(DataError, match="'c', unseen"):
        enc.transform(df.assign(aff="c"))
    with pytest.raises(DataError, match="not numeric"):
        KnobEncoder(["threads"]).fit(pd.DataFrame({"threads": ["1", "two", "2"]}))


def test_fuse_layers_groups_bn_and_activation_after_a_compute_layer():
    rows = pd.DataFrame({"layer": ["in", "c1", "bn1", "r1", "p1", "r2", "d1", "bn2", "bn3"],
                         "layer_type": ["input", "conv2d", "batch_norm", "activation", "max_pool", "activation",
                                        "dense", "batch_norm", "batch_norm"]})
    out = fuse_layers(rows)
    assert out["unit"].tolist() == ["in", "c1+bn1+r1", "c1+bn1+r1", "c1+bn1+r1", "p1", "r2", "d1+bn2", "d1+bn2",
                                    "bn3"]


def test_knobs_come_from_the_config_column_not_from_extra_columns():
    df = pd.DataFrame({"config": ["threads=1,xla=false", "threads=2,xla=true"], "threads": [1, 2],
                       "xla": [False, True], "traced_step_s": [0.1, 0.2], "input_size": [224, 224]})
    assert knob_columns(df) == ["threads", "xla"]


def _sep_rows(network="n", config="threads=1"):
    k, c, oc, hw = 3, 32, 64, 14
    sep = _conv(layer="s1", layer_type="separable_conv2d", in_h=hw, in_w=hw, in_c=c, out_h=hw, out_w=hw, out_c=oc,
                stride_h=1, stride_w=1, flops=2.0 * hw * hw * c * (k * k + oc), weight_bytes=4.0 * c * (k * k + oc),
                network=network, config=config)
    return sep


def test_separable_halves_turn_the_two_timed_parts_into_depthwise_then_pointwise_rows():
    sep = _sep_rows()
    rows = pd.DataFrame([sep | {"unit": "s1", "runtime_s": 1.0}, sep | {"unit": "s1+bn1", "runtime_s": 3.0},
                         _conv(network="n", config="threads=1", runtime_s=2.0)])
    out = separable_halves(rows)
    assert list(out["layer_type"]) == ["depthwise_conv2d", "conv2d", "conv2d"]
    assert list(out["runtime_s"]) == [1.0, 3.0, 2.0]  # measurements are never changed
    dw, pw = out.iloc[0], out.iloc[1]
    assert dw["out_c"] == sep["in_c"] and pw["kernel_h"] == 1 and pw["out_c"] == sep["out_c"]
    assert dw["flops"] + pw["flops"] == pytest.approx(sep["flops"])
    assert out.iloc[2]["flops"] == rows.iloc[2]["flops"]


def test_separable_halves_of_concatenated_tables_with_repeated_index_labels():
    sep = _sep_rows()
    rows = pd.DataFrame([sep | {"unit": "s1", "runtime_s": 1.0}, sep | {"unit": "s1+bn1", "runtime_s": 3.0}])
    other = rows.assign(network="m")
    both = pd.concat([rows, other])  # index 0, 1, 0, 1
    out = separable_halves(both)
    assert list(out.index) == [0, 1, 0, 1]
    assert list(out["layer_type"]) == ["depthwise_conv2d", "conv2d"] * 2
    fresh = separable_halves(both.reset_index(drop=True))
    assert out.reset_index(drop=True).equals(fresh)


def test_separable_halves_leave_a_separable_timed_as_one_unit_alone():
    one = pd.DataFrame([_sep_rows("a") | {"unit": "s1"}, _sep_rows("b") | {"unit": "s1"},
                        _sep_rows("b", "threads=2") | {"unit": "s1"}])
    out = separable_halves(one)
    assert (out["layer_type"] == "separable_conv2d").all()


def test_activation_features_tell_cheap_exponential_and_hard_functions_apart():
    rows = pd.DataFrame([_conv(activation=a) for a in ("", "relu", "silu", "hard_silu", "softmax", None)])
    f = layer_features(rows)
    assert list(f["act_any"]) == [0, 1, 1, 1, 1, 0]
    assert list(f["act_exp"]) == [0, 0, 1, 0, 0, 0]  # softmax is a reduction, not an element-wise exponential
    assert list(f["act_hard"]) == [0, 0, 0, 1, 0, 0]
    assert list(layer_features(pd.DataFrame([_conv()]))[["act_any", "act_exp", "act_hard"]].iloc[0]) == [0, 0, 0]


def test_collapsed_unit_applies_the_activation_of_its_members():
    rows = pd.DataFrame([_conv(unit="c1+r1"), _conv(layer="r1", unit="c1+r1", layer_type="activation",
                                                     activation="relu6", flops=10.0)])
    unit = collapse_units(rows).iloc[0]
    assert unit["layer_type"] == "conv2d" and unit["activation"] == "relu6"


def test_config_keys_are_empty_without_a_usable_config_column():
    df = pd.DataFrame({"config": ["threads=1,xla=false", "threads=2,gone=1"], "threads": [1, 2], "xla": [0, 1]})
    assert config_keys(df) == ["threads", "xla"]          # a key that is no column is not a knob
    assert config_keys(df.drop(columns="config")) == []
    assert config_keys(df.assign(config="default")) == []  # no k=v item
    assert knob_columns(df.assign(config="default").drop(columns="threads")) == ["xla"]
