"""Hostile model files and constraint expressions, each tried in a subprocess under a time and memory limit.

Shared by ``test_hostile_inputs.py`` (a few hundred cases in the default run) and
``benchmarks/fuzz_hostile_inputs.py`` (10,000 and more).

* Model files: a fitted model of every kind (``_model_files.py``) is saved, then hypothesis mutates its JSON -
  a value anywhere replaced (wrong type, NaN, +-inf, huge or negative numbers, out-of-range indices), lists
  truncated / extended / emptied, keys dropped or added, the regression trees' children pointed back at
  their ancestors (cycles) - and the mutated file is loaded and used to predict, as ``perfmodel predict``
  does.
* Constraint expressions: random expressions over knob names, numbers, strings and every operator
  (nested powers, repetitions, huge literals) evaluated by :class:`profiling.space.Constraint`.

Every case runs in a worker process (``python _fuzz.py worker``) whose address space is limited
(``resource.setrlimit(RLIMIT_AS)``); the parent waits for each result at most ``timeout_s``. Outcomes:
``ok`` (loaded and predicted / evaluated), ``refused`` (a user-facing error of one line), and the failures
this is looking for: ``hang`` (no answer in time; the worker is killed and restarted), ``traceback`` (any
other exception), ``multiline`` (a user error of several lines), ``died`` (the worker process died).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAILURES = ("hang", "traceback", "multiline", "died")
MEMORY_LIMIT_GB = 3.0


# ----------------------------------------------------------------------------------------- worker
def _worker(memory_gb: float) -> int:
    import resource

    limit = int(memory_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path[:0] = [HERE, ROOT]
    import warnings

    import numpy as np

    from _model_files import predict_file
    from perfmodel.errors import USER_ERRORS
    from profiling.space import Constraint

    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    print("READY", flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        try:
            if case["what"] == "model":
                predict_file(case["path"])
            elif case["what"] == "sleep":  # checks the harness's own time limit
                time.sleep(float(case["s"]))
            else:
                Constraint(case["expr"])(case["config"])
            out = {"outcome": "ok"}
        except USER_ERRORS as exc:
            msg = str(exc)
            out = {"outcome": "refused" if msg and "\n" not in msg else "multiline", "message": msg[:500],
                   "type": type(exc).__name__}
        except BaseException as exc:  # noqa: BLE001 - everything else is what the fuzzing looks for
            out = {"outcome": "traceback", "type": type(exc).__name__,
                   "message": (str(exc).splitlines() or [""])[0][:300]}
        out["id"] = case["id"]
        print(json.dumps(out), flush=True)
    return 0


class Runner:
    """A worker process fed one case at a time, restarted after a hang or a death."""

    def __init__(self, timeout_s: float, memory_gb: float = MEMORY_LIMIT_GB):
        self.timeout_s, self.memory_gb = timeout_s, memory_gb
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONPATH": ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "worker", str(self.memory_gb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env, bufsize=1)
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("the fuzz worker did not start")

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, case: dict) -> dict:
        import selectors

        if self.proc is None or self.proc.poll() is not None:
            self._start()
        case = {**case, "id": case.get("id", 0)}
        try:
            self.proc.stdin.write(json.dumps(case, allow_nan=True) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._stop()
            return {"outcome": "died"}
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(self.timeout_s)
        sel.close()
        if not ready:
            self._stop()
            return {"outcome": "hang"}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            return {"outcome": "died", "message": f"exit status {code}"}
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._stop()
            self.proc = None


@dataclass
class Tally:
    outcomes: Counter = field(default_factory=Counter)
    by_file: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # failure outcome -> a few (case, result)
    seconds: float = 0.0

    def add(self, case: dict, result: dict, label: str = "") -> None:
        out = result["outcome"]
        self.outcomes[out] += 1
        if label:
            self.by_file[label] += 1
        if out in FAILURES and len(self.examples.setdefault(out, [])) < 5:
            self.examples[out].append({"case": {k: v for k, v in case.items() if k != "doc"}, "result": result})

    @property
    def cases(self) -> int:
        return sum(self.outcomes.values())

    @property
    def failures(self) -> int:
        return sum(self.outcomes[k] for k in FAILURES)

    def as_dict(self) -> dict:
        return {"cases": self.cases, **{k: self.outcomes.get(k, 0) for k in ("ok", "refused", *FAILURES)},
                "per_file": dict(self.by_file), "examples": self.examples, "wall_s": round(self.seconds, 1)}


# ------------------------------------------------------------------------------------ mutations
HOSTILE = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e-320, 10**30, -(10**30), 2**63, 2**64,
           -1, 0, 1, 3, 10**6, 10**9, 0.5, -0.5, "x", "", "nan", None, True, False, [], {}, [1, 2], [[0]],
           {"a": 1}, [float("nan")], [-1, -1], [0, 0, 0]]


def _paths(doc, prefix=()):
    """Every path into ``doc`` (dict keys, list indices), the root excluded; lists of numbers not expanded
    beyond their first 40 items."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:40]):
            out.append(prefix + (i,))
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def mutation_strategy():
    """A hypothesis strategy of mutation kinds (see :func:`mutate`)."""
    from hypothesis import strategies as st

    return st.sampled_from(["replace", "replace", "replace", "list", "dict", "cycle", "scale", "swap"])


