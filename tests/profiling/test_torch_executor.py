"""PyTorch executor: layers built from a NetworkSpec, shapes, timing and CUDA synchronisation."""

from __future__ import annotations

import sys
from contextlib import contextmanager as contextlib_contextmanager
from types import SimpleNamespace

import numpy as np
import pytest

from profiling.errors import ConfigError, PlatformError, SpecError
from profiling.executors import torch_build
from profiling.executors import torch_executor as te
from profiling.spec import LayerSpec, NetworkSpec
from profiling.timing import TimingPolicy

QUICK = TimingPolicy(warmup=1, min_repeats=3, max_repeats=5, max_time_s=1.0, rel_ci=0.5)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def L(name, type_, ins, out, inputs=(), keras_class="", **attrs):
    return LayerSpec(name=name, type=type_, keras_class=keras_class, input_shapes=tuple(ins), output_shape=out,
                     attrs=attrs, inputs=tuple(inputs))


def small_spec() -> NetworkSpec:
    """Every supported layer kind, with shapes worked out by hand (TensorFlow 'same' rules)."""
    layers = [
        L("in", "input", [], (15, 17, 3)),
        L("pad", "zero_padding", [(15, 17, 3)], (18, 18, 3), ["in"], "ZeroPadding2D", padding_amounts=[[1, 2], [0, 1]]),
        L("c1", "conv2d", [(18, 18, 3)], (9, 9, 8), ["pad"], "Conv2D", filters=8, kernel_size=[3, 3],
          strides=[2, 2], padding="same", activation="relu", use_bias=True),
        L("dw", "depthwise_conv2d", [(9, 9, 8)], (9, 9, 16), ["c1"], "DepthwiseConv2D", kernel_size=[3, 3],
          padding="same", depth_multiplier=2, use_bias=False),
        L("bn", "batch_norm", [(9, 9, 16)], (9, 9, 16), ["dw"], "BatchNormalization", epsilon=1e-3),
        L("act", "activation", [(9, 9, 16)], (9, 9, 16), ["bn"], "Activation", activation="swish"),
        L("sep", "separable_conv2d", [(9, 9, 8)], (7, 7, 16), ["c1"], "SeparableConv2D", filters=16,
          kernel_size=[3, 3], padding="valid"),
        L("pool", "max_pool", [(9, 9, 16)], (5, 5, 16), ["act"], "MaxPooling2D", pool_size=[3, 3],
          strides=[2, 2], padding="same"),
        L("avg", "avg_pool", [(7, 7, 16)], (4, 4, 16), ["sep"], "AveragePooling2D", pool_size=[2, 2],
          strides=[2, 2], padding="same"),
        L("crop", "zero_padding", [(5, 5, 16)], (4, 4, 16), ["pool"], "Cropping2D"),
        L("cat", "concat", [(4, 4, 16), (4, 4, 16)], (4, 4, 32), ["crop", "avg"], "Concatenate", axis=-1),
        L("c2", "conv2d", [(4, 4, 32)], (4, 4, 32), ["cat"], "Conv2D", filters=32, kernel_size=[1, 1]),
        L("add", "add", [(4, 4, 32), (4, 4, 32)], (4, 4, 32), ["c2", "cat"], "Add"),
        L("mul", "multiply", [(4, 4, 32), (4, 4, 32)], (4, 4, 32), ["add", "c2"], "Multiply"),
        L("gap", "global_pool", [(4, 4, 32)], (32,), ["mul"], "GlobalAveragePooling2D"),
        L("fc", "dense", [(32,)], (10,), ["gap"], "Dense", units=10, activation="softmax"),
        L("drop", "dropout", [(10,)], (10,), ["fc"], "Dropout", rate=0.5),
    ]
    return NetworkSpec("small", (15, 17, 3), tuple(layers))


def test_shapes_follow_the_spec(torch):
    ex = te.TorchExecutor(small_spec(), device="cpu")
    ex.check_shapes(batch=3)  # raises on any layer whose output differs from the spec
    out = ex.module(ex.input_tensor(2))
    assert tuple(out.shape) == (2, 10)
    assert torch.allclose(out.sum(dim=1), torch.ones(2), atol=1e-5)  # softmax over the channels


