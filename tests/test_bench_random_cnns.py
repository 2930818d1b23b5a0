"""The offline mode of benchmarks/bench_random_cnns.py: reading shipped measured pairs and summarising them."""

import os

import pandas as pd
import pytest

from benchmark_scripts import load

bench = load("bench_random_cnns")

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "datasets", "cpu-random-cnns")


def test_seed_of_reads_the_seed_from_a_random_network_name():
    assert bench.seed_of("random_cnn_0") == 0
    assert bench.seed_of("random_cnn_105") == 105
    assert bench.describe(bench.seed_of("random_cnn_3"))["name"] == "random_cnn_3"
    for bad in ("random_cnn_", "random_cnn_x", "mobilenetv2", "random_cnn_1_b"):
        with pytest.raises(ValueError, match="random_cnn_<seed>"):
            bench.seed_of(bad)


def test_read_measured_reads_the_shipped_pairs_with_their_seeds():
    m = bench.read_measured([os.path.join(SHIPPED, "random-cnns-seed0-2026-12-05.csv"),
                             os.path.join(SHIPPED, "random-cnns-seed100-2026-12-05.csv")])
    assert len(m) == 36
    assert sorted(m["seed"].unique()) == [0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105]
    assert set(m["config"]) == {"threads=1,batch=1", "threads=2,batch=1", "threads=2,batch=8"}
    assert bench._configs(m["config"].iloc[2]) == [{"threads": 2, "batch": 8}]


def test_read_measured_refuses_a_file_without_the_measured_runtime(tmp_path):
    p = tmp_path / "pairs.csv"
    pd.DataFrame({"network": ["random_cnn_0"], "config": ["threads=1,batch=1"]}).to_csv(p, index=False)
    with pytest.raises(ValueError, match="runtime_s"):
        bench.read_measured([p])
    pd.DataFrame({"network": ["random_cnn_0"], "config": ["threads=1,batch=1"], "runtime_s": [0.0]}).to_csv(
        p, index=False)
    with pytest.raises(ValueError, match="not positive"):
        bench.read_measured([p])


def test_summary_lines_give_mape_median_and_mean_bias_per_configuration():
    R = pd.DataFrame({"config": ["threads=1,batch=1"] * 3 + ["threads=2,batch=8"] * 2,
                      "error": [0.1, -0.3, 0.05, 0.2, 0.0]})
    lines = bench.summary_lines(R)
    assert len(lines) == 4  # two configurations, the batch-1 pairs, all
    first, b8, b1, everything = lines
    assert first.startswith("threads=1,batch=1") and "  3 pairs" in first
    assert "MAPE  15.0 %" in first and "median  +5.0 %" in first and "mean  -5.0 %" in first
    assert "within +-10 %  67 %" in first and "(-30.0 .. +10.0 %)" in first
    assert "MAPE  10.0 %" in b8 and "mean +10.0 %" in b8 and "within +-10 %  50 %" in b8
    assert b1.startswith("all batch=1") and "MAPE  15.0 %" in b1
    assert everything.startswith("all ") and "  5 pairs" in everything and "MAPE  13.0 %" in everything


def test_option_values_are_typed():
    assert bench.option_value("false") is False and bench.option_value("True") is True
    assert bench.option_value("none") is None and bench.option_value("4") == 4
    assert bench.option_value("roofline") == "roofline"
