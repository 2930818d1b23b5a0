"""What the fleet tests run on their workers: a FAKE, fast runner for the TensorFlow executor (rows labelled
``fake``), and a local fleet of ``dask scheduler`` + ``dask worker`` processes, each worker posing as a Jetson
board with its own simulated sysfs tree (``simulated:jetson``) and restore folder.

The runner writes ``start-<pid>-<n>.json`` into ``$PERFMODEL_TEST_MARKERS`` when a job starts (so a test
knows which worker is mid-job), then sleeps ``$PERFMODEL_TEST_JOB_S`` seconds (the measurement).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

_N = itertools.count()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def _board_setspeed() -> str | None:
    """The CPU frequency (kHz) the board's simulated tree runs at now (TX1, L4T 28: cpu0's setspeed)."""
    board = os.environ.get("PERFMODEL_BOARD_PLATFORM", "")
    if not board.startswith("jetson:"):
        return None
    path = os.path.join(board.partition(":")[2], "sys/devices/system/cpu/cpu0/cpufreq/scaling_setspeed")
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def runner(job, timeout_s=0.0, memory_limit_gb=None):
    markers = os.environ.get("PERFMODEL_TEST_MARKERS")
    if markers:
        path = os.path.join(markers, f"start-{os.getpid()}-{next(_N)}.json")
        with open(path + ".tmp", "w") as fh:
            json.dump({"pid": os.getpid(), "network": job.network, "config": dict(job.config),
                       "setspeed": _board_setspeed()}, fh)
        os.replace(path + ".tmp", path)
    time.sleep(float(os.environ.get("PERFMODEL_TEST_JOB_S", "0.1")))
    batch = int(job.config.get("batch", 1))
    rows = [{"view": "whole", "level": "network", "runtime_s": 1e-3 * batch, "runtime_s_mean": 1e-3 * batch,
             "repeats": 5, "converged": True, "other_load": 0.0, "runner": "fake"}]
    return {"status": "ok", "rows": rows, "note": "fake runner (test)", "versions": {"runner": "fake"}}


class LocalFleet:
    """A scheduler and ``n`` workers as separate processes on this host (``--no-nanny``: a killed worker stays
    dead). Worker ``i`` is named ``board-i``, holds ``resources`` and sees ``env[i]``."""

    def __init__(self, tmp, n: int, resources: str = "jetson=1", env: list[dict[str, str]] | None = None):
        self.tmp, self.n, self.resources = str(tmp), n, resources
        self.env = env or [{} for _ in range(n)]
        self.file = os.path.join(self.tmp, "scheduler.json")
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}

    def _base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
        env.setdefault("OMP_NUM_THREADS", "1")
        return env

    def start(self, timeout_s: float = 120.0) -> LocalFleet:
        log = open(os.path.join(self.tmp, "scheduler.log"), "wb")  # noqa: SIM115 - lives as long as the process
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", self.file, "--port", "0",
             "--no-dashboard", "--host", "127.0.0.1", "--idle-timeout", "600"], env=self._base_env(), stdout=log,
            stderr=log,
            start_new_session=True))
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.file):
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                self.stop()
                raise RuntimeError("the Dask scheduler did not start")
            time.sleep(0.2)
        for i in range(self.n):
            self.add_worker(f"board-{i}", self.env[i])
        self.wait_workers(self.n, timeout_s)
        return self

    def add_worker(self, name: str, extra_env: dict[str, str]) -> None:
        env = {**self._base_env(), **extra_env}
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", self.file, "--name", name,
             "--nthreads", "1", "--no-nanny", "--no-dashboard", "--resources", self.resources, "--host",
             "127.0.0.1", "--death-timeout", "60"], env=env, stdout=log, stderr=log, start_new_session=True)
        self.procs.append(proc)
        self.workers[name] = proc

    def wait_workers(self, n: int, timeout_s: float = 120.0) -> None:
        from distributed import Client

        with Client(scheduler_file=self.file, timeout=timeout_s, set_as_default=False) as c:
            c.wait_for_workers(n, timeout=timeout_s)

    def kill_pid(self, pid: int) -> str:
        for name, proc in self.workers.items():
            if proc.pid == pid:
                os.kill(pid, signal.SIGKILL)
                proc.wait()
                return name
        raise KeyError(pid)

    def stop(self) -> None:
        """End the workers, then the scheduler (test processes: SIGKILL, no graceful retirement to wait for)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
