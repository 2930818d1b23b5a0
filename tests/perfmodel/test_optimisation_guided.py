"""Model-guided optimisation: learned prior means, a-priori constraints, batches, EHVI boxes, study lock."""

import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from perfmodel.errors import OptimisationError
from perfmodel.models.config_model import ConfigModel
from perfmodel.models.gp_core import InputWarp
from perfmodel.optimisation import Study, optimize
from perfmodel.optimisation.constraints import ModelConstraint, OutputConstraint
from perfmodel.optimisation.gp import GPSurrogate
from perfmodel.optimisation.priors import ModelPrior, prior_from_results, source_from_results
from perfmodel.pareto import hypervolume, hypervolume_improvement, nondominated_boxes
from profiling.space import ConfigSpace, Integer, Ordinal, config_key

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def space():
    return ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))


def outputs(cfg):
    a, b = cfg["a"], cfg["b"]
    return {"time": 1.0 + (a - 6) ** 2 + 0.5 * (b - 5) ** 2, "power": 1.0 + a + b}


def grid_frame():
    rows = [{**c, **outputs(c)} for c in space().grid()]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ surrogate prior mean
def test_learned_prior_weight_trusts_a_good_prior_and_ignores_an_unrelated_one():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 3))
    f = np.exp(2 * X[:, 0] + np.sin(5 * X[:, 1]) + 0.3 * X[:, 2])
    tr, te = slice(0, 10), slice(10, None)
    plain = GPSurrogate(seed=0).fit(X[tr], f[tr])
    err_plain = np.sqrt(np.mean((plain.predict(X[te])[0] - np.log(f[te])) ** 2))
    good = 1.3 * f                               # right shape, wrong scale: the offset absorbs the scale
    g = GPSurrogate(seed=0).fit(X[tr], f[tr], good[tr])
    err_good = np.sqrt(np.mean((g.predict(X[te], good[te])[0] - np.log(f[te])) ** 2))
    assert abs(g.prior_weight_ - 1.0) < 0.1
    assert err_good < 0.2 * err_plain
    wrong = rng.permutation(f)                   # same values, no relation to the configuration
    w = GPSurrogate(seed=0, prior_selection="none").fit(X[tr], f[tr], wrong[tr])
    err_wrong = np.sqrt(np.mean((w.predict(X[te], wrong[te])[0] - np.log(f[te])) ** 2))
    assert abs(w.prior_weight_) < 0.3
    assert err_wrong < 1.5 * err_plain
    # with evidence selection (the default) the unrelated prior does not pay for its two parameters
    sel = GPSurrogate(seed=0).fit(X[tr], f[tr], wrong[tr])
    assert not sel.prior_used_ and sel.prior_weight_ == 0.0
    np.testing.assert_allclose(sel.predict(X[te], wrong[te])[0], plain.predict(X[te])[0], rtol=1e-6, atol=1e-6)
    assert g.prior_used_
    # a fixed-weight prior takes the wrong prior at face value and is much worse
    fx = GPSurrogate(seed=0, prior_weight="fixed").fit(X[tr], f[tr], wrong[tr])
    err_fixed = np.sqrt(np.mean((fx.predict(X[te], wrong[te])[0] - np.log(f[te])) ** 2))
    assert err_fixed > 2 * err_wrong


def test_surrogate_needs_the_prior_it_was_fitted_with():
    X = np.linspace(0, 1, 6)[:, None]
    g = GPSurrogate().fit(X, np.exp(X.ravel()), np.exp(X.ravel()))
    with pytest.raises(OptimisationError, match="prior"):
        g.predict(X)
    with pytest.raises(OptimisationError, match="outcome transform"):
        GPSurrogate(outcome_transform="warp").fit(X, np.exp(X.ravel()))


def test_config_model_prior_finds_the_optimum_at_the_first_model_step():
    model = ConfigModel(model="gp", knobs=["a", "b"], target="time").fit(grid_frame())
    prior = ModelPrior(model, space(), label="time.json")
    # a design of one point only (the prior's best would be in a larger design): the first model step
    study = optimize(lambda c: outputs(c), ["time"], space=space(), budget=4, n_init=1, seed=4,
                     prior_mean={"time": prior.mean_function("time")})
    phases = [t.phase for t in study.trials]
    assert phases[0] == "design" and "model" in phases
    first_model = phases.index("model")
    assert study.trials[first_model].config == {"a": 6, "b": 5}


#: a prior equal to the objectives
TRUTH = {m: (lambda m: lambda cs: [outputs(c)[m] for c in cs])(m) for m in ("time", "power")}


def test_prior_guided_design_follows_the_predicted_front():
    study = Study(space(), ["time", "power"], n_init=8, seed=0, prior_mean=TRUTH)
    design = [study.ask().config for _ in range(8)]
    Y = np.array([[outputs(c)["time"], outputs(c)["power"]] for c in space().grid()])
    from perfmodel.pareto import non_dominated
    front = {config_key(c) for c, nd in zip(space().grid(), non_dominated(Y)) if nd}
    assert sum(config_key(c) in front for c in design) >= 4          # half the design on the predicted front
    plain = Study(space(), ["time", "power"], n_init=8, seed=0)
    assert sum(config_key(plain.ask().config) in front for _ in range(8)) < 4


def _true_front_keys():
    from perfmodel.pareto import non_dominated
    Y = np.array([[outputs(c)["time"], outputs(c)["power"]] for c in space().grid()])
    return {config_key(c) for c, nd in zip(space().grid(), non_dominated(Y)) if nd}


def _eight_trials(**kw) -> tuple[list[str], list[str]]:
    """The phases and configuration keys of the first 8 trials of a 2-objective study (design of 8)."""
    study = Study(space(), ["time", "power"], n_init=8, seed=0, **kw)
    trials = []
    for _ in range(8):
        t = study.ask()
        study.tell(t, outputs(t.config))
        trials.append(t)
    return [t.phase for t in trials], [config_key(t.config) for t in trials]


