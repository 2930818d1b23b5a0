"""Fleet campaigns: how jobs per minute scale with local Dask workers, and what the scheduler and a
PostgreSQL store add to each job against a local run into SQLite.

Part ``scaling``: a fake campaign (the TensorFlow executor with a fake runner that sleeps ``--job-s`` seconds
in place of a measurement and returns one row; no CPU work) on a ``distributed.LocalCluster`` of 1, 2 and 3
worker processes (``resources={"cpu": 1}``: one job per worker at a time, as one per board), into a
PostgreSQL database. Reported: wall time of the campaign and jobs per minute. What scales is the engine
(scheduling, each worker's store writes), not measuring: on a real fleet each board measures its own jobs.
This VM has 2 cores shared with other work, so past 2 workers the workers' own Python (deserialising tasks,
writing rows) competes for them.

Part ``overhead``: the same fake job with no sleep and no contention sampling (the 0.3 s ``other_load``
sample of each job is patched out on both sides, here and on the worker), ``--jobs`` of them:
``run_campaign`` in this process into SQLite, into PostgreSQL, and the fleet (1 worker) into PostgreSQL;
per-job time of each, so the differences are the database's and the scheduler's cost per job. Plus the
store alone: ``put_job`` of a job of ``--rows`` rows, SQLite against PostgreSQL.

  python benchmarks/bench_fleet.py --part scaling --jobs 24 --job-s 0.5 --workers 1,2,3
  python benchmarks/bench_fleet.py --part overhead --jobs 60 --rows 20

PostgreSQL: ``--postgres postgresql://user@host:port/db`` (an existing, empty database), else a throwaway
server started from the binaries (``initdb``/``pg_ctl``, Debian's ``/usr/lib/postgresql/*/bin``) and removed
afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "fleet"))  # the throwaway PostgreSQL server of the tests

NETWORKS = ("tiny_cnn", "tiny_dense", "tiny_mobilenet", "tiny_resnet")


def fake_runner(job, timeout_s=0.0, memory_limit_gb=None):
    """Stands in for the TensorFlow worker: sleeps ``$BENCH_FLEET_JOB_S`` and returns one row."""
    time.sleep(float(os.environ.get("BENCH_FLEET_JOB_S", "0")))
    b = int(job.config.get("batch", 1))
    return {"status": "ok", "rows": [{"view": "whole", "level": "network", "runtime_s": 1e-3 * b, "repeats": 5,
                                      "converged": True, "other_load": 0.0, "runner": "fake"}],
            "note": "fake runner (benchmark)", "versions": {"runner": "fake"}}


def quiet() -> None:
    """No contention sampling (0.3 s per job) in this process: the overhead part times the rest."""
    import profiling.campaign as campaign

    campaign.other_load_now = lambda *a, **k: 0.0


def configs(n_jobs: int) -> list[dict]:
    """``n_jobs / 4`` configurations (at most 28: batch x xla x threads 1-2) of the CPU platform."""
    per = min(28, max(1, n_jobs // len(NETWORKS)))
    return [{"batch": (1, 2, 4, 8, 16, 32, 64)[i % 7], "xla": bool((i // 7) % 2), "threads": 1 + i // 14}
            for i in range(per)]


class Postgres:
    def __init__(self, url: str | None):
        self.url, self.server = url, None

    def __enter__(self):
        if self.url is None:
            import _postgres

            bindir = _postgres.find_bin()
            if bindir is None:
                raise SystemExit("no PostgreSQL binaries; give --postgres URL")
            self.server = _postgres.Server(bindir).start()
            _postgres.wait_ready(self.server.url())
            self.admin = self.server.url()
        else:
            self.admin = self.url
        return self

    def database(self, name: str) -> str:
        import _postgres

        return _postgres.create_database(self.admin, name) if self.server is not None else self.url

    def __exit__(self, *exc):
        if self.server is not None:
            self.server.stop()


def _cluster(n: int, job_s: float):
    from distributed import Client, LocalCluster

    os.environ["BENCH_FLEET_JOB_S"] = str(job_s)  # read by fake_runner here and  # inherited by the worker processes
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, resources={"cpu": 1},
                           dashboard_address=None, host="127.0.0.1")
    return cluster, Client(cluster, set_as_default=False)


def _executor():
    from profiling.executors.tf_executor import TfExecutor

    return TfExecutor(fake_runner)


def part_scaling(args, pg: Postgres) -> dict:
    from profiling.fleet.engine import run_fleet_campaign

    cfgs = configs(args.jobs)
    out = {}
    for n in [int(x) for x in args.workers.split(",")]:
        url = pg.database(f"bench_scaling_{n}")
        cluster, client = _cluster(n, args.job_s)
        try:
            client.wait_for_workers(n)
            t0 = time.perf_counter()
            s = run_fleet_campaign(client, "cpu", _executor(), NETWORKS, cfgs, url, level="network",
                                   campaign=f"w{n}", reference=False, power=False)
            wall = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
        jobs = s.measured
        out[n] = {"jobs": jobs, "wall_s": round(wall, 2), "jobs_per_min": round(60 * jobs / wall, 1)}
        print(f"workers={n}: {jobs} jobs in {wall:.2f} s -> {60 * jobs / wall:.1f} jobs/min", flush=True)
    return out


def part_overhead(args, pg: Postgres) -> dict:
    from profiling.campaign import run_campaign
    from profiling.fleet.engine import run_fleet_campaign
    from profiling.platforms.cpu import CpuPlatform
    from profiling.store import open_store

    quiet()
    os.environ["BENCH_FLEET_JOB_S"] = "0"  # no fake measuring time: what is left is the pipeline's own cost
    cfgs = configs(args.jobs)
    n_jobs = len(cfgs) * len(NETWORKS)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("local_sqlite", os.path.join(tmp, "s.sqlite")),
                          ("local_postgres", pg.database("bench_ov"))):
            with open_store(url) as st:
                t0 = time.perf_counter()
                run_campaign(CpuPlatform(), _executor(), NETWORKS, cfgs, st, level="network", campaign="o",
                             reference=None, power=False)
                wall = time.perf_counter() - t0
            out[name] = round(1e3 * wall / n_jobs, 2)
            print(f"{name}: {1e3 * wall / n_jobs:.2f} ms per job ({n_jobs} jobs)", flush=True)
        url = pg.database("bench_ov_fleet")
        cluster, client = _cluster(1, 0.0)
        try:
            client.wait_for_workers(1)
            client.run(quiet)
            run_fleet_campaign(client, "cpu", _executor(), NETWORKS[:1], cfgs[:1], url, level="network",
                               campaign="warm", reference=False, power=False)  # imports on the worker
            t0 = time.perf_counter()
            s = run_fleet_campaign(client, "cpu", _executor(), NETWORKS, cfgs, url, level="network", campaign="o",
                                   reference=False, power=False)
            wall = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
        out["fleet_1_worker_postgres"] = round(1e3 * wall / s.measured, 2)
        print(f"fleet (1 worker) into postgres: {1e3 * wall / s.measured:.2f} ms per job", flush=True)
        rows = [{"view": "isolated", "level": "layer", "layer": f"l{i}", "unit": f"l{i}", "runtime_s": 1e-3}
                for i in range(args.rows)]
        for name, url in (("put_job_sqlite", os.path.join(tmp, "p.sqlite")),
                          ("put_job_postgres", pg.database("bench_put"))):
            with open_store(url) as st:
                st.ensure_campaign("p", "cpu", "measured:cpu", "{}", {})
                times = []
                for i in range(args.jobs):
                    t0 = time.perf_counter()
                    st.put_job(job_key=f"k{i}", campaign="p", network="n", input_size=None, level="layer",
                               views=["isolated"], config={"batch": 1}, status="ok", rows=rows)
                    times.append(time.perf_counter() - t0)
            out[name] = round(1e3 * statistics.median(times), 2)
            print(f"{name}: median {1e3 * statistics.median(times):.2f} ms per job of {args.rows} rows", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("scaling", "overhead", "all"), default="all")
    ap.add_argument("--jobs", type=int, default=24, help="jobs of the campaign (rounded to whole networks)")
    ap.add_argument("--job-s", type=float, default=0.5, help="seconds each fake job sleeps (scaling part)")
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--rows", type=int, default=20, help="rows per job of the put_job timing")
    ap.add_argument("--postgres", help="an empty PostgreSQL database URL (default: a throwaway server)")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    from profiling.sensors.load import other_load_now

    print(f"load of other processes before: {other_load_now(1.0):.2f} cores; cpus: {os.cpu_count()}", flush=True)
    res: dict = {}
    with Postgres(args.postgres) as pg:
        if args.part in ("scaling", "all"):
            res["scaling"] = part_scaling(args, pg)
        if args.part in ("overhead", "all"):
            res["overhead_ms_per_job"] = part_overhead(args, pg)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
