"""NVML sensor and platform against a stand-in ``pynvml`` module (no GPU needed)."""

from __future__ import annotations

import sys

import pytest
from _nvml_fake import fake_pynvml, nvml  # noqa: F401  (nvml: the fixture, shared with test_pipeline.py)

from profiling.errors import PlatformError
from profiling.sensors.base import PowerSampler
from profiling.sensors.nvml import NvmlSensor, reset_nvml_state


def test_absent_package_is_not_available(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    reset_nvml_state()
    ok, why = NvmlSensor().availability()
    assert not ok and "nvidia-ml-py package is not installed" in why
    from profiling.platforms.nvml import NvmlPlatform

    with pytest.raises(PlatformError, match="NVML not available"):
        NvmlPlatform()


def test_driver_missing_and_bad_index(nvml):
    nvml(init_error="Driver Not Loaded")
    ok, why = NvmlSensor().availability()
    assert not ok and "Driver Not Loaded" in why
    nvml(count=1)
    ok, why = NvmlSensor(index=3).availability()
    assert not ok and "no NVIDIA GPU with index 3" in why


def test_power_and_energy_counter(nvml):
    mod = nvml()
    s = NvmlSensor()
    assert s.availability() == (True, "") and s.has_energy_counter
    assert s.read_power_w() == {"gpu0": pytest.approx(71.5)}
    with PowerSampler(s) as sampler:
        pass
    assert sampler.trace.energy_j["gpu0"] == pytest.approx(2.5)  # difference of two counter reads
    mod.state.power_mw = 120_000
    assert s.read_power_w()["gpu0"] == pytest.approx(120.0)


def test_pre_volta_gpu_samples_power(nvml):
    nvml(energy=False)
    s = NvmlSensor()
    assert s.availability() == (True, "") and not s.has_energy_counter
    with PowerSampler(s, interval_s=0.005) as sampler:
        pass
    assert sampler.trace.power_w["gpu0"][0] == pytest.approx(71.5)


def test_platform_application_clocks_apply_and_restore(nvml, tmp_path):
    mod = nvml()
    from profiling.platforms.nvml import NvmlPlatform

    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    assert p.clock_method == "application"
    space = p.space()
    assert space["gpu_freq"].levels == tuple(f * 10**6 for f in (600, 1200, 1290, 1380))
    assert space["mem_freq"].levels == (405 * 10**6, 877 * 10**6)
    assert p.current_values() == {"gpu_freq": 1380 * 10**6, "mem_freq": 877 * 10**6}
    with p.applied({"gpu_freq": 1200 * 10**6, "batch": 8}) as cfg:
        assert mod.state.app == (1200, 877) and (tmp_path / "r.json").exists()
        assert cfg["mem_freq"] == 877 * 10**6 and cfg["batch"] == 8
    assert mod.state.app == (1380, 877) and not (tmp_path / "r.json").exists()
    with pytest.raises(PlatformError, match="not supported with memory clock 405"):
        with p.applied({"gpu_freq": 1200 * 10**6, "mem_freq": 405 * 10**6}):
            pass
    assert mod.state.app == (1380, 877)
    d = p.describe()
    assert d["model"] == "Simulated GPU" and d["cuda_driver"] == "12.4" and d["power_limit_w"] == 400.0
    assert p.memory()["total_bytes"] == 80 * 2**30


def test_clocks_the_gpu_ignores_are_an_error(nvml, tmp_path):
    nvml(ignore_set=True)
    from profiling.platforms.nvml import NvmlPlatform

    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    with pytest.raises(PlatformError, match="rejected application clocks 877/600 MHz"):
        with p.applied({"gpu_freq": 600 * 10**6}):
            pass


def test_restricted_clocks_are_not_settable(nvml, monkeypatch, tmp_path):
    nvml(restricted=True)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    from profiling.platforms.nvml import NvmlPlatform

    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    assert p.clock_method is None and p.hardware_knobs() == ()
    assert "not settable" in p.unavailable_knobs()["gpu_freq"]
    assert "gpu_freq" not in p.space()
    with pytest.raises(PlatformError, match="gpu_freq.*not settable"):
        with p.applied({"gpu_freq": 1200 * 10**6}):
            pass
    with p.applied({"batch": 2}) as cfg:  # software knobs still work
        assert cfg == {"cudnn_benchmark": False, "batch": 2}


def test_locked_clocks_as_root_without_application_clocks(nvml, monkeypatch, tmp_path):
    mod = nvml(app_clocks=False)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    from profiling.platforms.nvml import NvmlPlatform

    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    assert p.clock_method == "locked"
    with p.applied({"gpu_freq": 1290 * 10**6}):
        assert mod.state.calls[-1] == ("lock", 1290, 1290)
    assert mod.state.calls[-1] == ("unlock",)


def test_cli_info_nvml(nvml, capsys):
    nvml()
    from perfmodel.cli import main

    assert main(["platform", "info", "--platform", "nvml"]) == 0
    out = capsys.readouterr().out
    assert "platform: nvml (measured:nvml)" in out
    assert "gpu_freq (hardware, ordinal, 4 levels): {600, 1200, 1290, 1380} MHz; current 1380 MHz" in out
    assert "nvml (energy counter + power): gpu0=71.500 W" in out


def test_cli_info_nvml_when_its_executor_cannot_run_here(nvml, monkeypatch, capsys):
    # an NVML GPU beside a CPU build of torch: the knobs of the platform, said to be its own, and why
    import profiling.campaign
    from perfmodel.cli import main
    from profiling.errors import PlatformError

    nvml()

    def no_cuda(name, platform, **kw):
        raise PlatformError("device 'cuda:0' requested but torch sees no CUDA GPU")

    monkeypatch.setattr(profiling.campaign, "build_executor", no_cuda)
    assert main(["platform", "info", "--platform", "nvml"]) == 0
    out = capsys.readouterr().out
    assert ("knobs (the platform's own; its executor is unavailable here: device 'cuda:0' requested but torch sees "
            "no CUDA GPU):") in out
    assert "gpu_freq (hardware, ordinal, 4 levels): {600, 1200, 1290, 1380} MHz; current 1380 MHz" in out
    assert main(["platform", "info", "--platform", "nvml", "--executor", "torch"]) == 2  # asked for: an error
    assert "torch sees no CUDA GPU" in capsys.readouterr().err


def test_cli_info_without_nvml(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    reset_nvml_state()
    from perfmodel.cli import main

    assert main(["platform", "info", "--platform", "nvml"]) == 2
    assert "NVML not available" in capsys.readouterr().err


def test_power_limit_is_a_knob_only_as_root_and_is_restored(nvml, monkeypatch, tmp_path):
    from _nvml_fake import add_power_limit

    from profiling.platforms.nvml import NvmlPlatform

    mod = add_power_limit(nvml())
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    assert "power_limit" not in p.space() and "root" in p.unavailable_knobs()["power_limit"]
    with pytest.raises(PlatformError, match="power_limit.*root"):
        with p.applied({"power_limit": 400}):
            pass
    assert mod.state.calls == []
    monkeypatch.setattr("os.geteuid", lambda: 0)
    p = NvmlPlatform(restore_file=tmp_path / "r.json")
    assert p.space()["power_limit"].levels == (100, 250, 400, 550, 700)
    assert "power_limit" in p.hardware_knobs()
    with p.applied({"power_limit": 250}) as cfg:
        assert mod.state.limit_mw == 250_000 and cfg["power_limit"] == 250
        assert mod.state.app == (1380, 877)  # clocks not named: untouched
    assert mod.state.limit_mw == 700_000 and not (tmp_path / "r.json").exists()
    with pytest.raises(RuntimeError):
        with p.applied({"power_limit": 100}):
            raise RuntimeError("the job failed")
    assert mod.state.limit_mw == 700_000
