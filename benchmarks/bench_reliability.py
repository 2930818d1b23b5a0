"""Reliability figures (issue 8): kills survived with nothing lost, bad inputs tried with zero tracebacks.

* Kill loop, FAKE campaign: ``run_campaign`` and the SQLite store for real, rows from a fake runner
  (tests/reliability/_fake_campaign.py), SIGKILLed at random moments; after each kill the store must open
  read-only and read-write, pass ``PRAGMA integrity_check`` and hold every job reported done with all its
  rows exactly once; finally the campaign is resumed and compared with an uninterrupted run.
* Kill loop, FAKE campaign, AIMED: the fake campaign pauses at a chosen point of a job's store write (before
  the job row, after it, among its rows, before COMMIT, after COMMIT) and is killed there; a job killed
  inside its transaction must be absent afterwards, one killed after COMMIT complete.
* Kill loop, REAL campaign: ``python -m perfmodel profile`` on the tiny built-in networks (TensorFlow
  workers), SIGKILLed at random moments, with the same checks (plus: no worker outlives its campaign).
* Fuzzing: the hypothesis properties of tests/reliability/test_property_parsers.py with more examples,
  and the table of bad CLI inputs of tests/reliability/test_cli_bad_input.py.

Run:  .venv/bin/python benchmarks/bench_reliability.py [--fake-rounds 4 --fake-kills 50] [--aimed-kills 50]
      [--real-kills 50] [--fuzz-examples 1000] [--skip-real] [--skip-fuzz] [--skip-cli]
      [--json out/bench_reliability.json]
Hostile model files and constraint expressions: benchmarks/fuzz_hostile_inputs.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests", "reliability")
sys.path.insert(0, TESTS)
sys.path.insert(0, ROOT)

from _harness import aimed_fake_kill_loop, fake_kill_loop, real_kill_loop  # noqa: E402

REAL_CONFIGS = ["threads=1,batch=1", "threads=1,batch=2", "threads=2,batch=1"]


def _kills(kind: str, stats_list, seconds: float) -> dict:
    return {
        "kind": kind, "rounds": sum(s.rounds for s in stats_list), "kills": sum(s.kills for s in stats_list),
        "kills_mid_run": sum(s.kills_mid_run for s in stats_list),
        "jobs_reported_done": sum(s.reported_done for s in stats_list),
        "jobs_lost": sum(s.jobs_lost for s in stats_list), "rows_bad": sum(s.rows_bad for s in stats_list),
        "open_failures": sum(len(s.open_failures) for s in stats_list),
        "orphan_workers": sum(s.orphans for s in stats_list),
        "kills_in_store_transaction": sum(s.kills_in_write for s in stats_list),
        "kills_after_commit": sum(s.kills_after_commit for s in stats_list),
        "killed_in_transaction_yet_stored": sum(s.partial_visible for s in stats_list),
        "killed_after_commit_yet_missing": sum(s.committed_missing for s in stats_list),
        "resumed_equal_to_uninterrupted": all(s.final_equal for s in stats_list),
        "rows_in_final_store": stats_list[-1].final_rows if stats_list else 0,
        "nothing_lost": all(s.nothing_lost for s in stats_list), "wall_s": round(seconds, 1),
    }


def _pytest(args: list[str], env: dict) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--no-header", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fake-rounds", type=int, default=4, help="rounds of the fake kill loop (default 4)")
    ap.add_argument("--fake-kills", type=int, default=50, help="SIGKILLs per fake round (default 50)")
    ap.add_argument("--real-kills", type=int, default=50, help="SIGKILLs of the real profile CLI (default 50)")
    ap.add_argument("--skip-real", action="store_true", help="skip the real (TensorFlow) kill loop")
    ap.add_argument("--aimed-kills", type=int, default=50,
                    help="SIGKILLs of the fake campaign aimed at the points of a job's store write (default 50)")
    ap.add_argument("--fuzz-examples", type=int, default=1000, help="hypothesis examples per property")
    ap.add_argument("--skip-fuzz", action="store_true", help="skip the parser fuzzing")
    ap.add_argument("--skip-cli", action="store_true", help="skip the bad CLI input cases")
    ap.add_argument("--json", default=os.path.join(ROOT, "out", "bench_reliability.json"))
    args = ap.parse_args(argv)

    results: dict = {"machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                                 "os": f"{platform.system()} {platform.release()}"},
                     "command": "benchmarks/bench_reliability.py " + " ".join(argv or sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="bench-rel-") as tmp:
        t0 = time.monotonic()
        fake = []
        for r in range(args.fake_rounds):
            d = os.path.join(tmp, f"fake{r}")
            os.makedirs(d)
            fake.append(fake_kill_loop(d, args.fake_kills, networks=4, max_delay_s=0.15 + 0.1 * (r % 3), seed=100 + r))
            print(f"fake round {r + 1}/{args.fake_rounds}: {fake[-1]}", flush=True)
        if fake:
            results["fake_kill_loop"] = _kills("fake runner (synthetic rows), real store", fake,
                                               time.monotonic() - t0)
        if args.aimed_kills > 0:
            t0 = time.monotonic()
            d = os.path.join(tmp, "aimed")
            os.makedirs(d)
            aimed = aimed_fake_kill_loop(d, args.aimed_kills, networks=4, seed=200)
            print(f"aimed: {aimed}", flush=True)
            results["aimed_fake_kill_loop"] = _kills("fake runner, kills aimed at the points of a job's store write "
                                                     "(begin, job row, rows, commit, after commit)", [aimed],
                                                     time.monotonic() - t0)
        if not args.skip_real and args.real_kills > 0:
            t0 = time.monotonic()
            d = os.path.join(tmp, "real")
            os.makedirs(d)
            configs = REAL_CONFIGS if len(os.sched_getaffinity(0)) >= 2 else [
                "threads=1,batch=1", "threads=1,batch=2", "threads=1,batch=4"]
            real = real_kill_loop(d, args.real_kills, configs, seed=7)
            print(f"real: {real}", flush=True)
            results["real_kill_loop"] = _kills("perfmodel profile (TensorFlow workers, tiny_dense + tiny_cnn, "
                                               f"{len(configs)} configs, --level network --quick)", [real],
                                               time.monotonic() - t0)

    if not args.skip_fuzz:
        _fuzz(args, results)
    if not args.skip_cli:
        _cli(results)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1)
    print(json.dumps(results, indent=1))
    print(f"-> {args.json}")
    return 0


def _fuzz(args, results: dict) -> None:
    # Fuzzing: count inputs per property from the test module itself.
    env = dict(os.environ, PERFMODEL_FUZZ_EXAMPLES=str(args.fuzz_examples), PERFMODEL_FUZZ_RANDOM="1")
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "fuzz.json")
        env["PERFMODEL_FUZZ_REPORT"] = report
        t0 = time.monotonic()
        rc, line = _pytest([os.path.join(TESTS, "test_property_parsers.py")], env)
        counts = json.load(open(report, encoding="utf-8")) if os.path.exists(report) else {}
    results["fuzz"] = {"properties": counts, "inputs_tried": sum(counts.values()), "pytest": line,
                       "all_passed": rc == 0, "wall_s": round(time.monotonic() - t0, 1)}
    print(f"fuzz: {sum(counts.values())} inputs, {line}", flush=True)


def _cli(results: dict) -> None:
    from test_cli_bad_input import KNOWN_GAPS, count_cases

    rc, line = _pytest([os.path.join(TESTS, "test_cli_bad_input.py")], dict(os.environ))
    results["cli_bad_input"] = {"cases": count_cases(), "known_gaps_xfail": sorted(KNOWN_GAPS), "pytest": line,
                                "all_passed": rc == 0}
    print(f"cli: {count_cases()} bad-input cases, {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
