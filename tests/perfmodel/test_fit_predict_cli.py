"""perfmodel fit / predict / calibrate from the command line (in-process)."""

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from profiling.simulated import synthetic_table

GRID = Path(__file__).resolve().parents[2] / "datasets" / "flexibo-tx2" / "tx2_sampled_output_xception_200x200.csv"
KNOBS = "core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq"


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    grid = pd.read_csv(GRID, index_col=0).sample(frac=1.0, random_state=0)  # random split of the grid
    grid.iloc[:60].to_csv(d / "train.csv", index=False)
    grid.iloc[100:130].drop(columns=["inference_time", "power_consumption"]).to_csv(d / "new.csv", index=False)
    return d, grid


@pytest.mark.parametrize("model", ["polynomial", "gbr", "gp"])
def test_fit_then_predict_adds_pred_column(tables, model, capsys):
    d, grid = tables
    out = d / f"{model}.json"
    rc = main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "inference_time",
               "--model", model, "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["kind"] == "config_model"
    rc = main(["predict", "--model", str(out), "--table", str(d / "new.csv"), "-o", str(d / f"{model}.csv")])
    assert rc == 0
    pred = pd.read_csv(d / f"{model}.csv")
    assert len(pred) == 30 and "inference_time_pred" in pred
    assert ("inference_time_std" in pred) == (model == "gp")
    truth = grid["inference_time"].iloc[100:130].to_numpy()
    rel = np.abs(pred["inference_time_pred"].to_numpy() / truth - 1)
    spread = np.median(np.abs(truth / np.median(grid["inference_time"].iloc[:60]) - 1))
    assert np.median(rel) < 0.3 * spread  # far better than guessing the training median


