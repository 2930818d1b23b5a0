"""benchmarks/screen_greedy.py, screen_forest.py, screen_restart_seed.py, screen_level_bo.py, screen_design.py and
screen_noise_floor.py
(the screens' wraps of the BO strategy, its GP and its design do what they say), compare_bo_raw.py's count of the runs each of two variants passes alone, and
failing_runs.py's list of the runs short in every variant, and bench_config_models.py's blend of two models."""

import numpy as np
import pytest

import perfmodel.optimisation.bo as bo
from perfmodel.optimisation import optimize
from perfmodel.pareto import non_dominated
from profiling.space import ConfigSpace, Integer, Ordinal, config_key

from benchmark_scripts import load as _load


screen_greedy = _load("screen_greedy")
screen_forest = _load("screen_forest")
screen_restart_seed = _load("screen_restart_seed")
screen_level_bo = _load("screen_level_bo")
screen_design = _load("screen_design")
screen_noise_floor = _load("screen_noise_floor")

SPACE = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))


def evaluate(c):
    return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}


def _keys(study):
    return [config_key(t.config) for t in study.trials]


@pytest.fixture
def restore_strategy(monkeypatch):
    # the screens patch the class; put its methods back after the test
    monkeypatch.setattr(bo.BOStrategy, "_model_step", bo.BOStrategy._model_step)
    monkeypatch.setattr(bo.BOStrategy, "_fit_models", bo.BOStrategy._fit_models)


def test_greedy_with_epsilon_zero_changes_nothing(restore_strategy):
    plain = optimize(evaluate, ["time", "power"], space=SPACE, budget=12, n_init=6, seed=2)
    screen_greedy.patch(0.0, "random")
    assert _keys(optimize(evaluate, ["time", "power"], space=SPACE, budget=12, n_init=6, seed=2)) == _keys(plain)


def _front_pick_checks(pick, monkeypatch):
    # For every model step: was the pick on the front of the evaluations and the means of the remaining
    # configurations (on the remaining ones' own front where none is)?
    seen = []
    original = bo.BOStrategy._fit_models

    def record(self, state, configs):          # the means each model step's pick is judged against
        out = original(self, state, configs)
        seen.append((state.number, list(configs), dict(self._last), list(state.complete)))
        return out

    monkeypatch.setattr(bo.BOStrategy, "_fit_models", record)
    screen_greedy.patch(1.0, pick)
    study = optimize(evaluate, ["time", "power"], space=SPACE, budget=14, n_init=6, seed=2)
    assert len(seen) == 8                       # one fit per model step
    checks = []
    for number, configs, last, complete in seen:
        cols = []
        for m in ("time", "power"):
            gp, keys, mu, _ = last[m]
            v = np.array([mu[keys[config_key(c)]] for c in configs])
            cols.append(np.exp(v) if gp.log_ else v)
        P = np.column_stack(cols)
        Y = np.array([[o["time"], o["power"]] for _, o in complete])
        on_front = non_dominated(np.vstack([Y, P]))[len(Y):]
        if not on_front.any():
            on_front = non_dominated(P)
        i = [config_key(c) for c in configs].index(config_key(study.trials[number].config))
        checks.append(bool(on_front[i]))
    return checks


def test_greedy_front_steps_take_configurations_the_means_put_on_the_front(restore_strategy, monkeypatch):
    assert all(_front_pick_checks("front", monkeypatch))


def test_greedy_random_steps_are_not_confined_to_the_means_front(restore_strategy, monkeypatch):
    assert not all(_front_pick_checks("random", monkeypatch))


def test_greedy_random_steps_differ_from_the_acquisitions_and_repeat_with_the_seed(restore_strategy):
    plain = optimize(evaluate, ["time", "power"], space=SPACE, budget=14, n_init=6, seed=3)
    screen_greedy.patch(1.0, "random")
    once = optimize(evaluate, ["time", "power"], space=SPACE, budget=14, n_init=6, seed=3)
    again = optimize(evaluate, ["time", "power"], space=SPACE, budget=14, n_init=6, seed=3)
    assert _keys(once) == _keys(again)
    assert _keys(once)[:6] == _keys(plain)[:6]          # the design is not touched
    assert _keys(once)[6:] != _keys(plain)[6:]
    assert len(set(_keys(once))) == 14                  # nothing evaluated twice


