import time

import pytest

from profiling.errors import SensorUnavailable
from profiling.sensors.base import PowerSampler, PowerSensor
from profiling.sensors.load import LoadMonitor
from profiling.sensors.rapl import RaplSensor


def _fake_rapl(root, energy_uj=1_000_000, readable=True):
    d = root / "intel-rapl:0"
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text("package-0\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text("262143328850\n")
    if not readable:
        (d / "energy_uj").chmod(0)
    return d


def test_rapl_absent_says_why(tmp_path):
    ok, why = RaplSensor(str(tmp_path)).availability()
    assert not ok and "no RAPL domains" in why


def test_rapl_energy_counter_and_sampler(tmp_path):
    d = _fake_rapl(tmp_path)
    sensor = RaplSensor(str(tmp_path))
    assert sensor.availability() == (True, "")
    with PowerSampler(sensor) as sampler:
        (d / "energy_uj").write_text("3000000\n")  # 2 J spent while "working"
        time.sleep(0.05)
    trace = sampler.trace
    assert trace.total_energy_j() == pytest.approx(2.0)
    assert trace.mean_power_w() == pytest.approx(2.0 / trace.duration_s)


def test_rapl_counter_wrap_is_handled(tmp_path):
    d = _fake_rapl(tmp_path, energy_uj=262143328850 - 1_000_000)
    sensor = RaplSensor(str(tmp_path))
    with PowerSampler(sensor) as sampler:
        (d / "energy_uj").write_text("500000\n")
    assert sampler.trace.total_energy_j() == pytest.approx(1.5)


class _Flaky(PowerSensor):
    name = "flaky"

    def __init__(self):
        self.n = 0

    def availability(self):
        return True, ""

    def read_power_w(self):
        self.n += 1
        if self.n % 3 == 0:
            raise OSError("rail vanished")
        return {"total": 5.0}


def test_sampler_records_read_errors_and_integrates_the_rest():
    with PowerSampler(_Flaky(), interval_s=0.005) as sampler:
        time.sleep(0.1)
    trace = sampler.trace
    assert trace.errors and "rail vanished" in trace.errors[0]
    assert trace.mean_power_w() == pytest.approx(5.0)


def test_sampler_refuses_an_absent_sensor(tmp_path):
    with pytest.raises(SensorUnavailable, match="rapl"):
        with PowerSampler(RaplSensor(str(tmp_path))):
            pass


def test_load_monitor_subtracts_own_work(monkeypatch):
    import profiling.sensors.load as load

    clock = iter([100.0, 101.0])
    busy = iter([10.0, 11.5])
    own = iter([2.0, 2.5])
    monkeypatch.setattr(load.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(load, "_busy_s", lambda: next(busy))
    monkeypatch.setattr(load, "_own_s", lambda proc: next(own))
    with LoadMonitor() as mon:
        pass
    assert mon.other_load == pytest.approx(1.0)
