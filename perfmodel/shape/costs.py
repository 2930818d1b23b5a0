"""Latency and energy of a built shape: pluggable cost predictors.

A cost predictor is any object with a ``source`` string and ``predict_costs(net) -> dict`` returning
``runtime_s`` (seconds per batch) and ``energy_j`` (joules per batch, or ``None`` when unknown). Two ship:

* :class:`LayerwiseCosts`: the project's layer-wise predictor (:class:`perfmodel.models.layerwise.
  LayerwisePredictor`) loaded from a model file; it sees only the :class:`profiling.spec.NetworkSpec`.
* :class:`MeasuredCosts`: times the Keras model on this CPU (warm-up, then the median of repeats).
  Energy is measured only when a power sensor is given and readable; otherwise it is ``None`` and
  reported as absent, never estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, ModelError
from .generator import BuiltNetwork

__all__ = ["CostPredictor", "MeasuredCosts", "LayerwiseCosts"]


class CostPredictor(Protocol):
    """What :func:`perfmodel.shape.search.shape_search` needs to know a shape's latency and energy."""

    source: str

    def predict_costs(self, net: BuiltNetwork) -> dict[str, float | None]: ...


class MeasuredCosts:
    """Measure inference latency (and energy when ``sensor`` is readable) on this machine.

    Parameters
    ----------
    batch_size : int
        Images per timed call.
    sensor : profiling.sensors.base.PowerSensor, optional
        A power sensor; without one (or when it is unavailable) ``energy_j`` is ``None``.
    policy : profiling.timing.TimingPolicy, optional
        Warm-up and repeat policy (default: ``TimingPolicy.quick()``).
    """

    def __init__(self, batch_size: int = 1, sensor: Any = None, policy: Any = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"the batch size of a measured latency must be a whole number >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.sensor = sensor
        self.policy = policy
        ok, why = (sensor.availability() if sensor is not None else (False, "no power sensor given"))
        self.energy_note = "" if ok else f"energy absent: {why}"
        self._sensor_ok = ok
        self.source = "measured:cpu" + (f"+{sensor.name}" if ok else "")

    def predict_costs(self, net: BuiltNetwork) -> dict[str, float | None]:
        from profiling.timing import TimingPolicy, time_callable

        from ._tf import keras_and_tf

        _, tf = keras_and_tf()
        shape = (self.batch_size, *tuple(int(d) for d in net.model.input_shape[1:]))
        x = tf.constant(np.random.default_rng(0).random(shape, dtype=np.float32))
        fn = tf.function(lambda: net.model(x, training=False))
        res = time_callable(lambda: fn().numpy(), self.policy or TimingPolicy.quick())
        energy = None
        if self._sensor_ok:  # energy per call over a window of >= 0.5 s and >= 5 calls (the sensor's resolution)
            from profiling.sensors.window import UNPLANNED_WINDOW_S, power_window

            energy = power_window(lambda: fn().numpy(), self.sensor, UNPLANNED_WINDOW_S, min_calls=5)["energy_j"]
        return {"runtime_s": res.runtime_s, "energy_j": energy}


class LayerwiseCosts:
    """Predict latency and energy with a fitted layer-wise predictor stored in ``path``.

    Parameters
    ----------
    path : str
        A model file written by ``LayerwisePredictor.save``.
    config : mapping, optional
        The hardware configuration to predict for (knob -> value), passed to ``predict``.
    """

    def __init__(self, path: str, config: Mapping[str, Any] | None = None):
        from perfmodel.models.layerwise import LayerwisePredictor

        self.path = str(path)
        self.config = dict(config or {})
        self.model = LayerwisePredictor.load(self.path)
        self.source = f"predicted:{self.path}"

    def predict_costs(self, net: BuiltNetwork) -> dict[str, float | None]:
        df = self.model.predict(net.spec, [self.config])
        if len(df) == 0:
            raise ModelError(f"{self.path}: the predictor returned no row for {net.shape.label()}")
        # One row per configuration (network totals), or one per layer: sum the layers then.
        sub = df if len(df) > 1 else df.iloc[[0]]
        out: dict[str, float | None] = {}
        for col in ("runtime_s", "energy_j"):
            if col in sub.columns and sub[col].notna().all():
                out[col] = float(sub[col].sum())
            else:
                out[col] = None
        if out["runtime_s"] is None:
            raise ModelError(f"{self.path}: the predictor gave no runtime_s for {net.shape.label()}")
        return out