def test_fit_says_when_the_polynomial_predicts_one_value_for_every_configuration(tmp_path, capsys):
    # Unicorn's Xavier table under its sysctl names: two kernel settings that tell nothing of the inference time
    table = Path(__file__).resolve().parents[2] / "datasets" / "unicorn" / "data" / "sampled" / "Xavier" / "Image" / \
        "Xavier_Image_sampled.csv"
    out = tmp_path / "m.json"
    with pytest.warns(UserWarning, match=f"^{table}: the polynomial selected no term of the knobs: it predicts "
                                         "inference_time = "):
        assert main(["fit", "--table", str(table), "--knobs", "vm.swappiness,kernel.max_pids", "--target",
                     "inference_time", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith("fitted polynomial model of 'inference_time' on 266 rows")
    assert json.loads(out.read_text())["state"]["regressor"]["state"]["coef"] == []


def test_predict_without_output_prints_csv(tables, capsys):
    d, _ = tables
    main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption",
          "-o", str(d / "p.json")])
    capsys.readouterr()
    assert main(["predict", "--model", str(d / "p.json"), "--table", str(d / "new.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("power_consumption_pred") and len(lines) == 31


def test_predict_configurations_given_one_by_one(tables, tmp_path, capsys):
    # a configuration-level model took a table only: one configuration needed a CSV file written by hand
    d, grid = tables
    main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption", "--model", "gbr",
          "-o", str(d / "pc.json")])
    capsys.readouterr()
    rows = grid.iloc[100:102]
    configs = [",".join(f"{k}={r[k]}" for k in KNOBS.split(",")) for _, r in rows.iterrows()]
    assert main(["predict", "--model", str(d / "pc.json"), "--config", configs[0], "--config", configs[1]]) == 0
    got = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(got.columns) == [*KNOBS.split(","), "power_consumption_pred"] and len(got) == 2
    # the same numbers as the table's path gives for those rows
    assert main(["predict", "--model", str(d / "pc.json"), "--table", str(d / "new.csv")]) == 0
    by_table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    np.testing.assert_allclose(got["power_consumption_pred"], by_table["power_consumption_pred"].iloc[:2])
    # a knob left out or one the model does not have, a layer-wise model, nothing to predict: one line, exit 2
    knobs = ", ".join(KNOBS.split(","))
    for cfg, said in ((configs[0].rsplit(",", 1)[0], f"does not set 'emc_freq', one of the model's knobs ({knobs})"),
                      (configs[0] + ",threads=2", f"names 'threads', not one of the model's knobs ({knobs})")):
        assert main(["predict", "--model", str(d / "pc.json"), "--config", cfg]) == 2
        assert _err(capsys) == f"perfmodel: error: --config {cfg!r} {said}"
    assert main(["predict", "--model", str(d / "pc.json")]) == 2
    assert _err(capsys) == ("perfmodel: error: give --table (configurations), --config (a configuration-level "
                            "model's knobs) or --network with --config (a layer-wise model)")
    assert main(["predict", "--model", str(d / "pc.json"), "--table", str(d / "new.csv"), "--config", configs[0]]) == 2
    assert _err(capsys) == ("perfmodel: error: --table and --config both give the configurations to predict: give "
                            "one of them")


def test_fit_cv_estimates_the_error_on_rows_left_out(tables, capsys, tmp_path):
    d, grid = tables
    out = tmp_path / "m.json"
    base = ["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "inference_time", "--model", "gbr"]
    assert main([*base, "--cv", "4", "-o", str(out)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == f"fitted gbr model of 'inference_time' on 60 rows -> {out}"
    m = re.fullmatch(r"4-fold cross-validation \(each row predicted by the model fitted without its fold\): "
                     r"MAPE ([0-9.]+) %, ([0-9]+) % of rows within \+-10 %", said[1])
    assert m, said
    # an estimate of the error on new configurations: within a factor of two of the saved model's on rows it
    # never saw (on the rows it was fitted on, boosting's error is far below either)
    from perfmodel.models import ConfigModel
    from perfmodel.models.metrics import mape

    held_out = grid.iloc[60:]
    saved = ConfigModel.load(str(out))
    new_error = mape(held_out["inference_time"], saved.predict(held_out))
    assert new_error / 2 < float(m.group(1)) < 2 * new_error
    train = pd.read_csv(d / "train.csv")
    assert mape(train["inference_time"], saved.predict(train)) < float(m.group(1)) / 2
    # bad folds: one line, exit 2, nothing written
    assert main([*base, "--cv", "61", "-o", str(tmp_path / "bad.json")]) == 2
    assert _err(capsys) == (f"perfmodel: error: --cv 61: {d / 'train.csv'}: cross-validation takes 2 to 60 folds "
                            "(one per row at most), got 61")
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--cv", "1", "-o", str(tmp_path / "bad.json")])
    assert exit_.value.code == 2
    assert "argument --cv: expected a number of folds, a whole number >= 2, not '1'" in capsys.readouterr().err
    assert not (tmp_path / "bad.json").exists()
    assert main(["fit", "--layerwise", "--table", str(d / "train.csv"), "--cv", "3", "-o", str(tmp_path / "l.json")]) == 2
    assert _err(capsys).endswith("--cv is for a configuration-level model (--table without --layerwise); a layer-wise "
                                 "model measures its spread with --std-folds")


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("perfmodel: error:") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("args, message", [
    (["--knobs", "core_freq,nope", "--target", "inference_time"], "no column 'nope'"),
    (["--knobs", KNOBS, "--target", "model_name"], "not numeric"),
    (["--knobs", "core_freq", "--target", "core0_status"], "constant"),
    (["--knobs", KNOBS], "needs --knobs and --target"),
    # a configuration-level model has no unit models to leave networks out of: the option was ignored
    (["--knobs", KNOBS, "--target", "inference_time", "--std-folds", "7"],
     "--std-folds is for a layer-wise model (--store, or --layerwise --table)"),
])
def test_fit_bad_input_exits_2_with_one_line_and_writes_nothing(tables, args, message, capsys):
    d, _ = tables
    out = d / "never.json"
    assert main(["fit", "--table", str(d / "train.csv"), *args, "-o", str(out)]) == 2
    assert message in _err(capsys)
    assert not out.exists()


def test_too_few_rows_for_the_model(tables, tmp_path, capsys):
    _, grid = tables
    grid.iloc[:4].to_csv(tmp_path / "tiny.csv", index=False)
    assert main(["fit", "--table", str(tmp_path / "tiny.csv"), "--knobs", KNOBS, "--target", "inference_time",
                 "--model", "gbr", "-o", str(tmp_path / "m.json")]) == 2
    assert "too few" in _err(capsys)


def test_predict_refuses_wrong_kind_and_other_version(tables, tmp_path, capsys):
    d, _ = tables
    main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "inference_time",
          "-o", str(d / "ok.json")])
    doc = json.loads((d / "ok.json").read_text())
    (tmp_path / "v9.json").write_text(json.dumps({**doc, "version": 9}))
    (tmp_path / "lw.json").write_text(json.dumps({**doc, "kind": "layerwise"}))
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "v9.json"), "--table", str(d / "new.csv")]) == 2
    assert "format version 9" in _err(capsys)
    assert main(["predict", "--model", str(tmp_path / "lw.json"), "--table", str(d / "new.csv")]) == 2
    assert "expected 'config_model'" in _err(capsys)


