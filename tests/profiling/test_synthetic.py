import pytest

from profiling import synthetic
from profiling.errors import SpecError
from profiling.networks import check_network, known_networks, load_network

pytestmark = pytest.mark.tf


def test_names_are_checked_without_building():
    assert check_network("synthetic_12") == "synthetic_12"
    assert synthetic.is_synthetic("synthetic_0") and not synthetic.is_synthetic("synthetic_x")
    with pytest.raises(SpecError, match="unknown network 'synthetic_'"):
        check_network("synthetic_")
    with pytest.raises(SpecError, match="not a synthetic network name"):
        synthetic.seed_of("tiny_cnn")
    assert "synthetic_<seed>" in known_networks()


def _signature(spec):
    return [(layer.type, layer.output_shape, layer.activation()) for layer in spec.layers]


def test_a_seed_always_builds_the_same_network_and_seeds_differ():
    _, a = load_network("synthetic_3")
    _, b = load_network("synthetic_3")
    _, c = load_network("synthetic_4")
    assert a.name == "synthetic_3"
    assert _signature(a) == _signature(b) and a.flops() == b.flops()
    assert _signature(a) != _signature(c)


def test_networks_stay_in_budget_and_cover_the_activations_the_applications_use():
    seen, types = set(), set()
    for seed in range(16):
        model, spec = load_network(f"synthetic_{seed}")
        assert spec.params() == model.count_params()
        # FLOPs of the spec count a multiply-add as 2, as the budget does (plus the dense head, ignored there)
        assert spec.flops() < 1.1 * synthetic.MAX_GFLOP * 1e9
        assert sum(1 for layer in spec.layers if layer.type == "conv2d") >= 1
        seen |= {layer.activation() for layer in spec.layers}
        types |= {layer.type for layer in spec.layers}
    assert {"relu", "relu6", "silu", "hard_silu", "sigmoid"} <= seen
    assert {"conv2d", "depthwise_conv2d", "separable_conv2d", "batch_norm", "add", "multiply", "concat",
            "dense"} <= types


def test_input_size_is_honoured():
    model, spec = load_network("synthetic_1", input_size=64)
    assert tuple(model.input_shape[1:3]) == (64, 64)
    assert spec.flops() > 0


@pytest.mark.parametrize("file, names", [
    ("synthetic-2026-12-01.csv.gz", ("synthetic_0", "synthetic_7", "synthetic_47")),
    ("synthetic-fc-2026-12-02-ref.csv.gz", ("synthetic_fc_0", "synthetic_fc_23")),
    ("synthetic-hires-2026-12-02-ref.csv.gz", ("synthetic_hires_0", "synthetic_hires_15")),
])
def test_the_shipped_synthetic_tables_still_match_the_generator(file, names):
    import os

    import pandas as pd

    path = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "cpu-keras-applications", file)
    table = pd.read_csv(path, usecols=["network", "view", "layer", "flops"])
    for name in names:
        _, spec = load_network(name)
        layers = {layer.name for layer in spec.layers}
        rows = table[table["network"].eq(name) & table["view"].eq("inplace")]
        assert len(rows) and set(rows["layer"]) <= layers
        whole = table[table["network"].eq(name) & table["view"].eq("whole")]
        assert whole["flops"].iloc[0] == spec.flops()


def test_other_families_names():
    assert check_network("synthetic_fc_5") == "synthetic_fc_5"
    assert check_network("synthetic_hires_2") == "synthetic_hires_2"
    assert synthetic.is_synthetic("synthetic_fc_0") and synthetic.seed_of("synthetic_fc_7") == 7
    assert synthetic.is_synthetic("synthetic_hires_0") and synthetic.seed_of("synthetic_hires_11") == 11
    assert not synthetic.is_synthetic("synthetic_fc_") and not synthetic.is_synthetic("synthetic_fcx_1")
    assert "synthetic_fc_<seed>" in known_networks() and "synthetic_hires_<seed>" in known_networks()


def test_fc_family_times_large_fully_connected_layers_within_budget():
    firsts, weights = [], []
    for seed in range(12):
        model, spec = load_network(f"synthetic_fc_{seed}")
        _, again = load_network(f"synthetic_fc_{seed}")
        assert _signature(spec) == _signature(again)
        assert spec.params() == model.count_params()
        dense = [layer for layer in spec.layers if layer.type == "dense"]
        assert len(dense) >= 2 and dense[-1].activation() == "softmax"
        fc_params = sum(layer.params() for layer in dense[:-1])
        assert fc_params <= synthetic.MAX_FC_PARAMS
        # the trunk's budget, plus a multiply-add per fully-connected weight
        assert spec.flops() < 1.1 * synthetic.MAX_GFLOP * 1e9 + 2 * (fc_params + dense[-1].params())
        firsts.append(dense[0].input_shapes[0][-1])
        weights.append(max(layer.params() for layer in dense))
    # the point of the family: inputs and weight matrices of the AlexNet / VGG class (VGG16 fc1: 25088 -> 4096)
    assert max(firsts) >= 16384 and min(firsts) <= 4096
    assert max(weights) >= 40e6
    _, plain = load_network("synthetic_0")
    _, fc = load_network("synthetic_fc_0")
    assert _signature(plain) != _signature(fc)


def test_hires_family_convolves_large_feature_maps_within_budget():
    big_maps = 0
    for seed in range(8):
        model, spec = load_network(f"synthetic_hires_{seed}")
        _, again = load_network(f"synthetic_hires_{seed}")
        assert _signature(spec) == _signature(again)
        assert spec.params() == model.count_params()
        assert spec.flops() < 1.1 * synthetic.MAX_HIRES_GFLOP * 1e9
        convs = [layer for layer in spec.layers if layer.type == "conv2d"]
        assert len(convs) >= 2
        # activations moved by one convolution (input + output, float32): VGG16's conv1_2 moves 25.7 MB
        big_maps += sum(layer.features()["input_bytes"] + layer.features()["output_bytes"] > 16e6 for layer in convs)
    assert big_maps >= 4
