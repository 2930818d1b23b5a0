"""perfmodel.reports.write_report and the 'perfmodel report' command."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from perfmodel.errors import ReportError, TableError
from perfmodel.reports import write_report

from report_testdata import synthetic_table  # tests/perfmodel is on sys.path (rootdir import mode)

KNOBS = ["threads", "freq_ghz", "batch"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    df = synthetic_table()
    small = df[df.network == "small"].reset_index(drop=True)
    study = small.sample(20, random_state=0).assign(iteration=range(20))
    out = tmp_path_factory.mktemp("report")
    paths = write_report(small, KNOBS, ["runtime_s", "power_w"], out, study=study, group_by=None)
    return paths, small


def test_writes_the_three_files_and_figures(report):
    paths, _ = report
    assert paths["html"].name == "report.html" and paths["html"].stat().st_size > 10_000
    md = paths["markdown"].read_text()
    for name in ("pareto", "knobs", "interactions", "predicted", "convergence"):
        assert (paths["figures"] / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{name}.png" in md


def test_equations_json_recovers_the_true_equation(report):
    paths, small = report
    d = json.loads(paths["equations"].read_text())
    assert d["format"] == "perfmodel.report-equations" and d["version"] == 1
    power = d["objectives"]["power_w"]
    terms = {t["term"]: t for t in power["terms"]}
    assert set(terms) == {"1", "freq_ghz", "threads*freq_ghz"}
    for term, true in (("1", 2.0), ("freq_ghz", 1.5), ("threads*freq_ghz", 0.4)):
        assert terms[term]["ci_low"] <= true <= terms[term]["ci_high"]
        assert terms[term]["p_value"] < 1e-3
    runtime = d["objectives"]["runtime_s"]
    rterms = {t["term"]: t for t in runtime["terms"]}
    assert set(rterms) == {"1", "freq_ghz*batch", "threads**2"}  # an interaction and a squared term
    for term, true in (("1", 0.5), ("freq_ghz*batch", 0.25), ("threads**2", 0.03)):
        assert rterms[term]["ci_low"] <= true <= rterms[term]["ci_high"]
    assert runtime["degree"] == 2 and runtime["fit"]["r2"] > 0.99
    # the expression string, evaluated, reproduces the table within the noise
    import sympy
    syms = {k: sympy.Symbol(k, real=True) for k in KNOBS}
    f = sympy.lambdify(list(syms.values()), sympy.sympify(power["expression"], locals=syms))
    pred = f(*[small[k].to_numpy(dtype=float) for k in KNOBS])
    assert np.sqrt(np.mean((pred - small.power_w) ** 2)) < 0.05


def test_html_is_self_contained(report):
    paths, _ = report
    html = paths["html"].read_text()
    srcs = re.findall(r"src='([^']*)'", html) + re.findall(r'src="([^"]*)"', html)
    names = re.findall(r"<figure id='fig-([a-z-]+)'>", html)
    # the decision part's five and the profile's knob effects (no layer rows, no flops: the rest is not drawn)
    assert sorted(names) == ["convergence", "interactions", "knobs", "pareto", "predicted", "profile-knobs"]
    assert len(srcs) == 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
    for s in srcs:
        assert base64.b64decode(s.split(",", 1)[1])[:4] == b"\x89PNG"
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "runtime_s = " in html and "Pareto-optimal configurations" in html


def test_report_says_what_it_could_not_compute(tmp_path):
    df = synthetic_table()
    df.loc[df.index[:5], "energy_j"] = np.nan
    tiny = df.head(4).copy()
    tiny["runtime_s"] = np.nan
    paths = write_report(pd.concat([df, tiny]), KNOBS, ["runtime_s", "energy_j"], tmp_path, degree=1)
    md = paths["markdown"].read_text()
    assert "runtime_s: 4 of 100 row(s)" in md and "energy_j: 9 of 100 row(s)" in md  # energy = runtime x power
    # one objective, two rows: no equation, no Pareto front, still a report
    paths = write_report(df.head(2), KNOBS, ["power_w"], tmp_path / "one")
    md = paths["markdown"].read_text()
    assert "equation for power_w: not computed (too few rows" in md
    assert "Pareto front: not computed" in md
    d = json.loads(paths["equations"].read_text())
    assert "too few rows" in d["objectives"]["power_w"]["error"]


def test_groups_give_transfer_and_correlations(tmp_path):
    paths = write_report(synthetic_table(), KNOBS, ["runtime_s", "power_w"], tmp_path, degree=2)
    md = paths["markdown"].read_text()
    assert "Transfer of optima across network: runtime_s" in md
    assert "Correlations of configurations across network: power_w" in md


def test_bad_arguments(tmp_path):
    df = synthetic_table()
    with pytest.raises(TableError, match="no column 'nope'"):
        write_report(df, ["nope"], ["runtime_s"], tmp_path)
    with pytest.raises(ReportError, match="at least one knob"):
        write_report(df, [], ["runtime_s"], tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(df.head(30), KNOBS, ["power_w"], blocker / "sub", degree=1)


# ------------------------------------------------------------------------------------------- CLI
def test_cli_report_from_table(tmp_path, capsys):
    csv = tmp_path / "data.csv"
    synthetic_table().to_csv(csv, index=False)
    study = tmp_path / "study.csv"
    synthetic_table().sample(15, random_state=2).assign(iteration=range(15), on_front=False).to_csv(study, index=False)
    out = tmp_path / "rep"
    rc = main(["report", "--table", str(csv), "--knobs", ",".join(KNOBS), "--objectives", "runtime_s,energy_j",
               "--study", str(study), "--degree", "2", "-o", str(out)])
    assert rc == 0
    assert str(out / "report.html") in capsys.readouterr().out
    d = json.loads((out / "equations.json").read_text())
    assert d["source"].startswith(str(csv)) and set(d["objectives"]) == {"runtime_s", "energy_j"}
    assert (out / "figures" / "convergence.png").exists()


def test_cli_report_draws_the_convergence_of_a_study_explore_wrote(tmp_path, capsys):
    grid = pd.DataFrame([{"a": a, "b": b, "time": 1.0 + (a - 3) ** 2 + b, "power": 2.0 + a + 0.5 * b}
                         for a in range(6) for b in range(4)])
    grid.to_csv(tmp_path / "grid.csv", index=False)
    base = ["--table", str(tmp_path / "grid.csv"), "--knobs", "a,b"]
    assert main(["explore", *base, "--objectives", "time,power", "--strategy", "random", "--budget", "8",
                 "--quiet", "-o", str(tmp_path / "run.csv")]) == 0
    assert "evaluation" in pd.read_csv(tmp_path / "run.csv").columns
    assert main(["report", *base, "--objectives", "time,power", "--study", str(tmp_path / "run.csv"),
                 "--degree", "1", "-o", str(tmp_path / "rep")]) == 0
    capsys.readouterr()
    problems = json.loads((tmp_path / "rep" / "equations.json").read_text())["problems"]
    assert not [p for p in problems if "convergence" in p or "hypervolume" in p], problems
    assert (tmp_path / "rep" / "figures" / "convergence.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Study (random): after 8 evaluations the front found holds" in md
    # the whole grid evaluated: its front is the table's, all of the hypervolume
    assert main(["explore", *base, "--objectives", "time,power", "--strategy", "random", "--budget", "24",
                 "--quiet", "-o", str(tmp_path / "all.csv")]) == 0
    assert main(["report", *base, "--objectives", "time,power", "--study", str(tmp_path / "all.csv"),
                 "--degree", "1", "-o", str(tmp_path / "rep-all")]) == 0
    md = (tmp_path / "rep-all" / "report.md").read_text()
    assert ("after 24 evaluations the front found holds 100.0% of the hypervolume of the front of every "
            "configuration measured (table and study)") in md
    # constrained: the share is of the study's own feasible front, and infeasible evaluations do not count
    assert main(["explore", *base, "--objectives", "time,power", "--constraint", "power<=6", "--strategy",
                 "random", "--budget", "24", "--quiet", "-o", str(tmp_path / "c.csv")]) == 0
    assert not pd.read_csv(tmp_path / "c.csv")["feasible"].all()
    assert main(["report", *base, "--objectives", "time,power", "--study", str(tmp_path / "c.csv"),
                 "--degree", "1", "-o", str(tmp_path / "rep-c")]) == 0
    capsys.readouterr()
    md = (tmp_path / "rep-c" / "report.md").read_text()
    assert "holds 100.0% of the hypervolume of the front of the study's feasible evaluations" in md


def test_a_failed_evaluation_does_not_make_a_study_constrained(tmp_path):
    from perfmodel.reports.figures import has_infeasible

    grid = pd.DataFrame([{"a": a, "time": 1.0 + a, "power": 6.0 - a} for a in range(6)])
    study = grid.assign(evaluation=range(1, 7), feasible=True)
    study.loc[2, ["time", "power"]] = np.nan            # failed: measured in nothing
    study.loc[2, "feasible"] = False
    assert not has_infeasible(study, ["time", "power"])
    paths = write_report(grid, ["a"], ["time", "power"], tmp_path / "failed", study=study, group_by=None, degree=1)
    md = paths["markdown"].read_text()
    # against the table's front (all six points, reference (6.5, 6.5)): a staircase of 15.25; without the failed
    # evaluation's point (3, 4) the study's front holds 14.25 of it
    assert ("Study: after 6 evaluations the front found holds 93.4% of the hypervolume of the front of every "
            "configuration measured (table and study).") in md
    study.loc[4, "feasible"] = False                    # measured, but over a limit: a constrained study
    assert has_infeasible(study, ["time", "power"])
    md = write_report(grid, ["a"], ["time", "power"], tmp_path / "constrained", study=study, group_by=None,
                      degree=1)["markdown"].read_text()
    assert "of the hypervolume of the front of the study's feasible evaluations." in md


def test_best_so_far_follows_the_direction_and_counts_only_feasible_evaluations():
    from perfmodel.reports.figures import best_so_far

    study = pd.DataFrame({"time": [5.0, 3.0, 4.0, 1.0, 2.0], "feasible": [True, False, True, False, True]})
    assert best_so_far(study, "time").tolist() == [5.0, 3.0, 3.0, 1.0, 1.0]
    assert best_so_far(study, "time", maximize=True).tolist() == [5.0, 5.0, 5.0, 5.0, 5.0]
    assert best_so_far(study, "time", feasible_only=True).tolist() == [5.0, 5.0, 4.0, 4.0, 2.0]
    late = study.assign(feasible=[False, False, True, True, True])
    got = best_so_far(late, "time", feasible_only=True)
    assert got.isna().tolist() == [True, True, False, False, False] and got.tolist()[2:] == [4.0, 1.0, 1.0]


@pytest.mark.parametrize("extra, message", [
    (["--knobs", "threads,zz"], "no column 'zz'"),
    (["--degree", "two"], "--degree must be"),
    (["--maximize", "power_w"], "--maximize names 'power_w'"),
    (["--group-by", "nope"], "--group-by names 'nope'"),
])
def test_cli_bad_input_exits_2(tmp_path, capsys, extra, message):
    csv = tmp_path / "data.csv"
    synthetic_table().head(40).to_csv(csv, index=False)
    args = ["report", "--table", str(csv), "--objectives", "runtime_s", "-o", str(tmp_path / "r")]
    rc = main(args + (extra if "--knobs" in extra else [*extra, "--knobs", "threads,batch"]))
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.startswith("perfmodel: error:")
    assert not (tmp_path / "r" / "report.html").exists()


def test_cli_report_from_store_uses_network_rows_and_labels_the_source(tmp_path, capsys, monkeypatch):
    import profiling.store

    df = synthetic_table().assign(level="network", status="ok", source="replay:bench.csv")
    layer_rows = df.head(10).assign(level="layer", runtime_s=99.0)
    failed = df.head(3).assign(status="failed", runtime_s=np.nan)
    opened = []

    class FakeStore:  # the plumbing only; profiling's own tests cover the real store
        def __init__(self, path, readonly=False, wait_s=0.0):
            opened.append((path, readonly))

        def to_frame(self):
            return pd.concat([df, layer_rows, failed], ignore_index=True)

        def close(self):
            pass

    monkeypatch.setattr(profiling.store, "CampaignStore", FakeStore)
    out = tmp_path / "rep"
    rc = main(["report", "--store", "runs/x.sqlite", "--knobs", ",".join(KNOBS), "--objectives", "runtime_s",
               "--degree", "1", "--group-by", "none", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert opened == [("runs/x.sqlite", True)]
    d = json.loads((out / "equations.json").read_text())
    assert d["source"] == "store:runs/x.sqlite (replay:bench.csv)"
    assert d["objectives"]["runtime_s"]["fit"]["n_rows"] == len(df)  # no layer rows, no failed rows


def test_cli_missing_store_is_not_created(tmp_path, capsys):
    path = tmp_path / "none.sqlite"
    rc = main(["report", "--store", str(path), "--knobs", "a", "--objectives", "runtime_s", "-o", str(tmp_path / "r")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    assert not path.exists() and not (tmp_path / "none.sqlite.lock").exists()


def test_cli_report_reads_a_study_file_as_it_reads_the_csv(tmp_path, capsys):
    import hashlib
    import re

    grid = pd.DataFrame([{"a": a, "b": b, "time": 1.0 + (a - 3) ** 2 + b, "power": 2.0 + a + 0.5 * b}
                         for a in range(6) for b in range(4)])
    grid.to_csv(tmp_path / "grid.csv", index=False)
    base = ["--table", str(tmp_path / "grid.csv"), "--knobs", "a,b"]
    study = tmp_path / "s.sqlite"
    assert main(["explore", *base, "--objectives", "time,power", "--constraint", "power<=6", "--strategy", "random",
                 "--budget", "10", "--quiet", "--study", str(study), "-o", str(tmp_path / "run.csv")]) == 0
    digest = hashlib.sha256(study.read_bytes()).hexdigest()
    lines = {}
    for name, path in (("csv", tmp_path / "run.csv"), ("sqlite", study)):
        assert main(["report", *base, "--objectives", "time,power", "--study", str(path), "--degree", "1",
                     "-o", str(tmp_path / name)]) == 0
        md = (tmp_path / name / "report.md").read_text()
        lines[name] = re.findall(r"Study \(random\): after 10 evaluations.*", md)
    assert lines["csv"] and lines["csv"] == lines["sqlite"]
    assert hashlib.sha256(study.read_bytes()).hexdigest() == digest          # read, never written
    # a campaign store is a SQLite file too, but not a study
    capsys.readouterr()
    from profiling.store import open_store
    open_store(str(tmp_path / "store.sqlite")).close()
    assert main(["report", *base, "--objectives", "time,power", "--study", str(tmp_path / "store.sqlite"),
                 "-o", str(tmp_path / "bad")]) == 2
    assert "is not a perfmodel study file" in capsys.readouterr().err


def _report_with_guessed_knobs(table, objectives: str, out) -> tuple[list[str], dict]:
    """``perfmodel report`` of ``table`` without --knobs: (the warnings it gave, its equations.json)."""
    with pytest.warns(UserWarning) as said:
        assert main(["report", "--table", str(table), "--objectives", objectives, "--degree", "2",
                     "-o", str(out)]) == 0
    return [str(w.message) for w in said], json.loads((out / "equations.json").read_text())


def test_cli_knobs_guessed_from_joined_tables_leave_out_their_groups_and_labels(tmp_path):
    # the four FlexiBO grids joined: config_name (768 names, each on 4 rows) and size were taken for knobs, so
    # both equations were "not computed" (too many levels) and nothing was compared across sizes
    rows = [{"config_name": f"Config{i}", "size": size, "a": a, "b": b,
             "time": (1.0 + (a - 3) ** 2 + b) * (2 if size == "400x400" else 1), "power": 2.0 + a + 0.1 * b}
            for size in ("200x200", "400x400") for i, (a, b) in enumerate((a, b) for a in range(6) for b in range(10))]
    pd.DataFrame(rows).to_csv(tmp_path / "grids.csv", index=False)
    said, d = _report_with_guessed_knobs(tmp_path / "grids.csv", "time,power", tmp_path / "rep")
    assert ("the table has no config column: its knobs are taken to be every other column that varies (a, b); "
            "left out, a different value in most rows: config_name (a label); compared as groups, not knobs: size; "
            "name them with --knobs") in said
    assert d["knobs"] == ["a", "b"] and all("error" not in o for o in d["objectives"].values())
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "### Transfer of optima across size: time" in md and "within their size" in md


def test_cli_report_of_a_study_alone(tmp_path, capsys):
    # a live search has no table: 'report --study' alone was refused ("one of the arguments --table --store is
    # required"); its study file knows the knobs and objectives (a maximised one stays maximised)
    import hashlib

    grid = pd.DataFrame([{"a": a, "b": b, "time": 1.0 + (a - 3) ** 2 + b, "speed": 10.0 - a + b}
                         for a in range(6) for b in range(4)])
    grid.to_csv(tmp_path / "grid.csv", index=False)
    study = tmp_path / "s.sqlite"
    assert main(["explore", "--table", str(tmp_path / "grid.csv"), "--knobs", "a,b", "--objectives", "time,speed",
                 "--maximize", "speed", "--strategy", "random", "--budget", "12", "--quiet", "--study", str(study),
                 "-o", str(tmp_path / "run.csv")]) == 0
    digest = hashlib.sha256(study.read_bytes()).hexdigest()
    assert main(["report", "--study", str(study), "--degree", "1", "-o", str(tmp_path / "rep")]) == 0
    d = json.loads((tmp_path / "rep" / "equations.json").read_text())
    assert d["knobs"] == ["a", "b"] and d["objectives"]["time"]["fit"]["n_rows"] == 12
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Source: study:" in md and "Study (random): after 12 evaluations" in md
    assert "Pareto-optimal in time against speed" in md
    # the front: rows no other evaluation beats in lower time and higher speed
    run = pd.read_csv(tmp_path / "run.csv")
    front = [(r.a, r.b) for r in run.itertuples() if not any(
        o.time <= r.time and o.speed >= r.speed and (o.time < r.time or o.speed > r.speed) for o in run.itertuples())]
    table = md.split("### Pareto-optimal configurations")[1].split("###")[0]
    assert sorted(front) == sorted((int(x), int(y)) for x, y in
                                   (ln.strip("|").split("|")[:2] for ln in table.splitlines() if ln.startswith("| ")
                                    and ln[2].isdigit()))
    assert hashlib.sha256(study.read_bytes()).hexdigest() == digest  # read, never written
    # the CSV explore wrote names neither its knobs nor its objectives; nothing at all is one line too
    capsys.readouterr()
    assert main(["report", "--study", str(tmp_path / "run.csv"), "-o", str(tmp_path / "r2")]) == 2
    assert capsys.readouterr().err == ("perfmodel: error: a report of a study's CSV alone needs --knobs and "
                                       "--objectives (its study file, explore --study, knows them)\n")
    assert main(["report", "--study", str(tmp_path / "run.csv"), "--knobs", "a,b", "--objectives", "time",
                 "--degree", "1", "-o", str(tmp_path / "r2")]) == 0
    assert main(["report", "-o", str(tmp_path / "r3")]) == 2
    assert "give --table, --store or --study" in capsys.readouterr().err
    assert main(["report", "--study", str(tmp_path / "nope.sqlite"), "-o", str(tmp_path / "r3")]) == 2
    assert capsys.readouterr().err.endswith("nope.sqlite' does not exist\n")  # not "a study's CSV alone needs ..."


def test_cli_knobs_guessed_without_a_config_column_leave_out_labels_and_other_measurements(tmp_path, capsys):
    # the FlexiBO grids name each configuration (config_name) and measure power beside time: with one objective
    # named, neither was to be a knob (config_name, 768 words, made the equation "not computed")
    rng = np.random.default_rng(0)
    grid = pd.DataFrame([{"config_name": f"Config{i}", "a": a, "b": b, "time": 1.0 + (a - 3) ** 2 + b,
                          "power": 2.0 + a + rng.uniform()} for i, (a, b) in enumerate((a, b) for a in range(6)
                                                                                        for b in range(4))])
    grid.to_csv(tmp_path / "grid.csv", index=False)
    said, d = _report_with_guessed_knobs(tmp_path / "grid.csv", "time", tmp_path / "rep")
    assert ("the table has no config column: its knobs are taken to be every other column that varies (a, b); "
            "left out, a different value in most rows: config_name (a label), power (a measurement); name them "
            "with --knobs") in said
    assert d["knobs"] == ["a", "b"] and "error" not in d["objectives"]["time"]
    # without objectives, the error names the columns measured per row
    capsys.readouterr()
    assert main(["report", "--table", str(tmp_path / "grid.csv"), "-o", str(tmp_path / "rep2")]) == 2
    assert capsys.readouterr().err == ("perfmodel: error: the data have none of runtime_s, energy_j, power_w; name "
                                       "the objectives with --objectives (columns measured per row: power)\n")
    # a reading with a few levels that was not taken in some rows (Unicorn's debug table: temperatures) was
    # guessed a knob, and the report refused the table ("knob column 'temp' is empty in row 3")
    grid["temp"] = np.where(np.arange(len(grid)) % 7 == 2, np.nan, 40.0 + grid["a"] % 2)
    grid.to_csv(tmp_path / "grid.csv", index=False)
    said, d = _report_with_guessed_knobs(tmp_path / "grid.csv", "time", tmp_path / "rep3")
    assert any(w.endswith("power (a measurement); left out, empty in some rows: temp; name them with --knobs")
               for w in said)
    assert d["knobs"] == ["a", "b"]


def test_cli_knobs_guessed_without_a_config_column_leave_out_the_objectives(tmp_path):
    # a table of another tool (the FlexiBO grids): no config column, so every other column that varies is taken
    # for a knob; the objectives named were among them, and each equation was "not computed" ("is both a knob
    # and the objective")
    grid = pd.DataFrame([{"a": a, "b": b, "time": 1.0 + (a - 3) ** 2 + b, "power": 2.0 + a + 0.5 * b}
                         for a in range(6) for b in range(4)])
    grid.to_csv(tmp_path / "grid.csv", index=False)
    said, d = _report_with_guessed_knobs(tmp_path / "grid.csv", "time,power", tmp_path / "rep")
    assert ("the table has no config column: its knobs are taken to be every other column that varies (a, b); "
            "name them with --knobs") in said
    assert d["knobs"] == ["a", "b"]
    assert "error" not in d["objectives"]["time"] and "error" not in d["objectives"]["power"]
    # the profile section says what such a table holds ("0 network(s), 0 measured network/configuration pairs")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert (f"From {tmp_path / 'grid.csv'}: 24 row(s) of configurations, without a runtime_s column or per-layer "
            "rows: this section shows how time and power move with each knob.") in md
    assert "0 network(s)" not in md


def test_cli_report_says_each_equation_it_fits_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "data.csv"
    small = synthetic_table()
    small[small.network == "small"].to_csv(csv, index=False)
    args = ["report", "--table", str(csv), "--knobs", ",".join(KNOBS), "--objectives", "runtime_s,power_w",
            "--group-by", "none", "-o", str(tmp_path / "rep")]
    assert main(args) == 0
    assert "equation 1/2" not in capsys.readouterr().err  # a pipe or a log: no progress lines
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert main(args + ["--max-degree", "2"]) == 0
    err = capsys.readouterr().err
    n = len(small[small.network == "small"])
    assert (f"perfmodel report: equation 1/2: runtime_s ({n} rows, 3 knob(s), degrees 1-2, each cross-validated)"
            in err.splitlines())
    assert any(line.startswith("perfmodel report: equation 2/2: power_w (") for line in err.splitlines())
