"""Shape_DNN with TensorFlow: exact parameter counts, real (tiny) training, measured latency, CLI."""

import json
from fractions import Fraction as F

import pytest

from perfmodel.cli import main
from perfmodel.shape import DigitsTrainer, MeasuredCosts, Shape, build, count_params

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("shape,inp,classes", [
    (Shape(10, F(1, 4)), (8, 8, 1), 10), (Shape(16, F(3, 2)), (8, 8, 1), 10), (Shape(22, F(1, 16)), (16, 16, 3), 7),
])
def test_closed_form_parameter_count_is_exact(shape, inp, classes):
    net = build(shape, inp, classes)
    assert count_params(shape, inp, classes) == net.model.count_params()
    assert count_params(shape, inp, classes, trainable_only=True) == sum(
        int(w.shape.num_elements()) for w in net.model.trainable_weights)
    assert net.spec.params() == net.model.count_params()
    assert sum(ly.type == "conv2d" for ly in net.spec.layers) >= shape.depth - 1


def test_measured_costs_time_the_model_and_report_no_energy():
    costs = MeasuredCosts(batch_size=2)
    out = costs.predict_costs(build(Shape(10, F(1, 4))))
    assert out["runtime_s"] > 0 and out["energy_j"] is None
    assert costs.source == "measured:cpu" and "energy absent" in costs.energy_note


def test_measured_costs_energy_comes_from_the_one_power_window(monkeypatch):
    """With a readable sensor, energy per call is profiling.sensors.window.power_window's (window energy / calls)."""
    import profiling.sensors.window as window
    from profiling.sensors.base import PowerSensor

    class Flat(PowerSensor):
        name = "flat"

        def availability(self):
            return True, ""

        def read_power_w(self):
            return {"total": 3.0}

    seen = []
    real = window.power_window

    def spy(fn, sensor, window_s, **kw):
        seen.append((window_s, kw.get("min_calls")))
        seen.append(real(fn, sensor, window_s, **kw))
        return seen[-1]

    monkeypatch.setattr(window, "power_window", spy)
    costs = MeasuredCosts(batch_size=1, sensor=Flat())
    out = costs.predict_costs(build(Shape(10, F(1, 4))))
    assert seen[0] == (window.UNPLANNED_WINDOW_S, 5) and costs.source == "measured:cpu+flat"
    pw = seen[1]
    assert out["energy_j"] == pw["energy_j"] == pytest.approx(3.0 * pw["power_window_s"] / pw["power_calls"], rel=0.2)


@pytest.mark.slow
def test_trainer_learns_digits_and_caches():
    tr = DigitsTrainer(epochs=1, batch_size=64)
    a = tr(Shape(10, F(1, 2)))
    assert a["accuracy"] > 0.3 and not a["cached"]  # chance is 0.1
    assert tr(Shape(10, F(1, 2)))["cached"]


@pytest.mark.slow
def test_cli_end_to_end_latency_goal(tmp_path, capsys):
    out = tmp_path / "res.json"
    rc = main(["shape", "--depth", "10:17:6", "--width", "1/4:3/4:1/4", "--epochs", "1", "--goal", "latency",
               "--min-accuracy", "0.2", "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "measured:cpu" in text and "chosen shape" in text
    res = json.loads(out.read_text())
    assert res["format"] == "perfmodel.ShapeSearch" and res["cost_source"] == "measured:cpu"
    assert res["n_exhaustive"] == 4 and res["n_trained"] >= 4
    assert res["chosen"]["trained_accuracy"] >= 0.2
