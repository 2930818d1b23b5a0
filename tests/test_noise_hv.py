"""benchmarks/noise_hv.py: the benchmark's score against a simulated re-measurement of a grid."""

import numpy as np
import pytest

from benchmark_scripts import load

noise_hv = load("noise_hv")

# (time, power): rows 0-2 are the front, row 3 is dominated by row 1, row 4 by everything, row 5 repeats row 1
TABLE = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [5.0, 5.0], [2.0, 2.0]])


def test_front_rows_are_every_row_on_the_true_front_repeats_included():
    assert noise_hv.front_rows(TABLE).tolist() == [0, 1, 2, 5]


def test_score_is_the_benchmarks_hypervolume_ratio_worked_by_hand():
    score = noise_hv.Scorer(TABLE)
    # reference = the front's nadir (4, 4) + 10 % of its range (3, 3) = (4.3, 4.3); the front's hypervolume is
    # 0.3 x 1 + 2.3 x 2 + 3.3 x 0.3 = 5.89; with (3, 3) in place of (2, 2): 0.3 x 2 + 1.3 x 1 + 3.3 x 0.3 = 2.89
    assert score(np.array([0, 1, 2])) == pytest.approx(1.0)
    assert score(np.array([0, 2, 3, 4])) == pytest.approx(2.89 / 5.89)
    assert score(np.array([4])) == 0.0


def test_remeasured_scales_each_value_by_its_objectives_own_noise():
    rng = np.random.default_rng(0)
    Y = np.ones((20000, 2))
    again = noise_hv.remeasured(Y, np.array([0.0, 0.1]), rng)
    assert np.array_equal(again[:, 0], Y[:, 0])
    assert 0.095 < np.log(again[:, 1]).std() < 0.105
    assert abs(np.log(again[:, 1]).mean()) < 0.005


def test_noise_levels_read_numbers_and_the_fitted_estimate():
    import pandas as pd
    fitted = pd.DataFrame([{"grid": "200x200", "inference_time_noise_sd_log": 0.02,
                            "power_consumption_noise_sd_log": 0.03}])
    levels = noise_hv.noise_levels("0.01,fitted", "200x200", fitted)
    assert [label for label, _ in levels] == ["0.01", "fitted"]
    assert levels[0][1].tolist() == [0.01, 0.01] and levels[1][1].tolist() == [0.02, 0.03]


def test_without_noise_the_perfect_answer_scores_one_on_every_grid():
    out = noise_hv.part_floor("0", draws=2, seed=0, fitted=None)
    assert sorted(out["grid"]) == noise_hv.GRIDS
    assert np.allclose(out["min"], 1.0)
    assert (out["front_points"] >= 10).all()


def test_bad_noise_levels_are_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        noise_hv.main(["--part", "floor", "--sigmas", "0.01,lots"])
    assert e.value.code == 2
    assert "--sigmas" in capsys.readouterr().err


def test_a_front_of_one_point_scores_whether_it_was_found():
    Y = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    score = noise_hv.Scorer(Y)
    assert score(np.array([0, 2])) == 1.0
    assert score(np.array([1, 2])) == 0.0


