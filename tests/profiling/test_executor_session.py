"""One TensorFlow worker for several configurations (TfExecutor(reuse_workers=True), WorkerSession).

A kept worker must measure each configuration as a fresh one does (same views, units, columns), store one
job per configuration (so a campaign resumes), and a worker that dies must fail only the job it was running.
"""

from __future__ import annotations

import os

import pytest

from perfmodel.commands.calibrate import BUDGETS, plan_configs, plan_jobs
from profiling.campaign import run_campaign
from profiling.executors.tf_executor import PROCESS_KNOBS, Job, TfExecutor, WorkerSession, process_key, run_job
from profiling.platforms.cpu import CpuPlatform
from profiling.store import CampaignStore
from profiling.timing import TimingPolicy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTS = os.path.join(ROOT, "tests", "reliability", "fault_injection")
QUICK = TimingPolicy.quick()


def _job(batch: int, threads: int = 1, network: str = "tiny_cnn") -> Job:
    return Job(network, {"threads": threads, "batch": batch}, ("whole", "inplace"), None, dict(QUICK.__dict__),
               3, None)


def test_process_key_separates_start_settings_not_batch_or_xla():
    base = _job(1)
    assert process_key(base) == process_key(_job(4))
    assert process_key(base) == process_key(Job("tiny_cnn", {"threads": 1, "batch": 1, "xla": True}))
    assert process_key(base) != process_key(_job(1, threads=2))
    assert process_key(base) != process_key(_job(1, network="tiny_mobilenet"))
    assert process_key(base) != process_key(Job("tiny_cnn", {"threads": 1, "batch": 1, "onednn": False}))


def test_calibration_plan_groups_a_networks_batches_and_keeps_every_job():
    platform = CpuPlatform()
    configs = plan_configs(platform, TfExecutor(), "quick")
    networks = BUDGETS["quick"]["networks"]
    jobs = plan_jobs(networks, configs, thin=True)
    # the same jobs as one job per (network, configuration) minus the thinned ones: 5 named x 4 + 16 synthetic x 3
    assert len(jobs) == 5 * 4 + 16 * 3
    assert len({(n, tuple(sorted(c.items()))) for n, c in jobs}) == len(jobs)

    def group(job):
        return job[0], tuple(job[1].get(k) for k in PROCESS_KNOBS)

    starts = sum(1 for i, job in enumerate(jobs) if i == 0 or group(job) != group(jobs[i - 1]))
    assert starts == len({group(j) for j in jobs})  # each group runs as one block
    assert starts == len(networks) * 2  # threads 1 and 2


def test_a_crashing_kept_worker_fails_its_job_and_the_next_job_gets_a_new_worker(monkeypatch):
    monkeypatch.setenv("PERFMODEL_TEST_FAULT", "crash")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([FAULTS, ROOT, os.environ.get("PYTHONPATH", "")]))
    session = WorkerSession()
    try:
        first = session.run(_job(1), timeout_s=120)
        second = session.run(_job(4), timeout_s=120)
    finally:
        session.close()
    assert first["status"] == "failed" and first["reason"].startswith("crash")
    assert second["status"] == "failed" and second["reason"].startswith("crash")
    assert session.starts == 2  # the dead worker was not reused


@pytest.mark.slow
def test_kept_worker_rows_match_a_fresh_workers_and_a_killed_job_fails_alone():
    session = WorkerSession()
    try:
        first = session.run(_job(1), timeout_s=300)
        killed = session.run(_job(2), timeout_s=0.01)  # killed while it runs
        third = session.run(_job(4), timeout_s=300)
        again = session.run(_job(8), timeout_s=300)
    finally:
        session.close()
    fresh = run_job(_job(1), timeout_s=300)
    assert first["status"] == "ok" and third["status"] == "ok" and again["status"] == "ok"
    assert killed["status"] == "failed" and killed["reason"].startswith("timeout")
    assert session.starts == 2  # the kill ended the first worker; the fourth job reused the second
    assert fresh["status"] == "ok"

    def shape(result):
        return sorted((r["view"], r.get("unit") or "", tuple(sorted(r))) for r in result["rows"])

    assert shape(first) == shape(fresh) == shape(third) == shape(again)
    assert first["spec"] == fresh["spec"]


@pytest.mark.slow
def test_campaign_with_a_kept_worker_stores_one_job_per_configuration_and_resumes(tmp_path):
    configs = [{"threads": 1, "batch": 1}, {"threads": 1, "batch": 4}]
    with CampaignStore(str(tmp_path / "s.sqlite")) as store, TfExecutor(reuse_workers=True) as executor:
        first = run_campaign(CpuPlatform(), executor, ["tiny_cnn"], configs, store, level="layer",
                             views=("whole", "inplace"), policy=QUICK, trace_runs=3, reference=None, power=False)
        assert executor.session.starts == 1
        again = run_campaign(CpuPlatform(), executor, ["tiny_cnn"], configs, store, level="layer",
                             views=("whole", "inplace"), policy=QUICK, trace_runs=3, reference=None, power=False)
        df = store.to_frame()
    assert first.measured == 2 and first.failed == 0
    assert again.skipped == 2 and again.measured == 0
    assert executor.session.starts == 1  # nothing measured again
    whole = df[df["view"] == "whole"]
    assert sorted(whole["batch"]) == [1, 4]
    assert set(df["view"]) == {"whole", "inplace"}


def test_an_interrupted_parent_kills_its_kept_worker_at_once(monkeypatch):
    import time

    import psutil

    import profiling.executors.tf_executor as tfx

    monkeypatch.setenv("PERFMODEL_TEST_FAULT", "hang")  # the worker would measure (hang) for ever
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([FAULTS, ROOT, os.environ.get("PYTHONPATH", "")]))
    session = WorkerSession()
    pids = []

    def interrupted(proc, *args, **kwargs):
        pids.append(proc.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(tfx, "_watch", interrupted)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        session.run(_job(1), timeout_s=120)
    assert time.monotonic() - t0 < 8  # killed, not waited for (close waits up to 10 s for an idle worker)
    assert pids and not psutil.pid_exists(pids[0]) or psutil.Process(pids[0]).status() == psutil.STATUS_ZOMBIE
    assert session._proc is None
