"""INA3221 rails (iio and hwmon styles), stability rule, idle baseline and per-interval energy."""

from __future__ import annotations

import time

import numpy as np
import pytest

from profiling.errors import SensorUnavailable
from profiling.platforms.fake_jetson import build_fake_jetson, set_rail_power
from profiling.sensors.base import PowerSampler, PowerSensor, PowerTrace, idle_baseline, wait_until_stable
from profiling.sensors.ina3221 import Ina3221Sensor, discover_rails

IIO = "sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0"


def test_iio_rails_in_watts(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 28)
    s = Ina3221Sensor(root)
    assert s.availability() == (True, "")
    # the simulated board holds 4800, 900, 700 mW on VDD_IN, VDD_GPU, VDD_CPU
    assert s.read_power_w() == pytest.approx({"total": 4.8, "gpu": 0.9, "cpu": 0.7})
    set_rail_power(root, "VDD_GPU", 2500)
    assert s.read_power_w()["gpu"] == pytest.approx(2.5)
    assert s.describe()["gpu"] == "VDD_GPU (iio 1-0040)"


def test_hwmon_rails_from_voltage_and_current(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 32, power="hwmon")
    rails = discover_rails(root)
    assert {r.style for r in rails} == {"hwmon"}
    got = Ina3221Sensor(root).read_power_w()
    assert got == pytest.approx({"total": 4.8, "gpu": 0.9, "cpu": 0.7}, rel=1e-3)
    hw = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
    assert float((hw / "in1_input").read_text()) * float((hw / "curr1_input").read_text()) / 1e6 == \
        pytest.approx(got["total"])


def test_hwmon_power_file_is_microwatts(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 32, power="hwmon")
    hw = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"
    (hw / "power1_input").write_text("6250000\n")  # 6.25 W in uW
    assert Ina3221Sensor(root).read_power_w()["total"] == pytest.approx(6.25)


def test_tx2_two_monitors_and_role_names(tmp_path):
    root = build_fake_jetson(tmp_path, "tx2", 32)
    names = [r.name for r in discover_rails(root)]
    assert sorted(names) == sorted(["gpu", "soc", "vdd_4v0_wifi", "total", "cpu", "ddr"])
    assert Ina3221Sensor(root, rails=("total", "ddr")).read_power_w() == pytest.approx({"total": 3.9, "ddr": 0.6})
    with pytest.raises(SensorUnavailable, match="no rail 'vdd_in'"):
        Ina3221Sensor(root, rails=("vdd_in",))


def test_disabled_channel_skipped(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 28)
    (root / IIO / "rail_name_2").write_text("NC\n")
    assert set(Ina3221Sensor(root).read_power_w()) == {"total", "gpu"}


def test_no_monitor_is_not_available(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 28, power="none")
    ok, why = Ina3221Sensor(root).availability()
    assert not ok and "no INA3221 rails" in why
    with pytest.raises(SensorUnavailable):
        PowerSampler(Ina3221Sensor(root)).__enter__()


def test_rail_disappearing_mid_run_is_reported_not_filled(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 28)
    s = Ina3221Sensor(root)
    with PowerSampler(s, interval_s=0.005) as sampler:
        time.sleep(0.03)
        (root / IIO / "in_power1_input").unlink()
        time.sleep(0.03)
    trace = sampler.trace
    assert trace.errors and "in_power1_input disappeared" in trace.errors[-1]
    assert len(trace.t_s) == len(trace.power_w["total"])  # no made-up sample for the failed reads
    with pytest.raises(SensorUnavailable, match="disappeared"):
        s.read_power_w()
    (root / IIO / "in_power0_input").write_text("garbage\n")
    with pytest.raises(SensorUnavailable, match="not a number"):
        s.read_power_w()


class _Scripted(PowerSensor):
    name = "scripted"

    def __init__(self, values):
        self.values = list(values)
        self.i = 0

    def availability(self):
        return True, ""

    def read_power_w(self):
        v = self.values[min(self.i, len(self.values) - 1)]
        self.i += 1
        return {"total": v, "gpu": v / 2}


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, dt):
        self.t += dt


def test_wait_until_stable_settles_after_warmup():
    clock = _Clock()
    values = [10, 8, 6, 5.5, 5.2] + [5.0, 5.01, 4.99] * 10
    r = wait_until_stable(_Scripted(values), interval_s=0.1, window=4, rel_tol=0.01, timeout_s=100,
                          clock=clock, sleep=clock.sleep)
    assert r.stable and r.power_w["total"] == pytest.approx(5.0, abs=0.02)
    assert r.n_samples > 5  # the warm-up readings were not accepted
    assert np.std(values[r.n_samples - 4:r.n_samples], ddof=1) / 5.0 <= 0.01


def test_wait_until_stable_times_out_labelled_unstable():
    clock = _Clock()
    values = [1, 5] * 100
    r = wait_until_stable(_Scripted(values), interval_s=0.1, window=4, rel_tol=0.01, timeout_s=2.0,
                          clock=clock, sleep=clock.sleep)
    assert not r.stable and r.elapsed_s >= 2.0 and r.rel_spread > 0.01


def test_idle_baseline_on_simulated_board(tmp_path):
    root = build_fake_jetson(tmp_path, "tx1", 28)
    base = idle_baseline(Ina3221Sensor(root), duration_s=0.05, interval_s=0.01, timeout_s=1.0, window=3)
    assert base.stable
    assert base.power_w == pytest.approx({"total": 4.8, "gpu": 0.9, "cpu": 0.7})


def test_energy_between_matches_the_integral():
    t = tuple(np.linspace(0.0, 1.0, 11))
    ramp = PowerTrace("x", t, {"total": tuple(2.0 + 4.0 * np.asarray(t))})  # P(t) = 2 + 4t
    # integral of 2 + 4t over [0.25, 0.8] = 2*0.55 + 2*(0.64 - 0.0625)
    assert ramp.energy_between_j(0.25, 0.8) == pytest.approx(1.1 + 1.155)
    assert ramp.energy_between_j(0.25, 0.8, baseline_w=2.0) == pytest.approx(1.155)
    assert ramp.energy_between_j(0.0, 1.0) == pytest.approx(ramp.total_energy_j())
    assert ramp.energy_between_j(-0.1, 0.5) is None
