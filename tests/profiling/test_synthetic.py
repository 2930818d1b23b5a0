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


def test_the_shipped_synthetic_table_still_matches_the_generator():
    import os

    import pandas as pd

    path = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "cpu-keras-applications",
                        "synthetic-2026-12-01.csv.gz")
    table = pd.read_csv(path, usecols=["network", "view", "layer", "flops"])
    for seed in (0, 7, 47):
        name = f"synthetic_{seed}"
        _, spec = load_network(name)
        layers = {layer.name for layer in spec.layers}
        rows = table[table["network"].eq(name) & table["view"].eq("inplace")]
        assert len(rows) and set(rows["layer"]) <= layers
        whole = table[table["network"].eq(name) & table["view"].eq("whole")]
        assert whole["flops"].iloc[0] == spec.flops()
