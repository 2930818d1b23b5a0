"""The demo end to end (minutes of real profiling): run with `make test-slow`."""

import json
import shutil

import pytest

from perfmodel.demo import main

pytestmark = [pytest.mark.slow, pytest.mark.tf]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run of the demo for every test here (minutes), with what it printed."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["--out", str(out), "--samples", "3"])
    assert rc == 0, buf.getvalue()[-3000:]
    return out, buf.getvalue()


def test_demo_writes_measurements_model_and_both_reports(demo):
    tmp_path, out = demo
    assert "predicting mobilenetv3small" in out
    assert (tmp_path / "measurements.csv").stat().st_size > 0
    assert json.loads((tmp_path / "layerwise-model.json").read_text())["kind"]
    cpu = (tmp_path / "report" / "report.md").read_text()
    # what it profiled layer by layer, the held-out network predicted, no sensor said plainly
    assert "## Profile: where the time and the energy go" in cpu and "tiny_mobilenet" in cpu
    assert "## Prediction: how far to trust the layer-wise model" in cpu and "| mobilenetv3small |" in cpu
    assert "Pareto front of runtime_s against runtime_per_sample_s" in cpu
    h200 = (tmp_path / "report-h200" / "report.md").read_text()
    assert "Replayed: NVIDIA H200" in h200 and "Pareto front of runtime_s against energy_per_sample_j" in h200


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not on PATH (apt-get install -y chromium)")
def test_both_demo_reports_render_in_chromium(demo):
    from test_report_browser import SECTION_FIGURES, rendered_sections, screenshots

    tmp_path, _ = demo
    cpu = rendered_sections(tmp_path, tmp_path / "report" / "report.html")
    assert list(cpu) == ["profile", "prediction", "decision"]
    assert cpu["profile"] == SECTION_FIGURES["profile"] and cpu["prediction"] == SECTION_FIGURES["prediction"]
    # three design rows (--samples 3) are too few for an equation: the Pareto front and the knobs figure remain
    assert cpu["decision"] >= {"pareto", "knobs"}
    h200 = rendered_sections(tmp_path, tmp_path / "report-h200" / "report.html")
    assert list(h200) == ["profile", "prediction", "decision"] and h200["profile"] == SECTION_FIGURES["profile"]
    for html, name in ((tmp_path / "report" / "report.html", "demo-cpu"),
                       (tmp_path / "report-h200" / "report.html", "demo-h200")):
        shots = screenshots(tmp_path, html, name)
        assert shots["first"].shape[:2] == (900, 1200)
