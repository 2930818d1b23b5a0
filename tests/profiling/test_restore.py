"""The board is left as found: exceptions, SIGINT, SIGTERM, and a restore file after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from perfmodel.cli import main
from profiling.errors import PlatformError
from profiling.platforms.base import read_restore_file, restore_from_file, write_restore_file
from profiling.platforms.fake_jetson import build_fake_jetson, snapshot
from profiling.platforms.jetson import JetsonPlatform

REPO = Path(__file__).resolve().parents[2]
GBUS = "sys/kernel/debug/clock/override.gbus"
CONFIG = {"cpu_freq": 204000000, "gpu_freq": 153600000, "emc_freq": 204000000, "cores": 1}

HOLDER = """
import sys, time
from profiling.platforms.jetson import JetsonPlatform
root, restore = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
p = JetsonPlatform(root, restore_file=restore)
with p.applied({cfg!r}):
    print("READY", flush=True)
    time.sleep(60)
print("UNREACHED", flush=True)
""".format(cfg=CONFIG)


@pytest.fixture
def tree(tmp_path):
    return build_fake_jetson(tmp_path / "tx1", "tx1", 28)


def _sigint_as_from_a_terminal() -> None:
    """The holder gets SIGINT as a terminal delivers it, even when the test run inherited it ignored (a shell's
    background job ignores SIGINT, its children with it, and ``applied`` rightly leaves an ignored signal
    ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _hold(root: Path, restore: Path | None, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), str(restore) if restore else ""],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            preexec_fn=_sigint_as_from_a_terminal)
    line = proc.stdout.readline().strip()
    if line != "READY":
        proc.kill()
        raise AssertionError(f"holder did not start: {line!r} {proc.stderr.read()[-2000:]}")
    return proc


def _applied_state_visible(root: Path) -> bool:
    return (root / f"{GBUS}/state").read_text().strip() == "1" and \
        (root / "sys/devices/system/cpu/cpu1/online").read_text().strip() == "0"


def test_exception_inside_applied_restores_and_propagates(tree, tmp_path):
    before = snapshot(tree)
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    with pytest.raises(ZeroDivisionError):
        with p.applied(CONFIG):
            assert _applied_state_visible(tree)
            1 / 0
    assert snapshot(tree) == before and not (tmp_path / "r.json").exists()


def test_restore_file_holds_the_state_found(tree, tmp_path):
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    with p.applied(CONFIG):
        doc = read_restore_file(tmp_path / "r.json")
        assert doc["platform"] == "jetson" and doc["init"]["sysfs_root"] == str(tree.resolve())
        saved = dict(map(tuple, doc["state"]["files"]))
        assert saved[f"{GBUS}/state"] == "0" and saved["sys/devices/system/cpu/cpu1/online"] == "1"
        assert doc["pid"] == os.getpid()


def test_pending_restore_file_blocks_a_new_run(tree, tmp_path):
    path = tmp_path / "r.json"
    p = JetsonPlatform(tree, restore_file=path)
    write_restore_file(path, p, {"files": []})
    before = snapshot(tree)
    with pytest.raises(PlatformError, match="restore file from an earlier or concurrent run"):
        with p.applied(CONFIG):
            pass
    assert snapshot(tree) == before and path.exists()


def test_pending_restore_file_error_names_the_file_and_the_cli_says_how(tree, tmp_path, monkeypatch, capsys):
    """The library's message names no command or flag (it carries the file); the CLI adds how to restore it."""
    folder = tmp_path / "restore-dir"
    monkeypatch.setenv("PERFMODEL_RESTORE_DIR", str(folder))
    p = JetsonPlatform(tree)
    write_restore_file(p.restore_path(), p, {"files": []})
    with pytest.raises(PlatformError) as err:
        with p.applied(CONFIG):
            pass
    assert err.value.restore_file == str(p.restore_path()) and "--" not in str(err.value)
    assert "perfmodel" not in str(err.value)
    rc = main(["profile", "--platform", "jetson", "--sysfs-root", str(tree), "--network", "tiny_dense",
               "--level", "network", "--config", "cores=1", "--store", str(tmp_path / "s.sqlite"), "--no-power",
               "--no-progress"])
    msg = capsys.readouterr().err
    assert rc == 2 and msg.count("\n") == 1
    assert f"run 'perfmodel platform restore --restore-file {p.restore_path()}'" in msg


