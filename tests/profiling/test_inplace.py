"""The in-place view: ops of the live compiled function (TF profiler) mapped to units of layers.

The worker tests run the real worker process on the built-in tiny networks; the in-process tests call the
in-place routine directly (TensorFlow reads thread settings once per process, so only one configuration runs
here). No assertion is on absolute speed.
"""

import base64
import json
import os
import re
import subprocess
import sys

import pytest

from profiling.campaign import job_key, resolve_inplace_method, run_campaign
from profiling.errors import ConfigError
from profiling.executors.tf_executor import Job, run_job
from profiling.executors.tf_fusion import layer_of, neighbourhood, scope_suffix
from profiling.space import config_key
from profiling.spec import LayerSpec, NetworkSpec
from profiling.store import CampaignStore

# 100 calls of the whole view's function: past the ~70 calls after which TensorFlow's executor runs cheap kernels
# inline, without profiler events (the in-place view must still see them)
WARM = {"warmup": 2, "min_repeats": 100, "max_repeats": 100, "max_time_s": 30.0, "rel_ci": 0.5}


# ------------------------------------------------------------------------------------------- names
@pytest.mark.parametrize("node,names,suffix,layer", [
    ("tiny_resnet_1/b0_conv1_1/BiasAdd", {"b0_conv1"}, "_1", "b0_conv1"),
    # a layer called conv2d_1 gets scope conv2d_1_2 when conv2d's scope took conv2d_1
    ("xception_1/conv2d_1/convolution", {"conv2d", "conv2d_1"}, "_1", "conv2d"),
    ("xception_1/conv2d_1_2/convolution", {"conv2d", "conv2d_1"}, "_1", "conv2d_1"),
    ("xception_1/add_1_2/ArithmeticOptimizer/AddOpsRewrite_Add", {"add", "add_1"}, "_1", "add_1"),
    # the op's own name is not a layer scope (batch-norm's add_1 in a network with a layer named add)
    ("xception_1/bn_1/batchnorm/add_1", {"bn", "add"}, "_1", "bn"),
    # an inner scope named like another layer does not win over the layer's own scope
    ("m_1/sep_1/separable_conv2d/depthwise", {"sep", "separable_conv2d"}, "_1", "sep"),
    ("m/conv/Conv2D", {"conv"}, "", "conv"),
    ("t", {"t"}, "", "t"),
    ("m_1/unknown_1/Relu", {"conv"}, "_1", None),
])
def test_layer_of_reads_the_layer_scope(node, names, suffix, layer):
    assert layer_of(node, names, suffix) == layer


def test_scope_suffix_is_read_off_the_model_scope():
    assert scope_suffix(["t", "tiny_resnet_1/stem_1/Conv2D"], "tiny_resnet") == "_1"
    assert scope_suffix(["other/x"], "tiny_resnet") == ""


# ------------------------------------------------------------------------------ job key and option
CFG = {"threads": 1, "batch": 1, "xla": False}


