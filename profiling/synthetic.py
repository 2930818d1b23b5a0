"""Sampled synthetic networks: kernel coverage for the layer-wise models (``synthetic_<seed>``).

A layer-wise model can only learn what its training networks contain. Twelve keras.applications networks
leave whole regions unseen: leave EfficientNet out and no other network applies swish or a sigmoid gate; leave
VGG out and no convolution is as large as its first ones. nn-Meter (Zhang et al. 2021) fills such gaps by
profiling *kernels* sampled over their configuration space rather than more whole networks. These builders
do the same within the profiler's unit of work: each seed gives a small, valid Keras network whose blocks
(convolutions, inverted residuals with squeeze-excitation, separable convolutions, bottlenecks, dense-style
concatenations, pools) draw their resolution, channels, kernel, stride and activation at random, so that a
campaign over a few dozen seeds times the kernels as they run inside a network (in-place view), next to the
whole-network rows. The networks are synthetic and are named so in every output (``synthetic_<seed>``);
they carry no weights worth keeping (random initialisation; runtime does not depend on weight values).

The same seed always builds the same network (numpy's seeded generator; the Keras layer names are fixed).
Measured tables name their networks by seed (datasets/cpu-keras-applications/synthetic-2026-12-01.csv.gz), so
the draws below must not change: a new kind of block or range belongs under a new name prefix.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .errors import SpecError

PREFIX = "synthetic_"
_NAME = re.compile(rf"^{PREFIX}(\d{{1,6}})$")

# Activations of the keras.applications families and the common ones beside them (Keras names).
ACTIVATIONS = ("relu", "relu6", "silu", "hard_silu", "sigmoid", "tanh", "gelu", "elu")
RESOLUTIONS = (224, 192, 160, 128, 112, 96)
BLOCKS = ("conv", "mbconv", "separable", "bottleneck", "concat", "pool")
# keep one call of a synthetic network in the tens of milliseconds on one core (FLOPs per sample)
MAX_GFLOP = 3.0


def is_synthetic(name: str) -> bool:
    return bool(_NAME.match(str(name)))


def seed_of(name: str) -> int:
    m = _NAME.match(str(name))
    if not m:
        raise SpecError(f"{name!r} is not a synthetic network name (expected {PREFIX}<seed>, e.g. {PREFIX}0)")
    return int(m.group(1))


def _channels(rng: np.random.Generator, lo: int = 16, hi: int = 512) -> int:
    # log-uniform, a multiple of 8 as in the applications
    c = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return int(max(8, 8 * round(c / 8)))


class _Builder:
    """Keeps the running shape and FLOP count while blocks are added."""

    def __init__(self, keras: Any, rng: np.random.Generator, size: int):
        self.keras, self.L, self.rng = keras, keras.layers, rng
        self.hw, self.gflop, self.n = size, 0.0, 0

    def name(self, what: str) -> str:
        self.n += 1
        return f"{what}_{self.n}"

    def act(self, x, act: str):
        if act == "relu6":
            return self.L.ReLU(6.0, name=self.name("relu6"))(x)
        return self.L.Activation(act, name=self.name(act))(x)

    def conv(self, x, c: int, k: int, s: int = 1, act: str | None = None, bn: bool = True, fused_act=False):
        c_in = int(x.shape[-1])
        pad = "same" if self.rng.random() < 0.8 or k == 1 else "valid"
        if pad == "valid":
            x = self.L.ZeroPadding2D(k // 2, name=self.name("pad"))(x)
        inline = act if fused_act and act not in (None, "relu6") else None
        x = self.L.Conv2D(c, k, strides=s, padding=pad, use_bias=not bn or inline is not None,
                          activation=inline, name=self.name("conv"))(x)
        self.hw = int(x.shape[1])
        self.gflop += 2e-9 * self.hw * self.hw * c * c_in * k * k
        if bn:
            x = self.L.BatchNormalization(name=self.name("bn"))(x)
        if act and inline is None:
            x = self.act(x, act)
        return x

    def depthwise(self, x, k: int, s: int, act: str | None):
        c = int(x.shape[-1])
        x = self.L.DepthwiseConv2D(k, strides=s, padding="same", use_bias=False, name=self.name("dw"))(x)
        self.hw = int(x.shape[1])
        self.gflop += 2e-9 * self.hw * self.hw * c * k * k
        x = self.L.BatchNormalization(name=self.name("bn"))(x)
        return self.act(x, act) if act else x

    def squeeze_excite(self, x, act: str, gate: str):
        c = int(x.shape[-1])
        r = max(8, c // 4)
        y = self.L.GlobalAveragePooling2D(keepdims=True, name=self.name("se_pool"))(x)
        y = self.L.Conv2D(r, 1, activation=None if act == "relu6" else act, name=self.name("se_reduce"))(y)
        if act == "relu6":
            y = self.act(y, act)
        y = self.L.Conv2D(c, 1, activation=gate, name=self.name("se_expand"))(y)
        return self.L.Multiply(name=self.name("se_scale"))([x, y])


def _block(b: _Builder, x, kind: str, act: str):
    rng = b.rng
    stride = 2 if (b.hw > 7 and rng.random() < 0.35) else 1
    c_in = int(x.shape[-1])
    if kind == "conv":
        return b.conv(x, _channels(rng), int(rng.choice([1, 3, 3, 5])), stride, act, bn=rng.random() < 0.7,
                      fused_act=rng.random() < 0.5)
    if kind == "mbconv":  # MobileNetV2 / EfficientNet / MobileNetV3 inverted residual
        e = int(rng.choice([1, 3, 4, 6]))
        y = b.conv(x, 8 * max(1, round(c_in * e / 8)), 1, 1, act) if e > 1 else x
        y = b.depthwise(y, int(rng.choice([3, 5])), stride, act)
        if rng.random() < 0.5:
            y = b.squeeze_excite(y, act, str(rng.choice(["sigmoid", "hard_sigmoid"])))
        out_c = c_in if (stride == 1 and rng.random() < 0.6) else _channels(rng, 16, 320)
        y = b.conv(y, out_c, 1, 1, None)
        return b.L.Add(name=b.name("add"))([x, y]) if stride == 1 and out_c == c_in else y
    if kind == "separable":  # Xception / NASNet
        c = _channels(rng, 32, 768)
        k = int(rng.choice([3, 5, 7]))
        y = b.act(x, act) if rng.random() < 0.5 else x
        y = b.L.SeparableConv2D(c, k, strides=stride, padding="same", use_bias=False, name=b.name("sep"))(y)
        b.gflop += 2e-9 * y.shape[1] * y.shape[2] * c_in * (k * k + c)
        b.hw = int(y.shape[1])
        return b.L.BatchNormalization(name=b.name("bn"))(y)
    if kind == "bottleneck":  # ResNet
        mid = _channels(rng, 16, 256)
        out_c = c_in if stride == 1 else 4 * mid
        y = b.conv(x, mid, 1, stride, act)
        y = b.conv(y, mid, 3, 1, act)
        y = b.conv(y, out_c, 1, 1, None)
        short = x if stride == 1 else b.conv(x, out_c, 1, stride, None)
        y = b.L.Add(name=b.name("add"))([short, y])
        return b.act(y, act)
    if kind == "concat":  # DenseNet
        y = b.L.BatchNormalization(name=b.name("bn"))(x)
        y = b.act(y, act)
        y = b.conv(y, _channels(rng, 16, 128), int(rng.choice([1, 3])), 1, None, bn=False)
        return b.L.Concatenate(name=b.name("concat"))([x, y])
    # pool
    k = int(rng.choice([2, 3]))
    pool = b.L.MaxPooling2D if rng.random() < 0.5 else b.L.AveragePooling2D
    x = pool(k, strides=2, padding="same", name=b.name("pool"))(x)
    b.hw = int(x.shape[1])
    return x


def build_synthetic(keras: Any, name: str, size: int | None = None) -> Any:
    """Build the synthetic network ``synthetic_<seed>`` (see the module docstring)."""
    seed = seed_of(name)
    rng = np.random.default_rng([seed, 20261201])
    drawn = int(rng.choice(RESOLUTIONS))  # drawn even when a size is given: the later draws stay aligned
    size = int(size or drawn)
    b = _Builder(keras, rng, size)
    L = keras.layers
    x = inp = keras.Input((size, size, 3), name="input")
    pre = rng.random()
    if pre < 0.3:
        x = L.Rescaling(1.0 / 255.0, name=b.name("rescale"))(x)
    elif pre < 0.5:
        x = L.Normalization(axis=-1, mean=[0.485, 0.456, 0.406], variance=[0.052, 0.05, 0.05],
                            name=b.name("normalize"))(x)
    acts = list(rng.choice(ACTIVATIONS, size=2, replace=False))  # a network mixes at most two
    x = b.conv(x, _channels(rng, 16, 64), int(rng.choice([3, 5, 7])), 2, acts[0])
    n_blocks, misses = int(rng.integers(5, 11)), 0
    while n_blocks > 0 and misses < 4 and b.hw > 2:
        kind = str(rng.choice(BLOCKS, p=[0.25, 0.25, 0.15, 0.15, 0.1, 0.1]))
        before, hw = b.gflop, b.hw
        y = _block(b, x, kind, str(rng.choice(acts)))
        if b.gflop > MAX_GFLOP:  # over budget: drop the block (its layers stay unconnected) and draw again
            b.gflop, b.hw = before, hw
            misses += 1
            continue
        x, n_blocks = y, n_blocks - 1
    x = L.GlobalAveragePooling2D(name=b.name("gap"))(x)
    if rng.random() < 0.3:
        x = L.Dense(_channels(rng, 128, 1024), activation=str(rng.choice(acts)), name=b.name("fc"))(x)
    x = L.Dense(int(rng.choice([10, 100, 1000])), activation="softmax", name=b.name("head"))(x)
    return keras.Model(inp, x, name=name)
