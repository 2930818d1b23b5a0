"""End to end on this CPU with the smallest built-in network (one real TensorFlow worker per job)."""

import pandas as pd
import pytest

from perfmodel.cli import main

pytestmark = pytest.mark.tf


def test_profile_then_export_real_measurements(tmp_path, capsys):
    store = tmp_path / "runs" / "x.sqlite"
    rc = main(["profile", "--network", "tiny_dense", "--level", "layer", "--config", "threads=1,batch=2",
               "--store", str(store), "--quick", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "tiny_dense" in out and "jobs measured: 1" in out
    csv = tmp_path / "x.csv"
    assert main(["export", "--store", str(store), "-o", str(csv)]) == 0
    df = pd.read_csv(csv)
    assert set(df["view"]) == {"whole", "inplace", "isolated"}
    whole = df[df["view"] == "whole"].iloc[0]
    assert whole["runtime_s"] > 0 and whole["batch"] == 2 and whole["threads"] == 1
    iso = df[df["view"] == "isolated"]
    assert set(iso["layer"]) == {"fc1", "fc2"}  # dropout does no work at inference
    assert (iso["overhead_s"] > 0).all()
    assert df["source"].eq("measured:cpu").all()
    # a .gz name gets gzip (it was plain text under that name, which no reader could open), read back alike
    assert main(["export", "--store", str(store), "-o", str(tmp_path / "x.csv.gz")]) == 0
    assert (tmp_path / "x.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "x.csv.gz"), df)
    # filters that match no row are an error, not a table that looks like an empty store; nothing written
    capsys.readouterr()
    assert main(["export", "--store", str(store), "--level", "network", "--view", "isolated",
                 "-o", str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("perfmodel: error: no row of the store has level network, view isolated: it holds ")
    assert "1 network/whole" in err and len(err.splitlines()) == 1 and not (tmp_path / "none.csv").exists()
    # Running again resumes: nothing is measured twice.
    assert main(["profile", "--network", "tiny_dense", "--level", "layer", "--config", "threads=1,batch=2",
                 "--store", str(store), "--quick", "--no-progress"]) == 0
    assert "already stored (skipped): 1" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["profile", "--network", "resnet5", "--store", "S"], "unknown network"),
    (["profile", "--network", "tiny_cnn", "--config", "threads=x", "--store", "S"], "threads"),
    (["profile", "--network", "tiny_cnn", "--config", "warp=1", "--store", "S"], "unknown knob 'warp'"),
    (["profile", "--network", "tiny_cnn", "--config", "batch=3", "--store", "S"], "batch"),
    (["profile", "--network", "tiny_cnn", "--design", "lhs", "--knobs", "nope", "--store", "S"], "nope"),
    (["profile", "--network", "tiny_cnn"], "--store is required"),
    (["export", "--store", "missing.sqlite", "-o", "x.csv"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2(argv, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "S").exists()