def test_wrong_spec_shape_is_detected(torch):
    layers = list(small_spec().layers)
    layers[2] = L("c1", "conv2d", [(18, 18, 3)], (8, 8, 8), ["pad"], "Conv2D", filters=8, kernel_size=[3, 3],
                  strides=[2, 2], padding="same")
    bad = NetworkSpec("bad", (15, 17, 3), tuple(layers[:3]))
    with pytest.raises(SpecError, match="layer 'c1'"):
        te.TorchExecutor(bad, device="cpu").check_shapes()


def test_flatten_keeps_channels_last_order(torch):
    spec = NetworkSpec("flat", (2, 3, 4), (L("in", "input", [], (2, 3, 4)),
                                           L("flat", "reshape", [(2, 3, 4)], (24,), ["in"], "Flatten")))
    ex = te.TorchExecutor(spec, device="cpu")
    x_nhwc = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    x = torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)
    assert ex.module(x).numpy().ravel().tolist() == x_nhwc.ravel().tolist()  # Keras Flatten order


def test_one_d_layers(torch):
    spec = NetworkSpec("seq", (20, 4), (
        L("in", "input", [], (20, 4)),
        L("c", "conv2d", [(20, 4)], (20, 6), ["in"], "Conv1D", filters=6, kernel_size=[1, 3], strides=[1, 1],
          padding="causal"),
        L("p", "max_pool", [(20, 6)], (10, 6), ["c"], "MaxPooling1D", pool_size=[1, 2], strides=[1, 2],
          padding="valid"),
        L("g", "global_pool", [(10, 6)], (6,), ["p"], "GlobalMaxPooling1D"),
    ))
    te.TorchExecutor(spec, device="cpu").check_shapes(2)


def test_unsupported_layer_is_a_spec_error(torch):
    spec = NetworkSpec("x", (4, 4, 3), (L("in", "input", [], (4, 4, 3)),
                                        L("lstm", "other", [(4, 4, 3)], (8,), ["in"], "LSTM")))
    with pytest.raises(SpecError, match="'lstm' of type 'other' \\(Keras class LSTM\\)"):
        te.TorchExecutor(spec, device="cpu")


def test_timing_whole_and_per_layer(torch):
    ex = te.TorchExecutor(small_spec(), device="cpu")
    net = ex.time_network({"batch": 2, "gpu_freq": 1}, QUICK)  # platform knobs are ignored here
    assert net.batch == 2 and net.runtime_s > 0 and 3 <= net.timing.repeats <= 5
    assert net.window_s[0] < net.window_s[1]
    layers = ex.time_layers({"batch": 2}, QUICK)
    assert [lt.layer for lt in layers] == [la.name for la in small_spec().layers if la.type != "input"]
    assert all(lt.runtime_s > 0 for lt in layers)
    with pytest.raises(Exception, match="batch"):
        ex.time_network({"batch": 0}, QUICK)


def test_cudnn_benchmark_knob_is_set_then_restored(torch, monkeypatch):
    ex = te.TorchExecutor(small_spec(), device="cpu")
    seen = []
    real = ex.module.forward
    monkeypatch.setattr(ex.module, "forward", lambda x: (seen.append(torch.backends.cudnn.benchmark), real(x))[1])
    torch.backends.cudnn.benchmark = False
    ex.time_network({"cudnn_benchmark": True}, QUICK)
    assert seen and all(seen) and torch.backends.cudnn.benchmark is False
    assert te.TorchExecutor.space().names == ("batch", "cudnn_benchmark")


def test_cuda_requested_without_gpu(torch):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(PlatformError, match="no CUDA GPU"):
        te.TorchExecutor(small_spec(), device="cuda")


