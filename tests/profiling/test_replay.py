"""ReplayPlatform: a recorded table as a platform."""

import os

import numpy as np
import pandas as pd
import pytest

from profiling.errors import ConfigError, TableError
from profiling.platforms.replay import ReplayDuplicateWarning, ReplayPlatform

TX2 = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "flexibo-tx2")
KNOBS = ["core1_status", "core2_status", "core3_status", "core_freq", "gpu_freq", "emc_freq"]


def table():
    return pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "y", "x", "y"],
                         "time": [1.0, 2.0, 3.0, 4.0], "power": [10.0, 20.0, 30.0, 40.0]})


def test_space_is_the_rows_and_evaluate_looks_them_up():
    p = ReplayPlatform(table(), ["a", "b"], ["time", "power"], label="t.csv")
    space = p.space()
    assert space.size == 4 and space.names == ("a", "b")
    assert p.evaluate({"a": 2, "b": "x"}) == {"time": 3.0, "power": 30.0}
    assert p({"a": 2.0, "b": "y"})["time"] == 4.0          # 2.0 spells the level 2
    assert p.source == "replay:t.csv" and p.simulated
    assert p.describe()["configurations"] == 4


def test_configuration_not_in_table_is_an_error():
    df = table().iloc[:3]
    p = ReplayPlatform(df, ["a", "b"], ["time"])
    with pytest.raises(ConfigError, match="not"):
        p.evaluate({"a": 2, "b": "y"})
    with pytest.raises(ConfigError):
        p.evaluate({"a": 3, "b": "x"})
    with pytest.raises(ConfigError, match="unknown knob"):
        p.evaluate({"a": 1, "b": "x", "c": 0})


def test_duplicates_are_averaged_with_a_warning_or_refused():
    df = pd.concat([table(), pd.DataFrame({"a": [1], "b": ["x"], "time": [3.0], "power": [0.0]})])
    with pytest.warns(ReplayDuplicateWarning, match="1 configuration"):
        p = ReplayPlatform(df, ["a", "b"], ["time", "power"])
    assert p.evaluate({"a": 1, "b": "x"}) == {"time": 2.0, "power": 5.0}
    assert len(p.frame()) == 4 and p.n_duplicated == 1
    with pytest.raises(TableError, match="more than one row"):
        ReplayPlatform(df, ["a", "b"], ["time"], duplicates="error")


def test_bad_tables():
    df = table()
    with pytest.raises(TableError, match="no column 'nope'"):
        ReplayPlatform(df, ["a", "nope"], ["time"])
    nan = df.copy()
    nan.loc[2, "time"] = np.nan
    with pytest.raises(TableError, match="row 3"):
        ReplayPlatform(nan, ["a", "b"], ["time"])
    with pytest.raises(ConfigError, match="both a knob and an output"):
        ReplayPlatform(df, ["a", "time"], ["time"])


def test_reads_a_path_and_labels_with_the_file_name():
    path = os.path.join(TX2, "tx2_sampled_output_xception_200x200.csv")
    p = ReplayPlatform(path, KNOBS, ["inference_time", "power_consumption"])
    assert p.source == "replay:tx2_sampled_output_xception_200x200.csv"
    assert p.space().size == 768              # the full factorial grid
    raw = pd.read_csv(path)
    row = raw.iloc[5]
    got = p.evaluate({k: row[k] for k in KNOBS})
    assert got["inference_time"] == pytest.approx(row["inference_time"])


def test_random_sample_table_with_repeated_configurations():
    path = os.path.join(TX2, "it_ec_te_obj.csv")
    with pytest.warns(ReplayDuplicateWarning):
        p = ReplayPlatform(path, KNOBS, ["inference_time", "energy_consumption"])
    raw = pd.read_csv(path)
    assert p.space().size == len(raw.drop_duplicates(KNOBS)) < len(raw)


def test_repr_says_the_kind_and_the_label_of_its_measurements():
    from profiling import CpuPlatform

    assert repr(ReplayPlatform(table(), ["a", "b"], ["time"], label="t.csv")) == "<ReplayPlatform replay:t.csv>"
    assert repr(CpuPlatform()) == "<CpuPlatform measured:cpu>"


def test_repr_of_a_board_names_the_tree_it_rebuilds_from(tmp_path):
    from profiling import JetsonPlatform, build_fake_jetson

    build_fake_jetson(tmp_path)
    assert repr(JetsonPlatform(tmp_path)) == f"<JetsonPlatform simulated:jetson sysfs_root={str(tmp_path.resolve())!r}>"