def test_forest_predictions_follow_a_step_and_floor_the_sd():
    X = np.linspace(0, 1, 40)[:, None]
    y = np.where(X[:, 0] < 0.5, 0.0, 1.0)
    mean, sd = screen_forest.forest_predictions(X, y, np.array([[0.1], [0.9]]), 0, trees=30, leaf=1,
                                                sd_floor=0.05)
    assert mean[0] < 0.1 and mean[1] > 0.9
    assert np.all(sd >= 0.05)
    flat_mean, flat_sd = screen_forest.forest_predictions(X, np.full(40, 2.0), X, 0, trees=10, leaf=1,
                                                          sd_floor=0.03)
    assert np.allclose(flat_mean, 2.0) and np.allclose(flat_sd, 0.03)


def test_forest_is_uncertain_between_two_levels_no_evaluation_separates():
    X = np.array([[0.0], [0.1], [0.2], [0.8], [0.9], [1.0]])
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    _, sd = screen_forest.forest_predictions(X, y, np.array([[0.05], [0.5], [0.95]]), 1, trees=200, leaf=1,
                                             sd_floor=0.0)
    assert sd[1] > 2 * max(sd[0], sd[2])


def test_forest_average_adds_one_member_per_objective(restore_strategy, monkeypatch):
    sizes = []
    screen_forest.patch("average", trees=10, leaf=1, sd_floor=0.01)
    patched = bo.BOStrategy._fit_models

    def record(self, state, configs):
        models, Xd, X = patched(self, state, configs)
        sizes.append({m: models[m][2].shape[0] for m in models})
        return models, Xd, X

    monkeypatch.setattr(bo.BOStrategy, "_fit_models", record)
    optimize(evaluate, ["time", "power"], space=SPACE, budget=8, n_init=6, seed=0)
    # the default's two kernels' fits, and the forest
    assert sizes and all(s == {"time": 3, "power": 3} for s in sizes)


def test_compare_counts_the_runs_each_passes_alone_with_the_exact_mcnemar_p():
    import pandas as pd
    compare = _load("compare_bo_raw")
    # 20 runs: both pass 3, only the default 10, only the variant 5, neither 2
    default = pd.Series([0.995] * 3 + [0.992] * 10 + [0.97] * 5 + [0.9] * 2)
    variant = pd.Series([0.999] * 3 + [0.985] * 10 + [0.991] * 5 + [0.95] * 2)
    line = compare.passes(default, variant, 0.99)
    # two-sided binomial test of 5 of 15 discordant runs: 2 x (1 + 15 + 105 + 455 + 1365 + 3003) / 2^15
    assert line == ">= 0.99 @40: in the variant only 5, in the default only 10, exact McNemar p 0.302"
    assert compare.passes(default, default, 0.99).endswith("only 0, exact McNemar p 1.000")


def test_restart_seed_shifts_only_the_gps_salts(monkeypatch):
    from perfmodel.optimisation.base import SearchState
    monkeypatch.setattr(SearchState, "rng", SearchState.rng)
    state = SearchState(space=SPACE, objectives=("time", "power"), maximize=(False, False), constraints=(),
                        seed=5, number=7, complete=[], taken=set())
    before = {salt: state.rng(salt).integers(2**31) for salt in (3, 7, 11, 12, 17)}
    screen_restart_seed.patch(1000)
    after = {salt: state.rng(salt).integers(2**31) for salt in (3, 7, 11, 12, 17)}
    assert [after[s] == before[s] for s in (3, 7, 11, 12, 17)] == [True, True, False, False, True]
    assert after[11] == np.random.default_rng([5, 7, 1011]).integers(2**31)


def test_level_kernel_is_a_random_effect_per_level_with_correct_gradients():
    import GPy
    kern = screen_level_bo.level_kernel_class(GPy, 1e-3)(2)
    kern.variance[:] = 0.5
    kern.lengthscale[:] = 1e6                    # the full term: the same constant for every pair
    kern.add_variance[:] = [0.2, 0.3]
    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.05, 0.0], [0.05, 1.0]])
    # the level terms add v_j where input j is at the same level, nothing where it is not (even 0.05 apart)
    expected = 0.5 + 0.2 * (X[:, None, 0] == X[None, :, 0]) + 0.3 * (X[:, None, 1] == X[None, :, 1])
    assert np.allclose(kern.K(X), expected, atol=1e-9)
    rng = np.random.default_rng(0)
    Xr = np.column_stack([rng.choice(np.linspace(0, 1, 6), 25), rng.choice([0.0, 1.0], 25)])
    model = GPy.models.GPRegression(Xr, np.sin(3 * Xr[:, :1]) + Xr[:, 1:], kern.copy())
    assert model.checkgrad()


