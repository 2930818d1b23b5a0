"""Jetson platform against simulated sysfs trees (TX1 on L4T 28 and 32, TX2, Xavier)."""

from __future__ import annotations

import builtins
import errno
import os

import pytest

from profiling.errors import ConfigError, PlatformError
from profiling.platforms.fake_jetson import BOARDS, build_fake_jetson, snapshot
from profiling.platforms.jetson import JetsonPlatform, parse_rates

CPU0 = "sys/devices/system/cpu/cpu0/cpufreq"
POL0 = "sys/devices/system/cpu/cpufreq/policy0"
QUIET = "sys/devices/system/cpu/cpuquiet/tegra_cpuquiet/enable"
GBUS = "sys/kernel/debug/clock/override.gbus"
TX1_DEVFREQ = "sys/devices/57000000.gpu/devfreq/57000000.gpu"

CASES = [("tx1", 28), ("tx1", 32), ("tx2", 28), ("tx2", 32), ("xavier", 32)]


def make(tmp_path, board="tx1", l4t=28, **kw):
    root = build_fake_jetson(tmp_path / f"{board}-{l4t}", board, l4t, **kw)
    return root, JetsonPlatform(root, restore_file=tmp_path / "restore" / f"{board}-{l4t}.json")


def read(root, rel):
    return (root / rel).read_text().strip()


@pytest.mark.parametrize("board,l4t", CASES)
def test_detects_board_and_levels(tmp_path, board, l4t):
    root, p = make(tmp_path, board, l4t)
    chip, ncpu, cpu_khz, gpu_hz, emc_khz, _, _ = BOARDS[board]
    assert p.chip_id == chip and p.board.lower() == board
    assert p.l4t[0] == l4t
    assert p.source == "simulated:jetson"
    space = p.space()
    assert space.names == ("cpu_freq", "cores", "gpu_freq", "emc_freq", "allow_growth", "memory_fraction", "batch")
    assert space["cpu_freq"].levels == tuple(k * 1000 for k in cpu_khz)
    assert space["gpu_freq"].levels == tuple(gpu_hz)
    assert space["emc_freq"].levels == tuple(k * 1000 for k in emc_khz)
    assert space["cores"].levels == tuple(range(1, ncpu + 1))
    assert p.unavailable_knobs() == {}
    d = p.describe()
    assert d["soc"] == {0x21: "tegra210", 0x18: "tegra186", 0x19: "tegra194"}[chip]
    assert d["l4t"].startswith(f"R{l4t}.") and d["source"] == "simulated:jetson"