def test_prior_design_model_hands_half_the_design_to_the_prior_guided_model():
    front = _true_front_keys()

    def run(**kw):
        phases, keys = _eight_trials(**kw)
        return phases, [k in front for k in keys]

    phases, on_front = run(prior_mean=TRUTH, bo_options={"prior_design": "model"})
    assert phases == ["design"] * 4 + ["model"] * 4          # the space-filling half only, then the model
    assert sum(on_front[4:]) >= 3                            # the model with the prior steps onto the front
    plain_phases, plain_front = run()
    assert plain_phases == ["design"] * 8                    # without a prior the design is unchanged
    assert sum(plain_front[4:]) < sum(on_front[4:])
    # "space" (False) keeps the whole space-filling design even with a prior
    assert run(prior_mean=TRUTH, bo_options={"prior_design": "space"})[0] == ["design"] * 8
    with pytest.raises(OptimisationError, match="unknown prior design 'half'"):
        Study(space(), ["time", "power"], prior_mean=TRUTH, bo_options={"prior_design": "half"})


def test_prior_design_trusted_lets_the_model_in_only_with_a_prior_the_evidence_keeps():
    run = _eight_trials
    flat = {m: (lambda cs: [3.0] * len(cs)) for m in ("time", "power")}   # carries no information
    front = _true_front_keys()
    phases, keys = run(prior_mean=TRUTH, bo_options={"prior_design": "trusted"})
    assert phases == ["design"] * 4 + ["model"] * 4
    assert sum(k in front for k in keys[4:]) >= 3
    plain_phases, plain_keys = run()
    assert plain_phases == ["design"] * 8
    # a prior that the evidence drops at every fit leaves the plain design exactly as it was
    assert run(prior_mean=flat, bo_options={"prior_design": "trusted"}) == (plain_phases, plain_keys)
    # "model" lets the model choose whatever the evidence says
    assert run(prior_mean=flat, bo_options={"prior_design": "model"})[0] == ["design"] * 4 + ["model"] * 4


def test_prior_knobs_must_match_the_space():
    model = ConfigModel(model="linear", knobs=["a", "b"], target="time").fit(grid_frame())
    other = ConfigSpace((Integer("a", 0, 7), Ordinal("c", (1, 2))))
    with pytest.raises(OptimisationError, match="does not match the space.*'?b'?.*c"):
        ModelPrior(model, other, label="m.json")


def test_transfer_prior_from_earlier_results():
    earlier = grid_frame().sample(30, random_state=0)
    earlier["time"] *= 1.5                       # another input size: slower, same shape
    priors = prior_from_results(earlier, space(), ["time"])
    configs = list(space().grid())
    pred = priors["time"].mean_function("time")(configs)
    true = np.array([outputs(c)["time"] for c in configs])
    assert np.corrcoef(pred, true)[0, 1] > 0.95


def test_a_prior_model_that_cannot_take_a_level_of_the_space_is_refused_up_front():
    rows = grid_frame().query("a > 0")
    model = ConfigModel(model="gp", knobs=["a", "b"], target="time", model_params={"n_restarts": 1}).fit(rows)
    with pytest.raises(OptimisationError, match="logarithm of knob 'a', which the space lets reach 0: "
                                                "fit it without log-scaled knobs"):
        ModelPrior(model, space(), label="m.json")
    plain = ConfigModel(model="gp", knobs=["a", "b"], target="time", log_knobs=False,
                        model_params={"n_restarts": 1}).fit(rows)
    assert np.all(np.isfinite(ModelPrior(plain, space()).mean_function("time")(list(space().grid()))))


def test_a_transfer_prior_predicts_levels_the_earlier_study_did_not_measure():
    # the earlier study measured a = 1..7 only: a GP on log(a) could not predict a = 0, which the space has
    earlier = grid_frame().query("a > 0")
    gp = lambda prior: prior.model.regressor_                                     # noqa: E731
    logged = lambda prior: {e["name"] for e in prior.model.encoding_ if e.get("log")}  # noqa: E731
    priors = prior_from_results(earlier, space(), ["time"])
    assert logged(priors["time"]) == set() and gp(priors["time"]).n_features_in_ == 2
    configs = list(space().grid())
    pred = priors["time"].mean_function("time")(configs)
    assert np.all(np.isfinite(pred)) and len(pred) == len(configs)
    # a space whose every level is positive keeps the GP's log-scaled knobs
    positive = ConfigSpace((Integer("a", 1, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))
    assert logged(prior_from_results(earlier, positive, ["time"])["time"]) == {"a", "b"}


def test_source_data_with_a_task_feature_helps_when_related_and_is_dropped_when_not():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 3))
    f = np.exp(2 * X[:, 0] + np.sin(5 * X[:, 1]) + 0.3 * X[:, 2])
    tr, src, te = slice(0, 8), slice(100, 160), slice(8, 100)
    err = lambda g: np.sqrt(np.mean((g.predict(X[te])[0] - np.log(f[te])) ** 2))   # noqa: E731
    plain = GPSurrogate(seed=0).fit(X[tr], f[tr])
    related = 2.0 * f * np.exp(0.02 * rng.standard_normal(200))    # another input size: slower, same shape
    g = GPSurrogate(seed=0).fit(X[tr], f[tr], source=(X[src], related[src]))
    assert g.source_used_ and g.task_correlation_ > 0.8
    assert err(g) < 0.5 * err(plain)
    unrelated = rng.permutation(f)
    b = GPSurrogate(seed=0).fit(X[tr], f[tr], source=(X[src], unrelated[src]))
    assert not b.source_used_ and b.task_correlation_ == 0.0
    assert err(b) < 1.1 * err(plain)
    with pytest.raises(OptimisationError, match="prior mean or source"):
        GPSurrogate().fit(X[tr], f[tr], f[tr], source=(X[src], related[src]))


def test_study_with_source_data_from_an_earlier_study():
    earlier = grid_frame().sample(30, random_state=0)
    earlier["time"] *= 1.5
    source = source_from_results(earlier, space(), ["time"])
    assert len(source) == 30 and set(source[0][0]) == {"a", "b"}
    study = optimize(lambda c: outputs(c), ["time"], space=space(), budget=10, n_init=4, seed=0,
                     bo_options={"source_data": source})
    best = min(t.outputs["time"] for t in study.trials)
    assert best == min(outputs(c)["time"] for c in space().grid())
    with pytest.raises(OptimisationError, match="no column 'energy'"):
        source_from_results(earlier, space(), ["energy"])


