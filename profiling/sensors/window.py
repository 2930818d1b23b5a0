"""Power windows sized from the sensor: NeuralPower-style power per layer and per network.

A layer is far shorter than a sensor's resolution (the NVML energy counter of an H200 advances every
0.10 s; an INA3221 rail is read every few milliseconds), so its power is measured by running it back to
back for a *window* long enough for the sensor: at least ``min_steps`` (10) counter steps for a sensor
with an energy counter, or ``min_steps`` samples for a sampled one. The step is measured once, when the
plan is made (:func:`plan_power`), together with an idle baseline taken over one window with nothing
running. Each measured row then carries ``power_w`` (mean power over its window, idle included),
``energy_j`` (energy per call: window energy / calls), and in ``extra`` the window (``power_window_s``,
``power_calls``, ``power_steps``) and the baseline (``idle_power_w``), so that dynamic power is
``power_w - idle_power_w``.

Sensors are rebuilt in other processes (the TensorFlow worker) from a short reference string
(:func:`sensor_ref`, :func:`sensor_from_ref`): ``rapl[:ROOT]``, ``ina3221:ROOT``, ``nvml:INDEX``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import SensorUnavailable
from .base import PowerSampler, PowerSensor

#: Interval at which sampled sensors (no energy counter) are read while a window runs.
SAMPLE_INTERVAL_S = 0.01
MIN_STEPS = 10
#: Window of a measurement made without a plan (no measured step: a tool timing one network, not a campaign).
UNPLANNED_WINDOW_S = 0.5


@dataclass(frozen=True)
class PowerPlan:
    """How power is measured for a campaign: the sensor, its measured step, the window and the idle baseline.

    ``ref`` rebuilds the sensor in a worker process (:func:`sensor_from_ref`).
    """

    sensor: PowerSensor
    ref: str
    step_s: float
    window_s: float
    idle_power_w: float | None
    counter: bool

    def describe(self) -> dict[str, Any]:
        return {"sensor": self.sensor.name, "ref": self.ref, "step_s": self.step_s, "window_s": self.window_s,
                "idle_power_w": self.idle_power_w, "counter": self.counter}

    def to_json(self) -> dict[str, Any]:
        """What a worker process needs (the sensor as its reference)."""
        return {"ref": self.ref, "step_s": self.step_s, "window_s": self.window_s,
                "idle_power_w": self.idle_power_w, "counter": self.counter}


def sensor_ref(sensor: PowerSensor) -> str:
    """The reference string of a sensor (see :func:`sensor_from_ref`)."""
    name = sensor.name
    if name == "rapl":
        return f"rapl:{getattr(sensor, 'root', '/sys/class/powercap')}"
    if name == "ina3221":
        return f"ina3221:{sensor.sysfs_root}"  # type: ignore[attr-defined]
    if name == "nvml":
        return f"nvml:{sensor.index}"  # type: ignore[attr-defined]
    raise SensorUnavailable(f"sensor {name!r} cannot be rebuilt in a worker process")


def sensor_from_ref(ref: str) -> PowerSensor:
    """Rebuild a sensor from :func:`sensor_ref`'s string."""
    kind, _, arg = ref.partition(":")
    if kind == "rapl":
        from .rapl import RaplSensor

        return RaplSensor(arg or "/sys/class/powercap")
    if kind == "ina3221":
        from .ina3221 import Ina3221Sensor

        return Ina3221Sensor(arg or "/")
    if kind == "nvml":
        from .nvml import NvmlSensor

        return NvmlSensor(int(arg or 0))
    raise SensorUnavailable(f"unknown sensor reference {ref!r}")