def test_repeated_configurations_give_the_measured_noise_and_are_averaged(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    e = float(np.exp(0.2))
    path.write_text("a,b,t,p\n1,1,1.0,2.0\n1,1,%r,2.0\n1,2,3.0,1.0\n2,1,0.5,4.0\n" % e)
    monkeypatch.setattr(noise_hv, "KNOBS", ["a", "b"])
    monkeypatch.setattr(noise_hv, "OBJECTIVES", ["t", "p"])
    got = noise_hv.repeat_sd(str(path))
    assert got["repeated_configurations"] == 1
    # one pair whose times differ by 0.2 in log: sd 0.2 / sqrt(2); the robust estimate 0.2 / (0.6745 sqrt(2))
    assert got["t_repeat_sd_log"] == pytest.approx(0.2 / np.sqrt(2))
    assert got["t_repeat_sd_log_robust"] == pytest.approx(0.2 / (0.6745 * np.sqrt(2)))
    assert got["p_repeat_sd_log"] == 0.0
    table = noise_hv.load(str(path))
    assert len(table) == 3
    assert table.loc[(table.a == 1) & (table.b == 1), "t"].item() == pytest.approx((1 + e) / 2)


def test_a_file_without_the_named_columns_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    for name in ("KNOBS", "OBJECTIVES"):      # restored after the test, whatever main sets
        monkeypatch.setattr(noise_hv, name, list(getattr(noise_hv, name)))
    path = tmp_path / "table.csv"
    path.write_text("a,b,t,p\n1,1,1.0,2.0\n")
    with pytest.raises(SystemExit) as e:
        noise_hv.main(["--part", "floor", "--file", str(path), "--knobs", "a,c", "--objectives", "t,p"])
    assert e.value.code == 2
    assert "no column ['c']" in capsys.readouterr().err
    assert noise_hv.OBJECTIVES == ["inference_time", "power_consumption"]      # nothing changed on refusal


def test_the_mape_floor_of_log_normal_noise():
    # small noise: E|exp(s z) - 1| ~ s E|z| = s sqrt(2 / pi); checked against a large sample as well
    assert noise_hv.mape_floor(0.0) == 0.0
    assert noise_hv.mape_floor(0.001) == pytest.approx(0.001 * np.sqrt(2 / np.pi), rel=1e-3)
    z = np.random.default_rng(1).standard_normal(1_000_000)
    assert noise_hv.mape_floor(0.3) == pytest.approx(np.mean(np.abs(np.exp(0.3 * z) - 1)), rel=5e-3)


def test_runs_are_scored_against_the_recorded_and_the_remeasured_tables():
    import pandas as pd
    Y = noise_hv.load("600x600")[noise_hv.OBJECTIVES].to_numpy(float)
    front = noise_hv.front_rows(Y)
    worst = np.argsort(Y[:, 0])[-5:]                       # the five slowest configurations: far from the front
    ev = pd.DataFrame([{"grid": "600x600", "strategy": "bo", "seed": seed, "step": k + 1, "row": int(r)}
                       for seed, rows in ((0, front), (1, np.concatenate([front[:3], worst])))
                       for k, r in enumerate(rows)])
    per_run, summary, order = noise_hv.part_runs(ev, "0,0.01", draws=3, seed=0, budget=len(front), fitted=None)
    exact = per_run[per_run.sigma == "0"].set_index("seed")
    assert exact.loc[0, "recorded"] == pytest.approx(1.0) and exact.loc[0, "share_ge_0.99"] == 1.0
    assert exact.loc[1, "recorded"] < 0.99 and exact.loc[1, "share_run_ge_perfect"] == 0.0
    assert summary.set_index("sigma").loc["0", "recorded_ge_0.99"] == 1
    assert order.set_index("sigma").loc["0", "pairs"] == 1
    assert order.set_index("sigma").loc["0", "short_ge_passing"] == 0.0


def test_the_oracle_takes_the_front_point_worth_most_first():
    # TABLE's front (1, 4), (2, 2), (4, 1), reference (4.3, 4.3): alone (2, 2) covers 2.3 x 2.3 = 5.29 of 5.89,
    # (1, 4) or (4, 1) 3.3 x 0.3 = 0.99; after (2, 2) each of the other two adds 1 x 0.3 = 0.3
    F, scores = noise_hv.greedy_front(TABLE)
    assert F[0].tolist() == [2.0, 2.0]
    assert scores[0] == pytest.approx(5.29 / 5.89)
    assert scores[-1] == pytest.approx(1.0) and len(scores) == 3
    assert np.all(np.diff(scores) > 0)


def test_bootstrap_remeasures_each_configuration_from_its_own_repeats(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    # (a=1, b=1) measured twice (t 1 and 3), (1, 2) three times, (2, 1) once
    path.write_text("a,b,t,p\n1,1,1.0,2.0\n1,2,5.0,1.0\n1,1,3.0,2.0\n1,2,6.0,1.0\n2,1,0.5,4.0\n1,2,7.0,1.0\n")
    monkeypatch.setattr(noise_hv, "KNOBS", ["a", "b"])
    monkeypatch.setattr(noise_hv, "OBJECTIVES", ["t", "p"])
    table = noise_hv.load(str(path))
    draw = noise_hv.bootstrap_draw(str(path))
    rng = np.random.default_rng(0)
    draws = np.array([draw(rng) for _ in range(4000)])
    row = {(a, b): i for i, (a, b) in enumerate(table[["a", "b"]].to_numpy(int).tolist())}
    twice, thrice, once = draws[:, row[(1, 1)], 0], draws[:, row[(1, 2)], 0], draws[:, row[(2, 1)], 0]
    # the mean of two draws from {1, 3}: 1, 2 or 3 with chances 1/4, 1/2, 1/4
    assert set(np.unique(twice)) == {1.0, 2.0, 3.0}
    assert abs(np.mean(twice == 2.0) - 0.5) < 0.03
    assert thrice.min() >= 5.0 and thrice.max() <= 7.0 and abs(thrice.mean() - 6.0) < 0.03
    assert np.all(once == 0.5) and np.all(draws[:, :, 1] == table["p"].to_numpy())    # no spread: no change
    levels = noise_hv.noise_levels("bootstrap,0.01", str(path), None)
    assert [label for label, _ in levels] == ["bootstrap", "0.01"] and callable(levels[0][1])


def test_bootstrap_needs_repeats_and_a_part_that_remeasures(tmp_path, monkeypatch, capsys):
    path = tmp_path / "table.csv"
    path.write_text("a,b,t,p\n1,1,1.0,2.0\n1,2,5.0,1.0\n")
    monkeypatch.setattr(noise_hv, "KNOBS", ["a", "b"])
    monkeypatch.setattr(noise_hv, "OBJECTIVES", ["t", "p"])
    with pytest.raises(SystemExit, match="has no repeated configuration"):
        noise_hv.bootstrap_draw(str(path))
    with pytest.raises(SystemExit) as e:
        noise_hv.main(["--part", "sigma", "--sigmas", "bootstrap"])
    assert e.value.code == 2 and "--sigmas bootstrap re-measures" in capsys.readouterr().err


def test_heldout_table_is_scored_under_its_own_names(capsys, monkeypatch):
    for name in ("KNOBS", "OBJECTIVES"):
        monkeypatch.setattr(noise_hv, name, list(getattr(noise_hv, name)))
    assert noise_hv.main(["--part", "floor", "--sigmas", "0,bootstrap", "--draws", "3", "--heldout",
                          "tx2-nlp-debug"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "heldout_tx2-nlp-debug" in line]
    assert len(lines) == 2
    exact = lines[0].split()
    assert exact[1] == "0" and exact[2] == "10" and float(exact[3]) == 1.0     # 10 front points, no noise: 1.0
    with pytest.raises(SystemExit) as e:
        noise_hv.main(["--part", "floor", "--heldout", "tx2-nlp-debug", "--knobs", "a"])
    assert e.value.code == 2 and "--heldout sets the table" in capsys.readouterr().err