def test_level_patch_holds_the_fitted_first_order_lengthscales(monkeypatch):
    import perfmodel.models.gp_core as gp_core
    import perfmodel.optimisation.gp as bo_gp
    monkeypatch.setattr(gp_core, "_ADDITIVE_KERN", None)
    monkeypatch.setattr(bo_gp, "fit_gp", bo_gp.fit_gp)
    screen_level_bo.patch(1e-3)
    X = np.column_stack([np.repeat(np.linspace(0, 1, 6), 2), np.tile([0.0, 1.0], 6)])
    y = np.where(X[:, 0] == 0.4, 2.0, X[:, 0]) + X[:, 1]           # one level off its neighbours' line
    gp = bo_gp.fit_gp(X, (y - y.mean()) / y.std(), kernel="additive", hyper=bo_gp.SURROGATE_HYPER,
                      n_restarts=2, seed=0)
    assert np.all(gp.add_lengthscale == 1e-3)
    # the posterior's covariance: the full Matern term, plus input 1's level term (same level), and nothing of
    # input 0's (0.05 apart)
    a, b = np.array([[0.2, 0.0]]), np.array([[0.25, 0.0]])
    r = np.sqrt(5.0) * 0.05 / gp.lengthscale[0]
    full = gp.variance * (1 + r + r * r / 3) * np.exp(-r)
    assert gp._k(a, b)[0, 0] == pytest.approx(full + gp.add_variance[1], rel=1e-9)
    assert gp._k(a, a)[0, 0] == pytest.approx(gp.variance + gp.add_variance.sum(), rel=1e-9)

def test_optimised_design_is_registered_and_used_by_the_strategy(monkeypatch):
    from profiling import designs
    monkeypatch.setattr(designs, "DESIGNS", dict(designs.DESIGNS))
    screen_design.register("random-cd")
    space = ConfigSpace((Integer("a", 0, 7), Integer("b", 0, 7), Integer("c", 0, 7)))
    first = designs.sample(space, 8, "lhs-opt", seed=4)
    assert first == designs.sample(space, 8, "lhs-opt", seed=4)
    assert len({config_key(c) for c in first}) == 8
    assert first != designs.sample(space, 8, "lhs", seed=4)
    # a Latin hypercube of 8 points on 8 levels: every level of every input once
    for name in ("a", "b", "c"):
        assert sorted(c[name] for c in first) == list(range(8))
    plain = optimize(evaluate, ["time", "power"], space=SPACE, budget=6, n_init=6, seed=1)
    opt = optimize(evaluate, ["time", "power"], space=SPACE, budget=6, n_init=6, seed=1,
                   bo_options={"design": "lhs-opt"})
    assert _keys(opt) != _keys(plain)
    # no optimisation: the default's design, from the study's seed plus the offset
    screen_design.register(None, 0)
    assert designs.sample(space, 8, "lhs-opt", seed=4) == designs.sample(space, 8, "lhs", seed=4)
    screen_design.register(None, 1000)
    assert designs.sample(space, 8, "lhs-opt", seed=4) == designs.sample(space, 8, "lhs", seed=1004)
    assert designs.sample(space, 8, "lhs-opt", seed=4) != designs.sample(space, 8, "lhs", seed=4)


