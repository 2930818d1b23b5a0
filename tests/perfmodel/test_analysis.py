"""perfmodel.analysis: Pareto per group, transfer of optima, correlations, sampler comparison."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from perfmodel import analysis as A
from perfmodel.errors import DataError


def _grid_table(seed=0):
    """Two networks on a 5x4 grid; 'big' runtime = 2 x 'small' + a knob-dependent twist."""
    rng = np.random.default_rng(seed)
    rows = []
    for net, f in (("small", 1.0), ("big", 2.0)):
        for t, b in itertools.product(range(1, 6), range(1, 5)):
            rt = f * (10 / t + b) + (3.0 if net == "big" and t == 5 else 0.0) + rng.normal(0, 0.01)
            rows.append({"network": net, "threads": t, "batch": b, "runtime_s": rt, "power_w": 2 * t + 0.5 * b})
    return pd.DataFrame(rows)


def _brute_front(Y):
    return np.array([not any(np.all(Y[j] <= Y[i]) and np.any(Y[j] < Y[i]) for j in range(len(Y))) for i in range(len(Y))])


def test_pareto_by_group_matches_brute_force_per_group():
    df = _grid_table()
    on = A.pareto_by_group(df, ["runtime_s", "power_w"], by="network")
    for net, g in df.groupby("network"):
        assert (on[g.index].to_numpy() == _brute_front(g[["runtime_s", "power_w"]].to_numpy())).all()
    # pooled front differs from the per-network fronts: 'big' is dominated by 'small' everywhere
    pooled = A.pareto_by_group(df, ["runtime_s", "power_w"])
    assert not pooled[df.network == "big"].any() and on[df.network == "big"].any()


def test_pareto_ignores_nan_and_handles_repeated_index():
    df = pd.concat([_grid_table(), _grid_table(seed=1)])  # repeated index labels
    df.iloc[0, df.columns.get_loc("runtime_s")] = np.nan
    on = A.pareto_by_group(df, ["runtime_s", "power_w"], by="network")
    assert len(on) == len(df) and not on.iloc[0]


def test_transfer_of_optima_rank_and_regret():
    df = _grid_table()
    t = A.transfer_of_optima(df, ["threads", "batch"], "runtime_s", by="network").set_index(["source", "target"])
    # small's optimum (threads=5, batch=1) is penalised by +3 on big: big's best is threads=4, batch=1
    row = t.loc[("small", "big")]
    big = df[df.network == "big"].set_index(["threads", "batch"])["runtime_s"]
    value, best = big.loc[(5, 1)], big.min()
    assert row["rank"] == int((big < value).sum()) + 1 and row["rank"] > 1
    assert row["regret"] == pytest.approx((value - best) / best)
    assert "threads=5" in row["best_config"]
    assert t.loc[("big", "small"), "rank"] == 2  # big's optimum (4,1) is second best on small


def test_transfer_of_unmeasured_optimum_is_nan():
    df = _grid_table()
    df = df[~((df.network == "big") & (df.threads == 5) & (df.batch == 1))]
    t = A.transfer_of_optima(df, ["threads", "batch"], "runtime_s", by="network").set_index(["source", "target"])
    assert np.isnan(t.loc[("small", "big"), "rank"])


def test_rank_correlations_agree_with_scipy():
    df = _grid_table()
    c = A.rank_correlations(df, ["threads", "batch"], "runtime_s", by="network").iloc[0]
    s = df[df.network == "small"].sort_values(["threads", "batch"])["runtime_s"].to_numpy()
    b = df[df.network == "big"].sort_values(["threads", "batch"])["runtime_s"].to_numpy()
    assert c["n_common"] == 20
    assert c["spearman"] == pytest.approx(stats.spearmanr(s, b).statistic)
    assert c["kendall"] == pytest.approx(stats.kendalltau(s, b).statistic)
    assert c["pearson"] == pytest.approx(stats.pearsonr(s, b).statistic)
    M = A.correlation_matrix(A.rank_correlations(df, ["threads", "batch"], "runtime_s", by="network"))
    assert M.loc["small", "big"] == M.loc["big", "small"] == pytest.approx(c["spearman"])


def test_correlations_need_common_configurations():
    df = _grid_table()
    df.loc[df.network == "big", "threads"] += 10  # no configuration in common
    c = A.rank_correlations(df, ["threads", "batch"], "runtime_s", by="network")
    assert c["n_common"].iloc[0] == 0 and np.isnan(c["spearman"].iloc[0])


def test_sampler_prediction_error_prefers_informative_samples():
    rng = np.random.default_rng(0)
    full = pd.DataFrame({"x": np.linspace(0, 10, 400)})
    full["y"] = np.where(full.x > 5, 10.0, 0.0) + full.x
    spread = full.iloc[::10]           # covers the whole range
    clustered = full[full.x < 4].sample(40, random_state=1)  # never sees the step
    err = A.sampler_prediction_error({"spread": spread, "clustered": clustered}, ["x"], "y", test=full)
    e = err.set_index("sampler")["rmse"]
    assert e["spread"] < e["clustered"]
    own = A.sampler_prediction_error({"spread": spread}, ["x"], "y")  # 80/20 split as in the Jetson TX1 design-space study
    assert own["n_test"].iloc[0] == 8 and own["n_train"].iloc[0] == 32
    with pytest.raises(DataError, match="too few"):
        A.sampler_prediction_error({"tiny": full.head(3)}, ["x"], "y")
    del rng


def test_bo_vs_random_never_tests_on_training_rows():
    df = _grid_table()
    small = df[df.network == "small"]
    study = small.sample(8, random_state=0)
    res = A.bo_vs_random(study, small, ["threads", "batch"], "runtime_s", repeats=3)
    assert list(res["sampler"]) == ["study", "random", "random", "random"]
    assert res["n_test"].iloc[0] == 12
    assert (res["n_test"].iloc[1:] <= 12).all()
    with pytest.raises(DataError, match="too few rows"):
        A.bo_vs_random(small, small, ["threads", "batch"], "runtime_s")
