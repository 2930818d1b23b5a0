"""A campaign with a FAKE, fast runner, run as a process that the kill tests SIGKILL.

``python _fake_campaign.py STORE [--networks N] [--seed S]``

The real :func:`profiling.campaign.run_campaign` and :class:`profiling.store.CampaignStore` are used; only
the measuring worker is replaced by a runner that returns synthetic rows (labelled ``fake`` in every row
and job note) after a short random sleep, so that hundreds of jobs fit in seconds. After each job is
stored the process prints ``DONE <job_key> <rows>`` (flushed): those are the jobs "reported done".

``--pause-at N --pause-point P`` aims a kill: when the N-th job this process stores reaches point P of its
store write, the process prints ``PAUSED <P> <job_key>`` and sleeps until it is killed. Points (in the order
of the write): ``begin`` (transaction open, the job row not yet written), ``job`` (the job row written), ``rows`` (half
of its measurement rows written), ``commit`` (everything written, COMMIT not yet run), ``after`` (committed,
not yet reported done). The first four are inside the transaction: after a kill there, the job must be
absent; after ``after`` it must be present and complete.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

NETWORKS = ("tiny_cnn", "tiny_dense", "tiny_mobilenet", "tiny_resnet")
CAMPAIGN = "fake-kill"
PAUSE_POINTS = ("begin", "job", "rows", "commit", "after")
IN_TRANSACTION = ("begin", "job", "rows", "commit")


class PausingConnection:
    """Wraps the store's SQLite connection; pauses the process at one point of one job's write (test only)."""

    def __init__(self, conn, job_number: int, point: str):
        self._conn, self._n, self._point = conn, job_number, point
        self._jobs = 0          # jobs whose write started in this process
        self._in_job = False    # the current transaction writes a job
        self._key = ""
        self._rows = 0

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def _pause(self, point: str) -> None:
        if point == self._point and self._jobs == self._n:
            print(f"PAUSED {point} {self._key}", flush=True)
            import time

            while True:
                time.sleep(60)

    def execute(self, sql, params=()):
        head = " ".join(sql.split()[:3]).upper()
        if head == "COMMIT" and self._in_job:
            self._pause("commit")
            out = self._conn.execute(sql, params)
            self._in_job = False
            self._pause("after")
            return out
        if head.startswith("INSERT INTO JOBS"):
            self._jobs += 1
            self._in_job, self._key, self._rows = True, params[0], 0
            self._pause("begin")  # the transaction is open (BEGIN IMMEDIATE ran), the job row not yet written
        out = self._conn.execute(sql, params)
        if head.startswith("INSERT INTO JOBS"):
            self._pause("job")
        elif head.startswith("INSERT INTO MEASUREMENTS") and self._in_job:
            self._rows += 1
            if self._rows == 3:  # every fake job has 11 rows or more: this is inside its rows
                self._pause("rows")
        return out


def fake_configs() -> list[dict]:
    """56 configurations of the CPU platform (threads x omp x batch x xla), independent of the core count."""
    return [{"threads": n, "inter_op_threads": 1, "cores": 1, "batch": b, "xla": x, "omp_num_threads": t}
            for n in (1, 2) for t in (0, 1) for b in (1, 2, 4, 8, 16, 32, 64) for x in (False, True)]


def expected_rows(key: str) -> list[tuple[str, str]]:
    """(view, unit) of the rows the fake runner returns for a job: deterministic from its key."""
    n = 10 + int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 90
    return [("whole", "")] + [("isolated", f"u{i:03d}") for i in range(n)]


def fake_rows(key: str) -> list[dict]:
    rows = []
    for view, unit in expected_rows(key):
        t = 1e-3 * (1 + len(unit))
        rows.append({"view": view, "level": "network" if view == "whole" else "layer", "layer": unit,
                     "unit": unit, "layer_type": "other" if unit else "", "runtime_s": t, "runtime_s_mean": t,
                     "repeats": 5, "converged": True, "other_load": 0.0, "runner": "fake"})
    return rows


def main(argv: list[str]) -> int:
    import argparse

    import profiling.campaign as campaign
    from profiling.platforms.cpu import CpuPlatform
    from profiling.space import ConfigSpace, Integer
    from profiling.store import CampaignStore

    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--networks", type=int, default=len(NETWORKS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-sleep", type=float, default=0.02)
    ap.add_argument("--pause-at", type=int, default=0, help="pause in the write of this job (1 = first)")
    ap.add_argument("--pause-point", choices=PAUSE_POINTS, default="rows")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    # The fake campaign must not depend on this machine's core count or load.
    class FakeCpu(CpuPlatform):
        def space(self):
            s = super().space()
            knobs = tuple(Integer(k.name, 0 if k.name == "omp_num_threads" else 1, 2, default=1)
                          if isinstance(k, Integer) else k for k in s)
            return ConfigSpace(knobs, name="cpu")

        def power_sensor_status(self):
            return None, "absent: fake runner"

    campaign.other_load_now = lambda *a, **k: 0.0
    current: dict[str, str] = {}

    def runner(job, timeout_s=0.0, memory_limit_gb=None):
        key = campaign.job_key(CAMPAIGN, job.network, job.input_size, "layer", job.views, job.config)
        current["key"] = key
        import time

        time.sleep(rng.uniform(0, args.max_sleep))
        return {"status": "ok", "rows": fake_rows(key), "note": "fake runner (test)", "versions": {"runner": "fake"}}

    def progress(text: str) -> None:
        if "already stored" in text:
            return
        print(f"DONE {current['key']} {len(expected_rows(current['key']))}", flush=True)

    with CampaignStore(args.store, wait_s=10) as store:
        if args.pause_at:
            store.conn = PausingConnection(store.conn, args.pause_at, args.pause_point)
        print("READY", flush=True)
        campaign.run_campaign(store, networks=NETWORKS[:args.networks], configs=fake_configs(), level="layer",
                              views=("whole", "isolated"), campaign=CAMPAIGN, platform=FakeCpu(),
                              progress=progress, runner=runner)
    print("FINISHED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
