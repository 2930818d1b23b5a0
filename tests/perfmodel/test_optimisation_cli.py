"""``perfmodel explore`` in-process: outputs, labels, resume and bad input."""

import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from perfmodel.pareto import non_dominated

TX2 = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "flexibo-tx2",
                   "tx2_sampled_output_xception_200x200.csv")
KNOBS = "core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq"


@pytest.fixture
def grid_csv(tmp_path):
    a, b = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    df = pd.DataFrame({"a": a.ravel(), "b": b.ravel()})
    df["time"] = 1.0 + (df["a"] - 5) ** 2 + 0.3 * (df["b"] - 4) ** 2
    df["power"] = 1.0 + df["a"] + 2 * df["b"]
    path = tmp_path / "grid.csv"
    df.to_csv(path, index=False)
    return str(path), df


def explore(*args):
    return main(["explore", "--quiet", *args])


@pytest.mark.parametrize("strategy", ["random", "tpe", "bo"])
def test_writes_evaluations_in_order_with_front_and_source(tmp_path, grid_csv, strategy):
    path, df = grid_csv
    out = tmp_path / "run.csv"
    rc = explore("--table", path, "--knobs", "a,b", "--objectives", "time,power", "--budget", "12",
                 "--init", "5", "--strategy", strategy, "-o", str(out))
    assert rc == 0
    run = pd.read_csv(out)
    assert list(run["evaluation"]) == list(range(1, 13))
    assert not run.duplicated(["a", "b"]).any()
    assert (run["source"] == "replay:grid.csv").all() and (run["strategy"] == strategy).all()
    # recorded values are the table's
    merged = run.merge(df, on=["a", "b"], suffixes=("", "_table"))
    np.testing.assert_allclose(merged["time"], merged["time_table"])
    np.testing.assert_array_equal(run["on_front"], non_dominated(run[["time", "power"]].to_numpy()))


def test_constraint_and_summary(capsys, grid_csv, tmp_path):
    path, df = grid_csv
    out = tmp_path / "run.csv"
    rc = main(["explore", "--table", path, "--knobs", "a,b", "--objectives", "time",
               "--constraint", "power<=6", "--budget", "30", "--strategy", "random", "-o", str(out)])
    assert rc == 0
    run = pd.read_csv(out)
    assert "power" in run.columns
    np.testing.assert_array_equal(run["feasible"], run["power"] <= 6)
    best = run.loc[run["on_front"]]
    assert len(best) >= 1 and (best["power"] <= 6).all()
    text = capsys.readouterr().out
    assert "best in the table" in text and "replay:grid.csv" in text


def test_hypervolume_ratio_is_reported_for_a_replayed_grid(capsys):
    rc = main(["explore", "--table", TX2, "--knobs", KNOBS, "--objectives", "inference_time,power_consumption",
               "--budget", "15", "--strategy", "tpe"])
    assert rc == 0
    assert "true front of the table" in capsys.readouterr().out


def test_study_resume_continues(tmp_path, grid_csv):
    path, _ = grid_csv
    study = str(tmp_path / "s.sqlite")
    args = ["--table", path, "--knobs", "a,b", "--objectives", "time,power", "--strategy", "random",
            "--study", study]
    assert explore(*args, "--budget", "5") == 0
    assert explore(*args, "--budget", "9") == 2                   # exists: needs --resume
    assert explore(*args, "--budget", "9", "--resume", "-o", str(tmp_path / "r.csv")) == 0
    n = sqlite3.connect(study).execute("SELECT count(*) FROM trials WHERE state='complete'").fetchone()[0]
    assert n == 9 and len(pd.read_csv(tmp_path / "r.csv")) == 9


def err(capsys):
    text = capsys.readouterr().err.strip().splitlines()
    assert text and text[-1].startswith("perfmodel: error: ")
    return text[-1]


