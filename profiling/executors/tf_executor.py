"""Runs TensorFlow measurement jobs in worker processes.

A worker is an interpreter started with the configuration's environment (oneDNN, OpenMP options) and
threads, so that settings TensorFlow reads only at start take effect. By default each job gets a fresh one
(:func:`run_job`); ``TfExecutor(reuse_workers=True)`` keeps one :class:`WorkerSession` worker for
consecutive jobs of the same network and process-level settings (:func:`process_key`: e.g. batch 1 and 4 of
one network under 2 threads), which saves the worker's start (importing TensorFlow, building the network:
most of a small job). Every job is still timed, stored and resumed on its own. A worker that crashes, hangs
past its timeout or exceeds the memory limit is killed and reported as a failed job with its reason; the
jobs it finished before stay stored, the next job starts a new worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psutil

from ..errors import ConfigError
from ..space import ConfigSpace, Knob
from .base import Executor, ExecutorJob, JobResult

from .tf_inplace import INPLACE_METHODS  # imports no TensorFlow

KMP_AFFINITY = {"compact": "granularity=fine,compact,1,0", "scatter": "granularity=fine,scatter"}


def worker_env(config: Mapping[str, Any], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of the worker for ``config`` (software knobs read at process start)."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONUNBUFFERED"] = "1"
    for var in ("OMP_NUM_THREADS", "KMP_BLOCKTIME", "KMP_AFFINITY", "TF_ENABLE_ONEDNN_OPTS"):
        env.pop(var, None)
    if "onednn" in config:
        env["TF_ENABLE_ONEDNN_OPTS"] = "1" if config["onednn"] else "0"
    if int(config.get("omp_num_threads", 0) or 0) > 0:
        env["OMP_NUM_THREADS"] = str(int(config["omp_num_threads"]))
    if config.get("kmp_blocktime", -1) not in (-1, None):
        env["KMP_BLOCKTIME"] = str(int(config["kmp_blocktime"]))
    if config.get("kmp_affinity", "none") in KMP_AFFINITY:
        env["KMP_AFFINITY"] = KMP_AFFINITY[config["kmp_affinity"]]
    # The worker must import this package even when run from another directory.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass(frozen=True)
class Job:
    """One worker run: a network under one configuration, with the views to measure."""

    network: str
    config: Mapping[str, Any]
    views: tuple[str, ...] = ("whole",)
    input_size: int | None = None
    policy: Mapping[str, Any] = field(default_factory=dict)
    trace_runs: int = 20
    sensor: str | None = "rapl"   # "rapl" or a reference of profiling.sensors.window.sensor_ref
    inplace_method: str = "live"  # how the inplace view is timed: "live" (profiler) or "frozen" (step stats)
    power_window_s: float = 0.0   # shortest power window (the sensor's measured steps x 10); 0: the timing loop
    idle_power_w: float | None = None  # idle baseline measured by the campaign, stored on every row
    power_step_s: float = 0.0     # the sensor's measured step (the window is a multiple of it)

    def to_dict(self) -> dict[str, Any]:
        return {"network": self.network, "config": dict(self.config), "views": list(self.views),
                "input_size": self.input_size, "policy": dict(self.policy), "trace_runs": self.trace_runs,
                "sensor": self.sensor, "inplace_method": self.inplace_method,
                "power_window_s": self.power_window_s, "idle_power_w": self.idle_power_w,
                "power_step_s": self.power_step_s}


#: TensorFlow knobs of this host's CPU that the worker applies (the CPU platform's space, without ``cores``,
#: which on the CPU platform the worker applies as CPU affinity).
TF_HOST_KNOBS = ("threads", "inter_op_threads", "batch", "xla", "onednn", "omp_num_threads", "kmp_blocktime",
                 "kmp_affinity")


class TfExecutor(Executor):
    """The TensorFlow executor: one worker process per configuration (:func:`run_job`), or one per network and
    process-level settings with ``reuse_workers`` (:class:`WorkerSession`).

    On the CPU platform its knobs are the platform's space (threads, cores as CPU affinity, batch, XLA,
    oneDNN, OpenMP options). On another platform (a Jetson tree) the platform's hardware knobs are
    written by the platform and the worker applies only the TensorFlow knobs of :data:`TF_HOST_KNOBS`,
    running on this machine's CPU.

    Parameters
    ----------
    runner : callable, optional
        ``runner(job, timeout_s=..., memory_limit_gb=...) -> dict``: what runs a :class:`Job` (default
        :func:`run_job`, the worker process). Tests give a fake one.
    reuse_workers : bool
        Keep one worker for consecutive jobs of one network with the same process-level settings
        (:class:`WorkerSession`); close the executor (or use it in a ``with``) to end the last worker.
        Ignored when ``runner`` is given.
    """

    name = "tensorflow"
    inplace_methods = INPLACE_METHODS

    def __init__(self, runner: Callable[..., dict[str, Any]] | None = None, *, reuse_workers: bool = False):
        self.session = WorkerSession() if reuse_workers and runner is None else None
        self.runner = runner or (self.session.run if self.session is not None else run_job)

    def close(self) -> None:
        """End a kept worker (nothing to do without ``reuse_workers``)."""
        if self.session is not None:
            self.session.close()

    def __enter__(self) -> TfExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def software_knobs(self, platform: Any) -> tuple[Knob, ...]:
        from ..platforms.cpu import CpuPlatform

        if isinstance(platform, CpuPlatform):
            return tuple(platform.space())
        host = CpuPlatform().space()
        return tuple(k for k in host if k.name in TF_HOST_KNOBS)

    def space(self, platform: Any) -> ConfigSpace:
        from ..platforms.cpu import CpuPlatform

        if isinstance(platform, CpuPlatform):
            return platform.space()  # the CPU platform's knobs are the TensorFlow worker's (stores unchanged)
        return super().space(platform)

    def knob_notes(self) -> dict[str, str]:
        return {"threads": "tf.config intra-op threads", "inter_op_threads": "tf.config inter-op threads",
                "cores": "CPU affinity of the worker process", "batch": "batch size of every call",
                "xla": "tf.function(jit_compile=...)", "onednn": "TF_ENABLE_ONEDNN_OPTS at worker start",
                "omp_num_threads": "OMP_NUM_THREADS (0: unset)", "kmp_blocktime": "KMP_BLOCKTIME (-1: unset)",
                "kmp_affinity": "KMP_AFFINITY"}

    def describe(self) -> dict[str, Any]:
        if self.session is not None:
            return {"executor": self.name, "process": "one TensorFlow worker per network and process-level "
                                                      "settings (threads, inter-op threads, cores, oneDNN, OpenMP)"}
        return {"executor": self.name, "process": "one TensorFlow worker per configuration"}

    def run(self, job: ExecutorJob, *, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> JobResult:
        plan = job.power
        worker_job = Job(job.network, job.software_config(), tuple(job.views), job.input_size,
                         dict(job.policy.__dict__), job.trace_runs, plan.ref if plan is not None else None,
                         job.inplace_method or "live", plan.window_s if plan is not None else 0.0,
                         plan.idle_power_w if plan is not None else None, plan.step_s if plan is not None else 0.0)
        result = self.runner(worker_job, timeout_s=timeout_s, memory_limit_gb=memory_limit_gb)
        try:
            return JobResult.from_dict(result)
        except ConfigError as exc:
            return JobResult("failed", reason=f"crash: the worker returned an invalid row: {exc}",
                             wall_s=result.get("wall_s"))


def run_job(job: Job, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> dict[str, Any]:
    """Run ``job`` in a worker process and return its result dictionary.

    The result has ``status`` (``ok`` or ``failed``) and, when failed, a ``reason`` beginning with
    ``timeout``, ``oom`` or ``crash``.
    """
    with tempfile.TemporaryDirectory(prefix="perfmodel-job-") as tmp:
        job_path, result_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "result.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job.to_dict(), fh)
        cmd = [sys.executable, "-m", "profiling.executors.tf_worker", job_path, result_path]
        stderr_path = os.path.join(tmp, "stderr.txt")
        t0 = time.monotonic()
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(cmd, env=worker_env(job.config), stdout=subprocess.DEVNULL, stderr=err,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                reason = _watch(proc, timeout_s, memory_limit_gb)
            except BaseException:  # Ctrl-C or any error in the parent: never leave a worker measuring
                _kill(proc)
                raise
        wall = time.monotonic() - t0
        if reason is None and proc.returncode != 0:
            reason = _exit_reason(proc.returncode, stderr_path)
        return _result(reason, result_path, stderr_path, wall)


def _exit_reason(returncode: int, stderr_path: str) -> str:
    if returncode == -signal.SIGKILL:
        return "oom: worker was killed by SIGKILL (out of memory?)"
    return f"crash: worker exited with status {returncode}: {_tail(stderr_path)}"


def _result(reason: str | None, result_path: str, stderr_path: str, wall: float) -> dict[str, Any]:
    if reason is None and not os.path.exists(result_path):
        reason = f"crash: worker wrote no result: {_tail(stderr_path)}"
    if reason is not None:
        return {"status": "failed", "reason": reason, "wall_s": wall}
    with open(result_path, encoding="utf-8") as fh:
        result = json.load(fh)
    result["wall_s"] = wall
    return result


#: Configuration knobs a TensorFlow process takes only at its start (thread pools, affinity, environment):
#: one worker measures only jobs that agree on them. Batch and XLA (``jit_compile`` of each function) are set
#: per job.
PROCESS_KNOBS = ("threads", "inter_op_threads", "cores", "onednn", "omp_num_threads", "kmp_blocktime",
                 "kmp_affinity")


def process_key(job: Job) -> str:
    """What a worker fixes at its start for ``job``: the network, its input size, the process-level knobs
    (:data:`PROCESS_KNOBS`) and the worker's environment. Jobs with equal keys may share a worker."""
    env = worker_env(job.config)
    return json.dumps([job.network, job.input_size, {k: job.config.get(k) for k in PROCESS_KNOBS},
                       sorted(env.items())], sort_keys=True, default=str)


