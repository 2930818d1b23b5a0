"""Algorithm 1 with synthetic trainers and cost predictors (no TensorFlow, fast)."""

import math

import pytest

from perfmodel.cli import main
from perfmodel.errors import ConfigError, OptimisationError
from perfmodel.shape import Constraints, ShapeSpace, count_params, shape_search

SPACE = ShapeSpace.parse("10:41:6", "1/2:3:1/2")  # 6 depths x 5 widths = 30 shapes
# The fake accuracy surface below is in the span of the seed's features, so OLS (ridge_alpha=0) is exact.


class FakeTrainer:
    """Accuracy rising with depth and width, like Shape_DNN's Fig. 6; counts real trainings."""

    def __init__(self, penalty=None):
        self.calls = []
        self.cache = {}
        self.penalty = penalty or {}

    def __call__(self, s):
        if s in self.cache:
            return {**self.cache[s], "cached": True}
        self.calls.append(s)
        acc = 0.99 - 0.3 / s.depth - 0.05 / float(s.width) - self.penalty.get(s, 0.0)
        self.cache[s] = {"accuracy": acc, "train_time_s": 1.0}
        return {**self.cache[s], "cached": False}


class FakeCosts:
    source = "fake:params"

    def __init__(self, energy=True):
        self.energy = energy

    def predict_costs(self, net):
        p = count_params(net.shape)
        return {"runtime_s": 1e-3 * net.shape.depth + 1e-8 * p, "energy_j": 1e-6 * p if self.energy else None}


def test_accuracy_goal_under_size_limit_trains_a_fraction():
    tr = FakeTrainer()
    limit = 400e3
    res = shape_search(SPACE, tr, constraints=Constraints(max_size_bytes=limit), goal="accuracy")
    row = res.chosen_row()
    assert row["size_bytes"] <= limit
    assert res.n_exhaustive == sum(count_params(s) * 4 <= limit for s in SPACE.shapes())
    assert res.n_trained == len(set(tr.calls)) < res.n_exhaustive
    assert res.trainings_avoided == res.n_exhaustive - res.n_trained
    assert math.isclose(res.speedup, res.n_exhaustive / res.n_trained)
    dropped = res.table[res.table["dropped_by"] == "max_size"]
    assert len(dropped) == len(SPACE) - res.n_exhaustive
    # the accuracy model is close to the truth on this smooth surface
    ok = res.table.dropna(subset=["trained_accuracy"])
    assert (ok["predicted_accuracy"] - ok["trained_accuracy"]).abs().max() < 0.02


def test_latency_goal_with_min_accuracy_and_fallback():
    # Make the fastest predicted-good shape train badly: the search must fall back to the next one.
    first = shape_search(SPACE, FakeTrainer(), FakeCosts(), constraints=Constraints(min_accuracy=0.9),
                         goal="latency").chosen
    tr = FakeTrainer(penalty={first: 0.5})
    res = shape_search(SPACE, tr, FakeCosts(), constraints=Constraints(min_accuracy=0.9), goal="latency")
    assert res.chosen != first
    assert res.chosen_row()["trained_accuracy"] >= 0.9
    assert any("falling back" in n for n in res.notes)
    assert res.cost_source == "fake:params"


def test_no_goal_returns_every_shape_meeting_the_limits():
    res = shape_search(SPACE, FakeTrainer(), FakeCosts(), goal=None,
                       constraints=Constraints(max_latency_s=0.03, min_accuracy=0.95), ridge_alpha=0.0)
    assert res.chosen is None
    ok = res.feasible
    assert len(ok) > 0 and (ok["runtime_s"] <= 0.03).all() and (ok["predicted_accuracy"] >= 0.95).all()


@pytest.mark.parametrize("cons,name", [
    (Constraints(max_size_bytes=1e3), "max_size"),
    (Constraints(max_latency_s=1e-6), "max_latency"),
    (Constraints(max_energy_j=1e-9), "max_energy"),
    (Constraints(min_accuracy=0.999), "min_accuracy"),
])
def test_constraint_that_empties_the_space_is_named(cons, name):
    with pytest.raises(OptimisationError, match=name):
        shape_search(SPACE, FakeTrainer(), FakeCosts(), constraints=cons, goal="accuracy")


def test_energy_without_a_source_is_refused():
    with pytest.raises(OptimisationError, match="gives none"):
        shape_search(SPACE, FakeTrainer(), FakeCosts(energy=False), goal="energy")


def test_cli_bad_inputs_exit_2(capsys):
    assert main(["shape", "--max-size-kb", "1"]) == 2
    assert "max_size" in capsys.readouterr().err
    assert main(["shape", "--depth", "11:20:6", "--width", "1:2:1"]) == 2
    assert "6n+4" in capsys.readouterr().err
    assert main(["shape", "--min-accuracy", "1.5"]) == 2
    assert "min_accuracy" in capsys.readouterr().err
    assert main(["shape", "--goal", "energy"]) == 2
    assert "--model" in capsys.readouterr().err


def test_chosen_shape_is_measured_when_costs_are_predictions():
    class Meter(FakeCosts):
        source = "fake:meter"

        def predict_costs(self, net):
            self.seen = getattr(self, "seen", []) + [net.shape]
            return {"runtime_s": 0.5, "energy_j": None}

    meter = Meter()
    res = shape_search(SPACE, FakeTrainer(), FakeCosts(), goal="latency", measure=meter)
    assert meter.seen == [res.chosen]
    t = res.table
    assert t["measured_runtime_s"].notna().sum() == 1 and res.chosen_row()["measured_runtime_s"] == 0.5


@pytest.mark.parametrize("alpha", [-1.0, float("nan"), float("inf")])
def test_a_ridge_penalty_that_cannot_fit_is_refused_before_any_training(alpha):
    tr = FakeTrainer()
    with pytest.raises(ConfigError, match="ridge_alpha must be a finite number >= 0"):
        shape_search(SPACE, tr, goal="accuracy", ridge_alpha=alpha)
    assert tr.calls == []  # the accuracy model used to refuse it only after its shapes were trained


@pytest.mark.parametrize("batch", [0, -3, 1.5, True])
def test_measured_costs_refuse_a_batch_without_images(batch):
    from perfmodel.shape import MeasuredCosts

    with pytest.raises(ConfigError, match="batch size of a measured latency"):
        MeasuredCosts(batch_size=batch)