def test_cuda_timing_brackets_each_repeat_and_synchronises():
    """Events are recorded around the work and the end event is synchronised before reading the time."""
    log = []

    class Event:
        n = 0

        def __init__(self, enable_timing):
            assert enable_timing
            Event.n += 1
            self.id = Event.n

        def record(self):
            log.append(("record", self.id))

        def synchronize(self):
            log.append(("sync", self.id))

        def elapsed_time(self, end):
            assert ("sync", end.id) in log, "elapsed_time read before the end event completed"
            return 2.0  # ms

    fake = SimpleNamespace(cuda=SimpleNamespace(Event=Event, synchronize=lambda: log.append(("device_sync",))))
    res, window = te._time_cuda(fake, lambda: log.append(("work",)), TimingPolicy(warmup=2, min_repeats=3,
                                                                                 max_repeats=3, rel_ci=0.5))
    assert res.runtime_s == pytest.approx(0.002) and res.repeats == 3
    assert log[:3] == [("work",), ("work",), ("device_sync",)]  # warm-up, then nothing left queued
    body = log[3:]
    assert body[:4] == [("record", 1), ("work",), ("record", 2), ("sync", 2)]
    assert len(body) == 12


def test_without_torch_the_executor_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    ok, why = te.torch_available()
    assert not ok and "pip install" in why
    torch_build._modules.cache_clear()
    try:
        with pytest.raises(PlatformError, match="needs torch"):
            te.TorchExecutor(small_spec())
    finally:
        torch_build._modules.cache_clear()


