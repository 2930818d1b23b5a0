"""The fusion rule is one piece of data (profiling.fusion) read by the in-place tracers and the models."""

from __future__ import annotations

import pandas as pd

import perfmodel.features as features
import profiling.executors.tf_fusion as tf_fusion
import profiling.fusion as fusion
from profiling.spec import LayerSpec, NetworkSpec


def test_both_sides_read_the_one_rule():
    assert features.FUSION_MAINS is fusion.FUSION_MAINS
    assert features.FUSED_INTO_MAIN is fusion.FUSED_INTO_MAIN
    assert tf_fusion.FUSION_MAINS is fusion.FUSION_MAINS
    assert tf_fusion.main_layer is fusion.main_layer


def test_main_layer_follows_the_priority_order():
    by_type = {"bn": "batch_norm", "dw": "depthwise_conv2d", "pw": "conv2d", "relu": "activation"}
    assert fusion.main_layer(("bn", "dw", "pw", "relu"), by_type) == "pw"  # conv2d before depthwise
    assert fusion.main_layer(("bn", "dw", "relu"), by_type) == "dw"
    assert fusion.main_layer(("relu", "bn"), by_type) == "relu"  # no compute layer: the first one


def test_models_units_are_named_as_the_tracers_name_them():
    """Units that the models form from a spec (fuse_layers) are named by the tracers' rule after the layer
    the models put first."""
    layers = pd.DataFrame({"layer": ["in", "c1", "bn1", "r1", "pool", "dw", "bn2", "fc", "act"],
                           "layer_type": ["input", "conv2d", "batch_norm", "activation", "max_pool",
                                          "depthwise_conv2d", "batch_norm", "dense", "activation"]})
    units = features.fuse_layers(layers)["unit"].drop_duplicates().tolist()
    assert units == ["in", "c1+bn1+r1", "pool", "dw+bn2", "fc+act"]
    by_type = dict(zip(layers["layer"], layers["layer_type"]))
    for unit in units:
        parts = unit.split("+")
        assert fusion.main_layer(parts, by_type) == parts[0]


def test_fused_kernel_by_name_reaches_the_main_layer_upstream():
    """Without the graph, a fused kernel named after an activation computes the nearest main layer upstream."""
    def L(name, type_, inputs=()):
        return LayerSpec(name=name, type=type_, keras_class="", input_shapes=((4, 4, 3),), output_shape=(4, 4, 3),
                         attrs={}, inputs=tuple(inputs))

    spec = NetworkSpec("n", (4, 4, 3), (L("in", "input"), L("c", "conv2d", ["in"]), L("bn", "batch_norm", ["c"]),
                                       L("r", "activation", ["bn"])))
    names = {layer.name for layer in spec.layers}
    members, _, _ = tf_fusion.kernel_parts_by_name([("n/r/Relu", "_FusedConv2D", 0, 1)], spec, names, "")
    assert {p[0] for p in members["n/r/Relu"]} == {"r", "bn", "c"}
