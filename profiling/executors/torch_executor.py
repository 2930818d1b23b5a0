"""PyTorch executor: times a :class:`~profiling.spec.NetworkSpec` built as a ``torch.nn.Module``.

So that a campaign can run on an NVIDIA GPU where TensorFlow is not installed. ``torch`` is an optional
extra (``pip install 'perfmodel[torch]'``) imported only when this executor is used. The module is built by
:mod:`profiling.executors.torch_build`; the campaign's executor over this one is
:class:`~profiling.executors.torch_runner.TorchRunner` (also importable from here).

Timing: one loop, :func:`profiling.timing.timing_loop`: on a GPU each repeat is bracketed by CUDA events and
the end event is synchronised before the elapsed time is read (:class:`CudaStopwatch`; warm-up repeats first,
so cuDNN benchmark-mode autotuning is not timed); on the CPU ``time.perf_counter`` around synchronous calls.
The stopping rule is :class:`~profiling.timing.TimingPolicy`. Layer-wise timing runs each layer on the inputs
it received in a forward pass of the whole network.
"""

from __future__ import annotations

import contextlib
import platform as _pyplatform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, PlatformError, SpecError
from ..space import Boolean, ConfigSpace, Ordinal
from ..timing import HOST, TimingPolicy, TimingResult, summarize, timing_loop
from .torch_build import (_DTYPES, DEFAULT_BATCHES, _torch, build_layer, build_module, internal_shape,  # noqa: F401
                          torch_available)

__all__ = ["TorchExecutor", "TorchRunner", "LayerTiming", "NetworkTiming", "CudaStopwatch", "capture_graph",
           "check_device", "torch_available", "build_layer", "build_module", "internal_shape", "DEFAULT_BATCHES"]


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class LayerTiming:
    """Runtime of one layer run alone on its recorded inputs.

    ``window_s`` is the (start, end) ``time.monotonic`` interval of the timed repeats, so that a power
    trace recorded meanwhile gives the layer's energy (``PowerTrace.energy_between_j(*window_s) /
    timing.repeats``).
    """

    layer: str
    layer_type: str
    timing: TimingResult
    window_s: tuple[float, float]

    @property
    def runtime_s(self) -> float:
        return self.timing.runtime_s


@dataclass(frozen=True)
class NetworkTiming:
    """Runtime of the whole network (one batch), with the time window of its repeats."""

    timing: TimingResult
    window_s: tuple[float, float]
    batch: int

    @property
    def runtime_s(self) -> float:
        return self.timing.runtime_s


