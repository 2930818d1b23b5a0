"""Measurement faults: hang -> timeout, memory -> oom, crash -> recorded; the campaign goes on.

Faults are injected from the tests, never by production code: the real worker
(:mod:`profiling.executors.tf_worker`) runs with ``tests/reliability/fault_injection`` first on its
``PYTHONPATH``, where a test-only ``tensorflow`` package hangs, grows its memory, aborts or raises (as named
by ``PERFMODEL_TEST_FAULT``) when the worker imports TensorFlow for its job; so these tests are fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from perfmodel.cli import main
from profiling.campaign import run_campaign
from profiling.executors.tf_executor import Job, run_job
from profiling.executors.tf_worker import _with_power
from profiling.platforms.cpu import CpuPlatform
from profiling.sensors.base import PowerSensor
from profiling.store import CampaignStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_injection")


def fault_env(kind: str, base=None) -> dict[str, str]:
    """An environment whose TensorFlow worker fails with ``kind`` (hang, oom, crash, error)."""
    env = dict(os.environ if base is None else base)
    env["PERFMODEL_TEST_FAULT"] = kind
    env["PYTHONPATH"] = os.pathsep.join([FAULTS, ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def inject(monkeypatch, kind: str) -> None:
    """Workers started by this process from now on fail with ``kind``."""
    for k, v in fault_env(kind).items():
        if os.environ.get(k) != v:
            monkeypatch.setenv(k, v)
JOB = Job("tiny_dense", {"threads": 1, "batch": 1}, ("whole",), None, {}, 0, None)


def _gone(pid: int, within_s: float = 20.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_hanging_worker_is_killed_at_its_timeout(monkeypatch):
    inject(monkeypatch, "hang")
    t0 = time.monotonic()
    res = run_job(JOB, timeout_s=1.5)
    assert res["status"] == "failed" and res["reason"].startswith("timeout")
    assert 1.5 <= time.monotonic() - t0 < 60  # killed at its timeout, not waited for (60: a busy machine)


def test_worker_over_memory_limit_is_recorded_as_oom(monkeypatch):
    inject(monkeypatch, "oom")
    res = run_job(JOB, timeout_s=30, memory_limit_gb=0.25)
    assert res["status"] == "failed" and res["reason"].startswith("oom"), res


@pytest.mark.parametrize("fault, words", [("crash", "crash: worker exited"), ("error", "crash: RuntimeError")])
def test_crashing_worker_is_recorded(monkeypatch, fault, words):
    inject(monkeypatch, fault)
    res = run_job(JOB, timeout_s=30)
    assert res["status"] == "failed" and res["reason"].startswith(words), res


def _fake_ok(job, timeout_s=0.0, memory_limit_gb=None):
    return {"status": "ok", "rows": [{"view": "whole", "level": "network", "runtime_s": 1e-3}],
            "note": "fake runner (test)"}


def test_campaign_goes_on_after_faults_and_records_them(tmp_path, monkeypatch):
    faults = {1: "hang", 2: "oom", 4: "crash", 8: None}

    def runner(job, timeout_s, memory_limit_gb):
        fault = faults[job.config["batch"]]
        if fault is None:
            return _fake_ok(job)
        with monkeypatch.context() as m:
            inject(m, fault)
            # the campaign's short timeout is for the hanging job; the others get time to reach their fault
            # however busy the machine (the worker imports numpy first)
            return run_job(job, timeout_s=timeout_s if fault == "hang" else 120, memory_limit_gb=memory_limit_gb)

    import profiling.campaign as campaign

    monkeypatch.setattr(campaign, "other_load_now", lambda *a, **k: 0.0)
    configs = [{"threads": 1, "batch": b} for b in faults]
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as st:
        summary = run_campaign(st, networks=["tiny_dense"], configs=configs, level="network", timeout_s=1.5,
                               memory_limit_gb=0.25, runner=runner)
    assert summary.measured == 1 and summary.failed == 3
    assert summary.failures == {"timeout": 1, "oom": 1, "crash": 1}
    text = "\n".join(summary.lines())
    for reason in ("timeout", "oom", "crash"):
        assert f"failed x1: {reason}" in text
    with CampaignStore(path, readonly=True) as st:
        jobs = {int(__import__("json").loads(j["config"])["batch"]): j for j in st.jobs()}
        df = st.to_frame()
    assert jobs[1]["reason"].startswith("timeout") and jobs[2]["reason"].startswith("oom")
    assert jobs[4]["reason"].startswith("crash") and jobs[8]["status"] == "ok"
    # Failed jobs are in the exported table with their configuration.
    failed = df[df["status"] == "failed"]
    assert sorted(failed["batch"].astype(int)) == [1, 2, 4]


def test_profile_cli_prints_failure_summary_by_reason(tmp_path, monkeypatch, capsys):
    inject(monkeypatch, "crash")
    import profiling.campaign as campaign

    monkeypatch.setattr(campaign, "other_load_now", lambda *a, **k: 0.0)
    rc = main(["profile", "--network", "tiny_dense", "--level", "network", "--config", "threads=1",
               "--config", "threads=1,batch=2", "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "failed: 2" in out and "failed x2: crash" in out
    # Re-running skips the failed jobs unless asked; --retry-failed measures them again.
    rc = main(["profile", "--network", "tiny_dense", "--level", "network", "--config", "threads=1",
               "--config", "threads=1,batch=2", "--store", str(tmp_path / "s.sqlite"), "--no-progress"])
    assert "already stored (skipped): 2" in capsys.readouterr().out


class _FlakySensor(PowerSensor):
    """A fake energy counter that fails on its second read (as a sysfs read error would)."""

    name = "flaky"
    has_energy_counter = True

    def __init__(self):
        self.reads = 0

    def availability(self):
        return True, ""

    def read_energy_j(self):
        self.reads += 1
        if self.reads > 1:
            raise OSError(5, "Input/output error")
        return {"total": 1.0}


def test_sensor_read_error_is_recorded_and_measurement_kept():
    class Timing:
        repeats, runtime_s = 3, 0.01

    timing, power = _with_power(_FlakySensor(), lambda: Timing(), lambda: None, 0.05)
    assert timing.runtime_s == 0.01
    assert power["power_w"] is None and power["energy_j"] is None
    assert "Input/output error" in power["sensor_error"]


def _default_sigint() -> None:
    """SIGINT as a terminal delivers it, even when the test run inherited it ignored (a shell's background job
    ignores SIGINT, and its children with it: Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


WORKER_PARENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from profiling.executors.tf_executor import Job, run_job
    run_job(Job("tiny_dense", {{"threads": 1}}, ("whole",), None, {{}}, 0, None), timeout_s=120)
""")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_worker_ends_when_its_campaign_process_dies(sig):
    env = fault_env("hang")
    parent = subprocess.Popen([sys.executable, "-c", WORKER_PARENT.format(root=ROOT)], env=env,
                              stderr=subprocess.DEVNULL, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 20
        kids = []
        while not kids and time.monotonic() < deadline:
            kids = psutil.Process(parent.pid).children(recursive=True)
            time.sleep(0.1)
        assert kids, "worker did not start"
        time.sleep(0.5)
        parent.send_signal(sig)
        parent.wait(timeout=20)
        assert all(_gone(k.pid) for k in kids), "an orphan worker kept running after its parent died"
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_sigint_and_sigterm_leave_cpu_platform_and_store_usable(tmp_path, sig):
    """The CPU platform writes no machine state (affinity is per worker); after a signal the store opens
    and the campaign resumes."""
    before = os.sched_getaffinity(0)
    path = tmp_path / "s.sqlite"
    env = fault_env("hang", {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    proc = subprocess.Popen([sys.executable, "-m", "perfmodel", "profile", "--network", "tiny_dense",
                             "--level", "network", "--config", "cores=1", "--store", str(path),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 30
    kids = []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        kids = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.1)
    assert kids, "worker did not start"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert all(_gone(k.pid) for k in kids)
    with CampaignStore(path, readonly=True) as st:
        assert st.jobs() == []  # the interrupted job was not stored as done
    with CampaignStore(path):
        pass  # lock released
    assert os.sched_getaffinity(0) == before
    assert CpuPlatform().space().validate({"cores": 1})


def test_no_fault_hook_in_production_code():
    """No environment variable makes a user's worker hang or allocate memory: the package reads none."""
    for folder in ("profiling", "perfmodel"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                        text = fh.read()
                    assert "PERFMODEL_FAULT" not in text and "PERFMODEL_TEST_FAULT" not in text, name


@pytest.mark.tf
def test_fault_injection_reaches_only_the_worker():
    """Another process started with the fault environment (the campaign's) imports the real TensorFlow."""
    proc = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(tf.constant(2).numpy() * 21)"],
                          env=fault_env("hang"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.split()[-1] == "42", proc.stderr[-500:]