def test_existing_output_kept_when_prediction_fails(tables, tmp_path, capsys):
    d, grid = tables
    main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "inference_time",
          "-o", str(d / "ok2.json")])
    grid.iloc[:3].drop(columns=["gpu_freq"]).to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    assert main(["predict", "--model", str(d / "ok2.json"), "--table", str(tmp_path / "bad.csv"), "-o", str(out)]) == 2
    assert "gpu_freq" in _err(capsys)
    assert out.read_text() == "keep me\n"


def test_store_and_network_paths_use_the_profiler_contract(tmp_path, capsys, monkeypatch):
    table = synthetic_table(n_networks=5, seed=3)
    store = types.ModuleType("profiling.store")

    class CampaignStore:
        def __init__(self, path, readonly=False):
            assert readonly  # fitting only reads the store
            self.path = path

        def to_frame(self):
            return table

    store.CampaignStore = CampaignStore
    nets = types.ModuleType("profiling.networks")
    feats = table[(table["network"] == "net0") & (table["level"] == "layer") & (table["config"] == "threads=1,batch=1")]

    class Spec:
        name = "net0"

        def features(self):
            return feats.drop(columns=["threads", "batch", "runtime_s", "power_w"])

    nets.load_network = lambda name: Spec()
    monkeypatch.setitem(sys.modules, "profiling.store", store)
    monkeypatch.setitem(sys.modules, "profiling.networks", nets)
    model = tmp_path / "lw.json"
    (tmp_path / "x.sqlite").write_bytes(b"")
    assert main(["fit", "--store", str(tmp_path / "x.sqlite"), "--model", "gbr", "-o", str(model)]) == 0
    assert "spread (relative std) on networks left out of the unit models (4 folds):" in capsys.readouterr().out
    assert main(["fit", "--store", str(tmp_path / "x.sqlite"), "--model", "gbr", "--std-folds", "-1",
                 "-o", str(tmp_path / "bad.json")]) == 2
    assert "std_folds must be a whole number of folds >= 0, got -1" in _err(capsys)
    assert not (tmp_path / "bad.json").exists()
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(model), "--network", "net0", "--config", "threads=2,batch=1",
                 "--config", "threads=1,batch=2", "-o", str(out)]) == 0
    pred = pd.read_csv(out)
    assert list(pred["config"]) == ["threads=2,batch=1", "threads=1,batch=2"]
    assert {"runtime_s", "power_w", "energy_j"} <= set(pred.columns)
    assert (pred["runtime_s"] > 0).all()
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--network", "net0", "--config", "threads"]) == 2
    assert "not key=value" in _err(capsys)
    # no --config: said before the model or the network is read (neither exists here), and --help does not
    # promise a default configuration the command does not have
    nets.load_network = lambda name: pytest.fail("the network was loaded without a configuration to predict")
    assert main(["predict", "--model", str(tmp_path / "absent.json"), "--network", "net0"]) == 2
    assert "--network needs at least one --config" in _err(capsys)
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "default: the model's first" not in " ".join(capsys.readouterr().out.split())
    nets.load_network = lambda name: Spec()
    # speed references: refused without the column or a model fitted with one, used with both
    assert main(["predict", "--model", str(model), "--network", "net0", "--config", "threads=1,batch=1",
                 "--at-current-speed"]) == 2
    assert "needs a model fitted with --reference" in _err(capsys)
    assert main(["fit", "--store", str(tmp_path / "x.sqlite"), "--reference", "ref_compute_s",
                 "-o", str(tmp_path / "r.json")]) == 2
    assert "no speed reference column 'ref_compute_s'" in _err(capsys)
    assert not (tmp_path / "r.json").exists()
    assert main(["fit", "--table", str(GRID), "--knobs", KNOBS, "--target", "inference_time",
                 "--reference", "ref_compute_s", "-o", str(tmp_path / "r.json")]) == 2
    assert "--reference is for --store" in _err(capsys)
    table["ref_compute_s"] = 1.0  # a machine that is a million times slower than any real one
    assert main(["fit", "--store", str(tmp_path / "x.sqlite"), "--model", "gbr", "--reference", "ref_compute_s",
                 "-o", str(tmp_path / "r.json")]) == 0
    assert main(["predict", "--model", str(tmp_path / "r.json"), "--network", "net0", "--config",
                 "threads=2,batch=1", "--at-current-speed", "-o", str(tmp_path / "r.csv")]) == 0
    now = pd.read_csv(tmp_path / "r.csv")["runtime_s"].iloc[0]
    # this machine's reference takes milliseconds, not a second: predicted far faster than the table ran
    assert 0 < now < 0.1 * pred["runtime_s"].iloc[0]
    # the framework reference (timed in each job's worker) is timed here by running its small network now
    table["ref_framework_s"] = 1.0
    assert main(["fit", "--store", str(tmp_path / "x.sqlite"), "--model", "gbr", "--reference", "ref_framework_s",
                 "-o", str(tmp_path / "f.json")]) == 0
    assert main(["predict", "--model", str(tmp_path / "f.json"), "--network", "net0", "--config",
                 "threads=2,batch=1", "--at-current-speed", "-o", str(tmp_path / "f.csv")]) == 0
    assert 0 < pd.read_csv(tmp_path / "f.csv")["runtime_s"].iloc[0] < 0.1 * pred["runtime_s"].iloc[0]