def fake_campaign(monkeypatch, space, measure, outputs=(("runtime_s", "other_load"), "absent: no RAPL domains"),
                  check=lambda network, platform="cpu", executor=None: network):
    """A stand-in for profiling.campaign, the profiler interface live explore uses: the platform's ``space``,
    ``measure(network, config, platform=...)``, the outputs it measures and the network check."""
    import sys
    import types

    import profiling

    fake = types.ModuleType("profiling.campaign")
    fake.platform_space = lambda platform, executor=None: space
    fake.measure_network = measure
    fake.check_live_network = check
    fake.live_outputs = lambda platform="cpu": outputs
    monkeypatch.setitem(sys.modules, "profiling.campaign", fake)
    monkeypatch.setattr(profiling, "campaign", fake, raising=False)
    return fake


def test_bad_input_one_line_errors_and_no_study_file(capsys, tmp_path, grid_csv):
    path, df = grid_csv
    study = tmp_path / "s.sqlite"
    base = ["--table", path, "--objectives", "time,power", "--study", str(study)]
    assert explore(*base, "--knobs", "a,zz") == 2
    assert "'zz'" in err(capsys)
    assert explore(*base, "--knobs", "a,b", "--constraint", "power<=0") == 2
    assert "no configuration" in err(capsys)
    assert explore(*base, "--knobs", "a,b", "--constraint", "power=<3") == 2
    assert "constraint" in err(capsys)
    assert explore(*base, "--knobs", "a,b", "--maximize", "speed") == 2
    assert "speed" in err(capsys)
    assert explore(*base, "--knobs", "a,b", "--budget", "0") == 2
    err(capsys)
    assert not study.exists()
    nan = df.copy()
    nan.loc[3, "time"] = np.nan
    nan_path = tmp_path / "nan.csv"
    nan.to_csv(nan_path, index=False)
    assert explore("--table", str(nan_path), "--knobs", "a,b", "--objectives", "time") == 2
    assert "time is missing in 1 of the 30 rows (first: a=0,b=3)" in err(capsys)  # the table's 4th row
    assert explore("--table", path, "--knobs", "a,b", "--objectives", "time", "--resume") == 2
    assert "--study" in err(capsys)
    assert explore("--knobs", "a,b", "--objectives", "time") == 2
    assert "--table" in err(capsys)


def test_reference_point_is_used_reported_and_checked(capsys, tmp_path, grid_csv):
    path, _ = grid_csv
    study = tmp_path / "s.sqlite"
    base = ["--table", path, "--knobs", "a,b", "--objectives", "time,power", "--init", "5"]
    assert main(["explore", *base, "--budget", "8", "--reference-point", "time=5, power=9", "--study",
                 str(study)]) == 0
    assert "within the stated reference point: " in capsys.readouterr().out
    stored = sqlite3.connect(study).execute("SELECT value FROM meta WHERE key='settings'").fetchone()[0]
    assert '"reference": {"time": 5.0, "power": 9.0}' in stored
    before = study.read_bytes()
    for args, msg in ((["--reference-point", "speed=1"], "'speed', which is not in --objectives"),
                      (["--reference-point", "time=fast"], "time='fast' is not a number"),
                      (["--reference-point", "time"], "is not key=value: give objective=value pairs"),
                      (["--reference-point", "time=1,time=2"], "objective 'time' is given twice"),
                      (["--reference-point", "time=1", "--strategy", "tpe"], "guides the bo strategy"),
                      (["--reference-point", "time=6", "--budget", "9"], "its reference differs")):
        budget = [] if "--budget" in args else ["--budget", "8"]
        assert explore(*base, *budget, "--study", str(study), "--resume", *args) == 2
        assert msg in err(capsys)
    assert study.read_bytes() == before                            # the study file untouched
    assert explore("--table", path, "--knobs", "a,b", "--objectives", "time", "--reference-point", "time=1") == 2
    assert "two or more objectives" in err(capsys)


def test_duplicates_and_oversized_budget_warn(capsys, tmp_path, grid_csv):
    _, df = grid_csv
    dup = pd.concat([df, df.iloc[:2]])
    path = tmp_path / "dup.csv"
    dup.to_csv(path, index=False)
    out = tmp_path / "run.csv"
    assert explore("--table", str(path), "--knobs", "a,b", "--objectives", "time", "--budget", "100",
                   "--strategy", "random", "-o", str(out)) == 0
    text = capsys.readouterr().err
    assert "averaged" in text and "larger than the space" in text
    assert len(pd.read_csv(out)) == 30
    assert explore("--table", str(path), "--knobs", "a,b", "--objectives", "time", "--duplicates", "error") == 2
    assert "more than one row" in err(capsys)


