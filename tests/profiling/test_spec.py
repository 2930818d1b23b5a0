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


def _pool(name, inputs, size=3):
    return LayerSpec(name, "avg_pool", "AveragePooling2D", ((16, 16, 8),), (16, 16, 8),
                     {"pool_size": [size, size], "strides": [1, 1], "padding": "same", "params": 0}, inputs)


def _relu(name, inputs):
    return LayerSpec(name, "activation", "Activation", ((16, 16, 8),), (16, 16, 8),
                     {"activation": "relu", "params": 0}, inputs)


def test_duplicates_are_weightless_layers_repeating_an_earlier_computation():
    net = _net(_conv("c"), _conv("c2"),  # same config and input, but its own weights: not a duplicate
               _pool("left", ("c",)), _pool("right", ("c",)),  # NASNet's cell: one pooling applied twice
               _pool("wide", ("c",), size=5), _pool("other_input", ("c2",)),
               _relu("r1", ("left",)), _relu("r2", ("right",)),  # the same op on a duplicate: a duplicate too
               _relu("r3", ("wide",)))
    assert net.duplicates() == {"right": "left", "r2": "r1"}
    feats = net.features()
    assert dict(zip(feats["layer"], feats["duplicate_of"])) == {
        "in": "", "c": "", "c2": "", "left": "", "right": "left", "wide": "", "other_input": "", "r1": "",
        "r2": "r1", "r3": ""}


def test_layers_with_parameters_the_spec_does_not_record_are_never_duplicates():
    def leaky(name):  # LeakyReLU's slope is not among the recorded attributes: two may differ
        return LayerSpec(name, "activation", "LeakyReLU", ((16, 16, 8),), (16, 16, 8),
                         {"activation": "leakyrelu", "params": 0}, ("c",))

    assert _net(_conv("c"), leaky("a"), leaky("b")).duplicates() == {}