# --------------------------------------------------------------------------------------- executor
class TorchExecutor:
    """Runs a network spec with PyTorch on the CPU or a CUDA GPU.

    Parameters
    ----------
    spec : NetworkSpec
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when available).
    seed : int
        Seed of the random weights and inputs.

    Knobs (see :meth:`space`): ``batch`` and ``cudnn_benchmark``; other keys of a configuration (the
    platform's hardware knobs) are ignored here.
    """

    name = "torch"

    def __init__(self, spec: Any, device: str = "auto", seed: int = 0, dtype: str | None = None):
        torch = _torch()
        self.spec = spec
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        check_device(device)
        self.device = torch.device(device)
        dtype_name = _DTYPES.get(str(dtype or getattr(spec, "dtype", "float32")), "float32")
        self.dtype = getattr(torch, dtype_name)
        self.seed = seed
        torch.manual_seed(seed)
        self.module = build_module(spec).to(self.device, self.dtype).eval()

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @staticmethod
    def space(batches: Sequence[int] = DEFAULT_BATCHES) -> ConfigSpace:
        """The executor's software knobs."""
        return ConfigSpace((Ordinal("batch", values=tuple(batches), default=min(batches)),
                            Boolean("cudnn_benchmark", default=False)), name="torch")

    def describe(self) -> dict[str, Any]:
        torch = _torch()
        d = {"executor": self.name, "torch": torch.__version__, "device": str(self.device),
             "dtype": str(self.dtype).replace("torch.", ""), "python": _pyplatform.python_version(),
             "cpu_threads": torch.get_num_threads()}
        if self.is_cuda:
            d.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                     gpu=torch.cuda.get_device_name(self.device))
        return d

    def input_tensor(self, batch: int) -> Any:
        torch = _torch()
        g = torch.Generator().manual_seed(self.seed)
        shape = internal_shape(self.spec.input_shape)
        return torch.randn((int(batch), *shape), generator=g).to(self.device, self.dtype)

    @contextlib.contextmanager
    def _settings(self, config: Mapping[str, Any]) -> Iterator[int]:
        torch = _torch()
        batch = config.get("batch", 1)
        if isinstance(batch, bool) or not isinstance(batch, (int, float)) or int(batch) != batch or batch < 1:
            raise ConfigError(f"knob 'batch' takes a positive integer, got {batch!r}")
        bench = bool(config.get("cudnn_benchmark", False))
        old = torch.backends.cudnn.benchmark
        old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        old_threads = torch.get_num_threads()
        torch.backends.cudnn.benchmark = bench
        if "tf32" in config:  # TF32 tensor cores for float32 matrix products and convolutions (Ampere and later)
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(config["tf32"])
        if config.get("threads"):
            torch.set_num_threads(int(config["threads"]))
        try:
            with torch.inference_mode():
                yield int(batch)
        finally:
            torch.backends.cudnn.benchmark = old
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32
            if torch.get_num_threads() != old_threads:
                torch.set_num_threads(old_threads)

    def check_shapes(self, batch: int = 1) -> None:
        """Run once and check every layer's output shape against the spec; raise SpecError on a mismatch."""
        with self._settings({"batch": batch}):
            record: dict[str, tuple[Any, ...]] = {}
            self.module.run(self.input_tensor(batch), record)
            for layer in self.spec.layers:
                out = self.module.layer_module(layer.name)(*record[layer.name])
                want = (batch, *internal_shape(layer.output_shape))
                if tuple(out.shape) != want:
                    raise SpecError(f"layer {layer.name!r}: PyTorch output {tuple(out.shape)} != spec {want} (NCHW)")

    def _time(self, fn: Callable[[], Any], policy: TimingPolicy) -> tuple[TimingResult, tuple[float, float]]:
        return timing_loop(fn, policy, CudaStopwatch(_torch()) if self.is_cuda else HOST)

    def time_network(self, config: Mapping[str, Any] | None = None,
                     policy: TimingPolicy = TimingPolicy()) -> NetworkTiming:
        """Time one forward pass of a batch under ``config`` (``batch``, ``cudnn_benchmark``)."""
        with self._settings(config or {}) as batch:
            x = self.input_tensor(batch)
            res, window = self._time(lambda: self.module(x), policy)
        return NetworkTiming(res, window, batch)

    def sync(self) -> None:
        """Wait for the device's queued work (nothing to wait for on the CPU)."""
        if self.is_cuda:
            _torch().cuda.synchronize(self.device)

    def graph(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` captured once as a CUDA graph; returns its replay (warm-up calls on a side stream first)."""
        return capture_graph(_torch(), fn)

    def time_inplace(self, config: Mapping[str, Any] | None = None, runs: int = 20,
                     warmup: int = 3) -> dict[str, TimingResult]:
        """Per-layer time inside one forward pass (the ``inplace`` view, method ``events``).

        On a GPU a CUDA event is recorded after every layer of one eager pass and the pass is synchronised
        once at the end: each layer's time is the gap between its event and the previous one (its kernels'
        time in the stream, as they ran in the network). On the CPU, where every call is synchronous, the
        same gaps are read with ``time.perf_counter``. Median over ``runs`` passes after ``warmup``.
        """
        torch = _torch()
        layers = self.spec.layers
        mod = self.module
        per: dict[str, list[float]] = {layer.name: [] for layer in layers if layer.type != "input"}
        with self._settings(config or {}) as batch:
            x = self.input_tensor(batch)
            for run in range(warmup + max(int(runs), 1)):
                values: dict[str, Any] = {}
                if self.is_cuda:
                    marks = [torch.cuda.Event(enable_timing=True) for _ in range(len(layers) + 1)]
                    torch.cuda.synchronize(self.device)
                    marks[0].record()
                else:
                    stamps = [time.perf_counter()]
                for i, layer in enumerate(layers):
                    srcs = mod._sources(i)
                    args = tuple(values[s] for s in srcs) if srcs else (x,)
                    values[layer.name] = mod.mods[mod.keys[layer.name]](*args)
                    if self.is_cuda:
                        marks[i + 1].record()
                    else:
                        stamps.append(time.perf_counter())
                if self.is_cuda:
                    marks[-1].synchronize()
                if run < warmup:
                    continue
                for i, layer in enumerate(layers):
                    if layer.type == "input":
                        continue
                    gap = marks[i].elapsed_time(marks[i + 1]) / 1000.0 if self.is_cuda else stamps[i + 1] - stamps[i]
                    per[layer.name].append(gap)
        return {name: summarize(v) for name, v in per.items()}

    def time_layers(self, config: Mapping[str, Any] | None = None, policy: TimingPolicy = TimingPolicy(),
                    layers: Sequence[str] | None = None) -> list[LayerTiming]:
        """Time each layer alone on the inputs it receives in the network (input layers skipped)."""
        with self._settings(config or {}) as batch:
            record: dict[str, tuple[Any, ...]] = {}
            self.module.run(self.input_tensor(batch), record)
            out = []
            wanted = set(layers) if layers is not None else None
            for layer in self.spec.layers:
                if layer.type == "input" or (wanted is not None and layer.name not in wanted):
                    continue
                mod, args = self.module.layer_module(layer.name), record[layer.name]
                res, window = self._time(lambda mod=mod, args=args: mod(*args), policy)
                out.append(LayerTiming(layer.name, layer.type, res, window))
        return out


def capture_graph(torch: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
    """Capture ``fn`` as a CUDA graph (two warm-up calls on a side stream, as PyTorch requires); its replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def check_device(device: str) -> None:
    """Refuse (PlatformError) a device torch cannot use here: no CUDA, or a GPU index it does not see."""
    torch = _torch()
    text = str(device)
    if text == "cpu":
        return
    if not (text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit())):
        raise PlatformError(f"device {device!r} is neither cpu nor cuda[:N]")
    if not torch.cuda.is_available():
        raise PlatformError(f"device {device!r} requested but torch sees no CUDA GPU "
                            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})")
    index = int(text[5:]) if ":" in text else 0
    if index >= torch.cuda.device_count():
        raise PlatformError(f"no CUDA GPU with index {index} (torch sees {torch.cuda.device_count()})")


class CudaStopwatch:
    """Times one repeat on a CUDA device (:class:`profiling.timing.Stopwatch`): the call is bracketed by CUDA
    events and the end event is synchronised before the elapsed time is read; ``settle`` synchronises the device.

    ``torch`` is the imported module (tests pass a stand-in).
    """

    def __init__(self, torch: Any):
        self.torch = torch

    def settle(self) -> None:
        self.torch.cuda.synchronize()

    def time(self, fn: Callable[[], Any]) -> float:
        start = self.torch.cuda.Event(enable_timing=True)
        end = self.torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0


def _time_cuda(torch: Any, fn: Callable[[], Any], policy: TimingPolicy) -> tuple[TimingResult, tuple[float, float]]:
    """CUDA-event timing (:func:`profiling.timing.timing_loop` with a :class:`CudaStopwatch`); kept for the
    scripts that made datasets/h200-torch."""
    return timing_loop(fn, policy, CudaStopwatch(torch))


def __getattr__(name: str) -> Any:
    # TorchRunner (the campaign's executor) is defined over TorchExecutor in torch_runner; imported on first use
    if name in ("TorchRunner", "CUDA_KNOBS", "DTYPES"):
        from . import torch_runner

        return getattr(torch_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