def test_live_platform_needs_a_network(capsys):
    assert explore("--platform", "cpu", "--objectives", "runtime_s") == 2
    assert "--network" in err(capsys)
    assert explore("--table", TX2, "--knobs", "core_freq", "--objectives", "inference_time", "--executor",
                   "torch") == 2
    assert err(capsys) == ("perfmodel: error: --executor runs a network live: give --platform and --network as "
                           "well")


def test_live_platform_uses_the_profiler_interface(monkeypatch, tmp_path):
    """The interface explore expects from profiling.campaign (a fake stands in for the profiler)."""
    from profiling.space import ConfigSpace, Integer

    calls = []

    def measure_network(network, config, *, platform="cpu", executor=None):
        calls.append((network, platform, executor, dict(config)))
        return {"runtime_s": 1.0 / config["threads"], "energy_j": 2.0 + config["threads"]}

    spaces = []

    def platform_space(platform, executor=None):
        spaces.append((platform, executor))
        return ConfigSpace((Integer("threads", 1, 4),))

    fake = fake_campaign(monkeypatch, None, measure_network,
                         outputs=(("runtime_s", "power_w", "energy_j", "other_load"), ""),
                         check=lambda network, platform="cpu", executor=None: calls.append(("checked", network,
                                                                                           platform, executor)))
    fake.platform_space = platform_space
    out = tmp_path / "live.csv"
    assert explore("--platform", "cpu", "--network", "resnet50", "--objectives", "runtime_s,energy_j",
                   "--budget", "3", "--strategy", "random", "-o", str(out)) == 0
    run = pd.read_csv(out)
    assert len(run) == 3 and (run["source"] == "measured:cpu").all()
    assert calls[0] == ("checked", "resnet50", "cpu", None)   # checked once, before the first measurement
    assert all(c[:3] == ("resnet50", "cpu", None) for c in calls[1:]) and len(calls) == 4
    # --executor: the network checked, the space read and every measurement made with that framework
    calls.clear()
    assert explore("--platform", "cpu", "--executor", "torch", "--network", "resnet50", "--objectives", "runtime_s",
                   "--budget", "2", "--strategy", "random") == 0
    assert calls[0] == ("checked", "resnet50", "cpu", "torch") and spaces[-1] == ("cpu", "torch")
    assert [c[2] for c in calls[1:]] == ["torch", "torch"]


def test_live_network_the_platform_cannot_build_is_refused_before_any_study(capsys, tmp_path):
    study = tmp_path / "s.sqlite"
    base = ("--platform", "cpu", "--objectives", "runtime_s", "--knobs", "threads", "--budget", "2",
            "--study", str(study))
    # a NetworkSpec file: the CPU platform measures through TensorFlow, which builds Keras models only
    spec = Path(__file__).resolve().parents[2] / "datasets" / "h200-torch" / "specs" / "tiny_cnn.json"
    assert explore(*base, "--network", str(spec)) == 2
    assert "is not a .keras file" in err(capsys)
    assert explore(*base, "--network", "no_such_net") == 2
    assert "no_such_net" in err(capsys)
    assert not study.exists()


def test_live_platform_varies_only_the_named_knobs(monkeypatch, tmp_path):
    from profiling.space import ConfigSpace, Integer, Ordinal

    calls = []

    def measure_network(network, config, *, platform="cpu", executor=None):
        calls.append(dict(config))
        return {"runtime_s": config["batch"] / config["threads"]}

    fake_campaign(monkeypatch, ConfigSpace((Integer("threads", 1, 4), Ordinal("batch", (1, 2, 4)),
                                            Integer("cores", 1, 2))), measure_network)
    out = tmp_path / "live.csv"
    assert explore("--platform", "cpu", "--network", "tiny_cnn", "--objectives", "runtime_s", "--knobs", "threads",
                   "--config", "batch=2", "--budget", "4", "--strategy", "random", "-o", str(out)) == 0
    assert len({c["threads"] for c in calls}) == 4
    assert all(c["batch"] == 2 and "cores" not in c for c in calls)
    assert "cores" not in pd.read_csv(out).columns
    assert explore("--platform", "cpu", "--network", "tiny_cnn", "--objectives", "runtime_s",
                   "--knobs", "warp") == 2


