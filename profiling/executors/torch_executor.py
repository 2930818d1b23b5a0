"""PyTorch executor: builds a :class:`~profiling.spec.NetworkSpec` as a ``torch.nn.Module`` and times it.

So that a campaign can run on an NVIDIA GPU where TensorFlow is not installed. ``torch`` is an optional
extra (``pip install 'perfmodel[torch]'``) imported only when this executor is used.

Layout: the spec's per-sample shapes are channels-last (NHWC); tensors here are channels-first (NCHW),
1-D sequences ``(L, C)`` are held as ``(C, 1, L)``. Layers that reinterpret memory (flatten, reshape)
convert to the spec's layout first, so every layer's output shape equals the spec's ``output_shape``
(checked at build time by :meth:`TorchExecutor.check_shapes`). Weights are random (seeded): timing and
power do not depend on their values.

Timing: on a GPU each repeat is bracketed by CUDA events and the end event is synchronised before the
elapsed time is read (warm-up repeats first, so cuDNN benchmark-mode autotuning is not timed); on the
CPU ``time.perf_counter`` around synchronous calls. The stopping rule is :class:`~profiling.timing.TimingPolicy`.
Layer-wise timing runs each layer on the inputs it received in a forward pass of the whole network.
"""

from __future__ import annotations

import contextlib
import functools
import math
import platform as _pyplatform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, PlatformError, SpecError
from ..measurement import MeasurementRow
from ..space import Boolean, Categorical, ConfigSpace, Integer, Ordinal
from ..timing import HOST, TimingPolicy, TimingResult, summarize, timing_loop
from .base import Executor, ExecutorJob, JobResult

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64)
_DTYPES = {"float32": "float32", "float16": "float16", "mixed_float16": "float16", "bfloat16": "bfloat16",
           "mixed_bfloat16": "bfloat16", "float64": "float64"}


def torch_available() -> tuple[bool, str]:
    """``(True, version)`` when PyTorch imports, else ``(False, why)``."""
    try:
        import torch
    except ImportError as exc:
        return False, f"PyTorch is not installed ({exc}); pip install 'perfmodel[torch]'"
    return True, torch.__version__


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise PlatformError("the PyTorch executor needs torch: pip install 'perfmodel[torch]'") from None
    return torch


# ------------------------------------------------------------------------------------------- shapes
def internal_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Per-sample tensor shape used here for a spec shape (NHWC -> NCHW, (L, C) -> (C, 1, L))."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 3:
        return shape[2], shape[0], shape[1]
    if len(shape) == 2:
        return shape[1], 1, shape[0]
    return shape


def _to_spec(x: Any, rank: int) -> Any:
    if rank == 3:
        return x.permute(0, 2, 3, 1)
    if rank == 2:
        return x[:, :, 0, :].permute(0, 2, 1)
    return x


def _from_spec(x: Any, rank: int) -> Any:
    if rank == 3:
        return x.permute(0, 3, 1, 2)
    if rank == 2:
        return x.permute(0, 2, 1).unsqueeze(2)
    return x


def _pair(v: Any, default: int = 1) -> tuple[int, int]:
    if v is None:
        return default, default
    if isinstance(v, (int, float)):
        return int(v), int(v)
    v = [int(x) for x in v]
    return (1, v[0]) if len(v) == 1 else (v[0], v[1])


