"""``perfmodel platform info`` and ``perfmodel platform restore``."""

from __future__ import annotations

import importlib.util
import json

import pytest

from perfmodel.cli import main
from profiling.platforms.base import write_restore_file
from profiling.platforms.fake_jetson import build_fake_jetson, snapshot
from profiling.platforms.jetson import JetsonPlatform


@pytest.fixture
def tx1(tmp_path):
    return build_fake_jetson(tmp_path / "tx1", "tx1", 28)


def test_info_jetson_text(tx1, capsys):
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(tx1)]) == 0
    out = capsys.readouterr().out
    assert "platform: jetson (simulated:jetson)" in out
    assert "board: Jetson TX1" in out and "l4t: R28.2.1" in out
    assert "cpu_freq (hardware, ordinal, 17 levels): {102, 204," in out and "current 1734 MHz" in out
    assert "gpu_freq (hardware, ordinal, 13 levels)" in out and "debugfs clock override" in out
    assert "cores (hardware, integer, 4 levels): {1, 2, 3, 4}; current 4" in out
    assert "batch (software" in out
    assert "ina3221 (power): total=4.800 W, gpu=0.900 W, cpu=0.700 W" in out


def test_info_jetson_json_matches_the_platform(tmp_path, capsys):
    from profiling.campaign import build_executor

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 32)
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    p = JetsonPlatform(root)
    knobs = {k["name"]: k for k in doc["knobs"]}
    # the knobs a campaign varies, as profile --list-knobs gives them: the board's hardware knobs, then the
    # executor's (it listed the platform's own allow_growth and memory_fraction, which every campaign refused)
    assert doc["executor"] == "tensorflow"
    assert list(knobs) == list(build_executor(None, p).space(p).names)
    assert "memory_fraction" not in knobs and knobs["threads"]["how"] == "tensorflow: tf.config intra-op threads"
    for name in ("cpu_freq", "gpu_freq", "emc_freq", "cores"):
        assert tuple(knobs[name]["levels"]) == p.space()[name].levels
        assert knobs[name]["current"] == p.current_values()[name]
    assert doc["sensors"][0]["available"] and set(doc["sensors"][0]["power_w"]) >= {"total", "cpu", "gpu", "ddr"}
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(root), "--executor", "torch",
                 "--json"]) == 0
    knobs = {k["name"]: k for k in json.loads(capsys.readouterr().out)["knobs"]}
    assert {"cuda_graph", "dtype", "cpu_freq"} <= set(knobs) and "xla" not in knobs


def test_info_lists_missing_knobs_and_sensors(tmp_path, capsys):
    root = build_fake_jetson(tmp_path / "nodebug", "tx1", 28, debugfs=False, power="none")
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "gpu_freq: not available: no GPU frequency control found" in out
    assert "emc_freq: not available:" in out and "debugfs is not mounted" in out
    assert "ina3221: not available: no INA3221 rails" in out


def test_info_errors(tmp_path, capsys):
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(tmp_path)]) == 2
    assert "not a Jetson board" in capsys.readouterr().err
    assert main(["platform", "info", "--platform", "cpu", "--sysfs-root", str(tmp_path)]) == 2
    assert "--sysfs-root applies to --platform jetson only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["platform", "info", "--platform", "toaster"])
    assert exc.value.code == 2


@pytest.mark.skipif(importlib.util.find_spec("profiling.platforms.cpu") is None, reason="no CPU platform yet")
def test_info_cpu(capsys):
    assert main(["platform", "info", "--platform", "cpu"]) == 0
    assert "platform: cpu" in capsys.readouterr().out


def test_restore_with_file_and_overridden_root(tx1, tmp_path, capsys):
    p = JetsonPlatform(tx1)
    before = snapshot(tx1)
    path = tmp_path / "crash.json"
    state = p.capture_state(["gpu_freq", "cores"])
    write_restore_file(path, p, state)
    p.apply_state({"gpu_freq": 153600000, "cores": 2})  # a run that died before restoring
    assert snapshot(tx1) != before
    moved = tmp_path / "moved"
    tx1.rename(moved)  # the stored root no longer exists: --sysfs-root points at the tree
    assert main(["platform", "restore", "--restore-file", str(path), "--platform", "cpu"]) == 2
    assert "is for platform 'jetson', not 'cpu'" in capsys.readouterr().err
    assert main(["platform", "restore", "--restore-file", str(path), "--sysfs-root", str(moved)]) == 0
    assert "restored jetson (simulated:jetson)" in capsys.readouterr().out
    assert snapshot(moved) == before and not path.exists()


def test_restore_everything_in_the_folder(tx1, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "restore"
    monkeypatch.setenv("PERFMODEL_RESTORE_DIR", str(folder))
    assert main(["platform", "restore"]) == 0
    assert "nothing to restore" in capsys.readouterr().out
    p = JetsonPlatform(tx1)
    before = snapshot(tx1)
    write_restore_file(p.restore_path(), p, p.capture_state(["cpu_freq"]))
    p.apply_state({"cpu_freq": 204000000})
    assert main(["platform", "restore"]) == 0
    assert "restored jetson" in capsys.readouterr().out
    assert snapshot(tx1) == before and not list(folder.glob("*.json"))