def mutate(doc: dict, data, n_mutations: int) -> list[str]:
    """Apply ``n_mutations`` random mutations (drawn from hypothesis ``data``) to the state of ``doc``."""
    from hypothesis import strategies as st

    done = []
    for _ in range(n_mutations):
        how = data.draw(mutation_strategy())
        if how == "cycle":
            trees = [p for p in _paths(doc) if p and p[-1] in ("left", "right") and isinstance(_get(doc, p), list)]
            if trees:
                path = data.draw(st.sampled_from(trees))
                arr = _get(doc, path)
                i = data.draw(st.integers(0, len(arr) - 1))
                arr[i] = data.draw(st.sampled_from([0, i, max(0, i - 1), -2, len(arr), len(arr) + 5, 10**12]))
                done.append(f"cycle {'.'.join(map(str, path))}[{i}]={arr[i]}")
                continue
            how = "replace"
        paths = _paths(doc["state"], ("state",))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent, key = _get(doc, path[:-1]), path[-1]
        value = parent[key]
        if how == "list" and isinstance(value, list):
            op = data.draw(st.sampled_from(["truncate", "empty", "extend", "drop", "reverse", "nest"]))
            if op == "truncate":
                del value[data.draw(st.integers(0, max(0, len(value) - 1))):]
            elif op == "empty":
                value.clear()
            elif op == "extend":
                value.extend([value[-1] if value else 0] * data.draw(st.integers(1, 5)))
            elif op == "drop" and value:
                value.pop(data.draw(st.integers(0, len(value) - 1)))
            elif op == "reverse":
                value.reverse()
            else:
                parent[key] = [value]
            done.append(f"list-{op} {'.'.join(map(str, path))}")
        elif how == "dict" and isinstance(value, dict):
            op = data.draw(st.sampled_from(["drop", "add"]))
            if op == "drop" and value:
                value.pop(data.draw(st.sampled_from(sorted(value, key=str))))
            else:
                value[data.draw(st.sampled_from(["extra", "kind", "state", "n_features_in", "coef"]))] = \
                    data.draw(st.sampled_from(HOSTILE))
            done.append(f"dict-{op} {'.'.join(map(str, path))}")
        elif how == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            factor = data.draw(st.sampled_from([-1, 0, 2, 1e10, 1e300, -1e300, 1e-300]))
            parent[key] = value * factor if isinstance(value, float) or not isinstance(factor, int) else value * factor
            done.append(f"scale {'.'.join(map(str, path))}*{factor}")
        elif how == "swap":
            parent[key] = str(value) if not isinstance(value, str) else [value]
            done.append(f"swap-type {'.'.join(map(str, path))}")
        else:
            parent[key] = json.loads(json.dumps(data.draw(st.sampled_from(HOSTILE))))
            done.append(f"replace {'.'.join(map(str, path))}={parent[key]!r:.30}")
    return done


