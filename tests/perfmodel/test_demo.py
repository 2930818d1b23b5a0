"""The demo end to end (minutes of real profiling): run with `make test-slow`."""

import json

import pytest

from perfmodel.demo import main

pytestmark = [pytest.mark.slow, pytest.mark.tf]


def test_demo_writes_measurements_model_and_report(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "predicting mobilenetv3small" in out
    assert (tmp_path / "measurements.csv").stat().st_size > 0
    assert json.loads((tmp_path / "layerwise-model.json").read_text())["kind"]
    assert (tmp_path / "report" / "report.html").exists()