class WorkerSession:
    """One TensorFlow worker (``tf_worker --serve``) kept for consecutive jobs with the same :func:`process_key`.

    :meth:`run` has :func:`run_job`'s signature and result; a job with another key ends the worker and
    starts a new one. A timeout, memory excess or crash fails the job that was running (the worker is
    killed; the jobs it finished are returned already), and the next job gets a new worker.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._key: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._err = None
        self._n = 0
        self.starts = 0  # workers started (for the calibration's cost, docs/models.md)

    def run(self, job: Job, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> dict[str, Any]:
        key = process_key(job)
        if self._proc is None or self._proc.poll() is not None or key != self._key:
            self.close()
            self._start(job, key)
        assert self._proc is not None and self._tmp is not None
        self._n += 1
        job_path = os.path.join(self._tmp.name, f"job{self._n}.json")
        result_path = os.path.join(self._tmp.name, f"result{self._n}.json")
        stderr_path = os.path.join(self._tmp.name, "stderr.txt")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job.to_dict(), fh)
        t0 = time.monotonic()
        try:
            try:
                self._proc.stdin.write(f"{job_path}\t{result_path}\n")  # type: ignore[union-attr]
                self._proc.stdin.flush()  # type: ignore[union-attr]
            except (BrokenPipeError, OSError):
                pass  # the worker has ended: the watch below reports how
            reason = _watch(self._proc, timeout_s, memory_limit_gb, result_path)
        except BaseException:  # Ctrl-C or any error in the parent: never leave a worker measuring
            self.close(kill=True)
            raise
        wall = time.monotonic() - t0
        if reason is None and self._proc.poll() is not None:  # ended without a result for this job
            self._proc.wait()
            reason = _exit_reason(self._proc.returncode, stderr_path) if self._proc.returncode else None
        if reason is not None or not os.path.exists(result_path):
            result = _result(reason, result_path, stderr_path, wall)
            self.close(kill=True)
            return result
        return _result(None, result_path, stderr_path, wall)

    def _start(self, job: Job, key: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="perfmodel-worker-")
        self._err = open(os.path.join(self._tmp.name, "stderr.txt"), "wb")
        cmd = [sys.executable, "-m", "profiling.executors.tf_worker", "--serve"]
        self._proc = subprocess.Popen(cmd, env=worker_env(job.config), stdout=subprocess.DEVNULL, stderr=self._err,
                                      stdin=subprocess.PIPE, text=True, start_new_session=True)
        self._key = key
        self.starts += 1

    def close(self, kill: bool = False) -> None:
        """End the worker: at the end of its input (killed if it does not end within 10 s), or at once
        with ``kill`` (a job it was running is abandoned)."""
        if self._proc is not None:
            try:
                self._proc.stdin.close()  # type: ignore[union-attr]
                if not kill:
                    self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if self._proc.poll() is None:
                _kill(self._proc)
        if self._err is not None:
            self._err.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        self._proc, self._key, self._tmp, self._err = None, None, None, None


def _watch(proc: subprocess.Popen, timeout_s: float, memory_limit_gb: float | None,
           result_path: str | None = None) -> str | None:
    """Wait for ``proc`` to end (or, given ``result_path``, for that file to appear); the reason it was
    killed (timeout, memory), or None."""
    deadline = time.monotonic() + timeout_s
    ps = psutil.Process(proc.pid)
    while True:
        try:
            proc.wait(timeout=0.2)
            return None
        except subprocess.TimeoutExpired:
            pass
        if result_path is not None and os.path.exists(result_path):
            return None
        if time.monotonic() > deadline:
            _kill(proc)
            return f"timeout: worker ran longer than {timeout_s:g} s"
        if memory_limit_gb is not None:
            try:
                rss = ps.memory_info().rss
            except psutil.Error:
                continue
            if rss > memory_limit_gb * 1024**3:
                _kill(proc)
                return f"oom: worker used {rss / 1024**3:.1f} GiB, over the {memory_limit_gb:g} GiB limit"


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _tail(path: str, n: int = 300) -> str:
    try:
        with open(path, "rb") as fh:
            lines = [ln for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return (lines[-1] if lines else "")[-n:]
