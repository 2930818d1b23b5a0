"""A :class:`~profiling.spec.NetworkSpec` built as a ``torch.nn.Module`` (for the PyTorch executor).

Layout: the spec's per-sample shapes are channels-last (NHWC); tensors here are channels-first (NCHW),
1-D sequences ``(L, C)`` are held as ``(C, 1, L)``. Layers that reinterpret memory (flatten, reshape)
convert to the spec's layout first, so every layer's output shape equals the spec's ``output_shape``
(checked by :meth:`profiling.executors.torch_executor.TorchExecutor.check_shapes`). Weights are random
(seeded by the caller): timing and power do not depend on their values. ``torch`` is imported on first use.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import PlatformError, SpecError

__all__ = ["torch_available", "internal_shape", "build_layer", "build_module", "DEFAULT_BATCHES"]

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