@pytest.mark.slow
@pytest.mark.tf
def test_numerically_equal_to_keras_for_strided_same_convolution(torch):
    keras = pytest.importorskip("keras")
    inp = keras.Input((11, 10, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inp)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = keras.layers.AveragePooling2D(2, padding="same")(x)
    model = keras.Model(inp, x)
    spec = NetworkSpec.from_keras(model)
    ex = te.TorchExecutor(spec, device="cpu")
    conv, dw = model.layers[1], model.layers[2]
    tconv, tdw = ex.module.layer_module(conv.name)[1], ex.module.layer_module(dw.name)[1]
    with torch.no_grad():
        k, b = conv.get_weights()
        tconv.weight.copy_(torch.from_numpy(k).permute(3, 2, 0, 1))
        tconv.bias.copy_(torch.from_numpy(b))
        k, b = dw.get_weights()  # (kh, kw, cin, multiplier)
        tdw.weight.copy_(torch.from_numpy(k).permute(2, 3, 0, 1).reshape(-1, 1, 3, 3))
        tdw.bias.copy_(torch.from_numpy(b))
    x = np.random.default_rng(0).random((2, 11, 10, 3), dtype=np.float32)
    with torch.inference_mode():
        got = ex.module(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ layers the H200 run lacked, knobs
def test_custom_scale_layer_of_inceptionresnetv2(torch):
    spec = NetworkSpec("irv2", (5, 5, 4), (
        L("in", "input", [], (5, 5, 4)),
        L("r", "conv2d", [(5, 5, 4)], (5, 5, 4), ["in"], "Conv2D", filters=4, kernel_size=[1, 1]),
        L("s", "other", [(5, 5, 4), (5, 5, 4)], (5, 5, 4), ["in", "r"], "CustomScaleLayer", scale=0.17),
    ))
    ex = te.TorchExecutor(spec, device="cpu")
    ex.check_shapes(2)
    x = ex.input_tensor(2)
    with torch.inference_mode():
        r = ex.module.layer_module("r")(x)
        got = ex.module(x)
    assert torch.allclose(got, x + 0.17 * r)


def test_relu_max_value_clamps(torch):
    spec = NetworkSpec("r6", (3, 3, 2), (L("in", "input", [], (3, 3, 2)),
                                         L("relu6", "activation", [(3, 3, 2)], (3, 3, 2), ["in"], "ReLU",
                                           activation="relu", max_value=6.0)))
    ex = te.TorchExecutor(spec, device="cpu")
    x = torch.tensor([-3.0, 0.5, 5.0, 7.0, 100.0, -0.1] * 3).reshape(1, 2, 3, 3)
    with torch.inference_mode():
        got = ex.module(x)
    assert got.min().item() == 0.0 and got.max().item() == 6.0
    assert torch.equal(got, x.clamp(0.0, 6.0))


@pytest.mark.parametrize("dims", [(2, 1, 3), None])
def test_permute_reorders_axes_like_keras(torch, dims):
    attrs = {"dims": list(dims)} if dims else {}
    spec = NetworkSpec("perm", (2, 3, 4), (L("in", "input", [], (2, 3, 4)),
                                           L("p", "reshape", [(2, 3, 4)], (3, 2, 4), ["in"], "Permute", **attrs)))
    ex = te.TorchExecutor(spec, device="cpu")
    ex.check_shapes(1)
    x_nhwc = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    with torch.inference_mode():
        got = ex.module(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(got, x_nhwc.transpose(0, 2, 1, 3))  # Keras Permute((2, 1, 3))


def test_shipped_inceptionresnetv2_spec_builds(torch):
    spec = NetworkSpec.from_json("datasets/h200-torch/specs/inceptionresnetv2.json")
    te.build_module(spec)  # raised SpecError on the CustomScaleLayer before


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_dtype_knob_runs_the_network_in_that_type(torch, dtype):
    ex = te.TorchExecutor(small_spec(), device="cpu", dtype=dtype)
    with torch.inference_mode():
        out = ex.module(ex.input_tensor(2))
    assert out.dtype == getattr(torch, dtype) and tuple(out.shape) == (2, 10)


def test_tf32_and_threads_are_set_then_restored(torch, monkeypatch):
    ex = te.TorchExecutor(small_spec(), device="cpu")
    seen = []
    real = ex.module.forward
    monkeypatch.setattr(ex.module, "forward", lambda x: (seen.append(
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_num_threads())), real(x))[1])
    torch.backends.cuda.matmul.allow_tf32 = False
    threads = torch.get_num_threads()
    ex.time_network({"tf32": True, "threads": 1}, QUICK)
    assert seen and all(s == (True, True, 1) for s in seen)
    assert torch.backends.cuda.matmul.allow_tf32 is False and torch.get_num_threads() == threads


def test_inplace_events_time_every_layer_of_one_pass(torch):
    ex = te.TorchExecutor(small_spec(), device="cpu")
    times = ex.time_inplace({"batch": 2}, runs=4, warmup=1)
    assert list(times) == [la.name for la in small_spec().layers if la.type != "input"]
    assert all(t.repeats == 4 and t.runtime_s >= 0 for t in times.values())


def test_capture_graph_warms_up_on_a_side_stream_then_replays():
    log = []

    class Stream:
        def wait_stream(self, other):
            log.append("wait")

    class Graph:
        def replay(self):
            log.append("replay")

    @contextlib_contextmanager
    def ctx(*a):
        log.append("enter")
        yield
        log.append("exit")

    fake = SimpleNamespace(cuda=SimpleNamespace(Stream=Stream, current_stream=Stream, stream=ctx, CUDAGraph=Graph,
                                                graph=ctx))
    replay = te.capture_graph(fake, lambda: log.append("work"))
    assert log == ["wait", "enter", "work", "work", "exit", "wait", "enter", "work", "exit"]
    replay()
    assert log[-1] == "replay"


def test_runner_refuses_cuda_knobs_on_the_cpu(torch):
    runner = te.TorchRunner("cpu")
    for knob in ("cuda_graph", "cudnn_benchmark", "tf32"):
        with pytest.raises(ConfigError, match=f"{knob}=on needs a CUDA device"):
            runner.check_config({knob: True})
    runner.check_config({"cuda_graph": False, "batch": 8})
    with pytest.raises(PlatformError, match="neither cpu nor cuda"):
        te.TorchRunner("tpu")


def test_the_allocator_environment_is_recorded_with_the_campaign(monkeypatch):
    from profiling.executors.torch_runner import malloc_env

    env = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "LD_PRELOAD": "/usr/lib/libjemalloc.so.2", "PATH": "/bin",
           "MALLOCX": "no", "OMP_NUM_THREADS": "1"}
    assert malloc_env(env) == {"LD_PRELOAD": "/usr/lib/libjemalloc.so.2", "MALLOC_MMAP_THRESHOLD_": "1073741824"}
    assert malloc_env({"PATH": "/bin"}) == {}
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1073741824")
    assert malloc_env()["MALLOC_TRIM_THRESHOLD_"] == "1073741824"