def write_doc(doc: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=True)  # NaN / Infinity tokens, as a hostile file would hold them


def fuzz_models(examples: int, folder: str, *, timeout_s: float = 20.0, seed: int | None = 0,
                progress=None) -> Tally:
    """``examples`` mutated model files, loaded and predicted in the worker; returns the tally."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sys.path[:0] = [HERE, ROOT]
    from _model_files import model_files

    files = model_files(os.path.join(folder, "models"))
    docs = {}
    for name, p in files.items():
        with open(p, encoding="utf-8") as fh:
            docs[name] = fh.read()
    names = sorted(docs)
    tally, runner = Tally(), Runner(timeout_s)
    case_path = os.path.join(folder, "case.json")
    t0 = time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is not None,
              suppress_health_check=list(HealthCheck), phases=[__import__("hypothesis").Phase.generate])
    @given(st.data())
    def one(data):
        name = data.draw(st.sampled_from(names))
        doc = json.loads(docs[name])
        what = mutate(doc, data, data.draw(st.integers(1, 3)))
        write_doc(doc, case_path)
        case = {"what": "model", "path": case_path, "file": name, "mutations": what}
        tally.add(case, runner.run(case), name)
        if progress and tally.cases % 500 == 0:
            progress(tally)

    return _drive(one, tally, runner, t0)


def _drive(one, tally: Tally, runner: Runner, t0: float) -> Tally:
    """Run the hypothesis test ``one`` to the end, close the worker, and time the tally."""
    try:
        one()
    finally:
        runner.close()
    tally.seconds = time.monotonic() - t0
    return tally


# ---------------------------------------------------------------------------------- expressions
KNOBS = {"threads": 4, "batch": 8, "freq": 1.5, "mode": "a", "xla": True}


def expression_strategy():
    """Random expressions; the atoms and operators that build large values (powers, repetition) are drawn
    more often than the rest."""
    from hypothesis import strategies as st

    atoms = st.one_of(
        st.sampled_from(sorted(KNOBS)),
        st.sampled_from(["64", "65", "10**64", "(10**64)**64", "2**40", "10**8", "10**9", "10**10", "2**4096",
                         "9" * 400, "'a'", "'ab'", "'%s'", "'%0999999999d'"]),
        st.sampled_from(["1e308", "1e-308", "0.5", "-1", "0", "''", "True", "nosuch"]),
        st.integers(-10, 10).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr))
    ops = ["**", "**", "**", "*", "*", "*", "+", "-", "/", "//", "%", "%", "<", "<=", ">", ">=", "==", "!=", "and",
           "or"]

    @st.composite
    def expr(draw, depth=0):
        pick = draw(st.sampled_from(range(10)))
        if depth >= 4 or pick < 2:
            return draw(atoms)
        if pick < 9:
            return f"({draw(expr(depth + 1))} {draw(st.sampled_from(ops))} {draw(expr(depth + 1))})"
        return f"({draw(st.sampled_from(['not ', '-']))}{draw(expr(depth + 1))})"

    return expr()


def fuzz_expressions(examples: int, *, timeout_s: float = 10.0, memory_gb: float = 1.0, seed: int | None = 0,
                     progress=None) -> Tally:
    """``examples`` random constraint expressions evaluated in the worker under ``memory_gb``."""
    from hypothesis import HealthCheck, Phase, given, settings

    tally, runner = Tally(), Runner(timeout_s, memory_gb)
    t0 = time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is not None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(expression_strategy())
    def one(expr):
        case = {"what": "expr", "expr": expr, "config": KNOBS}
        tally.add(case, runner.run(case))
        if progress and tally.cases % 1000 == 0:
            progress(tally)

    return _drive(one, tally, runner, t0)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "worker":
    sys.exit(_worker(float(sys.argv[2])))
