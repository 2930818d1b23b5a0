"""Wide-ResNet (Zagoruyko & Komodakis) builder for a :class:`~perfmodel.shape.space.Shape`.

The network is the pre-activation wide ResNet used by Shape_DNN: a 3x3 stem convolution with 16 filters,
three groups of ``n = (depth - 4) / 6`` basic blocks with ``16k, 32k, 64k`` channels (strides 1, 2, 2),
batch-norm + ReLU, global average pooling and a softmax classifier. Fractional widths (Shape_DNN's "thin"
networks) round the channel counts, never below one.

:func:`count_params` gives the exact parameter count from the shape alone, without building the network
(Shape_DNN filters by size before instantiating anything); a test checks it against Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from .space import Shape

__all__ = ["channels", "count_params", "size_bytes", "build_wide_resnet", "BuiltNetwork", "build"]

STEM_FILTERS = 16
GROUP_BASE = (16, 32, 64)
GROUP_STRIDES = (1, 2, 2)


def channels(shape: Shape) -> tuple[int, int, int]:
    """Channels of the three groups: ``round(base * width)``, at least 1."""
    return tuple(max(1, int(round(float(b * shape.width)))) for b in GROUP_BASE)  # type: ignore[return-value]


def _check(shape: Shape) -> None:
    if shape.depth < 10 or (shape.depth - 4) % 6:
        raise ConfigError(f"depth {shape.depth} is not a wide-ResNet depth (6n+4, n>=1)")


def count_params(shape: Shape, input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
                 trainable_only: bool = False) -> int:
    """Exact number of parameters of :func:`build_wide_resnet` for ``shape``.

    Batch-norm moving mean and variance are counted (they are stored with the model) unless
    ``trainable_only``.
    """
    _check(shape)
    bn = 2 if trainable_only else 4
    c_in = int(input_shape[-1])
    total = 9 * c_in * STEM_FILTERS
    c_prev = STEM_FILTERS
    for c, stride in zip(channels(shape), GROUP_STRIDES):
        for b in range(shape.blocks_per_group):
            s = stride if b == 0 else 1
            total += bn * c_prev + 9 * c_prev * c + bn * c + 9 * c * c
            if c_prev != c or s != 1:
                total += c_prev * c  # 1x1 projection shortcut
            c_prev = c
    total += bn * c_prev + c_prev * num_classes + num_classes
    return total


def size_bytes(shape: Shape, input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
               dtype_bytes: int = 4) -> int:
    """Model size in bytes: every stored parameter times its width (float32 by default)."""
    return count_params(shape, input_shape, num_classes) * dtype_bytes


def build_wide_resnet(shape: Shape, input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
                      l2: float = 5e-4, bn_momentum: float = 0.9, name: str | None = None):
    """Build the Keras model of ``shape`` (random weights).

    ``bn_momentum`` is 0.9 rather than Keras's 0.99 because the small data sets used here give only a few
    hundred steps, too few for slow moving averages to settle.
    """
    _check(shape)
    from ._tf import keras_and_tf

    keras, _ = keras_and_tf()
    L = keras.layers
    reg = keras.regularizers.L2(l2) if l2 else None

    def conv(c, k, s=1):
        return L.Conv2D(c, k, strides=s, padding="same", use_bias=False, kernel_regularizer=reg)

    def bn():
        return L.BatchNormalization(momentum=bn_momentum)

    inp = keras.Input(tuple(int(d) for d in input_shape))
    x = conv(STEM_FILTERS, 3)(inp)
    for c, stride in zip(channels(shape), GROUP_STRIDES):
        for b in range(shape.blocks_per_group):
            s = stride if b == 0 else 1
            o = L.Activation("relu")(bn()(x))
            shortcut = x if (x.shape[-1] == c and s == 1) else conv(c, 1, s)(o)
            o = conv(c, 3, s)(o)
            o = L.Activation("relu")(bn()(o))
            o = conv(c, 3)(o)
            x = L.Add()([o, shortcut])
    x = L.Activation("relu")(bn()(x))
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(num_classes, activation="softmax", kernel_regularizer=reg)(x)
    label = name or f"wrn_{shape.depth}_{str(shape.width).replace('/', 'o')}"
    return keras.Model(inp, out, name=label)


class BuiltNetwork:
    """A shape to cost: its Keras model and :class:`profiling.spec.NetworkSpec`, both built on first use.

    Cost predictors that need only the shape (or parameter counts) never start TensorFlow.
    """

    def __init__(self, shape: Shape, input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
                 l2: float = 5e-4, model: Any = None):
        self.shape = shape
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_classes = int(num_classes)
        self.l2 = l2
        self._model = model
        self._spec = None

    @property
    def model(self):
        if self._model is None:
            self._model = build_wide_resnet(self.shape, self.input_shape, self.num_classes, self.l2)
        return self._model

    @property
    def spec(self):
        if self._spec is None:
            from profiling.spec import NetworkSpec

            self._spec = NetworkSpec.from_keras(self.model, name=self.model.name)
        return self._spec

    def __repr__(self) -> str:
        return f"BuiltNetwork({self.shape.label()}, input_shape={self.input_shape})"


def build(shape: Shape, input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
          l2: float = 5e-4) -> BuiltNetwork:
    """Wrap ``shape`` as a :class:`BuiltNetwork` (the Keras model is built when first used)."""
    return BuiltNetwork(shape, input_shape, num_classes, l2)
