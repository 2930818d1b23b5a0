"""Framework-neutral description of a network: ordered layers with shapes and attributes.

:class:`NetworkSpec` is what the profiler measures and the models predict from. It is built from any
Keras 3 model (:meth:`NetworkSpec.from_keras`), serialises to JSON (never pickle), and computes the
per-layer features (shapes, FLOPs, parameter and memory-access bytes) listed in
``docs/measurement-table.md``.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .atomic import atomic_write
from .errors import SpecError
from .jsonio import load_json

SPEC_FORMAT = "perfmodel.NetworkSpec"
SPEC_VERSION = 1

LAYER_TYPES = (
    "conv2d", "depthwise_conv2d", "separable_conv2d", "dense", "max_pool", "avg_pool", "global_pool",
    "batch_norm", "activation", "add", "concat", "multiply", "zero_padding", "reshape", "dropout",
    "rescaling", "normalization", "input", "other",
)

# Keras class name -> canonical layer type. 1-D layers map to their 2-D type with height 1.
_KERAS_TYPES = {
    "Conv2D": "conv2d", "Conv1D": "conv2d", "DepthwiseConv2D": "depthwise_conv2d",
    "DepthwiseConv1D": "depthwise_conv2d", "SeparableConv2D": "separable_conv2d",
    "SeparableConv1D": "separable_conv2d", "Dense": "dense", "EinsumDense": "dense",
    "MaxPooling2D": "max_pool", "MaxPooling1D": "max_pool", "AveragePooling2D": "avg_pool",
    "AveragePooling1D": "avg_pool", "GlobalAveragePooling2D": "global_pool", "GlobalMaxPooling2D": "global_pool",
    "GlobalAveragePooling1D": "global_pool", "GlobalMaxPooling1D": "global_pool",
    "BatchNormalization": "batch_norm", "LayerNormalization": "normalization",
    "Activation": "activation", "ReLU": "activation", "Softmax": "activation", "LeakyReLU": "activation",
    "PReLU": "activation", "ELU": "activation",
    "Add": "add", "Subtract": "add", "Concatenate": "concat", "Multiply": "multiply",
    "ZeroPadding2D": "zero_padding", "ZeroPadding1D": "zero_padding", "Cropping2D": "zero_padding",
    "Reshape": "reshape", "Flatten": "reshape", "Permute": "reshape",
    "Dropout": "dropout", "SpatialDropout2D": "dropout", "Rescaling": "rescaling",
    "Normalization": "normalization", "InputLayer": "input",
}

# Weightless Keras layers whose output the attributes a spec records (and the shapes) determine: when two of
# them take the same inputs, TensorFlow's graph optimiser (Grappler's common-subexpression elimination)
# computes them once. NASNet's cells apply one 3x3 average pooling twice to the same tensor. Not here: layers
# with unrecorded parameters (LeakyReLU's slope, ReLU's threshold, Cropping2D's amounts).
_DEDUPLICABLE_CLASSES = (
    "MaxPooling2D", "MaxPooling1D", "AveragePooling2D", "AveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Activation", "Add", "Multiply",
    "Concatenate", "ZeroPadding2D", "ZeroPadding1D",
)

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1, "int32": 4}

FEATURE_COLUMNS = (
    "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h", "stride_w",
    "padding", "groups", "flops", "params", "weight_bytes", "input_bytes", "output_bytes", "activation",
)


def _prod(shape: Sequence[int]) -> int:
    return int(math.prod(int(d) for d in shape)) if shape else 1


def _hwc(shape: Sequence[int]) -> tuple[int, int, int]:
    """(H, W, C) of a per-sample shape; 1-D sequences are (1, L, C), vectors (1, 1, C)."""
    shape = tuple(int(d) for d in shape)
    if len(shape) >= 3:
        return shape[-3], shape[-2], shape[-1]
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    if len(shape) == 1:
        return 1, 1, shape[0]
    return 1, 1, 1


def _pair(v: Any, default: int = 1) -> tuple[int, int]:
    if v is None:
        return default, default
    if isinstance(v, (int, float)):
        return int(v), int(v)
    v = tuple(int(x) for x in v)
    return (1, v[0]) if len(v) == 1 else (v[0], v[1])


@dataclass(frozen=True)
class LayerSpec:
    """One layer: canonical type, shapes (per sample, without batch, channels last) and attributes."""

    name: str
    type: str
    keras_class: str = ""
    input_shapes: tuple[tuple[int, ...], ...] = ()
    output_shape: tuple[int, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.type not in LAYER_TYPES:
            raise SpecError(f"layer {self.name!r}: unknown layer type {self.type!r}")
        object.__setattr__(self, "input_shapes", tuple(tuple(int(d) for d in s) for s in self.input_shapes))
        object.__setattr__(self, "output_shape", tuple(int(d) for d in self.output_shape))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attrs", dict(self.attrs))
        for s in (*self.input_shapes, self.output_shape):
            if any(d < 0 for d in s):
                raise SpecError(f"layer {self.name!r}: negative dimension in shape {s}")

    @property
    def dtype_bytes(self) -> int:
        return _DTYPE_BYTES.get(self.dtype, 4)

    def params(self) -> int:
        """Number of parameters (weights and biases, batch-norm statistics included)."""
        if "params" in self.attrs:
            return int(self.attrs["params"])
        return 0

    def flops(self) -> int:
        """Floating-point operations for one sample (a multiply-add counts 2)."""
        out = _prod(self.output_shape)
        a = self.attrs
        t = self.type
        in_shape = self.input_shapes[0] if self.input_shapes else ()
        _, _, cin = _hwc(in_shape)
        oh, ow, cout = _hwc(self.output_shape)
        kh, kw = _pair(a.get("kernel_size"))
        bias = out if a.get("use_bias", False) else 0
        if t == "conv2d":
            groups = int(a.get("groups", 1) or 1)
            return 2 * oh * ow * cout * kh * kw * (cin // groups) + bias
        if t == "depthwise_conv2d":
            return 2 * oh * ow * cout * kh * kw + bias
        if t == "separable_conv2d":
            dm = int(a.get("depth_multiplier", 1) or 1)
            return 2 * oh * ow * cin * dm * kh * kw + 2 * oh * ow * cin * dm * cout + bias
        if t == "dense":
            return 2 * _prod(in_shape) // max(cin, 1) * cin * cout + bias if in_shape else 0
        if t in ("max_pool", "avg_pool"):
            ph, pw = _pair(a.get("pool_size"), 2)
            return out * ph * pw
        if t == "global_pool":
            return _prod(in_shape)
        if t == "batch_norm":
            return 2 * out
        if t in ("activation", "rescaling", "normalization"):
            return out * (2 if t != "activation" else 1)
        if t in ("add", "multiply"):
            return out * max(len(self.input_shapes) - 1, 1)
        return 0

    def features(self) -> dict[str, Any]:
        """The feature columns of ``docs/measurement-table.md`` for this layer (per sample)."""
        in_shape = self.input_shapes[0] if self.input_shapes else self.output_shape
        ih, iw, ic = _hwc(in_shape)
        oh, ow, oc = _hwc(self.output_shape)
        a = self.attrs
        has_kernel = self.type in ("conv2d", "depthwise_conv2d", "separable_conv2d", "max_pool", "avg_pool")
        kh, kw = _pair(a.get("kernel_size") or a.get("pool_size")) if has_kernel else (0, 0)
        sh, sw = _pair(a.get("strides")) if has_kernel else (0, 0)
        b = self.dtype_bytes
        return {
            "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
            "kernel_h": kh, "kernel_w": kw, "stride_h": sh, "stride_w": sw,
            "padding": a.get("padding", "") if has_kernel else "",
            "groups": int(a.get("groups", 1) or 1) if self.type == "conv2d" else (ic if self.type == "depthwise_conv2d" else 1),
            "flops": self.flops(), "params": self.params(), "weight_bytes": self.params() * b,
            "input_bytes": sum(_prod(s) for s in self.input_shapes) * b,
            "output_bytes": _prod(self.output_shape) * b,
            "activation": self.activation(),
        }

    def activation(self) -> str:
        """The nonlinearity the layer applies (``relu``, ``relu6``, ``silu``, ``softmax``, ...); '' for none.

        Its cost differs by an order of magnitude between functions (a max against exponentials), so it is
        a feature of activation layers and of convolutions or dense layers that apply one themselves.
        """
        a = self.attrs.get("activation")
        if not a or str(a).lower() in ("linear", "none"):
            return ""
        a = str(a).lower()
        if a == "relu" and self.attrs.get("max_value") not in (None, 0):
            return f"relu{int(float(self.attrs['max_value']))}" if float(self.attrs["max_value"]).is_integer() \
                else "relu_capped"
        return a

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "keras_class": self.keras_class,
            "input_shapes": [list(s) for s in self.input_shapes], "output_shape": list(self.output_shape),
            "attrs": _jsonable(self.attrs), "inputs": list(self.inputs), "dtype": self.dtype,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LayerSpec:
        try:
            layer = cls(
                name=str(d["name"]), type=str(d["type"]), keras_class=str(d.get("keras_class", "")),
                input_shapes=tuple(tuple(s) for s in d.get("input_shapes", [])),
                output_shape=tuple(d.get("output_shape", [])), attrs=dict(d.get("attrs", {})),
                inputs=tuple(d.get("inputs", [])), dtype=str(d.get("dtype", "float32")),
            )
            layer.features()  # attributes read from a file must be usable: fail here, not inside a model
            return layer
        except (KeyError, TypeError, ValueError, OverflowError, IndexError) as exc:
            if isinstance(exc, SpecError):
                raise
            why = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
            raise SpecError(f"invalid layer entry {str(d)[:60]!r}: {why}") from None


@dataclass(frozen=True)
class NetworkSpec:
    """An ordered, framework-neutral network description.

    Parameters
    ----------
    name : str
    input_shape : tuple of int
        Per-sample input shape (channels last), without the batch dimension.
    layers : tuple of LayerSpec
        In execution (topological) order.
    dtype : str
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise SpecError(f"network {self.name!r} has duplicate layer names")
        known: set[str] = set()
        for layer in self.layers:
            missing = [i for i in layer.inputs if i not in known]
            if missing:
                raise SpecError(f"layer {layer.name!r} takes input {missing[0]!r}, which is not an earlier layer")
            known.add(layer.name)

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> LayerSpec:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise SpecError(f"network {self.name!r} has no layer {name!r}")

    @property
    def compute_layers(self) -> tuple[LayerSpec, ...]:
        """Layers that do work at inference (inputs and dropouts excluded)."""
        return tuple(layer for layer in self.layers if layer.type not in ("input", "dropout"))

    def flops(self) -> int:
        return sum(layer.flops() for layer in self.layers)

    def params(self) -> int:
        return sum(layer.params() for layer in self.layers)

    def duplicates(self) -> dict[str, str]:
        """Layers that repeat an earlier layer's computation, mapped to that earlier layer.

        A weightless layer (pooling, ``Activation``, add, multiply, concatenation, zero padding) is a duplicate
        when an earlier layer of the same class, attributes and shapes takes the same inputs (or duplicates of
        them).
        Runtimes that eliminate common subexpressions (TensorFlow's graph optimiser) compute it once.
        """
        canon: dict[str, str] = {}
        first: dict[tuple, str] = {}
        out: dict[str, str] = {}
        for layer in self.layers:
            canon[layer.name] = layer.name
            if layer.keras_class not in _DEDUPLICABLE_CLASSES or layer.params() or not layer.inputs:
                continue
            key = (layer.type, layer.keras_class, json.dumps(_jsonable(layer.attrs), sort_keys=True),
                   layer.input_shapes, layer.output_shape, tuple(canon[i] for i in layer.inputs))
            if key in first:
                canon[layer.name] = out[layer.name] = first[key]
            else:
                first[key] = layer.name
        return out

    def features(self):
        """Per-layer features as a pandas DataFrame (``layer``, ``layer_type``, the feature columns and
        ``duplicate_of``: the earlier layer a duplicate repeats, see :meth:`duplicates`; '' for the others)."""
        import pandas as pd

        dup = self.duplicates()
        rows = [{"layer": layer.name, "layer_type": layer.type, **layer.features(),
                 "duplicate_of": dup.get(layer.name, "")} for layer in self.layers]
        return pd.DataFrame(rows, columns=["layer", "layer_type", *FEATURE_COLUMNS, "duplicate_of"])

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for layer in self.layers:
            counts[layer.type] = counts.get(layer.type, 0) + 1
        return {"name": self.name, "layers": len(self.layers), "flops": self.flops(), "params": self.params(),
                "types": counts}

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        return {"format": SPEC_FORMAT, "version": SPEC_VERSION, "name": self.name,
                "input_shape": list(self.input_shape), "dtype": self.dtype,
                "layers": [layer.to_dict() for layer in self.layers]}

    def to_json(self, path: str | os.PathLike | None = None, indent: int | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write(path, text, error=SpecError, what="network spec file")
        return text

    @classmethod
    def from_dict(cls, d: Any) -> NetworkSpec:
        if not isinstance(d, Mapping):
            raise SpecError("a network spec is a JSON object")
        if d.get("format") != SPEC_FORMAT:
            raise SpecError(f"not a network spec (format {d.get('format')!r}, expected {SPEC_FORMAT!r})")
        if d.get("version") != SPEC_VERSION:
            raise SpecError(f"network spec version {d.get('version')!r} is not supported (expected {SPEC_VERSION})")
        layers = d.get("layers")
        if not isinstance(layers, list) or not layers:
            raise SpecError("network spec has no layers")
        try:
            return cls(name=str(d.get("name", "network")), input_shape=tuple(d.get("input_shape", ())),
                       layers=tuple(LayerSpec.from_dict(x) for x in layers), dtype=str(d.get("dtype", "float32")))
        except (TypeError, ValueError, OverflowError) as exc:  # hostile values: inf/NaN shapes, wrong types
            if isinstance(exc, SpecError):
                raise
            why = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
            raise SpecError(f"invalid network spec: {why}") from None

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike) -> NetworkSpec:
        """Load from a JSON string or a path to a JSON file."""
        return cls.from_dict(load_json(text_or_path, "network spec", SpecError))

    @classmethod
    def from_keras(cls, model: Any, name: str | None = None) -> NetworkSpec:
        """Describe a built Keras 3 model (functional or sequential)."""
        return _from_keras(model, name)