def _same_pad(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow 'same' padding (the extra pixel goes after)."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _channel_axis_map(axis: Any, rank: int) -> int:
    """Keras axis (batch counted) on a spec shape of ``rank`` -> dimension of the internal tensor."""
    axis = int(axis)
    if axis < 0:
        axis += rank + 1
    if axis == rank or rank <= 1:
        return 1
    if rank == 3:
        return {1: 2, 2: 3}[axis]
    if rank == 2:
        return 3
    raise SpecError(f"cannot map axis {axis} of a rank-{rank} shape")


# ------------------------------------------------------------------------------------------- layers
@functools.lru_cache(maxsize=1)
def _modules() -> Any:
    """Small module classes, defined once torch is importable."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Pad(nn.Module):
        def __init__(self, pads: tuple[int, int, int, int], value: float = 0.0):
            super().__init__()
            self.pads, self.value = pads, value  # (left, right, top, bottom)

        def forward(self, x):
            return F.pad(x, self.pads, value=self.value) if any(self.pads) else x

    class Act(nn.Module):
        def __init__(self, fn: Callable[[Any], Any]):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class ChannelsLast(nn.Module):
        """Apply ``inner`` over the channel dimension (dim 1) of a channels-first tensor."""

        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            if x.dim() <= 2:
                return self.inner(x)
            return self.inner(x.movedim(1, -1)).movedim(-1, 1)

    class AvgPoolSame(nn.Module):
        def __init__(self, k, s, pads, in_hw):
            super().__init__()
            self.k, self.s, self.pad = k, s, Pad(pads)
            ones = torch.ones(1, 1, *in_hw)
            count = F.avg_pool2d(F.pad(ones, pads), k, s)  # padding excluded from the mean, as in TF
            self.register_buffer("scale", 1.0 / count)

        def forward(self, x):
            return F.avg_pool2d(self.pad(x), self.k, self.s) * self.scale.to(x.dtype)

    class GlobalPool(nn.Module):
        def __init__(self, use_max: bool, keepdims: bool):
            super().__init__()
            self.use_max, self.keepdims = use_max, keepdims

        def forward(self, x):
            if self.use_max:
                return x.amax(dim=(2, 3), keepdim=self.keepdims)
            return x.mean(dim=(2, 3), keepdim=self.keepdims)

    class Merge(nn.Module):
        def __init__(self, op: str, dim: int = 1):
            super().__init__()
            self.op, self.dim = op, dim

        def forward(self, *xs):
            if self.op == "concat":
                return torch.cat(xs, dim=self.dim)
            out = xs[0]
            for x in xs[1:]:
                out = out - x if self.op == "sub" else (out * x if self.op == "mul" else out + x)
            return out

    class Relayout(nn.Module):
        """Flatten/Reshape/Permute: reshape in the spec's channels-last layout."""

        def __init__(self, in_rank: int, out_shape: tuple[int, ...]):
            super().__init__()
            self.in_rank, self.out_shape = in_rank, tuple(out_shape)

        def forward(self, x):
            y = _to_spec(x, self.in_rank).reshape(x.shape[0], *self.out_shape)
            return _from_spec(y, len(self.out_shape))

    class Affine(nn.Module):
        def __init__(self, scale: float, offset: float):
            super().__init__()
            self.scale, self.offset = scale, offset

        def forward(self, x):
            return x * self.scale + self.offset

    class ScaleAdd(nn.Module):
        """``x + scale * r`` (the CustomScaleLayer of Keras' inception_resnet_v2)."""

        def __init__(self, scale: float):
            super().__init__()
            self.scale = scale

        def forward(self, x, r):
            return x + r * self.scale

    class Permute(nn.Module):
        """Keras Permute: reorder the non-batch axes of the spec's channels-last tensor (a real copy, as in TF)."""

        def __init__(self, in_rank: int, dims: tuple[int, ...], out_rank: int):
            super().__init__()
            self.in_rank, self.dims, self.out_rank = in_rank, tuple(dims), out_rank

        def forward(self, x):
            y = _to_spec(x, self.in_rank).permute(0, *self.dims).contiguous()
            return _from_spec(y, self.out_rank)

    return type("M", (), dict(torch=torch, nn=nn, F=F, Pad=Pad, Act=Act, ChannelsLast=ChannelsLast,
                              AvgPoolSame=AvgPoolSame, GlobalPool=GlobalPool, Merge=Merge, Relayout=Relayout,
                              Affine=Affine, ScaleAdd=ScaleAdd, Permute=Permute))


def _activation(name: Any, channels: int, layer: str) -> Any:
    m = _modules()
    nn, F = m.nn, m.F
    name = (str(name) if name is not None else "linear").lower()
    table: dict[str, Callable[[], Any]] = {
        "linear": nn.Identity, "none": nn.Identity, "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh, "softmax": lambda: nn.Softmax(dim=1), "swish": nn.SiLU, "silu": nn.SiLU,
        "gelu": nn.GELU, "elu": nn.ELU, "selu": nn.SELU, "softplus": nn.Softplus, "softsign": nn.Softsign,
        "hard_sigmoid": lambda: m.Act(lambda x: F.relu6(x + 3.0) / 6.0), "hard_swish": nn.Hardswish,
        "hard_silu": nn.Hardswish, "leaky_relu": lambda: nn.LeakyReLU(0.2), "leakyrelu": lambda: nn.LeakyReLU(0.3),
        "prelu": lambda: nn.PReLU(channels), "exponential": lambda: m.Act(m.torch.exp), "mish": nn.Mish,
    }
    if name not in table:
        raise SpecError(f"layer {layer!r}: activation {name!r} has no PyTorch equivalent here")
    return table[name]()


def build_layer(layer: Any) -> Any:
    """The ``nn.Module`` of one :class:`~profiling.spec.LayerSpec` (channels-first tensors)."""
    m = _modules()
    nn = m.nn
    t, a = layer.type, layer.attrs
    in_shape = tuple(layer.input_shapes[0]) if layer.input_shapes else tuple(layer.output_shape)
    in_rank = len(in_shape)
    cin = in_shape[-1] if in_shape else 0
    ih, iw = (internal_shape(in_shape)[1:3] if in_rank in (2, 3) else (1, 1))
    act = _activation(a.get("activation"), int(layer.output_shape[-1]) if layer.output_shape else 1, layer.name) \
        if t in ("conv2d", "depthwise_conv2d", "separable_conv2d", "dense") else None

    def spatial_pads(k, s, d) -> tuple[int, int, int, int]:
        pad = str(a.get("padding", "valid")).lower()
        if pad == "same":
            top, bottom = _same_pad(ih, k[0], s[0], d[0])
            left, right = _same_pad(iw, k[1], s[1], d[1])
            return left, right, top, bottom
        if pad == "causal":
            return (k[1] - 1) * d[1], 0, 0, 0
        return 0, 0, 0, 0

    if t in ("conv2d", "depthwise_conv2d", "separable_conv2d"):
        if in_rank not in (2, 3):
            raise SpecError(f"layer {layer.name!r}: a convolution needs an (H, W, C) or (L, C) input, got {in_shape}")
        k, s, d = _pair(a.get("kernel_size")), _pair(a.get("strides")), _pair(a.get("dilation_rate"))
        bias = bool(a.get("use_bias", True))
        pads = m.Pad(spatial_pads(k, s, d))
        if t == "conv2d":
            groups = int(a.get("groups", 1) or 1)
            conv = nn.Conv2d(cin, int(a["filters"]), k, s, 0, d, groups=groups, bias=bias)
            return nn.Sequential(pads, conv, act)
        dm = int(a.get("depth_multiplier", 1) or 1)
        if t == "depthwise_conv2d":
            return nn.Sequential(pads, nn.Conv2d(cin, cin * dm, k, s, 0, d, groups=cin, bias=bias), act)
        depthwise = nn.Conv2d(cin, cin * dm, k, s, 0, d, groups=cin, bias=False)
        pointwise = nn.Conv2d(cin * dm, int(a["filters"]), 1, bias=bias)
        return nn.Sequential(pads, depthwise, pointwise, act)
    if t == "dense":
        return nn.Sequential(m.ChannelsLast(nn.Linear(cin, int(a["units"]), bias=bool(a.get("use_bias", True)))), act)
    if t in ("max_pool", "avg_pool"):
        k = _pair(a.get("pool_size"), 2)
        s = _pair(a.get("strides") or a.get("pool_size"), 2)
        pads = spatial_pads(k, s, (1, 1))
        if t == "max_pool":
            return nn.Sequential(m.Pad(pads, value=-math.inf), nn.MaxPool2d(k, s))
        if any(pads):
            return m.AvgPoolSame(k, s, pads, (ih, iw))
        return nn.AvgPool2d(k, s)
    if t == "global_pool":
        return m.GlobalPool("Max" in layer.keras_class, len(layer.output_shape) == in_rank)
    if t == "batch_norm":
        eps = float(a.get("epsilon", 1e-3))
        bn = nn.BatchNorm2d(cin, eps=eps) if in_rank in (2, 3) else nn.BatchNorm1d(cin, eps=eps)
        return bn
    if t == "activation":
        max_value = a.get("max_value")
        if str(a.get("activation", "")).lower() == "relu" and max_value not in (None, 0):
            return nn.Hardtanh(0.0, float(max_value))  # Keras ReLU(max_value=6): min(max(x, 0), 6)
        return _activation(a.get("activation"), cin, layer.name)
    if t == "add":
        return m.Merge("sub" if layer.keras_class == "Subtract" else "add")
    if t == "multiply":
        return m.Merge("mul")
    if t == "concat":
        return m.Merge("concat", _channel_axis_map(a.get("axis", -1), in_rank))
    if t == "zero_padding":
        out = internal_shape(layer.output_shape)
        dh, dw = out[1] - ih, out[2] - iw
        pads = _padding_amounts(a.get("padding_amounts"), in_rank, dh, dw)
        return m.Pad(pads)  # negative amounts crop (Cropping layers)
    if t == "reshape" and layer.keras_class == "Permute":
        return m.Permute(in_rank, _permute_dims(layer, in_shape), len(layer.output_shape))
    if t == "reshape":
        return m.Relayout(in_rank, tuple(layer.output_shape))
    if t == "other" and layer.keras_class == "CustomScaleLayer":
        if len(layer.input_shapes) != 2:
            raise SpecError(f"layer {layer.name!r}: CustomScaleLayer takes two inputs, got {len(layer.input_shapes)}")
        return m.ScaleAdd(float(a.get("scale", 1.0)))
    if t in ("dropout", "input"):
        return nn.Identity()
    if t == "rescaling":
        scale, offset = a.get("scale", 1.0), a.get("offset", 0.0)
        if isinstance(scale, (list, tuple)) or isinstance(offset, (list, tuple)):
            raise SpecError(f"layer {layer.name!r}: per-channel rescaling is not supported by the PyTorch executor")
        return m.Affine(float(scale), float(offset))
    if t == "normalization":
        if layer.keras_class == "LayerNormalization":
            return m.ChannelsLast(nn.LayerNorm(cin, eps=float(a.get("epsilon", 1e-3))))
        return m.Affine(1.0, 0.0)  # preprocessing Normalization with unknown statistics: same cost class
    raise SpecError(f"layer {layer.name!r} of type {t!r} (Keras class {layer.keras_class or '?'}) "
                    "has no PyTorch equivalent")


def _permute_dims(layer: Any, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Axes (1-based, batch excluded, as Keras ``dims``) of a Permute layer.

    From the spec's ``dims`` when recorded, else the first reordering of the input axes that gives the
    output shape (the cost, one transposing copy of the tensor, is the same for any of them).
    """
    import itertools

    dims = layer.attrs.get("dims")
    out = tuple(int(d) for d in layer.output_shape)
    if dims is not None:
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(in_shape) + 1)) or tuple(in_shape[d - 1] for d in dims) != out:
            raise SpecError(f"layer {layer.name!r}: Permute dims {dims} do not map {in_shape} to {out}")
        return dims
    for perm in itertools.permutations(range(1, len(in_shape) + 1)):
        if tuple(in_shape[d - 1] for d in perm) == out and (perm != tuple(sorted(perm)) or len(perm) == 1):
            return perm
    if tuple(in_shape) == out:
        return tuple(range(1, len(in_shape) + 1))
    raise SpecError(f"layer {layer.name!r}: no reordering of {in_shape} gives {out}")


def _padding_amounts(p: Any, rank: int, dh: int, dw: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) from Keras padding amounts, checked against the shape change."""
    try:
        if isinstance(p, (int, float)):
            (t, b), (left, r) = ((int(p), int(p)), (int(p), int(p))) if rank == 3 else ((0, 0), (int(p), int(p)))
        elif rank == 2 and len(p) == 2 and all(isinstance(v, (int, float)) for v in p):
            (t, b), (left, r) = (0, 0), (int(p[0]), int(p[1]))
        elif len(p) == 2 and all(isinstance(v, (int, float)) for v in p):
            (t, b), (left, r) = (int(p[0]), int(p[0])), (int(p[1]), int(p[1]))
        else:
            (t, b), (left, r) = (int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1]))
        if t + b == dh and left + r == dw:
            return left, r, t, b
    except (TypeError, ValueError, IndexError):
        pass
    # Unknown amounts (or cropping): split the shape change, the extra pixel after.
    left, top = _half(dw), _half(dh)
    return left, dw - left, top, dh - top


