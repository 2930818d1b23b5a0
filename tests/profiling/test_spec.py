import json

import pytest

from profiling.errors import SpecError
from profiling.spec import LayerSpec, NetworkSpec


def _conv(name="c", cin=3, cout=8, hw=16, k=3, s=1, groups=1, inputs=("in",)):
    out_hw = hw // s
    return LayerSpec(name, "conv2d", "Conv2D", ((hw, hw, cin),), (out_hw, out_hw, cout),
                     {"kernel_size": [k, k], "strides": [s, s], "padding": "same", "groups": groups,
                      "use_bias": False, "params": k * k * cin // groups * cout}, inputs)


def _net(*layers):
    inp = LayerSpec("in", "input", "InputLayer", (), (16, 16, 3))
    return NetworkSpec("n", (16, 16, 3), (inp, *layers))


def test_conv_flops_match_the_formula():
    layer = _conv()
    assert layer.flops() == 2 * 16 * 16 * 8 * 3 * 3 * 3
    grouped = _conv(cin=8, cout=8, groups=4)
    assert grouped.flops() == 2 * 16 * 16 * 8 * 3 * 3 * 2


def test_features_shapes_and_bytes():
    f = _conv(s=2).features()
    assert (f["in_h"], f["in_c"], f["out_h"], f["out_c"], f["stride_h"], f["kernel_w"]) == (16, 3, 8, 8, 2, 3)
    assert f["input_bytes"] == 16 * 16 * 3 * 4
    assert f["output_bytes"] == 8 * 8 * 8 * 4
    assert f["weight_bytes"] == f["params"] * 4


def test_json_round_trip_preserves_the_spec(tmp_path):
    net = _net(_conv())
    path = tmp_path / "n.json"
    net.to_json(path)
    assert NetworkSpec.from_json(str(path)) == net
    assert NetworkSpec.from_json(net.to_json()) == net


@pytest.mark.parametrize("text,needle", [
    ("{", "not valid JSON"),
    ('{"format": "other"}', "not a network spec"),
    ('{"format": "perfmodel.NetworkSpec", "version": 99, "layers": []}', "version 99"),
    ('{"format": "perfmodel.NetworkSpec", "version": 1, "layers": []}', "no layers"),
    ('{"format": "perfmodel.NetworkSpec", "version": 1, "layers": [{"name": "a", "type": "warp"}]}', "unknown layer type"),
    ('[1, 2]', "JSON object"),
])
def test_bad_spec_json_is_a_spec_error(text, needle):
    with pytest.raises(SpecError, match=needle):
        NetworkSpec.from_json(text)


def test_layers_must_consume_earlier_layers():
    with pytest.raises(SpecError, match="not an earlier layer"):
        _net(_conv(inputs=("later",)))


def test_duplicate_layer_names_are_refused():
    with pytest.raises(SpecError, match="duplicate"):
        _net(_conv("c"), _conv("c", inputs=("c",)))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(SpecError, match="nope.json"):
        NetworkSpec.from_json(str(tmp_path / "nope.json"))


def test_features_frame_has_one_row_per_layer():
    net = _net(_conv())
    df = net.features()
    assert list(df["layer"]) == ["in", "c"]
    assert df.loc[1, "flops"] == net.layer("c").flops()
    assert json.loads(net.to_json())["format"] == "perfmodel.NetworkSpec"