def test_live_output_no_sensor_measures_is_refused_before_anything_is_measured(monkeypatch, tmp_path, capsys):
    from profiling.space import ConfigSpace, Integer

    calls = []
    fake_campaign(monkeypatch, ConfigSpace((Integer("threads", 1, 4),)),
                  lambda network, config, *, platform="cpu", executor=None: calls.append(config) or {"runtime_s": 1.0})
    study = tmp_path / "s.sqlite"
    base = ("--platform", "cpu", "--network", "tiny_cnn", "--budget", "2", "--study", str(study))
    # it used to measure the first configuration, then stop on "the evaluation returned no 'energy_j'"
    assert explore(*base, "--objectives", "runtime_s,energy_j") == 2
    assert err(capsys) == ("perfmodel: error: energy_j cannot be measured on the cpu platform: its power sensor is "
                           "absent: no RAPL domains")
    assert explore(*base, "--objectives", "runtime_s", "--constraint", "power_w<=10") == 2
    assert "power_w cannot be measured" in err(capsys)
    assert explore(*base, "--objectives", "energy_per_sample_j") == 2  # a sensor's output too, said as such
    assert "energy_per_sample_j cannot be measured on the cpu platform: its power sensor is absent" in err(capsys)
    assert explore(*base, "--objectives", "latency_ms") == 2
    assert "'latency_ms' is not measured live; the cpu platform measures runtime_s" in err(capsys)
    assert calls == [] and not study.exists()


def test_resume_on_a_foreign_sqlite_file_leaves_it_unchanged(tmp_path, capsys):
    import sqlite3

    path = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = path.read_bytes()
    from perfmodel.optimisation.storage import StudyStorage
    from perfmodel.errors import OptimisationError

    with pytest.raises(OptimisationError, match="not a perfmodel study file"):
        StudyStorage.open(str(path))
    assert path.read_bytes() == before
    assert not (tmp_path / "foreign.sqlite-wal").exists()


def test_kernel_is_chosen_recorded_and_offered_as_the_library_offers(capsys, tmp_path, grid_csv):
    from perfmodel.commands import explore as explore_command
    from perfmodel.optimisation.gp import SURROGATE_KERNELS
    from perfmodel.optimisation.strategies import PRIOR_DESIGNS, STRATEGIES

    assert explore_command.KERNELS == SURROGATE_KERNELS
    assert explore_command.PRIOR_DESIGNS == PRIOR_DESIGNS
    assert explore_command.STRATEGY_CHOICES == tuple(STRATEGIES)
    path, _ = grid_csv
    base = ["--table", path, "--knobs", "a,b", "--objectives", "time,power", "--budget", "8", "--init", "5"]
    settings = {}
    for kernel in (None, "additive"):
        study = tmp_path / f"{kernel}.sqlite"
        assert explore(*base, "--study", str(study), *(["--kernel", kernel] if kernel else [])) == 0
        stored = sqlite3.connect(study).execute("SELECT value FROM meta WHERE key='settings'").fetchone()[0]
        settings[kernel] = stored
    assert '"kernel": "average"' in settings[None] and '"kernel": "additive"' in settings["additive"]
    capsys.readouterr()
    assert explore(*base, "--kernel", "additive", "--strategy", "random") == 2
    assert "--kernel guides the bo strategy, not random" in err(capsys)
    with pytest.raises(SystemExit) as exc:                          # argparse: not a kernel
        explore(*base, "--kernel", "cubic")
    assert exc.value.code == 2