def test_calibrate_profiles_then_fits_from_the_store(tmp_path, monkeypatch, capsys):
    import perfmodel.commands.calibrate as cal
    import perfmodel.models.tables_input as tables_input

    calls = []
    monkeypatch.setattr(cal, "profile", lambda store, budget, show_progress: calls.append((store, budget)))
    monkeypatch.setattr(tables_input, "store_frame", lambda path: synthetic_table(n_networks=4, seed=7))
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--budget", "quick", "--model", "gbr", "-o", str(out)]) == 0
    assert calls == [(str(tmp_path / "cal.sqlite"), "quick")]
    assert json.loads(out.read_text())["kind"] == "layerwise"


@pytest.mark.slow
@pytest.mark.tf
def test_calibrate_really_profiles_small_networks(tmp_path, monkeypatch):
    import perfmodel.commands.calibrate as cal

    monkeypatch.setitem(cal.BUDGETS, "quick", {"networks": ["tiny_cnn", "tiny_mobilenet", "tiny_resnet"],
                                              "threads": [1, 2], "batch": [1]})
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--no-progress", "--model", "gbr", "-o", str(out)]) == 0
    model = json.loads(out.read_text())
    assert model["kind"] == "layerwise" and len(model["state"]["networks"]) == 3


H200 = Path(__file__).resolve().parents[2] / "datasets" / "h200-torch"
H200_NETS = ["synthetic_0", "synthetic_1", "synthetic_2", "synthetic_3", "synthetic_4", "synthetic_5", "mobilenet"]


@pytest.fixture(scope="module")
def h200_tables(tmp_path_factory):
    """Two small tables of one platform: graph-mode rows and the eager table's graph whole-network rows."""
    d = tmp_path_factory.mktemp("h200")
    g = pd.read_csv(H200 / "graph.csv.gz", low_memory=False)
    e = pd.read_csv(H200 / "eager.csv.gz", low_memory=False)
    g[g["network"].isin(H200_NETS)].to_csv(d / "graph.csv.gz", index=False)
    e[e["network"].isin(H200_NETS) & e["level"].eq("network") & e["cuda_graph"].eq("on")].to_csv(
        d / "whole.csv", index=False)
    return d