def test_source_guided_design_follows_the_front_the_source_measured():
    earlier = grid_frame()
    earlier["time"] *= 1.5                               # another input size: same front, other values
    source = source_from_results(earlier, space(), ["time", "power"])
    study = Study(space(), ["time", "power"], n_init=8, seed=0, bo_options={"source_data": source})
    design = [study.ask().config for _ in range(8)]
    Y = np.array([[outputs(c)["time"], outputs(c)["power"]] for c in space().grid()])
    from perfmodel.pareto import non_dominated
    front = {config_key(c) for c, nd in zip(space().grid(), non_dominated(Y)) if nd}
    assert sum(config_key(c) in front for c in design) >= 4
    plain = Study(space(), ["time", "power"], n_init=8, seed=0)
    assert sum(config_key(plain.ask().config) in front for _ in range(8)) < 4


def test_several_source_tasks_on_a_task_axis_bracket_the_study():
    # The output's shape changes smoothly with a task value t (e.g. the input size); the study is at t = 1,
    # earlier studies at 0.5 and 1.5 (other scales). Given with their task distances, both are used and the
    # study is predicted far better than from its own 8 points; pooled as one source task without distances
    # (two shapes at the same configurations) they are not.
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(220, 3))
    f = lambda X, t: np.exp(2 * X[:, 0] + np.sin(5 * X[:, 1]) + 1.5 * t * X[:, 2] ** 2)   # noqa: E731
    tr, te = slice(0, 8), slice(8, 100)
    y = f(X, 1.0)
    err = lambda g: np.sqrt(np.mean((g.predict(X[te])[0] - np.log(y[te])) ** 2))   # noqa: E731
    Xs = X[100:220]
    ys = np.r_[2.0 * f(Xs[:60], 0.5), 5.0 * f(Xs[60:], 1.5)]
    d = np.r_[np.full(60, -0.5), np.full(60, 0.5)]
    plain = GPSurrogate(seed=0).fit(X[tr], y[tr])
    both = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs, ys, d))
    assert both.source_used_ and both.n_source_tasks_used_ == 2 and both.task_correlation_ > 0.5
    assert err(both) < 0.3 * err(plain)
    pooled = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs, ys))
    assert err(both) < 0.5 * err(pooled)
    # a related near source and an unrelated far one: the sources are taken nearest first, so the far one
    # is left out and the near one counts as if it were alone
    near = 2.0 * f(Xs[:60], 1.0) * np.exp(0.02 * rng.standard_normal(60))
    unrelated = rng.permutation(5.0 * f(Xs[60:], 1.0))
    mixed = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs, np.r_[near, unrelated],
                                                          np.r_[np.full(60, -0.3), np.full(60, -2.0)]))
    alone = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs[:60], near))
    assert mixed.source_used_ and mixed.n_source_tasks_used_ == 1
    assert err(mixed) < 0.3 * err(plain) and abs(err(mixed) - err(alone)) < 0.01
    # one source: its distance only scales the task axis, so any distance is the single-source model
    one = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs[:60], ys[:60]))
    far = GPSurrogate(seed=0).fit(X[tr], y[tr], source=(Xs[:60], ys[:60], np.full(60, -2.7)))
    np.testing.assert_array_equal(one.predict(X[te])[0], far.predict(X[te])[0])
    with pytest.raises(OptimisationError, match="task distances"):
        GPSurrogate().fit(X[tr], y[tr], source=(Xs, ys, np.zeros(120)))
    with pytest.raises(OptimisationError, match="task distances"):
        GPSurrogate().fit(X[tr], y[tr], source=(Xs, ys, d[:10]))


def test_study_with_several_source_studies_and_their_task_values():
    grid = grid_frame()
    near, far = grid.copy(), grid.copy()
    near["time"] *= 1.5                                   # the nearer study: same front
    far["time"] = far["time"].max() + 1.0 - far["time"]   # a farther one: the time front reversed
    src_near = source_from_results(near, space(), ["time", "power"])
    src_far = source_from_results(far, space(), ["time", "power"])
    data, tasks = src_far + src_near, [1.0] * len(src_far) + [2.0] * len(src_near)
    study = Study(space(), ["time", "power"], n_init=8, seed=0,
                  bo_options={"source_data": data, "source_tasks": tasks, "task": 2.5})
    design = [study.ask().config for _ in range(8)]
    Y = np.array([[outputs(c)["time"], outputs(c)["power"]] for c in space().grid()])
    from perfmodel.pareto import non_dominated
    front = {config_key(c) for c, nd in zip(space().grid(), non_dominated(Y)) if nd}
    assert sum(config_key(c) in front for c in design) >= 4   # the nearest source's front, not the pooled one
    swapped = Study(space(), ["time", "power"], n_init=8, seed=0,
                    bo_options={"source_data": data, "source_tasks": tasks[::-1], "task": 2.5})
    assert sum(config_key(swapped.ask().config) in front for _ in range(8)) < 4
    res = optimize(lambda c: outputs(c), ["time"], space=space(), budget=10, n_init=4, seed=0,
                   bo_options={"source_data": data, "source_tasks": tasks, "task": 2.5})
    assert min(t.outputs["time"] for t in res.trials) == min(outputs(c)["time"] for c in space().grid())
    for bad, match in (({"source_tasks": tasks[:-1], "task": 2.5}, "values for"),
                       ({"source_tasks": tasks}, "this study's task value"),
                       ({"source_tasks": tasks, "task": 2.0}, "equals this study's")):
        with pytest.raises(OptimisationError, match=match):
            Study(space(), ["time"], n_init=4, seed=0, bo_options={"source_data": data, **bad})


def test_input_warping_surrogate_fits_a_response_that_moves_at_one_end():
    X = np.linspace(0, 1, 12)[:, None]
    y = np.exp(5 * X.ravel() ** 6)
    w = GPSurrogate(seed=0, input_warp=True).fit(X, y)
    Xt = np.linspace(0.02, 0.98, 40)[:, None]
    mu, sd = w.predict(Xt)
    assert np.sqrt(np.mean((mu - 5 * Xt.ravel() ** 6) ** 2)) < 0.05
    assert np.all(sd > 0)



