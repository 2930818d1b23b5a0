"""Profiler fidelity, repeatability and cost on this machine (issue 3's figures).

* Fidelity: whole-network median runtime from the profiler vs an independent plain timing loop of the same
  compiled model in a separate process with the same thread settings.
* Repeatability: the same configuration profiled layer by layer in two campaigns; median over layers of the
  relative difference of the per-layer medians (in-place and isolated views).
* Cost: wall time of a layer-wise profile of ResNet50 at batch 1 under one configuration.

Run:  .venv/bin/python benchmarks/bench_profiler.py [--networks resnet50,mobilenetv2] [--out docs/profiler-figures.md]
The other load of the machine during each measurement is reported; figures taken under contention are flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from profiling.campaign import run_campaign  # noqa: E402
from profiling.executors.tf_executor import worker_env  # noqa: E402
from profiling.store import CampaignStore  # noqa: E402
from profiling.timing import TimingPolicy  # noqa: E402

PLAIN_LOOP = r"""
import os, sys, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
threads = int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
from profiling.networks import build_model
m = build_model(sys.argv[1])
x = tf.constant(np.random.default_rng(0).standard_normal((1, *m.input_shape[1:])).astype("float32"))
f = tf.function(lambda t: m(t, training=False))
for _ in range(5): f(x).numpy()
ts = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter(); f(x).numpy(); ts.append(time.perf_counter() - t0)
print(json.dumps({"median_s": float(np.median(ts))}))
"""


def plain_loop(network: str, threads: int, n: int) -> float:
    cfg = {"threads": threads, "inter_op_threads": 1}
    out = subprocess.run([sys.executable, "-c", PLAIN_LOOP, network, str(threads), str(n)], env=worker_env(cfg),
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])["median_s"]


def profiled(store: CampaignStore, network: str, threads: int, level: str, campaign: str) -> tuple[dict, float]:
    t0 = time.monotonic()
    summary = run_campaign(store, networks=[network], configs=[{"threads": threads, "inter_op_threads": 1}],
                           level=level, campaign=campaign, policy=TimingPolicy(max_repeats=100, max_time_s=20))
    wall = time.monotonic() - t0
    if not summary.results or summary.results[0]["status"] != "ok":
        raise SystemExit(f"profiling {network} failed: {summary.results[0].get('reason') if summary.results else '?'}")
    return summary.results[0], wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default="resnet50,mobilenetv2,mobilenetv3small")
    ap.add_argument("--repeat-network", default="mobilenetv2", help="network of the repeatability test")
    ap.add_argument("--cost-network", default="resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--loops", type=int, default=100)
    ap.add_argument("--gap-s", type=float, default=60.0, help="pause between the two repeatability campaigns")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "profiler-figures.md"))
    args = ap.parse_args()
    lines = ["# Profiler figures (measured)\n", f"Command: `{' '.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])}`  ",
             f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()} logical CPUs; "
             f"threads={args.threads}, batch 1.\n"]
    with tempfile.TemporaryDirectory() as tmp:
        store = CampaignStore(os.path.join(tmp, "bench.sqlite"))
        lines += ["## Fidelity: profiler vs plain timing loop (whole network)\n",
                  "| network | profiler median ms | plain loop median ms | difference | other load (cores) |",
                  "|---|---|---|---|---|"]
        for net in args.networks.split(","):
            res, _ = profiled(store, net, args.threads, "network", "fidelity")
            row = res["rows"][0]
            plain = plain_loop(net, args.threads, args.loops)
            diff = row["runtime_s"] / plain - 1
            lines.append(f"| {net} | {row['runtime_s'] * 1e3:.2f} | {plain * 1e3:.2f} | {diff:+.1%} | "
                         f"{row['other_load'] if row['other_load'] is not None else float('nan'):.2f} |")
            print(lines[-1], flush=True)

        a, _ = profiled(store, args.repeat_network, args.threads, "layer", "repeat-a")
        time.sleep(args.gap_s)
        b, _ = profiled(store, args.repeat_network, args.threads, "layer", "repeat-b")
        lines += ["\n## Repeatability: two campaigns of the same configuration\n",
                  f"{args.repeat_network}, {args.gap_s:.0f} s apart. Median over layers of |a/b - 1|:\n",
                  "| view | layers | median difference | 90th percentile |", "|---|---|---|---|"]
        for view in ("whole", "inplace", "isolated"):
            ra = {r.get("unit", ""): r["runtime_s"] for r in a["rows"] if r["view"] == view and r.get("runtime_s")}
            rb = {r.get("unit", ""): r["runtime_s"] for r in b["rows"] if r["view"] == view and r.get("runtime_s")}
            common = sorted(set(ra) & set(rb))
            d = np.abs([ra[k] / rb[k] - 1 for k in common])
            lines.append(f"| {view} | {len(common)} | {np.median(d):.1%} | {np.percentile(d, 90):.1%} |")
            print(lines[-1], flush=True)

        res, wall = profiled(store, args.cost_network, args.threads, "layer", "cost")
        n_iso = sum(r["view"] == "isolated" for r in res["rows"])
        n_inp = sum(r["view"] == "inplace" for r in res["rows"])
        whole = next(r for r in res["rows"] if r["view"] == "whole")["runtime_s"]
        inpl = sum(r["runtime_s"] for r in res["rows"] if r["view"] == "inplace")
        graph = next(r["graph_runtime_s"] for r in res["rows"] if r["view"] == "inplace")
        iso = sum(r["runtime_s"] for r in res["rows"] if r["view"] == "isolated")
        lines += ["\n## Cost of a layer-wise profile\n",
                  f"{args.cost_network}, batch 1, threads={args.threads}: **{wall:.0f} s** wall for one configuration "
                  f"({n_inp} in-place units, {n_iso} isolated layers, worker start included).\n",
                  f"Whole network (Keras function) {whole * 1e3:.1f} ms; the frozen, optimised graph that the in-place "
                  f"view traces runs in {graph * 1e3:.1f} ms and its units sum to {inpl * 1e3:.1f} ms "
                  f"({inpl / graph - 1:+.0%} of that graph, {inpl / whole - 1:+.0%} of the Keras function); "
                  f"sum of isolated layers {iso * 1e3:.1f} ms ({iso / whole - 1:+.0%}).\n"]
        print(lines[-2] + lines[-1], flush=True)
        store.close()
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
