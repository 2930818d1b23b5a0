"""Real, small training runs: wide ResNets on scikit-learn's digits (8x8 grey images, 10 classes).

The digits ship with scikit-learn, so the whole Shape_DNN loop runs offline on a laptop CPU in minutes.
``image_size > 8`` upsamples the images (nearest neighbour) when bigger feature maps are wanted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .space import Shape

__all__ = ["load_digits_split", "DigitsTrainer"]


def _check_image_size(image_size: int) -> None:
    if image_size < 8 or image_size % 8:
        raise ConfigError(f"image size must be a multiple of 8 (digits are 8x8), got {image_size}")


def load_digits_split(image_size: int = 8, test_size: float = 0.25, seed: int = 0):
    """``(X_train, y_train, X_test, y_test)``: digits as NHWC float32 in [0, 1], stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    _check_image_size(image_size)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
    r = image_size // 8
    if r > 1:
        X = X.repeat(r, axis=1).repeat(r, axis=2)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


@dataclass
class DigitsTrainer:
    """Train a shape on digits and return its test accuracy (``__call__(shape) -> dict``).

    Results are cached per shape, so a shape trained for the accuracy model is not trained again when it
    is verified.
    """

    epochs: int = 6
    batch_size: int = 32
    image_size: int = 8
    learning_rate: float = 3e-3
    l2: float = 5e-4
    seed: int = 0
    cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch size must be >= 1")
        _check_image_size(self.image_size)  # before the search starts, not at its first training
        self._data = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, 1)

    def data(self):
        if self._data is None:
            self._data = load_digits_split(self.image_size, seed=self.seed)
        return self._data

    def __call__(self, shape: Shape) -> dict:
        if shape in self.cache:
            return {**self.cache[shape], "cached": True}
        from ._tf import keras_and_tf
        from .generator import build_wide_resnet

        keras, _ = keras_and_tf()
        Xtr, ytr, Xte, yte = self.data()
        keras.utils.set_random_seed(self.seed)
        model = build_wide_resnet(shape, self.input_shape, 10, l2=self.l2)
        model.compile(keras.optimizers.Adam(self.learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        t0 = time.perf_counter()
        model.fit(Xtr, ytr, epochs=self.epochs, batch_size=self.batch_size, verbose=0)
        train_s = time.perf_counter() - t0
        _, acc = model.evaluate(Xte, yte, verbose=0, batch_size=256)
        out = {"accuracy": float(acc), "train_time_s": train_s, "epochs": self.epochs}
        self.cache[shape] = out
        return {**out, "cached": False}
