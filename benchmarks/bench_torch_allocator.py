"""How much of the PyTorch executor's CPU time is glibc's allocator giving memory back and taking it again.

PyTorch on the CPU allocates every activation with ``malloc``. With glibc's defaults a large freed block is
returned to the kernel (``munmap``, or a heap trim) and the next call's block is mapped again, zero-filled
page by page: minor page faults inside the timed call. How many depends on glibc's dynamic thresholds, which
move with what the process allocated before, so the same network and batch can time differently in a
campaign depending on the jobs before it (the executor measures in the calling process).

For each network and batch the script times :meth:`TorchExecutor.time_network` (the executor's own timing
loop, ``threads=1``) in a fresh interpreter twice: with glibc's defaults, and with ``MALLOC_MMAP_THRESHOLD_``
and ``MALLOC_TRIM_THRESHOLD_`` set to 1 GB (freed memory is kept and reused, as jemalloc or tcmalloc would),
and reports the median runtime and the minor page faults per call of each (``resource.getrusage``).

  python benchmarks/bench_torch_allocator.py --cases tiny_resnet:64,tiny_resnet:1,mobilenetv2:1,resnet50:1

Times are wall-clock: run it on a quiet machine (it prints the load average before each case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RETAIN = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}

_CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from profiling.executors.torch_executor import TorchExecutor
from profiling.networks import build_model
from profiling.spec import NetworkSpec
from profiling.timing import TimingPolicy
ex = TorchExecutor(NetworkSpec.from_keras(build_model(sys.argv[2])), device="cpu")
cfg = {"batch": int(sys.argv[3]), "threads": 1}
ex.time_network(cfg, TimingPolicy(max_repeats=5))                      # warm-up
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
t = ex.time_network(cfg, TimingPolicy(warmup=0, min_repeats=20, max_repeats=20))
f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"runtime_s": t.runtime_s, "faults_per_call": (f1 - f0) / t.timing.repeats}))
"""


def _run(network: str, batch: int, env_extra: dict[str, str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env_extra}
    for k in RETAIN:
        if k not in env_extra:
            env.pop(k, None)
    out = subprocess.run([sys.executable, "-c", _CHILD, ROOT, network, str(batch)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{network} batch {batch}: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="tiny_resnet:64,tiny_resnet:1,mobilenetv2:1,resnet50:1",
                    help="network:batch,... (default %(default)s)")
    args = ap.parse_args()
    print("| network | batch | glibc defaults ms | faults/call | memory kept ms | faults/call | ratio | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        network, batch = case.rsplit(":", 1)
        load = os.getloadavg()[0]
        d = _run(network, int(batch), {})
        r = _run(network, int(batch), RETAIN)
        print(f"| {network} | {batch} | {d['runtime_s'] * 1e3:.1f} | {d['faults_per_call']:.0f} | "
              f"{r['runtime_s'] * 1e3:.1f} | {r['faults_per_call']:.0f} | {d['runtime_s'] / r['runtime_s']:.2f} | "
              f"{load:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