def test_ehvi_units_reach_the_strategy_and_are_checked(capsys, monkeypatch, grid_csv):
    from perfmodel.commands import explore as explore_command
    from perfmodel.optimisation import study as study_module
    from perfmodel.optimisation.strategies import EHVI_UNITS

    assert explore_command.EHVI_UNITS == EHVI_UNITS
    seen = []
    real = study_module.make_strategy

    def spy(name, space, **options):
        strategy = real(name, space, **options)
        seen.append(strategy.ehvi_units)
        return strategy

    monkeypatch.setattr(study_module, "make_strategy", spy)
    path, _ = grid_csv
    base = ["--table", path, "--knobs", "a,b", "--budget", "7", "--init", "5"]
    assert explore(*base, "--objectives", "time,power", "--ehvi-units", "output") == 0
    assert explore(*base, "--objectives", "time,power") == 0
    assert seen == ["output", "model"]
    capsys.readouterr()
    assert explore(*base, "--objectives", "time,power", "--ehvi-units", "output", "--strategy", "tpe") == 2
    assert "--ehvi-units guides the bo strategy, not tpe" in err(capsys)
    assert explore(*base, "--objectives", "time", "--ehvi-units", "output") == 2
    assert "--ehvi-units is for two or more objectives" in err(capsys)


def test_init_defaults_to_the_study_files_own_on_resume(capsys, tmp_path, grid_csv):
    import json

    path, _ = grid_csv
    base = ["--table", path, "--knobs", "a,b", "--objectives", "time,power"]
    study = tmp_path / "s.sqlite"

    def stored_init():
        with sqlite3.connect(study) as db:
            return json.loads(db.execute("SELECT value FROM meta WHERE key='settings'").fetchone()[0])["n_init"]

    capsys.readouterr()
    assert main(["explore", *base, "--budget", "4", "--study", str(study)]) == 0
    assert stored_init() == 6                                      # bo without a prior: the smaller design
    assert "4 evaluations (4 complete, 0 failed) with bo (all from its initial design of 6)" in capsys.readouterr().out
    before = study.read_bytes()
    capsys.readouterr()
    assert explore(*base, "--budget", "9", "--study", str(study), "--resume", "--init", "10") == 2
    assert "its n_init differs" in err(capsys) and study.read_bytes() == before
    out = tmp_path / "run.csv"
    assert explore(*base, "--budget", "9", "--study", str(study), "--resume", "-o", str(out)) == 0
    assert list(pd.read_csv(out)["phase"]) == ["design"] * 6 + ["model"] * 3
    capsys.readouterr()
    assert main(["explore", *base, "--budget", "9", "--study", str(study), "--resume"]) == 0
    assert "9 evaluations (9 complete, 0 failed) with bo (initial design 6)" in capsys.readouterr().out
    assert explore(*base, "--budget", "4", "--init", "0") == 2
    assert "--init must be at least 1, got 0" in err(capsys)


def test_the_surrogates_outlook_is_reported_for_bo_with_two_objectives(capsys, grid_csv):
    path, _ = grid_csv
    common = ["--table", path, "--knobs", "a,b", "--budget", "10", "--init", "5"]
    assert main(["explore", *common, "--objectives", "time,power"]) == 0
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("surrogate's outlook")]
    assert len(line) == 1 and "over the 20 configurations not evaluated" in line[0]
    shares = [float(w.rstrip("%")) for w in line[0].replace(",", " ").split() if w.endswith("%")]
    assert len(shares) == 3 and 0 < shares[1] <= shares[0] <= 100   # optimistic <= mean (95% is the band's)
    for other in (["--objectives", "time,power", "--strategy", "random"], ["--objectives", "time"]):
        assert main(["explore", *common, *other]) == 0
        assert "surrogate's outlook" not in capsys.readouterr().out


def test_the_surrogates_fit_is_reported_and_an_unpredictable_objective_named(capsys, tmp_path, grid_csv):
    path, df = grid_csv
    rng = np.random.default_rng(0)
    df = df.assign(heat=np.exp(rng.normal(0.0, 0.5, len(df))))     # a recorded value the knobs do not set
    noisy = tmp_path / "heat.csv"
    df.to_csv(noisy, index=False)
    common = ["--knobs", "a,b", "--budget", "16", "--init", "5"]

    def fit_lines(table, objectives):
        assert main(["explore", "--table", table, *common, "--objectives", objectives]) == 0
        lines = capsys.readouterr().out.splitlines()
        i = [k for k, s in enumerate(lines) if s.startswith("surrogate's fit")]
        assert len(i) == 1
        return lines[i[0]], lines[i[0] + 1]

    line, after = fit_lines(path, "time,power")
    r2 = dict(w.split() for w in line.split("others): ")[1].split(", "))
    assert set(r2) == {"time", "power"} and all(float(v) > 0.5 for v in r2.values())
    assert "predict little" not in after
    line, after = fit_lines(str(noisy), "time,heat")
    r2 = dict(w.split() for w in line.split("others): ")[1].split(", "))
    assert float(r2["time"]) > 0.5 and float(r2["heat"]) < 0.5
    assert after.startswith("  heat: the knobs predict little of it")
    assert main(["explore", "--table", path, *common, "--objectives", "time,power", "--strategy", "random"]) == 0
    assert "surrogate's fit" not in capsys.readouterr().out


