"""A campaign with a FAKE, fast runner, run as a process that the kill tests SIGKILL.

``python _fake_campaign.py STORE [--networks N] [--seed S]``

The real :func:`profiling.campaign.run_campaign` and :class:`profiling.store.CampaignStore` are used; only
the measuring worker is replaced by a runner that returns synthetic rows (labelled ``fake`` in every row
and job note) after a short random sleep, so that hundreds of jobs fit in seconds. After each job is
stored the process prints ``DONE <job_key> <rows>`` (flushed): those are the jobs "reported done".
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
        print("READY", flush=True)
        campaign.run_campaign(store, networks=NETWORKS[:args.networks], configs=fake_configs(), level="layer",
                              views=("whole", "isolated"), campaign=CAMPAIGN, platform=FakeCpu(),
                              progress=progress, runner=runner)
    print("FINISHED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