@pytest.mark.parametrize("board,l4t", CASES)
def test_apply_writes_expected_files_and_restores(tmp_path, board, l4t):
    root, p = make(tmp_path, board, l4t)
    before = snapshot(root, include_views=True)
    before_no_views = snapshot(root)
    space = p.space()
    cpu, gpu, emc = space["cpu_freq"].levels[1], space["gpu_freq"].levels[1], space["emc_freq"].levels[2]
    with p.applied({"cpu_freq": cpu, "gpu_freq": gpu, "emc_freq": emc, "cores": 2}) as cfg:
        assert (cfg["cpu_freq"], cfg["gpu_freq"], cfg["emc_freq"], cfg["cores"]) == (cpu, gpu, emc, 2)
        assert p.restore_path().exists()
        pol = CPU0 if (board, l4t) == ("tx1", 28) else POL0
        assert read(root, f"{pol}/scaling_governor") == "userspace"
        assert read(root, f"{pol}/scaling_setspeed") == str(cpu // 1000)
        online = sorted(root.glob("sys/devices/system/cpu/cpu*/online"))
        assert [f.read_text().strip() for f in online].count("1") == 1  # cpu0 + one more = 2 cores
        if board == "tx1":
            assert read(root, QUIET) == "0"
        if (board, l4t) == ("tx1", 28):
            assert read(root, f"{GBUS}/rate") == str(gpu) and read(root, f"{GBUS}/state") == "1"
            assert read(root, "sys/kernel/debug/clock/override.emc/rate") == str(emc)
        else:
            devfreq = BOARDS[board][5]
            assert read(root, f"{devfreq}/min_freq") == read(root, f"{devfreq}/max_freq") == str(gpu)
        if (board, l4t) == ("tx1", 32):
            assert read(root, "sys/kernel/debug/clk/override.emc/clk_update_rate") == str(emc)
            assert read(root, "sys/kernel/debug/clk/override.emc/clk_state") == "1"
        if board in ("tx2", "xavier"):
            assert read(root, "sys/kernel/debug/bpmp/debug/clk/emc/rate") == str(emc)
            assert read(root, "sys/kernel/debug/bpmp/debug/clk/emc/mrq_rate_locked") == "1"
    after = snapshot(root, include_views=True)
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {k for k in before if k.endswith("scaling_setspeed")}  # kernel view (see KERNEL_VIEWS)
    assert snapshot(root) == before_no_views and not p.restore_path().exists()


def test_tx2_sets_every_cpufreq_policy(tmp_path):
    root, p = make(tmp_path, "tx2", 28)
    f = p.space()["cpu_freq"].levels[3]
    with p.applied({"cpu_freq": f}):
        for pol in ("policy0", "policy1"):
            assert read(root, f"sys/devices/system/cpu/cpufreq/{pol}/scaling_setspeed") == str(f // 1000)


def test_restores_setspeed_when_userspace_was_the_governor(tmp_path):
    root, p = make(tmp_path)
    (root / f"{CPU0}/scaling_governor").write_text("userspace\n")
    (root / f"{CPU0}/scaling_setspeed").write_text("921600\n")
    before = snapshot(root, include_views=True)
    with p.applied({"cpu_freq": 204000000}):
        assert read(root, f"{CPU0}/scaling_setspeed") == "204000"
    assert snapshot(root, include_views=True) == before


def test_min_max_mode_without_userspace_governor(tmp_path):
    root, p = make(tmp_path)
    (root / f"{CPU0}/scaling_available_governors").write_text("interactive performance\n")
    p = JetsonPlatform(root, restore_file=tmp_path / "r.json")
    assert "scaling_min_freq = scaling_max_freq" in p.knob_notes()["cpu_freq"]
    before = snapshot(root)
    with p.applied({"cpu_freq": 518400000}):
        assert read(root, f"{CPU0}/scaling_min_freq") == read(root, f"{CPU0}/scaling_max_freq") == "518400"
        assert read(root, f"{CPU0}/scaling_governor") == "interactive"
    assert snapshot(root) == before


def test_knobs_not_given_are_left_alone(tmp_path):
    root, p = make(tmp_path)
    before = snapshot(root)
    with p.applied({"cpu_freq": 204000000, "batch": 4}) as cfg:
        now = snapshot(root)
        touched = {k for k in before if before[k] != now[k]}
        assert touched == {f"{CPU0}/scaling_governor"}  # (+ setspeed, a kernel view)
        assert cfg["gpu_freq"] == int(read(root, "sys/kernel/debug/clock/gbus/rate"))  # current, not a default
        assert cfg["cores"] == 4 and cfg["batch"] == 4
    assert snapshot(root) == before


def test_software_only_config_writes_nothing(tmp_path):
    root, p = make(tmp_path)
    before = snapshot(root)
    with p.applied({"batch": 8, "allow_growth": True}) as cfg:
        assert not p.restore_path().exists()
        assert snapshot(root) == before and cfg["allow_growth"] is True
    assert snapshot(root) == before


def test_frequency_not_in_list_is_config_error_and_nothing_written(tmp_path):
    root, p = make(tmp_path)
    before = snapshot(root)
    with pytest.raises(ConfigError, match="gpu_freq"):
        with p.applied({"gpu_freq": 123456789}):
            pass
    with pytest.raises(ConfigError, match="cores"):
        with p.applied({"cores": 5}):
            pass
    assert snapshot(root) == before and not p.restore_path().exists()


def test_missing_debugfs_reports_knobs_not_available(tmp_path):
    root, p = make(tmp_path, debugfs=False)
    missing = p.unavailable_knobs()
    assert set(missing) == {"gpu_freq", "emc_freq"}
    assert "debugfs" in missing["emc_freq"]
    assert "gpu_freq" not in p.space()
    with pytest.raises(PlatformError, match="emc_freq.*not available"):
        with p.applied({"emc_freq": 1600000000}):
            pass


def test_no_cpuquiet_and_no_hotplug(tmp_path):
    root, p = make(tmp_path, "tx1", 32, cpuquiet=False)
    with p.applied({"cores": 1}):
        assert not (root / QUIET).exists()
    for i in (1, 2, 3):
        (root / f"sys/devices/system/cpu/cpu{i}/online").unlink()
    p = JetsonPlatform(root, restore_file=tmp_path / "r.json")
    assert "cores" in p.unavailable_knobs() and "cpuN/online" in p.unavailable_knobs()["cores"]


def test_value_the_board_ignores_is_an_error_naming_the_file(tmp_path):
    root, p = make(tmp_path)
    state = root / f"{GBUS}/state"
    state.unlink()
    state.symlink_to(os.devnull)  # accepts every write, reads back nothing
    before = snapshot(root)
    with pytest.raises(PlatformError, match=r"override\.gbus/state rejected '1'"):
        with p.applied({"cpu_freq": 204000000, "gpu_freq": 153600000}):
            pytest.fail("the block must not run")
    assert snapshot(root) == before  # what was written before the refusal is back
    assert not p.restore_path().exists()


def _refuse_open(monkeypatch, target, exc):
    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode and os.fspath(file).endswith(target):
            raise exc
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_no_permission_is_an_error_naming_the_file(tmp_path, monkeypatch):
    root, p = make(tmp_path)
    before = snapshot(root)
    _refuse_open(monkeypatch, "override.emc/state", PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(PlatformError, match=r"no permission to write .*override\.emc/state"):
        with p.applied({"cpu_freq": 204000000, "emc_freq": 204000000}):
            pass
    monkeypatch.undo()
    assert snapshot(root) == before


def test_kernel_error_is_an_error_naming_the_file(tmp_path, monkeypatch):
    root, p = make(tmp_path, "tx2", 32)
    devfreq = BOARDS["tx2"][5]
    _refuse_open(monkeypatch, f"{devfreq}/min_freq", OSError(errno.EINVAL, "Invalid argument"))
    with pytest.raises(PlatformError, match=r"min_freq rejected '497250000': Invalid argument"):
        with p.applied({"gpu_freq": 497250000}):
            pass


def test_only_detected_files_are_written(tmp_path):
    root, p = make(tmp_path)
    (root / "sys/kernel/other").write_text("0\n")
    with pytest.raises(PlatformError, match="refusing to write"):
        p._write("sys/kernel/other", "1")
    with pytest.raises(PlatformError, match="not a file this platform controls"):
        p.restore_state({"files": [["sys/kernel/other", "1"], [f"{GBUS}/rate", "5"]]})
    assert read(root, "sys/kernel/other") == "0" and read(root, f"{GBUS}/rate") == "0"


def test_chip_detection_fallbacks_and_errors(tmp_path):
    root, _ = make(tmp_path, "tx2", 32)
    (root / "sys/module/tegra_fuse/parameters/tegra_chip_id").unlink()
    assert JetsonPlatform(root).board == "TX2"  # from device-tree compatible
    (root / "sys/devices/soc0").mkdir(parents=True)
    (root / "sys/devices/soc0/soc_id").write_text("0x21\n")
    assert JetsonPlatform(root).board == "TX1"
    (root / "sys/devices/soc0/soc_id").write_text("64\n")
    with pytest.raises(PlatformError, match="unsupported Tegra chip id 0x40"):
        JetsonPlatform(root)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PlatformError, match="not a Jetson board"):
        JetsonPlatform(empty)


def test_power_rails_by_board(tmp_path):
    root, p = make(tmp_path, "tx2", 28)
    reading = p.sensors()[0].read_power_w()
    assert {"total", "cpu", "gpu", "ddr", "soc"} <= set(reading)
    assert reading["total"] == pytest.approx(3.9) and reading["ddr"] == pytest.approx(0.6)


def test_parse_rates_units():
    assert parse_rates("76800 153600 (kHz)") == (76800000, 153600000)
    assert parse_rates("1 2 (MHz)") == (1000000, 2000000)
    assert parse_rates("300 100 200") == (100, 200, 300)
    with pytest.raises(PlatformError):
        parse_rates("fast slow")
