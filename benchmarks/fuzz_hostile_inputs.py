"""Hostile model files and constraint expressions: 10,000 cases each, 0 hangs / tracebacks / multi-line refusals.

* Model files: a fitted model of every kind (flops_linear, gbr, sparse_polynomial, gp, roofline, config_model
  with a polynomial and with a gbr regressor, layerwise with polynomial and with gbr unit models) is saved;
  hypothesis mutates its JSON (1-3 mutations: a value replaced by a wrong type, NaN, +-inf, huge or negative
  numbers or out-of-range indices; lists truncated, extended, emptied, reversed; keys dropped or added; the
  gradient-boosting trees' children pointed back at an ancestor or out of range) and the file is loaded and
  used to predict (``tests/reliability/_model_files.py: predict_file``), in a worker subprocess with a time
  limit per case (20 s) and a 3 GiB address-space limit.
* Constraint expressions: random expressions (nested powers, repetitions, huge literals, every operator) over
  knob names, evaluated by ``profiling.space.Constraint`` in a worker with a 1 GiB address-space limit and
  10 s per case.

Outcomes: ok, refused (one-line user error), and the failures: hang, traceback, multiline, died.

Run:  nice .venv/bin/python benchmarks/fuzz_hostile_inputs.py [--model-cases 10000] [--expr-cases 10000]
      [--random] [--json out/fuzz_hostile_inputs.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "reliability"), ROOT]

from _fuzz import FAILURES, fuzz_expressions, fuzz_models  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-cases", type=int, default=10_000, help="mutated model files (default 10000)")
    ap.add_argument("--expr-cases", type=int, default=10_000, help="constraint expressions (default 10000)")
    ap.add_argument("--model-timeout", type=float, default=20.0, help="seconds per model case (default 20)")
    ap.add_argument("--random", action="store_true", help="draw new cases (default: hypothesis derandomized)")
    ap.add_argument("--json", default=os.path.join(ROOT, "out", "fuzz_hostile_inputs.json"))
    args = ap.parse_args(argv)
    seed = None if args.random else 0
    results = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "derandomized": seed is not None}

    def progress(what):
        def show(t):
            print(f"  {what}: {t.cases} cases, {t.failures} failures", flush=True)
        return show

    if args.expr_cases:
        t = fuzz_expressions(args.expr_cases, memory_gb=1.0, seed=seed, progress=progress("expressions"))
        results["expressions"] = t.as_dict()
        print(f"expressions: {json.dumps({k: v for k, v in t.as_dict().items() if k != 'examples'})}", flush=True)
    if args.model_cases:
        with tempfile.TemporaryDirectory(prefix="fuzz-models-") as d:
            t = fuzz_models(args.model_cases, d, timeout_s=args.model_timeout, seed=seed,
                            progress=progress("model files"))
        results["model_files"] = t.as_dict()
        print(f"model files: {json.dumps({k: v for k, v in t.as_dict().items() if k != 'examples'})}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1, default=str)
    bad = sum(results[k][f] for k in ("expressions", "model_files") if k in results for f in FAILURES)
    print(f"failures (hang, traceback, multiline, died): {bad}; written to {args.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