def test_the_search_warps_the_inputs_with_three_or_more_levels_in_the_space_only(monkeypatch):
    two = ConfigSpace((Ordinal("turbo", (0, 1)), Integer("freq", 1, 8), Ordinal("mem", (1, 2, 4))))

    def evaluate(c):
        return {"time": (1.0 + 0.2 * c["turbo"]) * (1.0 + 8.0 / c["freq"] ** 2) / c["mem"] ** 0.3,
                "power": 1.0 + c["freq"] + 2.0 * c["turbo"] + 0.5 * c["mem"]}

    fitted, fit = [], GPSurrogate.fit

    def recording(self, *args, **kwargs):
        out = fit(self, *args, **kwargs)
        fitted.append(self.gp_)
        return out

    monkeypatch.setattr(GPSurrogate, "fit", recording)
    for acquisition in ("ehvi", "parego"):
        fitted.clear()
        optimize(evaluate, ["time", "power"], space=two, budget=8, n_init=6, seed=0, acquisition=acquisition,
                 bo_options={"input_warp": True})
        assert len(fitted) == (4 if acquisition == "ehvi" else 2)     # two model steps, one GP per output
        for gp in fitted:
            # the first fits see 6 points, which need not show all of mem's 3 levels: the rule counts the space's
            assert gp.warp_dims.tolist() == [1, 2]
    monkeypatch.undo()
    flags = ConfigSpace((Ordinal("a", (0, 1)), Ordinal("b", (0, 1))))
    plain = optimize(lambda c: {"time": 1.0 + c["a"] + 2 * c["b"], "power": 3.0 - c["a"] + c["b"]},
                     ["time", "power"], space=flags, budget=4, n_init=3, seed=0, bo_options={"input_warp": True})
    plain.fit_quality()
    assert all(gp.gp_.warp_a is None for gp, *_ in plain._strategy._last.values())   # nothing to warp


def test_fallback_warp_is_learned_only_by_the_plain_gp_that_replaces_rejected_guidance():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(14, 2))
    f = np.exp(3 * X[:, 0] ** 4 + 0.5 * X[:, 1])
    warp = InputWarp(dims=(0,))
    kept = GPSurrogate(seed=0, input_warp="fallback").fit(X, f, 1.2 * f, warp=warp)
    assert kept.prior_used_ and not kept.warped_ and kept.gp_.warp_a is None
    dropped = GPSurrogate(seed=0, input_warp="fallback").fit(X, f, rng.permutation(f), warp=warp)
    assert not dropped.prior_used_ and dropped.warped_
    assert dropped.gp_.warp_dims.tolist() == [0] and dropped.gp_.warp_a is not None
    # without the fallback the same rejected prior leaves the plain GP unwarped
    assert GPSurrogate(seed=0).fit(X, f, rng.permutation(f)).gp_.warp_a is None
    none = GPSurrogate(seed=0, input_warp="fallback").fit(X, f, warp=warp)     # no guidance at all
    assert not none.warped_ and none.gp_.warp_a is None
    # source data is never warped: a related study is kept, a study of unrelated values dropped for the plain GP
    Xs = rng.uniform(size=(30, 2))
    fs = np.exp(3 * Xs[:, 0] ** 4 + 0.5 * Xs[:, 1])
    related = GPSurrogate(seed=0, input_warp="fallback").fit(X[:8], f[:8], source=(Xs, 2 * fs), warp=warp)
    assert related.source_used_ and not related.warped_ and related.gp_.warp_a is None
    unrelated = GPSurrogate(seed=0, input_warp="fallback").fit(X[:8], f[:8], source=(Xs, rng.permutation(fs)),
                                                              warp=warp)
    assert not unrelated.source_used_ and not unrelated.warped_ and unrelated.gp_.warp_a is None
    with pytest.raises(OptimisationError, match="unknown input warp 'sometimes'"):
        GPSurrogate(input_warp="sometimes")
    with pytest.raises(OptimisationError, match="not available with input warping"):
        GPSurrogate(input_warp="fallback", hyper_samples=2)


def test_both_warps_keep_a_warped_and_a_plain_fit_of_every_kernel_as_members():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(14, 2))
    f = np.exp(3 * X[:, 0] ** 4 + 0.5 * X[:, 1])
    warp = InputWarp(dims=(0,))
    one = GPSurrogate(seed=0, input_warp="both").fit(X, f, warp=warp)
    assert [g.warp_a is not None for g in one.samples_] == [False, True]
    assert one.samples_[1].warp_dims.tolist() == [0]
    # gp_ is the member with the higher leave-one-out density
    assert one.gp_ is max(one.samples_, key=lambda g: g.loo_log_density())
    mu, sd = one.predict_samples(X[:3])
    assert mu.shape == sd.shape == (2, 3)
    assert not np.allclose(mu[0], mu[1])                      # two different models, not one twice
    four = GPSurrogate(seed=0, input_warp="both", kernel="average").fit(X, f, warp=warp)
    assert [(g.kernel, g.warp_a is not None) for g in four.samples_] == [
        ("matern52", False), ("matern52", True), ("additive", False), ("additive", True)]
    # with a prior the evidence test compares the best member with and without it; members share the choice
    guided = GPSurrogate(seed=0, input_warp="both").fit(X, f, 1.2 * f, warp=warp)
    assert guided.prior_used_ and len(guided.samples_) == 2
    assert all(g.mean_weight is not None for g in guided.samples_)
    with pytest.raises(OptimisationError, match="not available with input warping"):
        GPSurrogate(input_warp="both", hyper_samples=2)