def _half(total: int) -> int:
    return total // 2 if total >= 0 else -((-total) // 2)


def build_module(spec: Any) -> Any:
    """A ``torch.nn.Module`` that runs ``spec`` (channels-first input of :func:`internal_shape`)."""
    m = _modules()
    nn = m.nn
    inputs = [layer for layer in spec.layers if layer.type == "input"]
    if len(inputs) > 1:
        raise SpecError(f"network {spec.name!r} has {len(inputs)} inputs; the PyTorch executor takes one")

    class SpecModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.spec = spec
            self.mods = nn.ModuleDict()
            self.keys: dict[str, str] = {}
            for i, layer in enumerate(spec.layers):
                key = f"l{i}"
                self.keys[layer.name] = key
                self.mods[key] = build_layer(layer)
            last_use: dict[str, int] = {}
            for i, layer in enumerate(spec.layers):
                for src in self._sources(i):
                    last_use[src] = i
            self.last_use = last_use

        def _sources(self, i: int) -> tuple[str, ...]:
            layer = spec.layers[i]
            if layer.type == "input":
                return ()
            if layer.inputs:
                return tuple(layer.inputs)
            return (spec.layers[i - 1].name,) if i > 0 else ()

        def run(self, x: Any, record: dict[str, tuple[Any, ...]] | None = None) -> Any:
            values: dict[str, Any] = {}
            out = x
            for i, layer in enumerate(spec.layers):
                srcs = self._sources(i)
                args = tuple(values[s] for s in srcs) if srcs else (x,)
                if record is not None:
                    record[layer.name] = args
                out = self.mods[self.keys[layer.name]](*args)
                values[layer.name] = out
                if record is None:
                    for s in srcs:
                        if self.last_use.get(s) == i:
                            values.pop(s, None)
            return out

        def forward(self, x: Any) -> Any:
            return self.run(x)

        def layer_module(self, name: str) -> Any:
            return self.mods[self.keys[name]]

    return SpecModule()


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


