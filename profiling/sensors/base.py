"""Power sensors and the background sampler that integrates energy.

A sensor that is absent says so (:meth:`PowerSensor.availability`); nothing here ever fills a missing
reading with a number.
"""

from __future__ import annotations

import abc
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import SensorUnavailable


class PowerSensor(abc.ABC):
    """Reads instantaneous power (W) of one or more rails, or an energy counter."""

    name: str = "sensor"
    #: True for counters that integrate energy themselves (RAPL, NVML total energy).
    has_energy_counter: bool = False
    #: True for proxies that are not power at all (e.g. cache-miss cycles); outputs say so.
    proxy: bool = False

    @abc.abstractmethod
    def availability(self) -> tuple[bool, str]:
        """``(True, "")`` when readable, else ``(False, why)``."""

    def read_power_w(self) -> dict[str, float]:
        """Instantaneous power per rail in watts."""
        raise SensorUnavailable(f"sensor {self.name} has no instantaneous power reading")

    def read_energy_j(self) -> dict[str, float]:
        """Cumulative energy counter per rail in joules (monotonic except wrap-around)."""
        raise SensorUnavailable(f"sensor {self.name} has no energy counter")

    def energy_wrap_j(self) -> dict[str, float]:
        """Value at which each energy counter wraps (inf when it does not)."""
        return {}


@dataclass(frozen=True)
class PowerTrace:
    """Samples taken while work ran: times (s, monotonic) and power per rail (W)."""

    sensor: str
    t_s: tuple[float, ...]
    power_w: dict[str, tuple[float, ...]]
    energy_j: dict[str, float] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.t_s[-1] - self.t_s[0] if len(self.t_s) > 1 else 0.0

    def mean_power_w(self, rail: str | None = None) -> float | None:
        """Mean power of ``rail`` (default: the total rail, or the sum of rails)."""
        if self.energy_j and self.duration_s > 0:
            e = self.energy_j.get(rail) if rail else _total(self.energy_j)
            return None if e is None else e / self.duration_s
        series = self._series(rail)
        if series is None or len(series) < 2:
            return None
        return float(np.trapezoid(series, self.t_s) / self.duration_s)

    def total_energy_j(self, rail: str | None = None) -> float | None:
        if self.energy_j:
            return self.energy_j.get(rail) if rail else _total(self.energy_j)
        series = self._series(rail)
        if series is None or len(series) < 2:
            return None
        return float(np.trapezoid(series, self.t_s))

    def energy_between_j(self, t0_s: float, t1_s: float, rail: str | None = None,
                         baseline_w: float = 0.0) -> float | None:
        """Energy (J) of ``rail`` between two monotonic times, minus ``baseline_w`` (e.g. idle power).

        Integrates the linearly interpolated power samples over ``[t0_s, t1_s]`` (the per-layer energy
        when ``t0_s``/``t1_s`` bracket a layer). None when the trace holds no power samples or the
        interval lies outside it.
        """
        series = self._series(rail)
        if series is None or len(series) < 2 or t1_s < t0_s:
            return None
        t = np.asarray(self.t_s)
        if t0_s < t[0] - 1e-9 or t1_s > t[-1] + 1e-9:
            return None
        inside = (t > t0_s) & (t < t1_s)
        grid = np.concatenate(([t0_s], t[inside], [t1_s]))
        p = np.interp(grid, t, series) - baseline_w
        return float(np.trapezoid(p, grid))

    def _series(self, rail: str | None) -> np.ndarray | None:
        if not self.power_w:
            return None
        if rail:
            return np.asarray(self.power_w[rail]) if rail in self.power_w else None
        if "total" in self.power_w:
            return np.asarray(self.power_w["total"])
        return np.sum([np.asarray(v) for v in self.power_w.values()], axis=0)


def _total(d: dict[str, float]) -> float:
    return d["total"] if "total" in d else float(sum(d.values()))