# ------------------------------------------------------------------------------------------- keras
def _shape_of(tensor: Any) -> tuple[int, ...]:
    shape = tuple(tensor.shape)[1:]
    if any(d is None for d in shape):
        raise SpecError(f"tensor {getattr(tensor, 'name', '?')} has an unknown dimension {tuple(tensor.shape)}; "
                        "build the model with a fixed input size")
    return tuple(int(d) for d in shape)


def _as_list(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, dict):
        return list(x.values())
    return [x]


_ATTRS = ("filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "depth_multiplier", "units",
          "use_bias", "activation", "pool_size", "axis", "epsilon", "rate", "target_shape", "scale", "offset",
          "max_value", "dims")


def _layer_attrs(layer: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    incomplete: list[str] = []  # what could not be read: kept in the spec (``attrs["incomplete"]``) and warned
    try:
        cfg = layer.get_config()
    except Exception as exc:  # noqa: BLE001 - a custom layer without get_config still gets described
        cfg = {}
        incomplete.append(f"config ({type(exc).__name__})")
    if not isinstance(cfg, Mapping):
        incomplete.append(f"config (get_config returned {type(cfg).__name__})")
        cfg = {}
    for key in _ATTRS:
        if key in cfg:
            v = cfg[key]
            if key == "activation" and not isinstance(v, str):
                v = getattr(v, "__name__", str(v))
            attrs[key] = _jsonable(v)
    cls = type(layer).__name__
    if cls in ("ReLU", "Softmax", "LeakyReLU", "PReLU", "ELU"):
        attrs["activation"] = cls.lower()
    if cls == "ZeroPadding2D":
        attrs["padding_amounts"] = _jsonable(cfg.get("padding"))
        attrs.pop("padding", None)
    if cls.endswith("1D") and "kernel_size" in attrs:
        attrs["kernel_size"] = [1, _as_list(attrs["kernel_size"])[0]]
        attrs["strides"] = [1, _as_list(attrs.get("strides", 1))[0]]
    if cls.endswith("Pooling1D") and "pool_size" in attrs:
        attrs["pool_size"] = [1, _as_list(attrs["pool_size"])[0]]
        attrs["strides"] = [1, _as_list(attrs.get("strides") or attrs["pool_size"])[-1]]
    if cls in ("MaxPooling2D", "AveragePooling2D") and attrs.get("strides") is None:
        attrs["strides"] = attrs.get("pool_size")
    try:
        attrs["params"] = int(layer.count_params())
    except Exception as exc:  # noqa: BLE001 - unbuilt layers have no params yet
        attrs["params"] = 0
        incomplete.append(f"params ({type(exc).__name__}; counted as 0)")
    if incomplete:
        attrs["incomplete"] = incomplete
        warnings.warn(f"layer {getattr(layer, 'name', '?')!r} ({cls}): could not read its {' and '.join(incomplete)}; "
                      "its features may be wrong", stacklevel=3)
    return attrs


def _from_keras(model: Any, name: str | None) -> NetworkSpec:
    layers = getattr(model, "layers", None)
    if layers is None:
        raise SpecError(f"{type(model).__name__} is not a Keras model")
    if not getattr(model, "built", True) or not getattr(model, "inputs", None):
        raise SpecError("the Keras model is not built with a known input shape")
    out: list[LayerSpec] = []
    for inp in _as_list(model.inputs):
        op = inp._keras_history[0]
        out.append(LayerSpec(name=op.name, type="input", keras_class="InputLayer", input_shapes=(),
                             output_shape=_shape_of(inp), dtype=str(inp.dtype)))
    seen = {layer.name for layer in out}
    alias: dict[str, str] = {}  # nested model name -> its last layer
    for layer in layers:
        if layer.name in seen:
            continue
        cls = type(layer).__name__
        nodes = getattr(layer, "_inbound_nodes", [])
        if not nodes:
            continue
        node = nodes[0]
        inputs = [t for t in _as_list(node.input_tensors)]
        producers = []
        for t in inputs:
            hist = getattr(t, "_keras_history", None)
            if hist is not None and hist[0].name != layer.name:
                producers.append(alias.get(hist[0].name, hist[0].name))
        if cls in ("Functional", "Sequential", "Model") or getattr(layer, "layers", None):
            # Nested models are flattened: their layers appear with their own names, wired to the outer graph.
            nested = _from_keras(layer, layer.name)
            nested_inputs = [sub.name for sub in nested.layers if sub.type == "input"]
            remap = dict(zip(nested_inputs, producers))
            last = None
            for sub in nested.layers:
                if sub.type != "input" and sub.name not in seen:
                    sub = LayerSpec(**{**sub.__dict__, "inputs": tuple(remap.get(i, i) for i in sub.inputs)})
                    out.append(sub)
                    seen.add(sub.name)
                    last = sub.name
            if last is not None:
                alias[layer.name] = last
            continue
        outputs = _as_list(node.output_tensors)
        ltype = _KERAS_TYPES.get(cls, "other")
        out.append(LayerSpec(
            name=layer.name, type=ltype, keras_class=cls,
            input_shapes=tuple(_shape_of(t) for t in inputs), output_shape=_shape_of(outputs[0]),
            attrs=_layer_attrs(layer), inputs=tuple(p for p in producers if p in seen),
            dtype=str(getattr(layer, "compute_dtype", "float32")),
        ))
        seen.add(layer.name)
    first = out[0].output_shape if out else ()
    return NetworkSpec(name=name or model.name, input_shape=first, layers=tuple(out),
                       dtype=str(getattr(model, "compute_dtype", "float32")))


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if hasattr(v, "item"):
        return v.item()
    return str(v)