def test_failing_runs_names_the_runs_short_in_every_variant(tmp_path, capsys):
    failing = _load("failing_runs")
    head = "file,strategy,seed,cpu_s,evaluations,reach95,reach99,hv10,hv20,hv40\n"
    rows = {"a": [0.995, 0.98, 0.97, 0.999], "b": [0.98, 0.985, 0.991, 0.999]}
    paths = {}
    for name, hv in rows.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(head + "".join(
            f"tx2_sampled_output_xception_{'200x200' if s < 2 else '800x800'}.csv,bo,{s},1,40,10,20,0.8,0.9,{h}\n"
            for s, h in enumerate(hv)))
    assert failing.main(["--seeds", "0-3", f"a={paths['a']}", f"b={paths['b']}"]) == 0
    out = capsys.readouterr().out
    assert "runs below 0.99: a 2, b 2" in out
    assert out.rstrip().endswith("Failing in every variant: 200x200 s1")
    # 200x200: a fails s1, b fails s0 and s1 (3 of 4 fail); 800x800: a fails s2 (1 of 4)
    assert "| 200x200 | 1 | 2 | 0.25 |" in out and "| 800x800 | 1 | 0 | 0.75 |" in out
    assert failing.main(["--seeds", "0-3", "--at-least", "1", f"a={paths['a']}", f"b={paths['b']}"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "Failing in at least 1 of 2 variants: 200x200 s0, 200x200 s1, 800x800 s2")


def test_bad_screen_arguments_are_one_line_errors_with_exit_2(capsys):
    failing = _load("failing_runs")
    with pytest.raises(SystemExit) as out:
        failing.main(["--at-least", "0", "a=missing.csv"])
    assert out.value.code == 2 and "--at-least must be a number of variants >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as out:
        screen_level_bo.main(["--level-lengthscale", "0", "--seeds", "0-0"])
    assert out.value.code == 2 and "--level-lengthscale must be a positive length-scale" in capsys.readouterr().err
    with pytest.raises(SystemExit) as out:
        screen_greedy.main(["--epsilon", "1.5", "--seeds", "0-0"])
    assert out.value.code == 2 and "--epsilon must be a share in [0, 1], got 1.5" in capsys.readouterr().err


def test_noise_floor_is_the_relative_noise_on_the_standardised_scale():
    from perfmodel.models.gp_core import OutcomeTransform
    y = np.array([1.0, 2.0, 4.0, 8.0])
    logged = OutcomeTransform(log=True).fitted(y)
    # log outputs: 2 % on the log scale, standardised by the std of log(y) (ln 2 * sqrt(1.25))
    assert screen_noise_floor.floor_variance(0.02, logged) == pytest.approx((0.02 / (np.log(2) * np.sqrt(1.25))) ** 2)
    plain = OutcomeTransform(log=False).fitted(y)
    # outputs as they are: 2 % of their mean (3.75), standardised by their std
    assert screen_noise_floor.floor_variance(0.02, plain) == pytest.approx((0.02 * 3.75 / np.std(y)) ** 2)


def test_noise_floor_patch_holds_every_fit_above_it(monkeypatch):
    import perfmodel.optimisation.gp as bo_gp
    monkeypatch.setattr(bo_gp.GPSurrogate, "_hyper", bo_gp.GPSurrogate._hyper)
    X = np.column_stack([np.linspace(0, 1, 12), np.tile([0.0, 1.0], 6)])
    y = np.exp(X[:, 0] + 0.5 * X[:, 1])                # exactly smooth: the fitted noise goes to its bound
    plain = bo_gp.GPSurrogate(kernel="matern52").fit(X, y)
    assert plain.noise_variance < 1e-4
    screen_noise_floor.patch(0.05)
    floored = bo_gp.GPSurrogate(kernel="matern52").fit(X, y)
    floor = (0.05 / np.std(np.log(y))) ** 2
    assert floor > 1e-3
    assert floored.noise_variance >= floor * (1 - 1e-9)
    # a noisier fit than the floor is left to the data
    rng = np.random.default_rng(0)
    noisy = bo_gp.GPSurrogate(kernel="matern52").fit(X, y * np.exp(0.3 * rng.standard_normal(12)))
    assert noisy.noise_variance > 2 * floor
    with pytest.raises(ValueError, match=">= 0"):
        screen_noise_floor.patch(-0.01)


def test_noise_floor_refuses_a_negative_noise_in_one_line(capsys):
    assert screen_noise_floor.main(["--relative-noise", "-0.01", "--seeds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --relative-noise must be >= 0, got -0.01"]


def test_config_blend_is_the_geometric_mean_of_its_two_models():
    import pandas as pd

    bench = _load("bench_config_models")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(1, 2, 40), "z": rng.uniform(1, 3, 40)})
    df["t"] = df["x"] * df["z"] ** 2 * rng.lognormal(0, 0.02, 40)
    train, test = df.iloc[:30], df.iloc[30:]
    params = {"n_restarts": 1, "max_iters": 50}
    gp = bench.predict("gp", train, test, ["x", "z"], "t", params, 0)
    gbr = bench.predict("gbr", train, test, ["x", "z"], "t", None, 0)
    blend = bench.predict("gp-gbr-average", train, test, ["x", "z"], "t", params, 0)
    assert not np.allclose(gp, gbr)                         # two different models, so the blend is neither
    assert np.allclose(blend, np.sqrt(gp * gbr))
    assert np.all((blend > np.minimum(gp, gbr)) & (blend < np.maximum(gp, gbr)))