class PowerSampler:
    """Samples a sensor at a fixed interval in a background thread while work runs.

    Use as a context manager; :attr:`trace` holds the result afterwards. Sensors with an energy counter
    are read at start and stop (and sampled for power in between).
    """

    def __init__(self, sensor: PowerSensor, interval_s: float = 0.01):
        self.sensor = sensor
        self.interval_s = interval_s
        self.trace: PowerTrace | None = None
        self._stop = threading.Event()
        self._t: list[float] = []
        self._p: dict[str, list[float]] = {}
        self._errors: list[str] = []
        self._e0: dict[str, float] = {}

    def _sample_once(self) -> None:
        try:
            reading = self.sensor.read_power_w()
        except (OSError, SensorUnavailable) as exc:
            self._errors.append(f"{type(exc).__name__}: {exc}")
            return
        self._t.append(time.monotonic())
        for rail, w in reading.items():
            self._p.setdefault(rail, []).append(w)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample_once()

    def __enter__(self) -> PowerSampler:
        ok, why = self.sensor.availability()
        if not ok:
            raise SensorUnavailable(f"{self.sensor.name}: {why}")
        if self.sensor.has_energy_counter:
            self._e0 = self.sensor.read_energy_j()
            self._t0 = time.monotonic()
        else:
            self._sample_once()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        energy: dict[str, float] = {}
        if self.sensor.has_energy_counter:
            t1 = time.monotonic()
            try:
                e1 = self.sensor.read_energy_j()
                wraps = self.sensor.energy_wrap_j()
                for rail, v0 in self._e0.items():
                    d = e1.get(rail, v0) - v0
                    if d < 0:  # counter wrapped once
                        d += wraps.get(rail, float("inf"))
                    energy[rail] = d
            except (OSError, SensorUnavailable) as err:
                self._errors.append(f"{type(err).__name__}: {err}")
            self._t = [self._t0, t1]
        else:
            self._stop.set()
            self._thread.join()
            self._sample_once()
        self.trace = PowerTrace(self.sensor.name, tuple(self._t), {k: tuple(v) for k, v in self._p.items()},
                                energy, tuple(self._errors))


# ------------------------------------------------------------------------------ stability and idle
@dataclass(frozen=True)
class StableReading:
    """Result of :func:`wait_until_stable`: mean power of the last window and whether it settled."""

    sensor: str
    stable: bool
    power_w: dict[str, float]
    n_samples: int
    elapsed_s: float
    rel_spread: float


def wait_until_stable(sensor: PowerSensor, *, interval_s: float = 0.05, window: int = 10,
                      rel_tol: float = 0.02, timeout_s: float = 30.0, rail: str | None = None,
                      clock=time.monotonic, sleep=time.sleep) -> StableReading:
    """Sample ``sensor`` at a fixed rate until the readings are stable or ``timeout_s`` passes.

    Readings are stable when the last ``window`` samples of ``rail`` (default: ``total``, else the sum of
    the rails) have a relative standard deviation (std / mean) at most ``rel_tol``. This is the
    "record power until it stabilises or a time-out is reached" rule of Shape_DNN.

    Returns
    -------
    StableReading
        ``stable`` is False after a time-out; ``power_w`` is then the mean of the last window anyway
        (labelled unstable, never silently used as stable).
    """
    if window < 2:
        raise ValueError("window must be at least 2 samples")
    ok, why = sensor.availability()
    if not ok:
        raise SensorUnavailable(f"{sensor.name}: {why}")
    start = clock()
    samples: list[dict[str, float]] = []
    spread = float("inf")
    while True:
        samples.append(sensor.read_power_w())
        last = samples[-window:]
        if len(last) == window:
            x = np.array([_pick(s, rail) for s in last])
            mean = float(np.mean(x))
            spread = float(np.std(x, ddof=1) / abs(mean)) if mean != 0 else float("inf")
            if spread <= rel_tol:
                return StableReading(sensor.name, True, _mean_rails(last), len(samples), clock() - start, spread)
        if clock() - start >= timeout_s:
            return StableReading(sensor.name, False, _mean_rails(last), len(samples), clock() - start, spread)
        sleep(interval_s)


def idle_baseline(sensor: PowerSensor, *, duration_s: float = 2.0, interval_s: float = 0.05,
                  settle: bool = True, **stable_kwargs) -> StableReading:
    """Idle power per rail: wait until readings settle (optional), then average over ``duration_s``.

    Call it with nothing else running on the machine; subtract the result from traces with
    :meth:`PowerTrace.energy_between_j` (``baseline_w``) to get the dynamic energy of the work.
    """
    settled = wait_until_stable(sensor, interval_s=interval_s, **stable_kwargs) if settle else None
    with PowerSampler(sensor, interval_s=interval_s) as sampler:
        time.sleep(duration_s)
    trace = sampler.trace
    assert trace is not None
    means = {rail: trace.mean_power_w(rail) for rail in (trace.power_w or trace.energy_j)}
    power = {k: float(v) for k, v in means.items() if v is not None}
    if not power:
        raise SensorUnavailable(f"{sensor.name}: no idle power samples ({'; '.join(trace.errors) or 'none taken'})")
    stable = settled.stable if settled is not None else True
    n = len(trace.t_s)
    spread = settled.rel_spread if settled is not None else float("nan")
    return StableReading(sensor.name, stable, power, n, trace.duration_s, spread)


def _pick(reading: dict[str, float], rail: str | None) -> float:
    if rail is not None:
        if rail not in reading:
            raise SensorUnavailable(f"no rail {rail!r}; rails: {', '.join(reading)}")
        return reading[rail]
    return _total(reading)


def _mean_rails(samples: list[dict[str, float]]) -> dict[str, float]:
    rails = samples[-1].keys()
    return {r: float(np.mean([s[r] for s in samples if r in s])) for r in rails}
