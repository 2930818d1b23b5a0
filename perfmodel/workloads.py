"""Two small inference workloads whose data ship with installed packages (nothing is downloaded).

* ``digits``: scikit-learn's 8x8 handwritten digits (1797 images), resized to ``size x size`` with
  :func:`scipy.ndimage.zoom`, classified by a small 2-D CNN.
* ``co2``: statsmodels' weekly Mauna Loa CO2 series (1958-2001, gaps interpolated), cut into sliding
  windows, forecast one step ahead by a small 1-D CNN.

The DSE course brief asks for two workloads of different kinds (image and time series); these are
the inputs whose inference a campaign measures. The Keras models are untrained (random weights): runtime
and energy of inference do not depend on the weights' values. Keras is imported only by ``build_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import DataError

__all__ = ["Workload", "digits_images", "co2_windows", "digits_workload", "co2_workload", "load_workload",
           "WORKLOADS"]


@dataclass(frozen=True)
class Workload:
    """Inputs and a model builder for one workload.

    Attributes
    ----------
    name : str
    kind : str
        ``"image"`` or ``"time-series"``.
    x : numpy.ndarray
        Model inputs, float32, batch first.
    y : numpy.ndarray
        Targets (class labels or next values), for reference.
    source : str
        Where the data come from (package and dataset).
    builder : callable
        ``builder(input_shape) -> keras.Model``; use :meth:`build_model`.
    """

    name: str
    kind: str
    x: np.ndarray
    y: np.ndarray
    source: str
    builder: Callable

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def build_model(self):
        """A fresh, untrained Keras model for this workload's inputs."""
        return self.builder(self.input_shape)

    def batches(self, batch_size: int):
        """Yield the inputs in batches of ``batch_size`` (the last one may be smaller)."""
        if batch_size < 1:
            raise DataError(f"batch size must be >= 1, not {batch_size}")
        for i in range(0, len(self.x), batch_size):
            yield self.x[i:i + batch_size]


def digits_images(size: int = 32, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn digits resized to ``size x size``: (images ``[n, size, size, 1]`` in [0, 1], labels)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    if size < 8:
        raise DataError(f"image size must be >= 8 (the digits are 8x8), not {size}")
    d = load_digits()
    images = d.images[:n] if n else d.images
    x = zoom(images / 16.0, (1, size / 8, size / 8), order=1)
    return np.clip(x, 0, 1).astype(np.float32)[..., None], d.target[: len(images)].astype(np.int64)


def co2_series():
    """Weekly CO2 concentration (ppm) from :mod:`statsmodels.datasets`, gaps linearly interpolated."""
    from statsmodels.datasets import co2

    s = co2.load_pandas().data["co2"]
    return s.interpolate(limit_direction="both")


def co2_windows(window: int = 64, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standardised sliding windows of the CO2 series: (``[n, window, 1]`` inputs, next values)."""
    values = co2_series().to_numpy(dtype=np.float64)
    if not 2 <= window < len(values):
        raise DataError(f"window must be between 2 and {len(values) - 1}, not {window}")
    z = (values - values.mean()) / values.std()
    windows = np.lib.stride_tricks.sliding_window_view(z[:-1], window)
    targets = z[window:]
    if n:
        windows, targets = windows[:n], targets[:n]
    return windows.astype(np.float32)[..., None], targets.astype(np.float32)


def _digits_cnn(input_shape):
    import keras

    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="fc1"),
        keras.layers.Dense(10, activation="softmax", name="fc2"),
    ], name="digits_cnn")


def _co2_cnn(input_shape):
    import keras

    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv1D(16, 5, activation="relu", padding="causal", name="conv1"),
        keras.layers.MaxPooling1D(2, name="pool1"),
        keras.layers.Conv1D(32, 5, activation="relu", padding="causal", name="conv2"),
        keras.layers.GlobalAveragePooling1D(name="gap"),
        keras.layers.Dense(32, activation="relu", name="fc1"),
        keras.layers.Dense(1, name="out"),
    ], name="co2_cnn1d")


def digits_workload(size: int = 32, n: int | None = 256) -> Workload:
    """Image workload: resized digits and a small 2-D CNN."""
    x, y = digits_images(size, n)
    return Workload("digits", "image", x, y, "sklearn.datasets.load_digits (resized)", _digits_cnn)


def co2_workload(window: int = 64, n: int | None = 256) -> Workload:
    """Time-series workload: CO2 windows and a small 1-D CNN."""
    x, y = co2_windows(window, n)
    return Workload("co2", "time-series", x, y, "statsmodels.datasets.co2 (weekly, interpolated)", _co2_cnn)


WORKLOADS = {"digits": digits_workload, "co2": co2_workload}


def load_workload(name: str, **kwargs) -> Workload:
    """The workload called ``name`` (``digits`` or ``co2``)."""
    if name not in WORKLOADS:
        raise DataError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    return WORKLOADS[name](**kwargs)