def test_the_search_with_the_fallback_warp_warps_only_where_a_prior_is_dropped(monkeypatch):
    fitted, fit = [], GPSurrogate.fit

    def recording(self, *args, **kwargs):
        out = fit(self, *args, **kwargs)
        fitted.append((self.has_prior_, self.prior_used_, self.warped_, self.gp_.warp_a is not None))
        return out

    monkeypatch.setattr(GPSurrogate, "fit", recording)
    rng = np.random.default_rng(1)
    shuffled = dict(zip((config_key(c) for c in space().grid()),
                        rng.permutation([outputs(c)["time"] for c in space().grid()])))
    priors = {"time": lambda cs: [shuffled[config_key(c)] for c in cs],
              "power": lambda cs: [outputs(c)["power"] for c in cs]}
    optimize(outputs, ["time", "power"], space=space(), budget=14, n_init=8, seed=0,
             prior_mean=priors, bo_options={"input_warp": "fallback"})
    assert len(fitted) == 12                                  # six model steps, two outputs
    assert all(has for has, *_ in fitted)
    # warped exactly where the prior was dropped; the right power prior is kept at least once, unwarped
    assert all(warped == (not used) == has_warp for _, used, warped, has_warp in fitted)
    assert any(not used for _, used, *_ in fitted) and any(used for _, used, *_ in fitted)
    fitted.clear()
    optimize(outputs, ["time", "power"], space=space(), budget=8, n_init=6, seed=0,
             bo_options={"input_warp": "fallback"})           # no guidance: nothing is warped
    assert len(fitted) == 4 and not any(w for *_, w in fitted)


# ------------------------------------------------------------------------------ a-priori constraints
def test_a_priori_constraint_skips_predicted_infeasible_configurations():
    def predict(configs):
        p = np.array([outputs(c)["power"] for c in configs], float)
        return p, 0.01 * p
    mc = ModelConstraint(OutputConstraint.parse("power<=6"), predict, confidence=0.95)
    calls = []

    def evaluate(c):
        calls.append(c)
        return outputs(c)
    study = optimize(evaluate, ["time"], space=space(), constraints=["power<=6"], budget=15, n_init=4,
                     constraint_models=[mc])
    n_feasible = sum(outputs(c)["power"] <= 6 for c in space().grid())
    assert len(study.skipped) == 48 - n_feasible
    assert all(outputs(c)["power"] > 6 for c in study.skipped)
    assert all(outputs(c)["power"] <= 6 for c in calls)          # nothing predicted infeasible was measured
    best = min(outputs(c)["time"] for c in space().grid() if outputs(c)["power"] <= 6)
    assert study.front()["time"].min() == best


@pytest.mark.parametrize("strategy", ["bo", "random", "tpe"])
def test_a_priori_constraint_draws_the_whole_initial_design_from_the_configurations_kept(strategy):
    # power <= 6 keeps 15 of the 48 configurations: a design drawn over the whole space would lose most of
    # its points to the rejected ones (the search would start from one or two measurements)
    def predict(configs):
        p = np.array([outputs(c)["power"] for c in configs], float)
        return p, 0.01 * p
    mc = ModelConstraint(OutputConstraint.parse("power<=6"), predict)
    study = Study(space(), ["time"], constraints=["power<=6"], n_init=6, seed=3, strategy=strategy,
                  constraint_models=[mc])
    kept = {config_key(c) for c in space().grid() if outputs(c)["power"] <= 6}
    assert len(kept) == 15 and len(study.skipped) == 33
    trials = []
    for _ in range(6):
        t = study.ask()
        study.tell(t, outputs(t.config))
        trials.append(t)
    assert all(config_key(t.config) in kept for t in trials)
    assert len({config_key(t.config) for t in trials}) == 6
    if strategy == "bo":
        assert [t.phase for t in trials] == ["design"] * 6
    # the study itself still describes, stores and validates against the whole space
    assert study.space.size == 48 and study.settings["space"] == space().to_dict()


def test_a_priori_constraint_probability_uses_the_model_std():
    c = OutputConstraint.parse("power<=10")
    sure = ModelConstraint(c, lambda cs: (np.full(len(cs), 12.0), np.full(len(cs), 0.1)))
    unsure = ModelConstraint(c, lambda cs: (np.full(len(cs), 12.0), np.full(len(cs), 5.0)))
    assert sure.rejects([{}]).all() and not unsure.rejects([{}]).any()


# ---------------------------------------------------------------------------------------- batches
@pytest.mark.parametrize("strategy", ["bo", "random"])
def test_batches_are_distinct_and_fill_the_budget(strategy):
    study = optimize(lambda c: outputs(c), ["time", "power"], space=space(), budget=17, n_init=5,
                     strategy=strategy, batch_size=4, seed=1)
    res = study.results()
    assert len(res) == 17 and not res.duplicated(["a", "b"]).any()
    assert (res["phase"] == "model").sum() >= 8 if strategy == "bo" else True


def test_batch_proposals_differ_from_sequential_ones_only_by_belief():
    s = Study(space(), ["time"], n_init=4, seed=2)
    for t in s.ask_batch(4):
        s.tell(t, outputs(t.config))
    batch = s.ask_batch(3)
    assert len({config_key(t.config) for t in batch}) == 3 and all(t.phase == "model" for t in batch)
    with pytest.raises(OptimisationError, match="larger than the budget"):
        optimize(lambda c: outputs(c), ["time"], space=space(), budget=3, batch_size=4)


# ------------------------------------------------------------------------------------ EHVI boxes
@pytest.mark.parametrize("d,k", [(3, 40), (4, 12)])
def test_boxes_of_three_and_four_objectives_tile_the_non_dominated_region(d, k):
    rng = np.random.default_rng(d)
    Y = rng.uniform(0.1, 1, size=(k, d))
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    ref = np.full(d, 1.1)
    lo, up = nondominated_boxes(Y, ref)
    vol = np.prod(np.clip(up - np.maximum(lo, 0.0), 0, None), axis=1).sum()
    assert vol == pytest.approx(np.prod(ref) - hypervolume(Y, ref), rel=1e-9)
    P = rng.uniform(0, 1, size=(6, d))
    expect = [hypervolume(np.vstack([Y, p]), ref) - hypervolume(Y, ref) for p in P]
    np.testing.assert_allclose(hypervolume_improvement(P, Y, ref), expect, atol=1e-12)


def test_three_objectives_with_a_large_front_are_not_refused():
    # (k + 1)^3 grid cells of the old decomposition would exceed 200k for this front of 70 points
    t = np.linspace(0.05, 1.5, 70)
    front = np.column_stack([np.cos(t) * 0.7, np.sin(t) * 0.7, 0.3 + 0.4 * (t / 1.5)])
    lo, _ = nondominated_boxes(front, np.full(3, 1.2))
    assert len(lo) < 200_000 and 71 ** 3 > 200_000


