"""benchmarks/bench_heldout_bo.py: the held-out tables reach bench_optimisation renamed, and only through --table."""

import os

import pandas as pd
import pytest

from benchmark_scripts import DIR as _DIR
from benchmark_scripts import load

heldout = load("bench_heldout_bo")


def test_knob_names_become_identifiers_and_the_rows_keep_their_values(tmp_path):
    path, knobs = heldout.write_table("tx2-nlp-debug", str(tmp_path))
    assert "scheduler_policy" in knobs and "vm_swappiness" in knobs and "core_freq" in knobs
    assert all(k.isidentifier() for k in knobs)
    written = pd.read_csv(path)
    assert list(written.columns) == knobs + ["inference_time", "total_energy_consumption"]
    raw = pd.read_csv(os.path.join(_DIR, "..", "datasets", "unicorn", "data", "measurement", "debug", "single",
                                   "TX2", "NLP", "data.csv"))
    assert len(written) == len(raw) == 1438                 # every repeat kept: the replay takes their mean
    assert written["vm_swappiness"].tolist() == raw["vm.swappiness"].tolist()
    assert written["inference_time"].tolist() == raw["inference_time"].tolist()


def test_the_table_is_replayed_by_bench_optimisation(tmp_path, capsys):
    raw = tmp_path / "raw.csv"
    assert heldout.main(["--table", "xavier-image", "--seeds", "0-0", "--budgets", "3,5", "--strategies", "random",
                         "--single-budget", "0", "--raw", str(raw)]) == 0
    runs = pd.read_csv(raw)
    assert list(runs["file"].str.contains("xavier-image")) == [True] and runs.loc[0, "strategy"] == "random"
    assert 0.0 <= runs.loc[0, "hv3"] <= runs.loc[0, "hv5"] <= 1.0


def test_flags_the_table_sets_are_refused(capsys):
    with pytest.raises(SystemExit) as out:
        heldout.main(["--table", "tx2-nlp-debug", "--knobs", "a,b"])
    assert out.value.code == 2 and "are set by --table" in capsys.readouterr().err


def test_write_table_prints_the_flags_that_name_it(tmp_path, capsys):
    assert heldout.main(["--table", "xavier-image", "--write-table", str(tmp_path)]) == 0
    flags = capsys.readouterr().out.split()
    assert flags[0::2] == ["--files", "--knobs", "--objectives"]
    written = pd.read_csv(flags[1])
    assert list(written.columns) == flags[3].split(",") + flags[5].split(",")
    assert flags[5] == "inference_time,total_energy_consumption" and len(written) == 266
    with pytest.raises(SystemExit) as out:
        heldout.main(["--table", "xavier-image", "--write-table", str(tmp_path / "missing")])
    assert out.value.code == 2 and "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