# ------------------------------------------------------------------------------ campaign executor
#: Knobs that only mean something on a CUDA device (``on`` is refused on the CPU).
CUDA_KNOBS = ("cuda_graph", "cudnn_benchmark", "tf32")
DTYPES = ("float32", "float16", "bfloat16")


class TorchRunner(Executor):
    """The PyTorch executor of campaigns: jobs run in this process on the CPU or one CUDA GPU.

    Knobs: ``batch``; ``threads`` (``torch.set_num_threads``, host threads); ``dtype`` (float32, float16,
    bfloat16: weights and inputs); ``cudnn_benchmark``; ``tf32`` (TF32 tensor cores for float32 matrix
    products and convolutions); ``cuda_graph`` (whole network and each isolated layer captured once as a
    CUDA graph and replayed: no Python launch cost, as deployed inference runs). The three CUDA knobs are
    refused ``on`` when the device is the CPU. Settings are restored after every job.

    Views: ``whole`` (one call of the batch), ``isolated`` (each layer alone on the inputs it received in
    the network) and ``inplace`` (method ``events``, :meth:`TorchExecutor.time_inplace`: per-layer gaps
    between CUDA events inside one eager pass; under ``cuda_graph=on`` the in-place view stays eager, as a
    graph has no per-layer events). Power (with the platform's sensor): each ``whole`` call and each
    isolated layer run back to back for the campaign's window (:func:`profiling.sensors.window.power_window`);
    ``inplace`` rows carry no power (a layer's power is that of its isolated run).

    Parameters
    ----------
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``. Checked at construction (PlatformError when torch sees no such GPU).
    seed : int
        Seed of the random weights and inputs.
    """

    name = "torch"
    inplace_methods = ("events",)

    def __init__(self, device: str = "cpu", seed: int = 0, batches: Sequence[int] = DEFAULT_BATCHES):
        check_device(device)
        self.device = "cuda:0" if device == "cuda" else str(device)
        self.seed = seed
        self.batches = tuple(batches)
        self._specs: dict[tuple[str, int | None], Any] = {}

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def software_knobs(self, platform: Any) -> tuple[Any, ...]:
        import os

        n = max(len(os.sched_getaffinity(0)), 1)
        return (Ordinal("batch", values=self.batches, default=min(self.batches)),
                Integer("threads", 1, n, default=n),
                Categorical("dtype", DTYPES, default="float32"),
                Boolean("cudnn_benchmark", default=False),
                Boolean("tf32", default=False),
                Boolean("cuda_graph", default=False))

    def knob_notes(self) -> dict[str, str]:
        return {"batch": "batch size of every call", "threads": "torch.set_num_threads (host threads)",
                "dtype": "weights and inputs in this type", "cudnn_benchmark": "torch.backends.cudnn.benchmark",
                "tf32": "torch.backends.cuda.matmul.allow_tf32 and cudnn.allow_tf32",
                "cuda_graph": "whole network and isolated layers captured as CUDA graphs and replayed"}

    def check_config(self, config: Mapping[str, Any]) -> None:
        if not self.is_cuda:
            for k in CUDA_KNOBS:
                if config.get(k):
                    raise ConfigError(f"knob {k}=on needs a CUDA device; this torch executor runs on {self.device}")

    def check_network(self, name: str) -> str:
        """A network name, a ``.keras`` file or a NetworkSpec ``.json`` file (no Keras needed for the last)."""
        import os

        from ..networks import check_network

        if str(name).endswith(".json"):
            if not os.path.isfile(name):
                raise SpecError(f"network spec file {name!r} does not exist")
            return os.path.abspath(name)
        return check_network(name)

    def describe(self) -> dict[str, Any]:
        torch = _torch()
        d: dict[str, Any] = {"executor": self.name, "torch": torch.__version__, "device": self.device}
        if self.is_cuda:
            d.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                     gpu=torch.cuda.get_device_name(torch.device(self.device)))
        return d

    def _spec(self, network: str, input_size: int | None) -> Any:
        key = (network, input_size)
        if key not in self._specs:
            from ..spec import NetworkSpec

            if network.endswith(".json"):
                spec = NetworkSpec.from_json(network)
            else:
                from ..networks import load_network

                spec = load_network(network, input_size)[1]
            self._specs[key] = spec
        return self._specs[key]

    def run(self, job: ExecutorJob, *, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> JobResult:
        """Measure ``job`` in this process (``timeout_s``/``memory_limit_gb`` bound worker processes only;
        here each measurement is bounded by the timing policy's ``max_time_s``)."""
        t0 = time.monotonic()
        torch = _torch()
        try:
            spec = self._spec(job.network, job.input_size)
            rows, note = self._measure(spec, job)
        except KeyboardInterrupt:
            raise
        except (MemoryError, getattr(torch.cuda, "OutOfMemoryError", MemoryError)) as exc:
            return JobResult("failed", reason=f"oom: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                             wall_s=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, the campaign goes on
            text = str(exc).splitlines()[0][:300] if str(exc) else ""
            return JobResult("failed", reason=f"crash: {type(exc).__name__}: {text}", wall_s=time.monotonic() - t0)
        finally:
            if self.is_cuda:
                torch.cuda.empty_cache()
        return JobResult("ok", tuple(rows), note=note, spec=spec.to_dict(), versions=self._versions(),
                         wall_s=time.monotonic() - t0)

    def _versions(self) -> dict[str, Any]:
        torch = _torch()
        v = {"torch": torch.__version__, "python": _pyplatform.python_version(), "device": self.device}
        if self.is_cuda:
            v["cuda"] = torch.version.cuda
        return v

    def _measure(self, spec: Any, job: ExecutorJob) -> tuple[list[MeasurementRow], str | None]:
        from ..sensors.load import LoadMonitor
        from ..sensors.window import power_window

        cfg = job.software_config()
        self.check_config(cfg)
        ex = TorchExecutor(spec, device=self.device, seed=self.seed, dtype=str(cfg.get("dtype", "float32")))
        graph = bool(cfg.get("cuda_graph", False))
        plan = job.power
        mode = {"cuda_graph": graph, "device": self.device}
        rows: list[MeasurementRow] = []

        def power(fn: Callable[[], Any]) -> dict[str, Any]:
            if plan is None:
                return {}
            pw = power_window(fn, plan.sensor, plan.window_s, step_s=plan.step_s, idle_power_w=plan.idle_power_w,
                              sync=ex.sync)
            return {k: v for k, v in pw.items() if v is not None}

        def row(view: str, level: str, fn: Callable[[], Any], timing_of: Callable[[Callable[[], Any]], Any],
                **names: Any) -> MeasurementRow:
            with LoadMonitor() as mon:
                res = timing_of(fn)
            pw = power(fn)
            return MeasurementRow(view=view, level=level, **names, **res.as_dict(), power_w=pw.pop("power_w", None),
                                  energy_j=pw.pop("energy_j", None), other_load=mon.other_load,
                                  extra={**pw, **mode})

        note = None
        with ex._settings(cfg) as batch:
            def timed(fn: Callable[[], Any]) -> TimingResult:
                return ex._time(fn, job.policy)[0]

            if "whole" in job.views:
                x = ex.input_tensor(batch)
                fn = ex.graph(lambda: ex.module(x)) if graph else (lambda: ex.module(x))
                rows.append(row("whole", "network", fn, timed))
            if "isolated" in job.views:
                record: dict[str, tuple[Any, ...]] = {}
                ex.module.run(ex.input_tensor(batch), record)
                for layer in spec.layers:
                    if layer.type == "input":
                        continue
                    mod, args = ex.module.layer_module(layer.name), record[layer.name]
                    names = {"layer": layer.name, "unit": layer.name, "layer_type": layer.type}
                    try:
                        fn = (lambda mod=mod, args=args: mod(*args))
                        if graph:
                            fn = ex.graph(fn)
                        rows.append(row("isolated", "layer", fn, timed, **names))
                    except Exception as exc:  # noqa: BLE001 - one odd layer must not lose the others
                        rows.append(MeasurementRow(view="isolated", level="layer", **names, status="failed",
                                                   reason=f"crash: {type(exc).__name__}: "
                                                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"))
                del record
        if "inplace" in job.views:
            by_type = {layer.name: layer.type for layer in spec.layers}
            with LoadMonitor() as mon:
                times = ex.time_inplace(cfg, runs=max(job.trace_runs, 3))
            for name, res in times.items():
                rows.append(MeasurementRow(view="inplace", level="layer", layer=name, unit=name,
                                           layer_type=by_type[name], **res.as_dict(), other_load=mon.other_load,
                                           extra={"inplace_method": "events", **mode}))
            if graph:
                note = "in-place view timed in an eager pass (a CUDA graph has no per-layer events)"
        return rows, note