# --------------------------------------------------------------------------------------- CLI
@pytest.fixture
def table(tmp_path):
    df = grid_frame()
    path = tmp_path / "grid.csv"
    df.to_csv(path, index=False)
    ConfigModel(model="gp", knobs=["a", "b"], target="time").fit(df).save(tmp_path / "time.json")
    ConfigModel(model="polynomial", knobs=["a", "b"], target="power").fit(df).save(tmp_path / "power.json")
    ConfigModel(model="linear", knobs=["a"], target="time").fit(df).save(tmp_path / "a_only.json")
    return str(path), tmp_path


def err(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and lines[-1].startswith("perfmodel: error: ")
    return lines[-1]


def test_cli_prior_and_constraint_model_report(capsys, table):
    path, d = table
    rc = main(["explore", "--table", path, "--knobs", "a,b", "--objectives", "time", "--budget", "8",
               "--init", "4", "--prior", str(d / "time.json"), "--constraint", "power<=6",
               "--constraint-model", str(d / "power.json"), "-o", str(d / "run.csv")])
    assert rc == 0
    out = capsys.readouterr().out
    n_infeasible = int((grid_frame()["power"] > 6).sum())
    assert "learned prior weight" in out and "time" in out
    assert "skipped before measuring" in out and "infeasible in the table" in out
    run = pd.read_csv(d / "run.csv")
    # no std from a polynomial: 10 % relative error assumed, so power 7 (P(<=6) = 0.06) may be measured,
    # power 8 and above (P < 0.05) never
    assert (run["power"] <= 7).all() and n_infeasible > 0
    skipped = int(out.split("skipped before measuring (predicted infeasible): ")[1].split()[0])
    assert skipped == int((grid_frame()["power"] >= 8).sum())
    # --confidence 0.6: skipped below P(feasible) 0.4, so power 7 (P 0.06) is skipped too, power 6 (P 0.5) is not
    assert main(["explore", "--table", path, "--knobs", "a,b", "--objectives", "time", "--budget", "8",
                 "--init", "4", "--constraint", "power<=6", "--constraint-model", str(d / "power.json"),
                 "--confidence", "0.6"]) == 0
    out = capsys.readouterr().out
    assert int(out.split("skipped before measuring (predicted infeasible): ")[1].split()[0]) == n_infeasible


def test_cli_bad_guidance_input_one_line_exit_2_study_untouched(capsys, table):
    path, d = table
    study = d / "s.sqlite"
    base = ["explore", "--quiet", "--table", path, "--knobs", "a,b", "--objectives", "time",
            "--study", str(study)]
    assert main([*base, "--prior", str(d / "a_only.json")]) == 2
    assert "does not match the space" in err(capsys)
    assert main([*base, "--prior", str(d / "power.json")]) == 2
    assert "predicts none of the objectives" in err(capsys)
    assert main([*base, "--constraint", "power<=6", "--constraint-model", str(d / "time.json")]) == 2
    assert "no --constraint-model predicts" in err(capsys)
    assert main([*base, "--budget", "3", "--batch-size", "4"]) == 2
    assert "larger than --budget" in err(capsys)
    assert main([*base, "--confidence", "0.9"]) == 2
    assert err(capsys).endswith("--confidence is the --constraint-model's skipping threshold; give a "
                                "--constraint-model as well")
    assert main([*base, "--prior", str(d / "time.json"), "--prior", str(d / "time.json")]) == 2
    assert "two --prior files" in err(capsys)
    assert not study.exists()
    # resume with bad guidance: the existing study file is left byte for byte
    assert main([*base, "--budget", "5"]) == 0
    before = study.read_bytes()
    assert main([*base, "--resume", "--budget", "8", "--prior", str(d / "a_only.json")]) == 2
    err(capsys)
    assert study.read_bytes() == before


def test_cli_resume_needs_the_same_priors_and_source(capsys, table):
    # A study guided by a prior (or source data) is resumed only with the same files: a different model,
    # a missing one or an added source is a one-line error, exit 2, and the study file is left byte for byte.
    path, d = table
    df = grid_frame()
    ConfigModel(model="polynomial", knobs=["a", "b"], target="time").fit(df).save(d / "time2.json")
    df.sample(15, random_state=0).to_csv(d / "earlier.csv", index=False)
    study = d / "g.sqlite"
    base = ["explore", "--quiet", "--table", path, "--knobs", "a,b", "--objectives", "time", "--init", "3",
            "--study", str(study)]
    assert main([*base, "--budget", "5", "--prior", str(d / "time.json")]) == 0
    before = study.read_bytes()
    for other in (["--prior", str(d / "time2.json")],                       # another model of time
                  [],                                                        # the prior left out
                  ["--prior", str(d / "time.json"), "--source", str(d / "earlier.csv")]):  # a source added
        assert main([*base, "--budget", "7", "--resume", *other]) == 2
        line = err(capsys)
        assert "cannot resume" in line and "guided by a prior of time from time.json" in line
        assert study.read_bytes() == before
    # the same file, renamed, is the same prior: the study continues
    (d / "renamed.json").write_bytes((d / "time.json").read_bytes())
    assert main([*base, "--budget", "7", "--resume", "--prior", str(d / "renamed.json")]) == 0
    n = sqlite3.connect(study).execute("SELECT count(*) FROM trials WHERE state='complete'").fetchone()[0]
    assert n == 7


def test_study_guidance_is_checked_on_resume_in_the_library(tmp_path):
    # Without file identities the library still checks which outputs have a prior and whether source data
    # are given.
    def prior(configs):
        return [float(c["a"]) for c in configs]

    path = str(tmp_path / "s.sqlite")
    Study(space(), ["time"], storage=path, prior_mean={"time": prior}).close()
    with pytest.raises(OptimisationError, match="guided by a prior of time, this run by no prior"):
        Study(space(), ["time"], storage=path, resume=True)
    with pytest.raises(OptimisationError, match="this run by a prior of time, source data"):
        Study(space(), ["time"], storage=path, resume=True, prior_mean={"time": prior},
              bo_options={"source_data": [({"a": 0, "b": 0}, {"time": 1.0})]})
    Study(space(), ["time"], storage=path, resume=True, prior_mean={"time": prior}).close()


def test_cli_source_study_as_task_data_and_its_bad_input(capsys, table):
    path, d = table
    earlier = grid_frame().sample(20, random_state=1)
    earlier["time"] *= 1.5
    earlier.to_csv(d / "earlier.csv", index=False)
    base = ["explore", "--quiet", "--table", path, "--knobs", "a,b", "--objectives", "time", "--budget", "7",
            "--init", "4"]
    capsys.readouterr()
    assert main([*base[:1], *base[2:], "--source", str(d / "earlier.csv"), "-o", str(d / "run.csv")]) == 0
    assert len(pd.read_csv(d / "run.csv")) == 7
    line = [x for x in capsys.readouterr().out.splitlines() if "correlation with the --source" in x][0]
    assert 0.0 <= float(line.split("time ")[1]) <= 1.0
    study = d / "t.sqlite"
    earlier.drop(columns="time").to_csv(d / "no_time.csv", index=False)
    assert main([*base, "--study", str(study), "--source", str(d / "no_time.csv")]) == 2
    assert "no column 'time'" in err(capsys)
    assert main([*base, "--study", str(study), "--source", str(d / "missing.csv")]) == 2
    assert "no such file" in err(capsys)
    assert main([*base, "--study", str(study), "--strategy", "random", "--input-warp"]) == 2
    assert "--input-warp guides the bo strategy" in err(capsys)
    assert not study.exists()
    for given, recorded in ((["--input-warp"], '"input_warp": true'), ([], '"input_warp": false')):
        run = d / f"w{len(given)}.sqlite"
        assert main([*base, "--prior", str(d / "earlier.csv"), "--study", str(run), *given]) == 0
        stored = sqlite3.connect(run).execute("SELECT value FROM meta WHERE key='settings'").fetchone()[0]
        assert recorded in stored


def test_two_resumes_of_one_study_cannot_run_at_once(capsys, table):
    path, d = table
    study = d / "s.sqlite"
    base = ["explore", "--quiet", "--table", path, "--knobs", "a,b", "--objectives", "time,power",
            "--strategy", "random", "--study", str(study)]
    assert main([*base, "--budget", "5"]) == 0
    # another process holds the study open (as a running explore does)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from perfmodel.optimisation.storage import StudyStorage
        st = StudyStorage.open({str(study)!r})
        print("held", flush=True)
        sys.stdin.read()
        st.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.path.abspath(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        n_before = sqlite3.connect(study).execute("SELECT count(*) FROM trials").fetchone()[0]
        assert main([*base, "--resume", "--budget", "9"]) == 2
        assert "in use by another process" in err(capsys)
        n_after = sqlite3.connect(study).execute("SELECT count(*) FROM trials").fetchone()[0]
        assert n_before == n_after == 5
    finally:
        holder.communicate("")
    assert main([*base, "--resume", "--budget", "9"]) == 0     # free again once the other one ends


# ------------------------------------------------------------------------------------ baselines
def test_nsga2_and_parego_run_distinct_feasible_searches():
    for strategy, acq in (("nsga2", "auto"), ("bo", "parego")):
        study = optimize(lambda c: outputs(c), ["time", "power"], space=space(), budget=14, n_init=5,
                         strategy=strategy, acquisition=acq, seed=3)
        res = study.results()
        assert len(res) == 14 and not res.duplicated(["a", "b"]).any()
        assert res["on_front"].any()
    with pytest.raises(OptimisationError, match="two or more objectives"):
        optimize(lambda c: outputs(c), ["time"], space=space(), budget=6, n_init=2, acquisition="parego")


def test_parego_finds_more_of_the_front_than_random():
    from perfmodel.pareto import pareto_front
    Y = np.array([[outputs(c)["time"], outputs(c)["power"]] for c in space().grid()])
    F = pareto_front(Y)
    ref = F.max(axis=0) + 1.0
    hv = {}
    for strategy, acq in (("random", "auto"), ("bo", "parego")):
        vals = []
        for seed in range(3):
            r = optimize(lambda c: outputs(c), ["time", "power"], space=space(), budget=14, n_init=5,
                         strategy=strategy, acquisition=acq, seed=seed).results()
            vals.append(hypervolume(r[["time", "power"]].to_numpy(float), ref) / hypervolume(F, ref))
        hv[strategy] = np.mean(vals)
    assert hv["bo"] > hv["random"]


def test_layerwise_model_as_prior_for_a_network():
    import warnings

    from perfmodel.models.layerwise import LayerwisePredictor
    from profiling.simulated import random_network, synthetic_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LayerwisePredictor(std_folds=0).fit(synthetic_table(n_networks=6, threads=(1, 2, 4),
                                                                    batches=(1, 2, 4), seed=0))
    net = random_network(np.random.default_rng(9), "unseen")
    sp = ConfigSpace((Ordinal("threads", (1, 2, 4)), Ordinal("batch", (1, 2, 4))))
    prior = ModelPrior(model, sp, net, label="lw.json")
    assert "runtime_s" in prior.targets
    t = {(c["threads"], c["batch"]): v for c, v in zip(sp.grid(), prior.mean_function("runtime_s")(list(sp.grid())))}
    assert t[(1, 4)] > t[(1, 1)] and t[(1, 1)] > t[(4, 1)]          # more work is slower, more threads faster
    study = optimize(lambda c: {"runtime_s": 1e-3 * c["batch"] / c["threads"] ** 0.5}, ["runtime_s"], space=sp,
                     budget=5, n_init=3, prior_mean={"runtime_s": prior.mean_function("runtime_s")})
    assert study.front()["runtime_s"].min() == pytest.approx(1e-3 / 2)   # threads=4, batch=1
    with pytest.raises(OptimisationError, match="needs a network"):
        ModelPrior(model, sp, None, label="lw.json")
    bad = ConfigSpace((Ordinal("threads", (1, 2)), Ordinal("gpu_freq", (1, 2))))
    with pytest.raises(OptimisationError, match="does not know knob.*gpu_freq"):
        ModelPrior(model, bad, net, label="lw.json")


def test_cli_layerwise_prior_for_a_network_spec_file_warns_in_one_line(tmp_path):
    """``explore --prior lw.json --network spec.json``: a layer-wise model predicts a NetworkSpec JSON file's
    network (no TensorFlow needed), and its extrapolation warning reaches the user as one line."""
    import itertools
    import warnings

    from perfmodel.models.layerwise import LayerwisePredictor
    from profiling.simulated import synthetic_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LayerwisePredictor(std_folds=0).fit(synthetic_table(n_networks=6, threads=(1, 2, 4), batches=(1, 2, 4),
                                                            seed=0)).save(tmp_path / "lw.json")
    rows = [{"threads": t, "batch": b, "runtime_s": 1e-3 * b / t ** 0.5} for t, b in itertools.product((1, 2, 4),
                                                                                                       (1, 2, 4))]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    spec = os.path.join(ROOT, "datasets", "h200-torch", "specs", "tiny_cnn.json")
    proc = subprocess.run([sys.executable, "-m", "perfmodel", "explore", "--quiet", "--table", "t.csv", "--knobs",
                           "threads,batch", "--objectives", "runtime_s", "--network", spec, "--prior", "lw.json",
                           "--budget", "5", "--init", "3", "-o", "run.csv"], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.path.abspath(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = pd.read_csv(tmp_path / "run.csv")
    assert len(run) == 5 and run["runtime_s"].min() == pytest.approx(1e-3 / 2)
    # the synthetic model never saw a dense layer as small as tiny_cnn's head: said once, as the CLI says things
    said = [line for line in proc.stderr.splitlines() if "outside the training range" in line]
    assert said and said[0].startswith("perfmodel: warning: tiny_cnn: layers outside the training range")
    assert "UserWarning" not in proc.stderr and "priors.py" not in proc.stderr


def test_cli_formats_only_the_projects_own_user_warnings():
    from perfmodel import cli

    own = os.path.join(os.path.dirname(cli.__file__), "optimisation", "priors.py")
    assert cli.format_warning("range extrapolated", UserWarning, own, 9) == "perfmodel: warning: range extrapolated\n"
    other = cli.format_warning("deprecated", DeprecationWarning, own, 9)
    assert "DeprecationWarning" in other and "priors.py:9" in other
    foreign = cli.format_warning("x", UserWarning, "/elsewhere/site-packages/lib.py", 3)
    assert foreign == "/elsewhere/site-packages/lib.py:3: UserWarning: x\n"
    assert cli.format_warning("range", UserWarning, own, 9, debug=True).startswith(own + ":9: UserWarning: range")


def test_cli_warning_format_survives_a_library_that_replaces_pythons(monkeypatch):
    # GPy's laplace module sets warnings.formatwarning to its own one-line format when it is imported
    import warnings

    from perfmodel import cli

    monkeypatch.setattr(warnings, "formatwarning", lambda *a, **k: "replaced\n")
    assert cli.format_warning("x", UserWarning, "/elsewhere/lib.py", 3) == "/elsewhere/lib.py:3: UserWarning: x\n"


def test_cli_warning_raised_inside_the_study_reaches_the_user_once_in_one_line(tmp_path):
    """A warning the optimiser raises mid-study (a reference point the log scale cannot take) was dropped by
    explore, and GPy's import replaced the CLI's format for any later one: it is printed once, in one line."""
    import itertools

    rows = [{"a": a, "b": b, "time": 1.0 + a + 0.1 * b, "power": 5.0 - a + 0.2 * b}
            for a, b in itertools.product(range(4), range(4))]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "perfmodel", "explore", "--quiet", "--table", "t.csv", "--knobs",
                           "a,b", "--objectives", "time,power", "--reference-point", "time=0", "--budget", "8",
                           "--init", "4", "-o", "run.csv"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.path.abspath(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "reference point" in line]
    assert said == ["perfmodel: warning: the reference point's time = 0 is not positive, but time is modelled on the "
                    "log scale: the observed rule is used for it"]
    assert "UserWarning" not in proc.stderr


def test_cli_prior_unable_to_predict_the_space_fails_before_any_study_file(capsys, table, tmp_path):
    path, d = table
    # a model that saw only b in {1, 2} as categories cannot predict b = 3..6
    cat = grid_frame()
    cat["b"] = cat["b"].map(lambda v: f"l{v}")
    small = cat[cat["b"].isin(["l1", "l2"])]
    ConfigModel(model="linear", knobs=["a", "b"], target="time").fit(small).save(tmp_path / "cat.json")
    cat.to_csv(tmp_path / "cat.csv", index=False)
    study = tmp_path / "c.sqlite"
    rc = main(["explore", "--quiet", "--table", str(tmp_path / "cat.csv"), "--knobs", "a,b", "--objectives",
               "time", "--prior", str(tmp_path / "cat.json"), "--study", str(study)])
    assert rc == 2 and "unseen" in err(capsys)
    assert not study.exists()


def test_cli_prior_design_space_gives_the_plain_design_and_front_follows_the_source(capsys, table):
    path, d = table
    earlier = grid_frame().sample(20, random_state=1)
    earlier.to_csv(d / "earlier.csv", index=False)
    best = earlier.sort_values("time").iloc[0]
    base = ["explore", "--quiet", "--table", path, "--knobs", "a,b", "--objectives", "time", "--budget", "6",
            "--init", "4"]

    def first(extra, name):
        assert main([*base, *extra, "-o", str(d / name)]) == 0
        return [tuple(r) for r in pd.read_csv(d / name)[["a", "b"]].head(4).to_numpy().tolist()]

    plain = first([], "plain.csv")
    space_design = first(["--source", str(d / "earlier.csv"), "--prior-design", "space"], "space.csv")
    front_design = first(["--source", str(d / "earlier.csv")], "front.csv")
    assert space_design == plain                      # the plain Latin hypercube, as without guidance
    assert (best["a"], best["b"]) in front_design     # the default puts design points on the source's front
    assert front_design != plain
    capsys.readouterr()
    study = d / "p.sqlite"
    assert main([*base, "--study", str(study), "--prior-design", "space"]) == 2
    assert "--prior-design places the initial design by a --prior or a --source" in err(capsys)
    assert main([*base, "--study", str(study), "--strategy", "random", "--source", str(d / "earlier.csv"),
                 "--prior-design", "front"]) == 2
    assert "guides the bo strategy" in err(capsys)
    assert not study.exists()
