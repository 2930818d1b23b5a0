"""Hostile model files and constraint expressions: a file loads into a model that predicts or is refused
with one line; an expression evaluates or is refused with one line; never a hang, a traceback or all the
memory (issue 21).

Each case runs in a worker subprocess under a time limit and an address-space limit (``_fuzz.py``). The
hypothesis runs here are small (``PERFMODEL_FUZZ_CASES``, default 150 model files and 300 expressions);
``benchmarks/fuzz_hostile_inputs.py`` runs 10,000 and more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _fuzz import FAILURES, Runner, fuzz_expressions, fuzz_models, write_doc
from _model_files import FILES, model_files

from profiling.errors import ConfigError
from profiling.space import Constraint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = int(os.environ.get("PERFMODEL_FUZZ_CASES", "150"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def files(folder):
    return model_files(os.path.join(folder, "models"))


@pytest.fixture(scope="module")
def runner():
    r = Runner(timeout_s=60)
    yield r
    r.close()


def _doc(files, name):
    with open(files[name], encoding="utf-8") as fh:
        return json.load(fh)


def _try(runner, doc, path):
    write_doc(doc, path)
    return runner.run({"what": "model", "path": path})


def test_every_kind_saved_by_perfmodel_loads_and_predicts(files, runner):
    assert set(files) == set(FILES)
    for name, path in files.items():
        assert runner.run({"what": "model", "path": path})["outcome"] == "ok", name


def _trees(doc):
    state = doc["state"]
    return state["regressor"]["state"]["trees"] if doc["kind"] == "config_model" else state["trees"]


@pytest.mark.parametrize("edit, words", [
    (lambda t: t["left"].__setitem__(0, 0), "node 0 has a child outside"),        # the left=[0]: a cycle
    (lambda t: t["right"].__setitem__(2, 1), "node 2 has a child outside"),       # back to an ancestor
    (lambda t: t["left"].__setitem__(0, 10**6), "node 0 has a child outside"),    # index out of range
    (lambda t: t["feature"].__setitem__(0, 99), "splits on feature 99"),          # no such input column
    (lambda t: t["value"].pop(), "must hold"),                                    # arrays of different lengths
])
@pytest.mark.parametrize("name", ["gbr", "config_model_gbr", "layerwise_gbr"])
def test_broken_trees_are_refused_in_one_line(files, runner, folder, name, edit, words):
    doc = _doc(files, name)
    if name == "layerwise_gbr":
        edit(doc["state"]["fallback"]["state"]["trees"][0])
    else:
        edit(_trees(doc)[0])
    res = _try(runner, doc, os.path.join(folder, f"{name}-tree.json"))
    assert res["outcome"] == "refused", res
    assert words in res["message"] and "corrupt 'gbr' model state" in res["message"]


@pytest.mark.parametrize("name, edit, words", [
    ("gp", lambda s: s["X_train"][0].__setitem__(0, float("nan")), "non-finite"),
    ("gp", lambda s: s["lengthscale"].__setitem__(0, float("inf")), "non-finite"),
    ("gp", lambda s: s.__setitem__("y_train", s["y_train"] * 2000), "more than 10000"),
    ("sparse_polynomial", lambda s: s["powers"][0].__setitem__(0, 10**30), "too large for 64 bits"),
    ("sparse_polynomial", lambda s: s["powers"].pop(), "must hold"),
    ("flops_linear", lambda s: s.__setitem__("n_features_in", 10**12), "n_features_in"),
    ("roofline", lambda s: s["params"].__setitem__("bytes_columns", [7]), "outside the 3 input columns"),
    ("config_model", lambda s: s["encoding"][0].__setitem__("kind", "category"), "levels"),
    ("layerwise", lambda s: s["network_term"]["coef"].append(1.0), "network_term.coef"),
    ("layerwise", lambda s: s["models"]["conv"].__setitem__("kind", "gp"), "models.conv"),
    ("layerwise", lambda s: s["group_features"]["conv"].append("no_such_feature"), "unknown feature"),
])
def test_hostile_values_are_refused_in_one_line(files, runner, folder, name, edit, words):
    doc = _doc(files, name)
    edit(doc["state"])
    res = _try(runner, doc, os.path.join(folder, f"{name}-hostile.json"))
    assert res["outcome"] == "refused", res
    assert words in res["message"], res["message"]


def test_cli_predict_refuses_a_cyclic_model_with_exit_2_and_one_line(files, folder):
    doc = _doc(files, "config_model_gbr")
    _trees(doc)[0]["left"][0] = 0
    bad = os.path.join(folder, "cyclic.json")
    write_doc(doc, bad)
    table = os.path.join(folder, "configs.csv")
    with open(table, "w", encoding="utf-8") as fh:
        fh.write("threads,batch,mode\n2,4,a\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-m", "perfmodel", "predict", "--model", bad, "--table", table],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "node 0 has a child outside" in lines[0] and "Traceback" not in proc.stderr


def test_mutated_model_files_never_hang_crash_or_give_a_traceback(folder):
    tally = fuzz_models(CASES, folder)
    assert tally.cases >= CASES * 0.9
    assert {k: tally.outcomes[k] for k in FAILURES} == dict.fromkeys(FAILURES, 0), tally.examples
    assert tally.outcomes["refused"] > 0 and tally.outcomes["ok"] > 0  # both ways out were exercised
    assert set(tally.by_file) == set(FILES)  # every kind was mutated


# ---------------------------------------------------------------------------------- expressions
@pytest.mark.parametrize("expr, words", [
    ("((10**64)**64)**64 > 1", "larger than 2**4096"),
    ("(threads**64)**64 > 1", "larger than 2**4096"),
    ("'a' * 10**10 == 'a'", "longer than 10000 characters"),
    ("('ab' * 5000) * 2 == ''", "longer than 10000 characters"),
    ("10**10 * 'a' == 'a'", "longer than 10000 characters"),
    ("'%0999999999d' % 1 == ''", "% takes numbers only"),
    ("2 ** 65 > 1", "exponent larger than 64"),
    ("mode + 1 > 0", "cannot be evaluated"),
])
def test_unbounded_expressions_are_refused_in_one_line(expr, words):
    with pytest.raises(ConfigError) as err:
        Constraint(expr)({"threads": 1024, "mode": "a"})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bounded_expressions_still_evaluate():
    assert Constraint("threads ** 2 <= 64")({"threads": 8})
    assert Constraint("(2**64)**8 > 10**60 * 10**60")({})
    assert Constraint("mode * 3 == 'aaa'")({"mode": "a"})
    assert not Constraint("1 / 0 > 1")({})  # division by zero: infeasible, as before


def test_memory_error_during_evaluation_is_one_line(monkeypatch):
    import ast

    import profiling.space as space

    def exhausted(a, b):
        raise MemoryError

    monkeypatch.setitem(space._BIN, ast.Add, exhausted)
    with pytest.raises(ConfigError, match="needs more memory") as err:
        Constraint("threads + 1 > 0")({"threads": 1})
    assert "\n" not in str(err.value)


def test_random_expressions_stay_within_time_and_memory():
    tally = fuzz_expressions(2 * CASES, memory_gb=1.0)
    assert tally.cases >= 2 * CASES * 0.9
    assert {k: tally.outcomes[k] for k in FAILURES} == dict.fromkeys(FAILURES, 0), tally.examples
    assert tally.outcomes["refused"] > 0 and tally.outcomes["ok"] > 0


def test_a_runaway_case_is_reported_as_a_hang_and_the_worker_replaced(files):
    """The harness itself: a case that does not answer in time counts as a hang; the next case runs."""
    r = Runner(timeout_s=2)
    try:
        assert r.run({"what": "sleep", "s": 600})["outcome"] == "hang"
        r.timeout_s = 60
        assert r.run({"what": "model", "path": files["gbr"]})["outcome"] == "ok"
    finally:
        r.close()