def measure_step(sensor: PowerSensor, *, changes: int = 3, timeout_s: float = 3.0, poll_s: float = 0.001,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> float:
    """The sensor's step in seconds: the median time between changes of its energy counter.

    A sampled sensor (no counter) has the step of the sampler, :data:`SAMPLE_INTERVAL_S`. Raises
    :class:`SensorUnavailable` when a counter does not advance ``changes`` times within ``timeout_s``.
    """
    ok, why = sensor.availability()
    if not ok:
        raise SensorUnavailable(f"{sensor.name}: {why}")
    if not sensor.has_energy_counter:
        return SAMPLE_INTERVAL_S
    last = _total(sensor.read_energy_j())
    start = clock()
    times: list[float] = []
    while len(times) < changes + 1:
        now = clock()
        if now - start > timeout_s:
            raise SensorUnavailable(f"{sensor.name}: the energy counter advanced {len(times)} times in "
                                    f"{timeout_s:g} s; cannot size a power window")
        value = _total(sensor.read_energy_j())
        if value != last:
            times.append(now)
            last = value
        else:
            sleep(poll_s)
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    return max(gaps[len(gaps) // 2], poll_s)


def plan_power(sensor: PowerSensor, ref: str | None = None, *, min_steps: int = MIN_STEPS,
               min_window_s: float = 0.05, idle: bool = True) -> PowerPlan:
    """Measure the sensor's step and idle power, and size the window (``max(min_steps * step, min_window_s)``).

    The idle baseline is the mean power over one window with this process idle (call it before the work).
    """
    step = measure_step(sensor)
    window = max(min_steps * step, min_window_s)
    idle_w = idle_power_w(sensor, window) if idle else None
    return PowerPlan(sensor, ref or sensor_ref(sensor), step, window, idle_w, bool(sensor.has_energy_counter))


def idle_power_w(sensor: PowerSensor, window_s: float) -> float | None:
    """Mean power (W) over ``window_s`` with this process idle (``None`` when the sensor gave no reading)."""
    with PowerSampler(sensor, interval_s=SAMPLE_INTERVAL_S) as sampler:
        time.sleep(window_s)
    trace = sampler.trace
    return trace.mean_power_w() if trace is not None else None


def power_window(fn: Callable[[], Any], sensor: PowerSensor, window_s: float, *, step_s: float | None = None,
                 idle_power_w: float | None = None, sync: Callable[[], Any] | None = None,
                 min_calls: int = 3) -> dict[str, Any]:
    """Run ``fn`` back to back for at least ``window_s`` (and ``min_calls`` calls) under the sensor; the row's
    power values. The one measurement of energy per call (window energy / calls) in the project: the executors,
    the Shape_DNN search's measured costs and the PowerML tuner's sensor energy all come here.

    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before the window opens and before it closes, so
    queued work is inside it. Returns ``power_w``, ``energy_j`` (per call), ``power_window_s``,
    ``power_calls``, ``power_steps`` and ``idle_power_w``; ``power_w``/``energy_j`` are None (with
    ``sensor_error``) when the sensor gave no reading: never filled in.
    """
    if sync is not None:
        sync()
    calls = 0
    with PowerSampler(sensor, interval_s=SAMPLE_INTERVAL_S) as sampler:
        t0 = time.perf_counter()
        while True:
            fn()
            calls += 1
            if calls >= min_calls and time.perf_counter() - t0 >= window_s:
                break
        if sync is not None:
            sync()
        elapsed = time.perf_counter() - t0
    trace = sampler.trace
    power = trace.mean_power_w() if trace is not None else None
    if trace is not None and trace.energy_j:
        energy = trace.total_energy_j()     # an energy counter, read just before and just after the calls
    else:
        # sampled power: the window's energy is its mean power x its length (the samples start before the
        # window opens and end after the sampling thread has stopped, later still on a busy machine)
        energy = power * elapsed if power is not None else None
    out: dict[str, Any] = {"power_w": power, "energy_j": energy / calls if energy is not None else None,
                           "power_window_s": elapsed, "power_calls": calls,
                           "power_steps": elapsed / step_s if step_s else None, "idle_power_w": idle_power_w}
    if trace is not None and trace.errors:
        out["sensor_error"] = trace.errors[0][:200]
    return out


def _total(d: dict[str, float]) -> float:
    return d["total"] if "total" in d else float(sum(d.values()))