def test_failed_restore_error_names_the_file_and_no_flag(tree, tmp_path, monkeypatch):
    from profiling.errors import RestoreError

    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")

    def broken(state):
        raise OSError("read-only file system")

    monkeypatch.setattr(p, "restore_state", broken)
    with pytest.raises(RestoreError) as err:
        with p.applied(CONFIG):
            pass
    assert err.value.restore_file == str(tmp_path / "r.json") and "--" not in str(err.value)
    assert (tmp_path / "r.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_restores_then_ends_the_process(tree, tmp_path, sig):
    before = snapshot(tree)
    restore = tmp_path / "r.json"
    proc = _hold(tree, restore)
    try:
        assert _applied_state_visible(tree) and restore.exists()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "UNREACHED" not in out
    if sig == signal.SIGTERM:
        assert proc.returncode == -signal.SIGTERM  # re-delivered to the default handler
    else:
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert snapshot(tree) == before and not restore.exists()


def test_sigkill_leaves_a_restore_file_that_puts_the_board_back(tree, tmp_path):
    before = snapshot(tree)
    restore = tmp_path / "r.json"
    proc = _hold(tree, restore)
    proc.kill()
    proc.wait(timeout=30)
    assert _applied_state_visible(tree) and restore.exists()
    platform = restore_from_file(restore)
    assert isinstance(platform, JetsonPlatform) and platform.source == "simulated:jetson"
    assert snapshot(tree) == before and not restore.exists()


def test_sigkill_then_cli_restore_from_default_folder(tree, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "restore-dir"
    monkeypatch.setenv("PERFMODEL_RESTORE_DIR", str(folder))
    before = snapshot(tree)
    proc = _hold(tree, None, {"PERFMODEL_RESTORE_DIR": str(folder)})
    proc.kill()
    proc.wait(timeout=30)
    files = list(folder.glob("jetson-*.json"))
    assert len(files) == 1 and snapshot(tree) != before
    assert main(["platform", "restore", "--platform", "jetson", "--sysfs-root", str(tree)]) == 0
    assert "restored jetson" in capsys.readouterr().out
    assert snapshot(tree) == before and not files[0].exists()
    assert main(["platform", "restore", "--platform", "jetson", "--sysfs-root", str(tree)]) == 0
    assert "nothing to restore" in capsys.readouterr().out


def test_applied_in_a_worker_thread_still_restores(tree, tmp_path):
    before = snapshot(tree)
    handler = signal.getsignal(signal.SIGINT)  # the default handler, or SIG_IGN in a background job
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    seen = []

    def work():
        with p.applied(CONFIG):
            seen.append(_applied_state_visible(tree))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [True] and snapshot(tree) == before
    assert signal.getsignal(signal.SIGINT) is handler  # a worker thread installs no handler


def test_handlers_are_put_back_after_applied(tree, tmp_path):
    old_int, old_term = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    with p.applied(CONFIG):
        assert signal.getsignal(signal.SIGTERM) is not old_term
    assert signal.getsignal(signal.SIGINT) is old_int and signal.getsignal(signal.SIGTERM) is old_term


def test_bad_restore_files(tmp_path, tree):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PlatformError, match="cannot be read"):
        restore_from_file(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(PlatformError, match="not a perfmodel restore file"):
        restore_from_file(bad)
    doc = {"format": "perfmodel.RestoreState", "version": 1, "platform": "toaster", "init": {}, "state": {}}
    bad.write_text(json.dumps(doc))
    with pytest.raises(PlatformError, match="unknown platform 'toaster'"):
        restore_from_file(bad)
    assert bad.exists()  # never removed unless the restore succeeded
    with pytest.raises(PlatformError, match="no restore file"):
        restore_from_file(tmp_path / "missing.json")


def test_signal_during_restore_waits_for_the_restore(tree, tmp_path, monkeypatch):
    """A SIGTERM arriving while the state is being put back does not cut the restore short."""
    before = snapshot(tree)
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    real_restore = p.restore_state
    caught = []

    def slow_restore(state):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here and must not raise
        real_restore(state)

    monkeypatch.setattr(p, "restore_state", slow_restore)
    old = signal.signal(signal.SIGTERM, lambda s, f: caught.append(s))
    try:
        with pytest.raises(SystemExit):
            with p.applied(CONFIG):
                pass
    finally:
        signal.signal(signal.SIGTERM, old)
    assert caught == [signal.SIGTERM]  # re-delivered to the previous handler after the restore
    assert snapshot(tree) == before


def test_software_only_platform_applies_without_restore_file(tmp_path, monkeypatch):
    from profiling.platforms.base import Platform
    from profiling.space import ConfigSpace, Ordinal

    monkeypatch.setenv("PERFMODEL_RESTORE_DIR", str(tmp_path))

    class Soft(Platform):
        name = "soft"

        def space(self):
            return ConfigSpace((Ordinal("batch", values=(1, 2)),))

        def describe(self):
            return {}

    with Soft().applied({"batch": 2}) as cfg:
        assert cfg == {"batch": 2} and not list(tmp_path.iterdir())
    with pytest.raises(Exception, match="batch"):
        with Soft().applied({"batch": 3}):
            pass


def test_restore_with_the_wrong_platform_is_refused(tree, tmp_path):
    p = JetsonPlatform(tree, restore_file=tmp_path / "r.json")
    write_restore_file(tmp_path / "r.json", p, {"files": []})
    doc = json.loads((tmp_path / "r.json").read_text())
    doc["platform"] = "nvml"
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(PlatformError, match="is for platform 'nvml', not 'jetson'"):
        restore_from_file(tmp_path / "r.json", platform=p)
    with pytest.raises(PlatformError, match="is for platform 'nvml'"):
        p.restore_from_file()
    assert (tmp_path / "r.json").exists()