def test_layerwise_fit_on_tables_then_predict_a_spec_file(h200_tables, capsys):
    d = h200_tables
    model = d / "lw.json"
    rc = main(["fit", "--layerwise", "--table", str(d / "graph.csv.gz"), "--table", str(d / "whole.csv"),
               "--std-folds", "2", "-o", str(model)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "cuda_graph=on" in out and "layer rows (view isolated) of 7 networks" in out
    assert json.loads(model.read_text())["kind"] == "layerwise_tables"
    rc = main(["predict", "--model", str(model), "--network", str(H200 / "specs" / "synthetic_9.json"),
               "--config", "batch=8,cuda_graph=on", "--config", "batch=64,cuda_graph=on", "-o", str(d / "p.csv")])
    assert rc == 0
    pred = pd.read_csv(d / "p.csv")
    for col in ("runtime_s", "runtime_s_std", "power_w", "power_w_std", "energy_j", "energy_j_std"):
        assert pred[col].notna().all() and (pred[col] > 0).all(), col
    assert pred["runtime_s"].iloc[1] > pred["runtime_s"].iloc[0]  # batch 64 takes longer than batch 8
    # outside the calibrated batches: predicted, with a warning naming the range
    with pytest.warns(UserWarning, match=r"batch=256 outside the calibrated batches 1\.\.64"):
        assert main(["predict", "--model", str(model), "--network", str(H200 / "specs" / "synthetic_9.json"),
                     "--config", "batch=256,cuda_graph=on"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("config, message", [
    ("batch=8,cuda_graph=on,threads=2", "knob 'threads' was not in the training tables"),
    ("batch=8,cuda_graph=off", "cuda_graph=off was not measured"),
    ("batch=8", "does not set cuda_graph"),
])
def test_layerwise_table_model_refuses_unknown_knobs(h200_tables, config, message, capsys):
    d = h200_tables
    model = d / "lw.json"
    if not model.exists():
        main(["fit", "--layerwise", "--table", str(d / "graph.csv.gz"), "--std-folds", "2", "-o", str(model)])
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--network", str(H200 / "specs" / "synthetic_9.json"),
                 "--config", config]) == 2
    assert message in _err(capsys)
    # without a network, a layer-wise model has nothing to predict
    assert main(["predict", "--model", str(model), "--config", config]) == 2
    assert _err(capsys).endswith("is a layer-wise model: it predicts a network, give --network with --config")


def test_layerwise_table_bad_input_exits_2_and_writes_nothing(h200_tables, tmp_path, capsys):
    d = h200_tables
    bad = tmp_path / "bad.csv"
    pd.read_csv(d / "whole.csv").drop(columns=["layer_type"]).to_csv(bad, index=False)
    out = tmp_path / "m.json"
    assert main(["fit", "--layerwise", "--table", str(bad), "-o", str(out)]) == 2
    assert "has no column 'layer_type'" in _err(capsys) and not out.exists()
    # fewer than two folds were silently raised to two
    assert main(["fit", "--layerwise", "--table", str(d / "graph.csv.gz"), "--std-folds", "1", "-o", str(out)]) == 2
    assert _err(capsys).endswith("std_folds must be a whole number of folds >= 2, got 1 (--std-folds)")
    assert not out.exists()
    notspec = tmp_path / "net.json"
    notspec.write_text(json.dumps({"format": "perfmodel-model"}))
    model = d / "lw.json"
    if not model.exists():
        main(["fit", "--layerwise", "--table", str(d / "graph.csv.gz"), "--std-folds", "2", "-o", str(model)])
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--network", str(notspec), "--config", "batch=1,cuda_graph=on"]) == 2
    assert "is not a NetworkSpec file" in _err(capsys)
    assert main(["fit", "--layerwise", "--store", "x.sqlite", "-o", str(out)]) == 2
    assert "--layerwise goes with --table" in _err(capsys) and not out.exists()


def test_quick_calibration_measures_each_synthetic_network_under_all_configurations_but_one():
    from collections import Counter

    from perfmodel.commands.calibrate import BUDGETS, plan_jobs

    nets = BUDGETS["quick"]["networks"]
    configs = [{"threads": t, "batch": b} for t in (1, 2) for b in (1, 4)]
    jobs = plan_jobs(nets, configs, thin=True)
    per_net = Counter(n for n, _ in jobs)
    synth = [n for n in nets if n.startswith("synthetic")]
    assert all(per_net[n] == 3 for n in synth) and all(per_net[n] == 4 for n in nets if n not in synth)
    assert len(jobs) == 4 * len(nets) - len(synth) and len(set((n, str(c)) for n, c in jobs)) == len(jobs)
    # every configuration keeps three quarters of the synthetic networks
    assert set(Counter(str(c) for n, c in jobs if n in synth).values()) == {len(synth) * 3 // 4}
    assert jobs == plan_jobs(nets, configs, thin=True)  # one order: an interrupted run resumes the same plan
    assert sorted(map(str, plan_jobs(nets, configs, thin=False))) == sorted(str((n, c)) for n in nets
                                                                         for c in configs)


def _calibrate_into(monkeypatch, store_arg, out):
    """Run 'calibrate --store STORE_ARG' with the campaign replaced by one that only records the campaign in the
    store it is given (and the fit by a synthetic table); returns the stores the campaign got."""
    import perfmodel.commands.calibrate as cal  # noqa: F401 - the module whose profile() runs
    import perfmodel.models.tables_input as tables_input
    import profiling.campaign as campaign_mod
    from profiling.campaign import CampaignSummary

    got = []

    def fake_campaign(platform, executor, nets, cfgs, store, **kw):
        got.append(store)
        store.ensure_campaign(kw["campaign"], platform.name, platform.source, "{}", {}, executor=executor.name)
        return CampaignSummary()

    monkeypatch.setattr(campaign_mod, "run_campaign", fake_campaign)
    monkeypatch.setattr(tables_input, "store_frame", lambda path: synthetic_table(n_networks=4, seed=7))
    assert main(["calibrate", "--no-progress", "--store", store_arg, "-o", str(out)]) == 0
    return got


def test_calibrate_store_takes_a_sqlite_url_as_the_other_commands_do(tmp_path, monkeypatch):
    from profiling.store import CampaignStore

    path = tmp_path / "cal-store.sqlite"
    got = _calibrate_into(monkeypatch, f"sqlite:///{path}", tmp_path / "m.json")
    assert got and all(isinstance(s, CampaignStore) for s in got)
    with CampaignStore(str(path), readonly=True) as store:  # the file the URL names, not a file called 'sqlite:'
        assert [c["name"] for c in store.campaigns()] == ["calibrate-quick"]
    assert not (tmp_path / "sqlite:").exists()


def test_calibrate_store_refuses_an_unknown_url_in_one_line(tmp_path, capsys):
    assert main(["calibrate", "--no-progress", "--store", "ftp://host/x", "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown kind of URL" in err[0]
    assert not (tmp_path / "m.json").exists()


@pytest.fixture
def pg_url():
    """A fresh database of a PostgreSQL server started for this test (tests/fleet/_postgres.py), else skip."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fleet"))
    import _postgres

    bindir = _postgres.find_bin()
    if bindir is None and not __import__("os").environ.get("PERFMODEL_TEST_POSTGRES_URL"):
        pytest.skip("no PostgreSQL server binaries on this machine")
    url = __import__("os").environ.get("PERFMODEL_TEST_POSTGRES_URL")
    server = None
    if not url:
        server = _postgres.Server(bindir)
        try:
            server.start()
        except Exception as exc:  # noqa: BLE001 - the skip reason
            server.stop()
            pytest.skip(f"could not start a PostgreSQL server: {exc}")
        url = server.url()
    try:
        _postgres.wait_ready(url)
        yield _postgres.create_database(url, "perfmodel_calibrate_store")
    finally:
        if server is not None:
            server.stop()


@pytest.mark.slow
def test_calibrate_store_takes_a_postgresql_url(tmp_path, monkeypatch, pg_url):
    from profiling.store import open_store

    got = _calibrate_into(monkeypatch, pg_url, tmp_path / "m.json")
    assert got and type(got[0]).__name__ == "SqlStore"
    with open_store(pg_url, readonly=True) as store:
        assert [c["name"] for c in store.campaigns()] == ["calibrate-quick"]
    assert not list(tmp_path.glob("*.sqlite"))  # nothing written beside the model


@pytest.mark.parametrize("flag, model, logged", [
    (None, "gp", {"core_freq", "gpu_freq", "emc_freq"}), ("no", "gp", set()),
    (None, "polynomial", set()), ("yes", "polynomial", {"core_freq", "gpu_freq", "emc_freq"}),
])
def test_fit_log_knobs_chooses_which_knobs_enter_as_logarithms(tables, flag, model, logged, capsys):
    d, _ = tables
    out = d / f"log_{flag}_{model}.json"
    argv = ["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption",
            "--model", model, "-o", str(out)] + ([] if flag is None else ["--log-knobs", flag])
    assert main(argv) == 0, capsys.readouterr().err
    encoding = json.loads(out.read_text())["state"]["encoding"]
    assert {e["name"] for e in encoding if e.get("log")} == logged


def test_fit_log_knobs_is_refused_for_the_layerwise_model(tables, capsys):
    d, _ = tables
    out = d / "never.json"
    assert main(["fit", "--store", str(d / "nowhere.sqlite"), "--log-knobs", "yes", "-o", str(out)]) == 2
    assert "--log-knobs is for a configuration-level model" in _err(capsys)
    assert not out.exists()


def test_fit_input_warp_saves_a_warped_gp_of_the_clocks_that_predicts(tables, capsys):
    d, grid = tables
    out = d / "warp.json"
    argv = ["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption",
            "--model", "gp", "--input-warp", "-o", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    state = json.loads(out.read_text())["state"]["regressor"]["state"]
    assert state["params"]["input_warp"] is True
    names = [e["name"] for e in json.loads(out.read_text())["state"]["encoding"]]
    # the clocks have 12/4/4 levels, the per-core flags two: only the clocks are warped
    assert sorted(names[j] for j in state["warp_dims"]) == ["core_freq", "emc_freq", "gpu_freq"]
    pred = d / "warp_pred.csv"
    assert main(["predict", "--model", str(out), "--table", str(d / "new.csv"), "-o", str(pred)]) == 0
    got = pd.read_csv(pred)
    truth = grid.iloc[100:130]["power_consumption"].to_numpy()
    assert np.median(np.abs(got["power_consumption_pred"].to_numpy() / truth - 1)) < 0.1
    assert (got["power_consumption_std"] > 0).all()


@pytest.mark.parametrize("extra", [["--model", "polynomial"], ["--layerwise"]])
def test_fit_input_warp_is_refused_except_for_a_configuration_gp(tables, extra, capsys):
    d, _ = tables
    out = d / "never_warp.json"
    argv = ["fit", "--table", str(d / "train.csv"), "--input-warp", "-o", str(out)] + extra
    if "--layerwise" not in extra:
        argv += ["--knobs", KNOBS, "--target", "power_consumption"]
    assert main(argv) == 2
    assert "--input-warp is for a configuration-level GP" in _err(capsys)
    assert not out.exists()


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys):
    # a study would run its whole budget and lose its result at the end; nothing is started, no file made
    study = tmp_path / "s.sqlite"
    rc = main(["explore", "--table", str(GRID), "--knobs", KNOBS, "--objectives", "inference_time", "--budget", "3",
               "--quiet", "--study", str(study), "-o", str(tmp_path / "nodir" / "run.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("perfmodel: error: cannot write --output file") and "does not exist" in err
    assert not study.exists() and not (tmp_path / "nodir").exists()
    assert main(["fit", "--table", str(GRID), "--knobs", KNOBS, "--target", "inference_time", "-o",
                 str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err


def test_dash_is_standard_output_for_a_table_and_refused_for_a_model_file(tables, tmp_path, capsys, monkeypatch):
    # export -o - printed the table; predict and explore wrote a file called '-', and so did fit (a model file)
    d, _ = tables
    monkeypatch.chdir(tmp_path)
    main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption", "-o", "p.json"])
    capsys.readouterr()
    assert main(["predict", "--model", "p.json", "--table", str(d / "new.csv"), "-o", "-"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("power_consumption_pred") and len(lines) == 31  # the table alone: no "predicted ..."
    assert main(["explore", "--table", str(GRID), "--knobs", KNOBS, "--objectives", "inference_time", "--budget", "3",
                 "--strategy", "random", "-o", "-"]) == 0
    said = capsys.readouterr()
    table = pd.read_csv(__import__("io").StringIO(said.out))
    assert len(table) == 3 and list(table.columns[:2]) == ["evaluation", "core1_status"]
    assert "3 evaluations (3 complete, 0 failed) with random" in said.err  # the summary beside it, on stderr
    assert main(["fit", "--table", str(d / "train.csv"), "--knobs", KNOBS, "--target", "power_consumption",
                 "-o", "-"]) == 2
    assert _err(capsys) == ("perfmodel: error: cannot write --output file '-': standard output takes a CSV table "
                            "only; name a file ('./-' for a file called '-')")
    assert not (tmp_path / "-").exists()


def test_fit_leaves_out_rows_where_the_target_was_not_measured(tmp_path, capsys):
    # the H200 tables measured power (so energy) at batch 64 alone: the model of energy is fitted on those rows,
    # with a warning, never on values filled in; a target measured nowhere is an error
    table = tmp_path / "t.csv"
    df = pd.DataFrame({"a": np.repeat([1, 2, 4, 8], 6), "b": np.tile(np.arange(6), 4)})
    df["energy_j"] = np.where(df["a"] == 8, 1.0 + df["b"], np.nan)
    df.to_csv(table, index=False)
    out = tmp_path / "m.json"
    with pytest.warns(UserWarning) as said:
        assert main(["fit", "--table", str(table), "--knobs", "a,b", "--target", "energy_j", "--model", "gbr",
                     "-o", str(out)]) == 0
    assert [str(w.message) for w in said] == [f"{table}: energy_j is missing in 18 of 24 rows (first: a=1,b=0); "
                                              "the model is fitted on the 6 that have it"]
    assert capsys.readouterr().out.startswith("fitted gbr model of 'energy_j' on 6 rows")
    df["energy_j"] = np.nan
    df.to_csv(table, index=False)
    assert main(["fit", "--table", str(table), "--knobs", "a,b", "--target", "energy_j", "-o", str(tmp_path / "n.json")]) == 2
    assert _err(capsys) == f"perfmodel: error: {str(table)!r}: energy_j has no value in any of its 24 rows"
    assert not (tmp_path / "n.json").exists()


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """`perfmodel predict ... | head`: the closed pipe is not a traceback."""
    import os
    import subprocess

    train = pd.read_csv(GRID, index_col=0)
    train.to_csv(tmp_path / "train.csv", index=False)
    pd.concat([train.drop(columns=["inference_time", "power_consumption"])] * 40).to_csv(tmp_path / "big.csv",
                                                                                       index=False)
    assert main(["fit", "--table", str(tmp_path / "train.csv"), "--knobs", KNOBS, "--target", "inference_time",
                 "--model", "linear", "-o", str(tmp_path / "m.json")]) == 0
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, "-m", "perfmodel", "predict", "--model", str(tmp_path / "m.json"),
                             "--table", str(tmp_path / "big.csv")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": root})
    assert proc.stdout.read(64)                                       # 30 000 rows: far more than a pipe holds
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_an_output_that_is_also_an_input_is_refused_and_the_input_kept(tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.read_csv(GRID, index_col=0).to_csv(table, index=False)
    before = table.read_bytes()
    # fit -o over its own table would have replaced the measurements with a model file
    assert main(["fit", "--table", str(table), "--knobs", KNOBS, "--target", "inference_time", "-o",
                 str(tmp_path / "." / "t.csv")]) == 2
    assert "is also the command's --table and would be overwritten" in capsys.readouterr().err
    assert table.read_bytes() == before
    # explore -o naming the study file it is about to create: the CSV was written over the new study
    study = tmp_path / "s.sqlite"
    assert main(["explore", "--table", str(table), "--knobs", KNOBS, "--objectives", "inference_time",
                 "--budget", "3", "--quiet", "--study", str(study), "-o", str(study)]) == 2
    assert "is also the command's --study" in capsys.readouterr().err
    assert not study.exists()