def test_extend_to_goes_past_the_budget_reports_why_and_is_checked(capsys, tmp_path, grid_csv):
    from perfmodel.commands import explore as explore_command
    from perfmodel.optimisation.study import EXTEND_GAIN

    assert explore_command.EXTEND_GAIN == EXTEND_GAIN
    path, _ = grid_csv
    out = tmp_path / "run.csv"
    base = ["--table", path, "--knobs", "a,b", "--objectives", "time,power", "--budget", "8", "--init", "5"]
    # a large gain: the study stops at its budget, and says so
    assert main(["explore", *base, "--extend-to", "20", "--extend-gain", "0.5", "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 8
    assert "budget kept at 8 evaluations: the predicted means expect no more than 50.00%" in capsys.readouterr().out
    study = tmp_path / "s.sqlite"
    assert explore(*base, "--study", str(study)) == 0
    before = study.read_bytes()
    for args, msg in ((["--extend-to", "5"], "--extend-to 5 is smaller than --budget 8"),
                      (["--extend-to", "20", "--extend-gain", "0"], "--extend-gain must be a share in (0, 1)"),
                      (["--extend-to", "20", "--strategy", "random"], "needs the surrogate's front outlook"),
                      (["--extend-to", "20", "--acquisition", "parego"], "not ParEGO"),
                      (["--extend-gain", "0.5"], "--extend-gain sets when an extended study stops; give --extend-to"),
                      (["--confidence", "0.9"], "give a --constraint-model as well")):
        assert explore(*base, "--study", str(study), "--resume", *args) == 2
        assert msg in err(capsys)
    assert study.read_bytes() == before


def test_where_narrows_the_replayed_space_and_its_true_front(tmp_path, grid_csv, capsys):
    path, df = grid_csv
    out = tmp_path / "run.csv"
    # time is least at a=5; with a <= 2 the best the search may find is at a=2, b=4 (time 1 + 9 = 10)
    assert main(["explore", "--table", path, "--knobs", "a,b", "--objectives", "time", "--where", "a <= 2",
                 "--budget", "8", "--strategy", "bo", "-o", str(out)]) == 0
    run = pd.read_csv(out)
    assert len(run) == 8 and (run["a"] <= 2).all()
    said = capsys.readouterr().out
    assert "best in the table 10 (replay: the whole table is known)" in said
    # two conditions, every configuration that meets them evaluated once (the budget is cut to the 6 there are)
    assert explore("--table", path, "--knobs", "a,b", "--objectives", "time,power", "--where", "a <= 2",
                   "--where", "b >= 3", "--budget", "10", "--strategy", "random", "-o", str(out)) == 0
    run = pd.read_csv(out)
    assert len(run) == 6 and set(zip(run["a"], run["b"])) == {(a, b) for a in (0, 1, 2) for b in (3, 4)}


def test_where_leaves_out_configurations_with_no_measurement_of_an_objective(tmp_path, grid_csv, capsys):
    # as in the H200 tables, where power (so energy) was measured at one batch only: the search over that batch
    # replays the rows that have it, and the rows without it are named, not refused as a broken table
    path, df = grid_csv
    df = df.assign(power=df["power"].where(df["b"] == 4))
    holes = tmp_path / "holes.csv"
    df.to_csv(holes, index=False)
    study = tmp_path / "s.sqlite"
    base = ["--table", str(holes), "--knobs", "a,b", "--objectives", "time,power", "--strategy", "random"]
    assert explore(*base, "--study", str(study)) == 2
    assert err(capsys) == (f"perfmodel: error: {str(holes)!r}: power is missing in 24 of the 30 rows (first: a=0,b=0); "
                           "leave them out with --where on their knobs")
    assert not study.exists()
    assert explore(*base, "--where", "b >= 3") == 2
    assert "power is missing in 6 of the 12 rows meeting --where (first: a=0,b=3)" in err(capsys)
    out = tmp_path / "run.csv"
    assert main(["explore", *base, "--where", "b == 4", "--budget", "10", "-o", str(out)]) == 0
    run = pd.read_csv(out)
    assert len(run) == 6 and (run["b"] == 4).all() and run["power"].notna().all()
    # the true front is the one over the rows meeting --where (every one of them evaluated: the ratio is 1)
    assert "true front of the table: 1.0000" in capsys.readouterr().out


def test_a_table_with_sysctl_knob_names_is_explored_under_those_names(tmp_path, grid_csv):
    # Unicorn's tables name kernel knobs as sysctl does: they are searched, narrowed and written as named
    path, df = grid_csv
    dotted = tmp_path / "sysctl.csv"
    df.rename(columns={"a": "vm.swappiness", "b": "scheduler.policy"}).to_csv(dotted, index=False)
    out = tmp_path / "run.csv"
    study = tmp_path / "s.sqlite"
    base = ["--table", str(dotted), "--knobs", "vm.swappiness,scheduler.policy", "--objectives", "time,power",
            "--where", "vm.swappiness <= 2 and scheduler.policy >= 3", "--strategy", "bo", "--init", "3",
            "--study", str(study), "-o", str(out)]
    assert explore(*base, "--budget", "4") == 0
    assert explore(*base, "--budget", "6", "--resume") == 0
    run = pd.read_csv(out)
    assert list(run.columns[1:3]) == ["vm.swappiness", "scheduler.policy"]
    assert set(zip(run["vm.swappiness"], run["scheduler.policy"])) == {(a, b) for a in (0, 1, 2) for b in (3, 4)}


def test_where_on_a_live_platform_restricts_what_is_measured(monkeypatch, tmp_path):
    from profiling.space import ConfigSpace, Integer, Ordinal

    calls = []

    def measure_network(network, config, *, platform="cpu", executor=None):
        calls.append(dict(config))
        return {"runtime_s": config["batch"] / config["threads"]}

    fake_campaign(monkeypatch, ConfigSpace((Integer("threads", 1, 4), Ordinal("batch", (1, 2, 4)))), measure_network)
    assert explore("--platform", "cpu", "--network", "tiny_cnn", "--objectives", "runtime_s",
                   "--where", "threads * batch <= 4", "--budget", "6", "--strategy", "bo", "--init", "3") == 0
    assert len(calls) == 6 and all(c["threads"] * c["batch"] <= 4 for c in calls)
    # a knob that --config fixes (batch=2) enters the condition at its value: threads 1 and 2 are left
    calls.clear()
    assert explore("--platform", "cpu", "--network", "tiny_cnn", "--objectives", "runtime_s", "--knobs", "threads",
                   "--config", "batch=2", "--where", "threads * batch <= 4", "--budget", "4",
                   "--strategy", "random") == 0
    assert sorted(c["threads"] for c in calls) == [1, 2] and {c["batch"] for c in calls} == {2}


@pytest.mark.parametrize(("where", "message"), [
    ("c <= 2", "--where: constraint 'c <= 2' names unknown knob(s): c"),
    ("a <=", "--where: constraint 'a <=' is not a valid expression"),
    ("a > 9", "--where: no configuration of a, b meets a > 9"),
])
def test_a_where_that_cannot_narrow_the_space_is_one_line(tmp_path, grid_csv, capsys, where, message):
    path, _ = grid_csv
    study = tmp_path / "s.sqlite"
    assert explore("--table", path, "--knobs", "a,b", "--objectives", "time", "--where", where,
                   "--study", str(study)) == 2
    assert err(capsys) == f"perfmodel: error: {message}" and not study.exists()
    # a condition on a knob given as an output constraint says where it goes
    assert explore("--table", path, "--knobs", "a,b", "--objectives", "time", "--constraint", "a<=2") == 2
    assert err(capsys).endswith("(a condition on the knobs goes in --where)")