def _old_key(views, cfg=CFG):
    """The job key of stores made before the in-place method option (copied from that version)."""
    import hashlib

    text = json.dumps(["c", "tiny_cnn", 0, "layer", sorted(views), config_key(cfg)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def test_job_key_changes_only_where_the_method_changes_results():
    views = ("whole", "inplace", "isolated")
    assert job_key("c", "tiny_cnn", None, "layer", views, CFG, "frozen") == _old_key(views)
    assert job_key("c", "tiny_cnn", None, "layer", views, CFG) == _old_key(views)  # default: old keys
    assert job_key("c", "tiny_cnn", None, "layer", views, CFG, "live") != _old_key(views)
    # no in-place view, or xla=on (in-place not measured): the method changes nothing
    assert job_key("c", "tiny_cnn", None, "network", ("whole",), CFG, "live") == \
        job_key("c", "tiny_cnn", None, "network", ("whole",), CFG, "frozen")
    xla = {**CFG, "xla": True}
    assert job_key("c", "tiny_cnn", None, "layer", views, xla, "live") == \
        job_key("c", "tiny_cnn", None, "layer", views, xla, "frozen")


def _spec():
    inp = LayerSpec("input", "input", "InputLayer", (), (8,))
    fc = LayerSpec("fc", "dense", "Dense", ((8,),), (4,), {"units": 4, "params": 36})
    return NetworkSpec("tiny_dense", (8,), (inp, fc)).to_dict()


class _Runner:
    """Stands in for the worker; in-place rows marked with the job's method unless ``mark`` is false."""

    def __init__(self, mark=True):
        self.jobs, self.mark = [], mark

    def __call__(self, job, timeout_s, memory_limit_gb):
        self.jobs.append(job)
        rows = [{"view": "whole", "level": "network", "runtime_s": 1e-3, "repeats": 5, "other_load": 0.0},
                {"view": "inplace", "level": "layer", "layer": "fc", "unit": "fc", "layer_type": "dense",
                 "runtime_s": 5e-4, "repeats": 5, "other_load": 0.0}]
        if self.mark:
            rows[1]["inplace_method"] = job.inplace_method
        return {"status": "ok", "rows": rows, "spec": _spec(), "versions": {"tensorflow": "fake"}}


def _campaign(store, runner, **kw):
    return run_campaign(store, networks=["tiny_dense"], configs=[{"threads": 1}], level="layer",
                        views=("whole", "inplace"), runner=runner, **kw)


def test_new_campaign_is_live_and_resumes_with_its_method(tmp_path):
    with CampaignStore(str(tmp_path / "s.sqlite")) as store:
        runner = _Runner()
        assert _campaign(store, runner).measured == 1
        assert runner.jobs[0].inplace_method == "live" and runner.jobs[0].to_dict()["inplace_method"] == "live"
        assert resolve_inplace_method(store, "default", None) == "live"
        assert _campaign(store, runner).skipped == 1  # resumed: same key, nothing measured again
        with pytest.raises(ConfigError, match="frozen"):
            _campaign(store, runner, inplace_method="frozen")
        with pytest.raises(ConfigError, match="in-place method"):
            _campaign(store, runner, inplace_method="steps")


def test_store_of_the_frozen_era_resumes_frozen_under_its_old_keys(tmp_path):
    with CampaignStore(str(tmp_path / "s.sqlite")) as store:
        old = _Runner(mark=False)  # rows as stores made before the option hold them: no method mark
        assert _campaign(store, old, inplace_method="frozen").measured == 1
        cfg = json.loads(store.jobs()[0]["config"])
        # stored under the key of stores made before the option
        assert store.jobs()[0]["job_key"] == job_key("default", "tiny_dense", None, "layer", ("whole", "inplace"), cfg)
        runner = _Runner()
        summary = _campaign(store, runner)  # re-run with no method: the campaign's own (frozen), all skipped
        assert summary.skipped == 1 and not runner.jobs
        with pytest.raises(ConfigError, match="measured with in-place method frozen"):
            _campaign(store, runner, inplace_method="live")


def test_profile_command_has_the_inplace_method_option():
    import argparse

    from perfmodel.commands.profile import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    assert p.parse_args(["--inplace-method", "frozen"]).inplace_method == "frozen"
    assert p.parse_args([]).inplace_method is None
    with pytest.raises(SystemExit):
        p.parse_args(["--inplace-method", "steps"])


# ---------------------------------------------------------------------------------- real workers
def _worker(network, method, views=("whole", "inplace")):
    from profiling.platforms.cpu import CpuPlatform

    cfg = CpuPlatform().space().validate({"threads": 1, "batch": 1})
    res = run_job(Job(network, cfg, views, None, WARM, 5, None, method), timeout_s=300)
    assert res["status"] == "ok", res.get("reason")
    spec = NetworkSpec.from_dict(res["spec"])
    return res, spec, [r for r in res["rows"] if r["view"] == "inplace"]


def _compute_layers(spec):
    return {layer.name for layer in spec.layers if layer.type not in ("input", "dropout")}


@pytest.mark.tf
def test_live_units_cover_every_layer_once_and_add_up_to_the_traced_call():
    res, spec, rows = _worker("tiny_resnet", "live")
    units = [r["unit"] for r in rows]
    assert len(units) == len(set(units))
    layers = [n for u in units for n in u.split("+")]
    assert sorted(layers) == sorted(_compute_layers(spec))  # each layer in exactly one unit
    by_unit = {r["unit"]: r for r in rows}
    # the oneDNN kernel fuses the second conv, the residual add and the relu: one unit, named after the conv
    assert "b0_conv2+b0_add+b0_out" in by_unit and "b1_conv2+b1_add+b1_out" in by_unit
    assert by_unit["b0_conv2+b0_add+b0_out"]["layer"] == "b0_conv2"
    assert by_unit["b0_conv2+b0_add+b0_out"]["layer_type"] == "conv2d"
    # batch-norm is not folded in the live function: a unit of its own, as are the conv before it and the relu
    assert {"b0_conv1", "b0_bn1", "b0_relu1"} <= set(units)
    r0 = rows[0]
    assert all(r["inplace_method"] == "live" for r in rows)
    assert r0["unattributed_s"] == 0.0  # every op of the tiny network lies in a layer's scope
    assert r0["graph_runtime_s"] > 0 and r0["traced_step_s"] > 0
    assert all(r["repeats"] == 5 and r["runtime_s"] > 0 for r in rows)
    assert next(r for r in res["rows"] if r["view"] == "whole")["repeats"] == 100
    # accounting of the traced call: units + ops with no layer + time outside ops = the call (medians)
    total = sum(r["runtime_s"] for r in rows) + r0["unattributed_s"] + r0["overhead_s"]
    assert total == pytest.approx(r0["traced_step_s"], rel=0.25)
    assert sum(r["runtime_s"] for r in rows) < r0["traced_step_s"]
    # rows in execution order: every unit comes after the units of its inputs
    pos = {n: i for i, u in enumerate(units) for n in u.split("+")}
    for layer in spec.layers:
        for src in layer.inputs:
            if layer.name in pos and src in pos:
                assert pos[src] <= pos[layer.name], (src, layer.name)


@pytest.mark.tf
def test_frozen_method_is_kept_behind_the_option():
    res, spec, rows = _worker("tiny_cnn", "frozen")
    units = {r["unit"] for r in rows}
    assert "conv1+bn1" in units  # freezing folds batch-norm into the convolution
    assert all(r["inplace_method"] == "frozen" for r in rows)
    assert "unattributed_s" not in rows[0]
    # the framework's speed, timed in the job's worker, on every row of the job (whole and in-place alike)
    refs = {r["ref_framework_s"] for r in res["rows"]}
    assert len(refs) == 1 and 0 < refs.pop() < 0.1


# ----------------------------------------------------------------------------------- in process
@pytest.fixture(scope="module")
def tf_mod():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    return tf


def _live(tf, model, spec, with_graph=True, warm=0):
    import numpy as np

    from profiling.executors.tf_inplace import live_inplace_rows
    from profiling.timing import summarize

    x = tf.constant(np.random.default_rng(0).standard_normal((1, *spec.input_shape)).astype("float32"))
    fn = tf.function(lambda t: model(t, training=False))
    for _ in range(warm):
        fn(x).numpy()
    return live_inplace_rows(tf, model, spec, fn, x, 3, summarize, use_graph=with_graph)


def _sep_model(keras):
    L = keras.layers
    x = inp = keras.Input((16, 16, 8), name="input")
    x = L.Conv2D(8, 3, padding="same", name="conv")(x)
    x = L.SeparableConv2D(16, 3, padding="same", use_bias=False, name="sep")(x)
    x = L.BatchNormalization(name="sep_bn")(x)
    x = L.ReLU(name="sep_relu")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(4, name="fc")(x)
    return keras.Model(inp, x, name="sepnet")


@pytest.mark.tf
def test_separable_halves_are_two_units_depthwise_first(tf_mod):
    import keras

    model = _sep_model(keras)
    spec = NetworkSpec.from_keras(model, name="sepnet")
    rows = _live(tf_mod, model, spec)
    sep = [r for r in rows if r["layer"] == "sep"]
    assert [r["unit"] for r in sep] == ["sep", "sep+sep_bn"]  # depthwise, then pointwise + batch-norm
    assert all(r["layer_type"] == "separable_conv2d" for r in sep)
    units = [r["unit"] for r in rows]
    assert units.index("conv") < units.index("sep") < units.index("sep+sep_bn") < units.index("sep_relu")


@pytest.mark.tf
def test_separable_without_batch_norm_after_it_is_one_unit(tf_mod):
    from profiling.networks import load_network

    model, spec = load_network("tiny_mobilenet")
    rows = _live(tf_mod, model, spec)
    assert [r["unit"] for r in rows if r["layer"] == "sep2"] == ["sep2"]
    assert sorted(n for r in rows for n in r["unit"].split("+")) == sorted(_compute_layers(spec))


@pytest.mark.tf
def test_cheap_kernels_are_seen_after_the_function_is_warm(tf_mod):
    from profiling.networks import load_network

    model, spec = load_network("tiny_resnet")
    rows = _live(tf_mod, model, spec, warm=120)  # past the executor's switch to inline cheap kernels
    units = {r["unit"] for r in rows}
    assert {"b0_relu1", "b1_relu1"} <= units
    assert sorted(n for u in units for n in u.split("+")) == sorted(_compute_layers(spec))


# ----------------------------------------------------------- both kinds of graph: fused and unfused
# Whether TensorFlow fuses tiny_resnet's conv + residual add + relu into one kernel depends on oneDNN, which is
# on by default only on some CPUs (newer Intel ones). TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, at start:
# the live tests run a fresh process per setting and assert what holds on any x86 CPU (the units follow the
# graph that ran, whichever it is); the mapping of each kind of graph is checked on graphs recorded from
# both settings (tests/profiling/data/tiny_resnet_graphs.json), so both are covered on every machine.
GRAPHS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tiny_resnet_graphs.json")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = """
import base64, json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import profiling.executors.tf_inplace as w
from profiling.networks import load_network
from profiling.timing import summarize

model, spec = load_network("tiny_resnet")
x = tf.constant(np.zeros((1, *spec.input_shape), "float32"))
fn = tf.function(lambda t: model(t, training=False))
nodes = w.first_call_graph(tf, fn, x)
again = w.first_call_graph(tf, fn, x)
seen = {}
by_name = w.kernel_parts_by_name
def spy(ops, *a, **k):
    seen["ops"] = [list(op[:2]) for op in ops]
    return by_name(ops, *a, **k)
w.kernel_parts_by_name = spy
fn2 = tf.function(lambda t: model(t, training=False))
with_graph = w.live_inplace_rows(tf, model, spec, fn2, x, 3, summarize, use_graph=True)
fn3 = tf.function(lambda t: model(t, training=False))
by_names = w.live_inplace_rows(tf, model, spec, fn3, x, 3, summarize, use_graph=False)
json.dump({"onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "spec": spec.to_dict(),
           "nodes": [base64.b64encode(n.SerializeToString()).decode() for n in nodes or []],
           "second_call_nodes": again is not None, "trace_ops": seen.get("ops", []),
           "units_with_graph": [r["unit"] for r in with_graph], "units_by_name": [r["unit"] for r in by_names]},
          open(sys.argv[1], "w"))
"""


def _probe(onednn: str, out: str) -> dict:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}
    proc = subprocess.run([sys.executable, "-c", PROBE, out], env=env, capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module", params=["0", "1"], ids=["onednn=0", "onednn=1"])
def live(request, tmp_path_factory):
    """What a fresh TensorFlow process records for tiny_resnet under TF_ENABLE_ONEDNN_OPTS=0 or 1."""
    pytest.importorskip("tensorflow")
    return _probe(request.param, str(tmp_path_factory.mktemp("probe") / "probe.json"))


def _nodes(encoded):
    from tensorflow.core.framework import node_def_pb2

    out = []
    for text in encoded:
        n = node_def_pb2.NodeDef()
        n.ParseFromString(base64.b64decode(text))
        out.append(n)
    return out


def _block0(nodes) -> str:
    """'fused' when one kernel computes block 0's conv, add and relu (named after the relu), else 'unfused'."""
    relu = [n for n in nodes if re.search(r"/b0_out(_\d+)?/Relu$", n.name)]
    assert len(relu) == 1, [n.name for n in nodes if "b0_out" in n.name]
    if "Fused" in relu[0].op:
        assert not any(re.search(r"/b0_add(_\d+)?/", n.name) and n.op in ("Add", "AddV2") for n in nodes)
        return "fused"
    assert relu[0].op == "Relu"
    assert any(re.search(r"/b0_add(_\d+)?/", n.name) and n.op in ("Add", "AddV2") for n in nodes)
    return "unfused"


UNITS = {"fused": {"b0_conv2+b0_add+b0_out", "b1_conv2+b1_add+b1_out"},
         "unfused": {"b0_conv2", "b0_add", "b0_out", "b1_conv2", "b1_add", "b1_out"}}


def _covers_each_layer_once(units, spec):
    layers = [n for u in units for n in u.split("+")]
    assert sorted(layers) == sorted(_compute_layers(spec))


@pytest.mark.tf
def test_first_call_gives_the_executed_graph(live):
    nodes = _nodes(live["nodes"])
    assert nodes and any(n.op == "ReadVariableOp" for n in nodes)
    assert live["second_call_nodes"] is False  # graphs are recorded only when a function is instantiated
    kind = _block0(nodes)  # either kind, as this CPU and setting make it
    # the units follow the graph that ran: one unit for a fused kernel, one per layer otherwise
    assert UNITS[kind] <= set(live["units_with_graph"])
    _covers_each_layer_once(live["units_with_graph"], NetworkSpec.from_dict(live["spec"]))


@pytest.mark.tf
def test_without_the_graph_fused_kernels_are_joined_by_name(live):
    ops = {(n, t) for n, t in live["trace_ops"]}
    fused = any(re.search(r"/b0_out(_\d+)?/Relu$", n) and "Fused" in t for n, t in ops)
    # the fused kernel named after the relu joins the conv upstream of it and the add between; unfused, each
    # layer's kernel is its own unit
    assert UNITS["fused" if fused else "unfused"] <= set(live["units_by_name"])
    _covers_each_layer_once(live["units_by_name"], NetworkSpec.from_dict(live["spec"]))


@pytest.fixture(scope="module")
def recorded():
    pytest.importorskip("tensorflow")
    with open(GRAPHS, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.tf
@pytest.mark.parametrize("kind", ["fused", "unfused"])
def test_fusion_mapping_of_a_recorded_graph(recorded, kind):
    """Both kinds of graph on any CPU: the graph-based and the name-based mapping of each recorded graph."""
    from profiling.executors.tf_fusion import kernel_parts_by_name, kernel_parts_from_graph

    rec = next(r for r in recorded["graphs"] if r["kind"] == kind)
    spec = NetworkSpec.from_dict(rec["spec"])
    nodes = _nodes(rec["nodes"])
    assert _block0(nodes) == kind
    names = {layer.name for layer in spec.layers}
    suffix = scope_suffix([n.name for n in nodes], spec.name)
    members, _, _ = kernel_parts_from_graph(nodes, spec, names, suffix)
    by_name, _, _ = kernel_parts_by_name([(n, t, 0, 0) for n, t in rec["trace_ops"]], spec, names, suffix)
    for mem in (members, by_name):
        groups = {frozenset(p[0] for p in m) for m in mem.values()}
        if kind == "fused":
            assert frozenset({"b0_conv2", "b0_add", "b0_out"}) in groups
            assert not any(g & {"b0_add", "b0_out"} and not g >= {"b0_conv2", "b0_add", "b0_out"} for g in groups)
        else:
            assert {frozenset({"b0_conv2"}), frozenset({"b0_add"}), frozenset({"b0_out"})} <= groups
            assert not any(len(g & {"b0_conv2", "b0_add", "b0_out"}) > 1 for g in groups)
    assert UNITS[kind] <= set(rec["units_with_graph"]) and UNITS[kind] <= set(rec["units_by_name"])


def test_neighbourhood_is_two_hops():
    inp = LayerSpec("input", "input", "InputLayer", (), (4, 4, 3))
    a = LayerSpec("a", "conv2d", "Conv2D", ((4, 4, 3),), (4, 4, 3), inputs=("input",))
    b = LayerSpec("b", "batch_norm", "BatchNormalization", ((4, 4, 3),), (4, 4, 3), inputs=("a",))
    c = LayerSpec("c", "activation", "ReLU", ((4, 4, 3),), (4, 4, 3), inputs=("b",))
    d = LayerSpec("d", "activation", "ReLU", ((4, 4, 3),), (4, 4, 3), inputs=("c",))
    near = neighbourhood(NetworkSpec("n", (4, 4, 3), (inp, a, b, c, d)), hops=2)
    assert near["a"] == {"input", "a", "b", "c"} and "d" not in near["a"]
