"""Sampled synthetic networks: kernel coverage for the layer-wise models (``synthetic_*<seed>``).

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
Measured tables name their networks by seed (datasets/cpu-keras-applications/synthetic-*.csv.gz), so the
draws below must not change: a new kind of block or range belongs under a new name prefix.

``synthetic_fc_<seed>`` is such a second family: classifier heads of the AlexNet / VGG kind (a plain
convolution trunk, flattened, then one to three large fully-connected layers). ``synthetic_<seed>`` ends in a
global pool and at most one hidden layer of 1024 units, so the dense kernels it times are tiny next to VGG16's
25088 x 4096 layer (a weight matrix of 411 MB that streams from memory on every call): leaving VGG16 out, no
dense layer of the training set came within 50x of its runtime.

``synthetic_hires_<seed>``, the third: convolutions on large feature maps (VGG's and ResNet's early stages:
224x224x64 is 12.8 MB per tensor, more than this VM's 2 MB of L2 per core). ``synthetic_<seed>`` and
``synthetic_fc_<seed>`` halve the resolution in their first layer and stay under 3 GFLOPs, so their
convolutions rarely move more than 8 MB of activations; on 2026-12-02 the applications' convolutions that did
were predicted 8-16 % too fast at one thread.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .errors import SpecError

PREFIX = "synthetic_"
FC_PREFIX = "synthetic_fc_"
HIRES_PREFIX = "synthetic_hires_"
PREFIXES = (PREFIX, FC_PREFIX, HIRES_PREFIX)
_NAME = re.compile(rf"^{PREFIX}(\d{{1,6}})$")
_FC_NAME = re.compile(rf"^{FC_PREFIX}(\d{{1,6}})$")
_HIRES_NAME = re.compile(rf"^{HIRES_PREFIX}(\d{{1,6}})$")

# Activations of the keras.applications families and the common ones beside them (Keras names).
ACTIVATIONS = ("relu", "relu6", "silu", "hard_silu", "sigmoid", "tanh", "gelu", "elu")
RESOLUTIONS = (224, 192, 160, 128, 112, 96)
BLOCKS = ("conv", "mbconv", "separable", "bottleneck", "concat", "pool")
# keep one call of a synthetic network in the tens of milliseconds on one core (FLOPs per sample)
MAX_GFLOP = 3.0
# synthetic_fc_: weights of the fully-connected layers together (VGG16's three: 123.6 M), i.e. <= 640 MB float32
MAX_FC_PARAMS = 160e6
# synthetic_hires_: one VGG16 conv1_2 (224x224, 64 -> 64, 3x3) is 3.7 GFLOPs; two or three such per network
MAX_HIRES_GFLOP = 8.0


def is_synthetic(name: str) -> bool:
    """Whether ``name`` is a network of one of the synthetic families."""
    return any(n.match(str(name)) for n in (_NAME, _FC_NAME, _HIRES_NAME))


def seed_of(name: str) -> int:
    m = _NAME.match(str(name)) or _FC_NAME.match(str(name)) or _HIRES_NAME.match(str(name))
    if not m:
        raise SpecError(f"{name!r} is not a synthetic network name (expected one of "
                        f"{', '.join(p + '<seed>' for p in PREFIXES)}, e.g. {PREFIX}0)")
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
    """Build the synthetic network ``synthetic_<seed>`` or ``synthetic_fc_<seed>`` (see the module docstring)."""
    seed = seed_of(name)
    if _FC_NAME.match(str(name)):
        return _build_fc(keras, name, seed, size)
    if _HIRES_NAME.match(str(name)):
        return _build_hires(keras, name, seed, size)
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


FC_RESOLUTIONS = (224, 192, 160, 128, 112, 96, 64)


def _plain_start(keras: Any, seed: list[int], resolutions, size: int | None):
    """The first draws of the plain families (fc, hires): resolution, input, rescaling, one activation."""
    rng = np.random.default_rng(seed)
    drawn = int(rng.choice(resolutions))  # drawn even when a size is given: the later draws stay aligned
    b = _Builder(keras, rng, int(size or drawn))
    x = inp = keras.Input((b.hw, b.hw, 3), name="input")
    if rng.random() < 0.3:
        x = keras.layers.Rescaling(1.0 / 255.0, name=b.name("rescale"))(x)
    # relu as often as the seven others together (the applications' choice); one activation per network
    act = str(rng.choice(ACTIVATIONS, p=[0.44, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08]))
    return rng, b, inp, x, act


def _build_fc(keras: Any, name: str, seed: int, size: int | None) -> Any:
    """``synthetic_fc_<seed>``: a plain convolution trunk, flattened (or pooled), then large dense layers."""
    rng, b, inp, x, act = _plain_start(keras, [seed, 20261202], FC_RESOLUTIONS, size)
    L = keras.layers
    # The flattened map (AlexNet 6x6x256 = 9216, VGG 7x7x512 = 25088) is drawn first, log-uniform over
    # 2k-50k features, and the trunk's channels grow towards the depth that gives it.
    final_hw = int(rng.choice([2, 3, 4, 5, 6, 7, 8, 10, 12, 14]))
    n_flat = float(np.exp(rng.uniform(np.log(2048), np.log(51200))))
    final_c = int(np.clip(8 * round(n_flat / final_hw ** 2 / 8), 16, 1024))
    c0, k = _channels(rng, 16, 96), int(rng.choice([3, 5, 7, 11]))
    x = b.conv(x, c0, k, 2 if b.hw >= 96 else 1, act, bn=rng.random() < 0.3, fused_act=rng.random() < 0.5)
    stages = max(1, int(np.ceil(np.log2(max(b.hw / final_hw, 1.0)))))
    for i in range(stages):
        if b.hw <= final_hw:
            break
        c = int(8 * max(2, round(np.exp(np.log(c0) + (np.log(final_c) - np.log(c0)) * (i + 1) / stages) / 8)))
        for _ in range(int(rng.integers(1, 3))):
            before, hw = b.gflop, b.hw
            y = b.conv(x, c, 3, 1, act, bn=rng.random() < 0.3, fused_act=rng.random() < 0.5)
            if b.gflop > MAX_GFLOP:  # over budget: drop the convolution (left unconnected)
                b.gflop, b.hw = before, hw
                break
            x = y
        pool = L.MaxPooling2D if rng.random() < 0.8 else L.AveragePooling2D
        x = pool(2, strides=2, padding="same", name=b.name("pool"))(x)
        b.hw = int(x.shape[1])
    if int(x.shape[-1]) != final_c:  # the last stage was dropped: a 1x1 convolution sets the drawn depth
        x = b.conv(x, final_c, 1, 1, act, bn=False, fused_act=True)
    flatten = rng.random() < 0.75
    x = L.Flatten(name=b.name("flatten"))(x) if flatten else L.GlobalAveragePooling2D(name=b.name("gap"))(x)
    n_in, params = int(x.shape[-1]), 0.0
    for i in range(int(rng.integers(1, 4))):
        width = _channels(rng, 2048 if i == 0 and rng.random() < 0.5 else 256, 4096)
        width = int(min(width, 8 * ((MAX_FC_PARAMS - params) / (n_in + 1) // 8)))
        if width < 64:
            break
        x = L.Dense(width, activation=str(rng.choice([act, "relu"])), name=b.name("fc"))(x)
        params += (n_in + 1) * width
        n_in = width
        if rng.random() < 0.5:
            x = L.Dropout(0.5, name=b.name("dropout"))(x)
    x = L.Dense(int(rng.choice([10, 100, 1000])), activation="softmax", name=b.name("head"))(x)
    return keras.Model(inp, x, name=name)


HIRES_RESOLUTIONS = (224, 192, 160, 128, 112)


def _build_hires(keras: Any, name: str, seed: int, size: int | None) -> Any:
    """``synthetic_hires_<seed>``: convolutions at full resolution (large feature maps), few downsamplings."""
    rng, b, inp, x, act = _plain_start(keras, [seed, 20261203], HIRES_RESOLUTIONS, size)
    L = keras.layers
    x = b.conv(x, _channels(rng, 16, 64), int(rng.choice([3, 5, 7])), 1, act, bn=rng.random() < 0.5,
               fused_act=rng.random() < 0.5)
    n_layers, misses = int(rng.integers(3, 8)), 0
    while n_layers > 0 and misses < 6:
        before, hw = b.gflop, b.hw
        kind = str(rng.choice(["conv", "residual", "down"], p=[0.6, 0.2, 0.2]))
        c_in = int(x.shape[-1])
        if kind == "down":
            if b.hw <= 28:
                misses += 1
                continue
            if rng.random() < 0.5:
                pool = L.MaxPooling2D if rng.random() < 0.7 else L.AveragePooling2D
                y = pool(2, strides=2, padding="same", name=b.name("pool"))(x)
                b.hw = int(y.shape[1])
            else:
                y = b.conv(x, _channels(rng, c_in, min(512, 2 * c_in + 8)), 3, 2, act, bn=rng.random() < 0.5)
        elif kind == "residual":  # ResNet's basic block at this resolution
            y = b.conv(x, c_in, 3, 1, act, bn=rng.random() < 0.7)
            y = b.conv(y, c_in, 3, 1, None, bn=rng.random() < 0.7)
            y = b.act(L.Add(name=b.name("add"))([x, y]), act)
        else:
            y = b.conv(x, _channels(rng, 16, 256), int(rng.choice([1, 3, 3, 5])), 1, act, bn=rng.random() < 0.5,
                       fused_act=rng.random() < 0.5)
        if b.gflop > MAX_HIRES_GFLOP:  # over budget: drop the layer (left unconnected) and draw again
            b.gflop, b.hw = before, hw
            misses += 1
            continue
        x, n_layers = y, n_layers - 1
    x = L.GlobalAveragePooling2D(name=b.name("gap"))(x)
    x = L.Dense(int(rng.choice([10, 100, 1000])), activation="softmax", name=b.name("head"))(x)
    return keras.Model(inp, x, name=name)
