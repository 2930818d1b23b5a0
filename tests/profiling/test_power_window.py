"""Power windows sized from the sensor's measured step, with an idle baseline (profiling.sensors.window)."""

from __future__ import annotations

import time

import pytest

from profiling.errors import SensorUnavailable
from profiling.sensors.base import PowerSensor
from profiling.sensors.window import (MIN_STEPS, SAMPLE_INTERVAL_S, plan_power, power_window, measure_step,
                                      sensor_from_ref, sensor_ref)


class SteppedCounter(PowerSensor):
    """An energy counter that advances by ``joules`` every ``step_s`` of a simulated clock."""

    name = "stepped"
    has_energy_counter = True

    def __init__(self, step_s: float, joules: float = 1.0):
        self.step_s, self.joules, self.now = step_s, joules, 0.0

    def availability(self):
        return True, ""

    def clock(self):
        return self.now

    def sleep(self, s):
        self.now += s

    def read_energy_j(self):
        return {"gpu0": self.joules * int(self.now / self.step_s)}


class Flat(PowerSensor):
    """A sampled sensor reading a fixed power."""

    name = "flat"

    def __init__(self, watts: float):
        self.watts = watts

    def availability(self):
        return True, ""

    def read_power_w(self):
        return {"total": self.watts}


@pytest.mark.parametrize("step", [0.1, 0.02])
def test_counter_step_is_measured(step):
    s = SteppedCounter(step)
    assert measure_step(s, clock=s.clock, sleep=s.sleep, poll_s=0.001) == pytest.approx(step, rel=0.05)


def test_a_counter_that_never_moves_is_reported():
    s = SteppedCounter(1e9)
    with pytest.raises(SensorUnavailable, match="advanced 0 times"):
        measure_step(s, clock=s.clock, sleep=s.sleep, timeout_s=0.5)


def test_window_holds_ten_steps_or_ten_samples():
    plan = plan_power(Flat(3.0), "flat", idle=True)
    assert plan.step_s == SAMPLE_INTERVAL_S and plan.window_s >= MIN_STEPS * SAMPLE_INTERVAL_S
    assert plan.idle_power_w == pytest.approx(3.0) and not plan.counter


def test_power_window_runs_back_to_back_and_gives_energy_per_call():
    calls = []
    out = power_window(lambda: calls.append(1), Flat(5.0), 0.05, step_s=0.01, idle_power_w=2.0)
    assert out["power_calls"] == len(calls) >= 3 and out["power_window_s"] >= 0.05
    assert out["power_w"] == pytest.approx(5.0)
    # energy per call: mean power x window / calls
    assert out["energy_j"] == pytest.approx(5.0 * out["power_window_s"] / len(calls), rel=1e-9)
    assert out["idle_power_w"] == 2.0 and out["power_steps"] >= 5


class SlowAfter(Flat):
    """5 W; every reading after ``after_s`` takes 0.2 s (a sampler that stops late, as on a busy machine)."""

    def __init__(self, watts: float, after_s: float):
        super().__init__(watts)
        self.end = time.monotonic() + after_s

    def read_power_w(self):
        if time.monotonic() > self.end:
            time.sleep(0.2)
        return super().read_power_w()


def test_energy_per_call_is_the_windows_not_the_traces_when_the_sampler_stops_late():
    calls = []
    out = power_window(lambda: calls.append(1), SlowAfter(5.0, 0.05), 0.03, step_s=0.01)
    # the trace runs at least 0.2 s past the window; energy per call is still mean power x window / calls
    assert out["power_w"] == pytest.approx(5.0)
    assert out["energy_j"] == pytest.approx(5.0 * out["power_window_s"] / len(calls), rel=1e-9)


def test_sensor_refs_rebuild_the_sensor(tmp_path):
    from profiling.platforms.fake_jetson import build_fake_jetson
    from profiling.sensors.ina3221 import Ina3221Sensor

    root = build_fake_jetson(tmp_path / "t", "tx1", 28)
    ref = sensor_ref(Ina3221Sensor(root))
    again = sensor_from_ref(ref)
    assert isinstance(again, Ina3221Sensor) and again.read_power_w()["total"] == pytest.approx(4.8)
    with pytest.raises(SensorUnavailable, match="unknown sensor reference"):
        sensor_from_ref("thermometer:1")


class WorkCounter(PowerSensor):
    """An energy counter driven by the work itself: each call of :meth:`work` adds ``joules``."""

    name = "work"
    has_energy_counter = True

    def __init__(self, joules: float):
        self.joules, self.total = joules, 0.0

    def availability(self):
        return True, ""

    def work(self):
        self.total += self.joules

    def read_energy_j(self):
        return {"total": self.total}


def test_energy_per_call_is_the_windows_energy_over_its_calls():
    sensor = WorkCounter(0.25)
    out = power_window(sensor.work, sensor, 0.02, min_calls=4)
    assert out["power_calls"] >= 4 and out["energy_j"] == pytest.approx(0.25)
    one = power_window(sensor.work, sensor, 0.0, min_calls=1)  # a single call: its whole energy
    assert one["power_calls"] == 1 and one["energy_j"] == pytest.approx(0.25)


def test_idle_power_is_the_mean_over_one_window():
    from profiling.sensors.window import idle_power_w

    assert idle_power_w(Flat(4.0), 0.05) == pytest.approx(4.0)
    assert idle_power_w(WorkCounter(1.0), 0.02) == 0.0  # nothing ran: the counter did not move
