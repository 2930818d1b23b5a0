"""Cost of the one measurement pipeline: a layer-wise profile through it against the pipeline before it, and
the PyTorch executor against the TensorFlow executor on the same networks, on this machine's CPU.

Part 1 (``--part old-new``): ``perfmodel profile --level layer`` of one network (default resnet50) run with
this tree and with a copy of the commit before the pipeline (default f1aaf7e, extracted with ``git archive``
into a temporary folder: the repository is not changed), alternating old/new ``--rounds`` times, each into a
fresh store. Reported: wall time of each command and the ratio new/old of the medians.

Part 2 (``--part executors``): the same networks, network level, batch 1, through
``run_campaign`` with the TensorFlow executor (worker process) and the PyTorch executor (in process), both
with ``--threads`` intra-op threads (default 1: on a machine whose cores other processes use, PyTorch's
OpenMP threads beyond the free cores wait on each other, and its times collapse; see docs/profiler.md).
Reported: the median whole-network time each executor measured and the wall time of the job.

  python benchmarks/bench_pipeline.py --part old-new --network resnet50 --rounds 2
  python benchmarks/bench_pipeline.py --part executors --networks tiny_cnn,mobilenetv2,resnet50 --threads 1

Times are wall-clock on a shared machine: say how busy it was with the figures (the script prints the load
of other processes measured before each run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _extract(commit: str, dest: str) -> str:
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def _profile(tree: str, network: str, store: str, quick: bool) -> float:
    cmd = [sys.executable, "-m", "perfmodel", "profile", "--network", network, "--level", "layer",
           "--config", "threads=2,batch=1", "--store", store, "--no-progress"]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, PYTHONPATH=tree)
    t0 = time.monotonic()
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if out.returncode != 0 or "failed: 0" not in out.stdout:
        raise SystemExit(f"profile in {tree} failed ({out.returncode}): {out.stderr[-400:]}{out.stdout[-400:]}")
    return wall


def old_new(args: argparse.Namespace) -> dict:
    from profiling.sensors.load import other_load_now

    tmp = tempfile.mkdtemp(prefix="bench-pipeline-")
    base = args.base or _extract(args.commit, os.path.join(tmp, "base"))
    walls: dict[str, list[float]] = {"old": [], "new": []}
    loads = []
    for i in range(args.rounds):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        for which in order:
            loads.append(other_load_now(1.0))
            tree = base if which == "old" else ROOT
            w = _profile(tree, args.network, os.path.join(tmp, f"{which}{i}.sqlite"), not args.full)
            walls[which].append(w)
            print(f"round {i + 1} {which}: {w:.1f} s (other load before: {loads[-1]:.2f} cores)", flush=True)
    med = {k: statistics.median(v) for k, v in walls.items()}
    return {"network": args.network, "commit_old": args.commit, "walls_s": walls, "median_s": med,
            "ratio_new_over_old": med["new"] / med["old"], "other_load_before": loads,
            "policy": "full" if args.full else "quick"}


def executors(args: argparse.Namespace) -> dict:
    from profiling.campaign import build_executor, run_campaign
    from profiling.platforms.cpu import CpuPlatform
    from profiling.sensors.load import other_load_now
    from profiling.store import CampaignStore
    from profiling.timing import TimingPolicy

    cpu = CpuPlatform()
    policy = TimingPolicy.quick() if not args.full else TimingPolicy()
    out = {}
    tmp = tempfile.mkdtemp(prefix="bench-executors-")
    with CampaignStore(os.path.join(tmp, "s.sqlite")) as store:
        for net in args.networks.split(","):
            out[net] = {}
            for name in ("tensorflow", "torch"):
                load = other_load_now(1.0)
                ex = build_executor(name, cpu)
                t0 = time.monotonic()
                s = run_campaign(cpu, ex, [net], [{"batch": 1, "threads": args.threads}], store, level="network",
                                 campaign=name, policy=policy, reference=None)
                wall = time.monotonic() - t0
                res = s.results[0]
                if res.status != "ok":
                    raise SystemExit(f"{net} with {name} failed: {res.result.reason}")
                row = res.rows[0]
                out[net][name] = {"runtime_s": row.runtime_s, "ci": [row.runtime_s_ci_low, row.runtime_s_ci_high],
                                  "repeats": row.repeats, "job_wall_s": wall, "other_load": row.other_load,
                                  "other_load_before": load}
                print(f"{net:<14} {name:<10} {row.runtime_s * 1e3:9.3f} ms (CI {row.runtime_s_ci_low * 1e3:.3f}-"
                      f"{row.runtime_s_ci_high * 1e3:.3f}), job {wall:.1f} s, load {load:.2f}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("old-new", "executors"), required=True)
    ap.add_argument("--network", default="resnet50")
    ap.add_argument("--networks", default="tiny_cnn,mobilenetv2,resnet50")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="executors part: intra-op threads of both (default 1)")
    ap.add_argument("--commit", default="f1aaf7e", help="the commit before the pipeline (old)")
    ap.add_argument("--base", help="an extracted copy of the old commit (default: git archive into a temp dir)")
    ap.add_argument("--full", action="store_true", help="the default timing policy instead of --quick")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    res = old_new(args) if args.part == "old-new" else executors(args)
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
