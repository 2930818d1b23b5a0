"""ConfigModel on the real TX2 DVFS grid (datasets/flexibo-tx2) and its bad-input errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfmodel.errors import DataError, ModelError, TableError
from perfmodel.models import ConfigModel
from perfmodel.models.metrics import mape, within

GRID = Path(__file__).resolve().parents[2] / "datasets" / "flexibo-tx2" / "tx2_sampled_output_xception_400x400.csv"
KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]


@pytest.fixture(scope="module")
def grid():
    return pd.read_csv(GRID, index_col=0)


@pytest.mark.parametrize("model", ["polynomial", "gbr"])
def test_beats_the_mean_predictor_by_far_on_held_out_configurations(grid, model):
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(grid))
    train, test = grid.iloc[idx[:120]], grid.iloc[idx[120:]]
    m = ConfigModel(model=model, knobs=KNOBS, target="inference_time").fit(train)
    pred = m.predict(test)
    baseline = mape(test["inference_time"], np.full(len(test), train["inference_time"].mean()))
    assert mape(test["inference_time"], pred) < 0.3 * baseline
    assert m.log_target_  # inference times are positive: auto -> log
    assert within(test["inference_time"], pred) > within(test["inference_time"],
                                                         np.full(len(test), train["inference_time"].median()))


def test_a_polynomial_that_selects_no_term_says_it_predicts_one_value(grid):
    import warnings

    # Unicorn's Xavier table: two kernel settings tell nothing of the inference time, and the Lasso keeps no term
    xavier = pd.read_csv(Path(__file__).resolve().parents[2] / "datasets" / "unicorn" / "data" / "sampled" /
                         "Xavier" / "Image" / "Xavier_Image_sampled.csv")
    with pytest.warns(UserWarning, match=r"^xavier: the polynomial selected no term of the knobs: it predicts "
                                         r"inference_time = [0-9.]+ for every configuration"):
        m = ConfigModel(knobs=["vm.swappiness", "kernel.max_pids"], target="inference_time").fit(xavier,
                                                                                                 source="xavier")
    assert len(m.regressor_.coef_) == 0 and np.ptp(m.predict(xavier)) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # the TX2 grid's clocks: terms selected, no warning
        assert len(ConfigModel(knobs=KNOBS, target="inference_time").fit(grid.iloc[:80]).regressor_.coef_) > 0


def test_cross_validated_predictions_come_from_models_fitted_without_the_row():
    from perfmodel.models.config_model import cross_validated_predictions

    a = np.arange(20.0)
    table = pd.DataFrame({"a": a, "y": 2.0 * a + 1.0})
    table.loc[0, "y"] = 500.0                      # a row no other row explains
    model = ConfigModel(model="linear", knobs=["a"], target="y", log_target=False)
    pred = cross_validated_predictions(model, table, folds=5)
    # the rows of row 0's fold are predicted by a line fitted on clean rows alone: the line itself; the others'
    # lines were pulled by row 0
    assert pred[0] == pytest.approx(1.0) and not hasattr(model, "regressor_")       # the model given stays unfitted
    fitted = model.fit(table)
    assert fitted.predict(table.iloc[:1])[0] > 20                                  # fitted on it, row 0 pulls it up
    with pytest.raises(DataError, match=r"^t: cross-validation takes 2 to 20 folds \(one per row at most\), got 1$"):
        cross_validated_predictions(model, table, folds=1, source="t")
    with pytest.raises(DataError, match="takes 2 to 20 folds"):
        cross_validated_predictions(model, table, folds=21)
    few = table.iloc[:7]
    with pytest.raises(DataError, match=r"7 rows in 2 folds leave 3 rows to fit each fold's 'polynomial' model "
                                        r"\(it needs at least 6\)"):
        cross_validated_predictions(ConfigModel(knobs=["a"], target="y"), few, folds=2)
    # a level of a named knob that only one fold holds: its model cannot predict it
    words = pd.DataFrame({"mode": ["x", "y"] * 6 + ["rare"], "y": np.arange(1.0, 14.0)})
    with pytest.raises(DataError, match=r"^table \(fold \d of 5\): knob 'mode' has the level 'rare', unseen when"):
        cross_validated_predictions(ConfigModel(model="linear", knobs=["mode"], target="y"), words, folds=5)


def test_gp_gives_std_and_categorical_knobs_are_one_hot(grid):
    df = grid.iloc[:40].copy()
    df["governor"] = np.where(np.arange(40) % 2, "fast", "slow")
    m = ConfigModel(model="gp", knobs=["core_freq", "governor"], target="power_consumption",
                    model_params={"n_restarts": 1, "max_iters": 20}).fit(df)
    assert "governor=fast" in m.feature_names_
    mean, std = m.predict(df.iloc[:5], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    bad = df.iloc[:2].assign(governor="turbo")
    with pytest.raises(DataError, match="'turbo', unseen"):
        m.predict(bad)


@pytest.mark.parametrize("change, error, message", [
    (lambda d: d.drop(columns=["gpu_freq"]), TableError, "no column 'gpu_freq'"),
    (lambda d: d.assign(inference_time=0.5), DataError, "constant"),
    (lambda d: d.iloc[:4], DataError, "too few"),
    (lambda d: d.assign(inference_time=d["inference_time"].where(d.index != d.index[3])), TableError, "missing"),
    (lambda d: d.assign(core_freq=d["core_freq"].astype(object).where(d.index != d.index[7], "fast")), DataError,
     "not numeric"),
])
def test_bad_tables_give_one_line_errors(grid, change, error, message):
    with pytest.raises(error, match=message) as err:
        ConfigModel(knobs=KNOBS if message != "not numeric" else ["core_freq"], target="inference_time"
                    ).fit(change(grid.iloc[:50].copy()))
    assert "\n" not in str(err.value)


def test_unknown_model_and_unfitted_use_are_model_errors(grid):
    with pytest.raises(ModelError, match="unknown model"):
        ConfigModel(model="svm", knobs=KNOBS, target="inference_time").fit(grid)
    with pytest.raises(ModelError, match="not fitted"):
        ConfigModel(knobs=KNOBS, target="inference_time").predict(grid)


def test_save_load_round_trip(grid, tmp_path):
    m = ConfigModel(model="polynomial", knobs=KNOBS, target="power_consumption").fit(grid.iloc[:80])
    m.save(tmp_path / "c.json")
    m2 = ConfigModel.load(tmp_path / "c.json")
    np.testing.assert_allclose(m2.predict(grid.iloc[80:120]), m.predict(grid.iloc[80:120]), rtol=1e-12)


def test_the_gp_sees_clock_frequencies_as_logarithms_by_default(grid):
    train = grid.iloc[:60]
    logged = lambda m: {e["name"] for e in m.encoding_ if e.get("log")}
    params = {"n_restarts": 1, "max_iters": 30}
    gp = ConfigModel(model="gp", knobs=KNOBS, target="inference_time", model_params=params).fit(train)
    assert logged(gp) == {"core_freq", "gpu_freq", "emc_freq"}          # the core switches stay 0/1
    poly = ConfigModel(model="polynomial", knobs=KNOBS, target="inference_time").fit(train)
    assert logged(poly) == set()                                         # NeuralPower's features unchanged
    assert logged(ConfigModel(model="polynomial", knobs=KNOBS, target="inference_time", log_knobs=True)
                  .fit(train)) == {"core_freq", "gpu_freq", "emc_freq"}
    plain = ConfigModel(model="gp", knobs=KNOBS, target="inference_time", model_params=params,
                        log_knobs=False).fit(train)
    assert logged(plain) == set()
    assert not np.allclose(gp.predict(grid.iloc[60:80]), plain.predict(grid.iloc[60:80]))
    for bad in ("yes", 1, None):
        with pytest.raises(ModelError, match="log_knobs must be 'auto', True or False"):
            ConfigModel(model="gp", knobs=KNOBS, target="inference_time", log_knobs=bad).fit(train)


def test_a_saved_gp_keeps_its_log_encoding_and_older_files_load_without_one(grid, tmp_path):
    import json

    m = ConfigModel(model="gp", knobs=KNOBS, target="power_consumption",
                    model_params={"n_restarts": 1, "max_iters": 30}).fit(grid.iloc[:60])
    m.save(tmp_path / "g.json")
    m2 = ConfigModel.load(tmp_path / "g.json")
    assert m2.log_knobs == "auto"
    np.testing.assert_allclose(m2.predict(grid.iloc[60:90]), m.predict(grid.iloc[60:90]), rtol=1e-12)
    # a file written before the parameter: no "log_knobs" and no log-scaled knob in its encoding
    old = ConfigModel(model="gp", knobs=KNOBS, target="power_consumption", log_knobs=False,
                      model_params={"n_restarts": 1, "max_iters": 30}).fit(grid.iloc[:60])
    old.save(tmp_path / "old.json")
    doc = json.loads((tmp_path / "old.json").read_text())
    del doc["state"]["log_knobs"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    back = ConfigModel.load(tmp_path / "old.json")
    assert back.log_knobs is False
    np.testing.assert_allclose(back.predict(grid.iloc[60:90]), old.predict(grid.iloc[60:90]), rtol=1e-12)
    doc["state"]["log_knobs"] = "sometimes"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="log_knobs must be 'auto', true or false, got 'sometimes'"):
        ConfigModel.load(tmp_path / "bad.json")


@pytest.mark.parametrize("model", ["polynomial", "gp"])  # the gp's clocks are encoded as logarithms
def test_a_configuration_outside_the_training_range_is_predicted_with_a_warning(grid, model, tmp_path):
    import json
    import warnings

    fast = grid[grid["core_freq"] >= 1113600]          # trained on the upper clocks only
    m = ConfigModel(model=model, knobs=KNOBS, target="inference_time",
                    model_params={"n_restarts": 1, "max_iters": 30} if model == "gp" else None).fit(fast)
    assert m.knob_ranges_["core_freq"] == pytest.approx(
        (np.log(1113600), np.log(2035200)) if model == "gp" else (1113600, 2035200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # inside the range: no warning
        m.predict(fast.iloc[:20])
    slow = grid[grid["core_freq"] < 1113600].iloc[:5]
    with pytest.warns(UserWarning, match=r"^inference_time model: core_freq \(trained on 1113600\.\.2035200\): "
                                         r"outside the training range, the prediction extrapolates$"):
        m.predict(slow)
    m.save(tmp_path / "m.json")                          # the range is kept in the file
    with pytest.warns(UserWarning, match="core_freq"):
        ConfigModel.load(tmp_path / "m.json").predict(slow)
    doc = json.loads((tmp_path / "m.json").read_text())
    del doc["state"]["knob_ranges"]                      # a file from before: predicts, without the warning
    (tmp_path / "old.json").write_text(json.dumps(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ConfigModel.load(tmp_path / "old.json").predict(slow)
    for bad in ({"core_freq": [2.0, 1.0]}, {"nosuch": [0, 1]}, {"core_freq": ["a", 1]}, [1, 2],
                {"core_freq": [0, 1, 2]}):
        doc["state"]["knob_ranges"] = bad
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        with pytest.raises(ModelError, match="corrupt 'config_model' model state: knob_ranges"):  # one line
            ConfigModel.load(tmp_path / "bad.json")
