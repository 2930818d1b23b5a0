"""Acquisitions, constraints, ask/tell studies, SQLite storage and resume."""

import sqlite3
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy.stats import norm

from perfmodel.errors import OptimisationError
from perfmodel.optimisation import OutputConstraint, Study, optimize
from perfmodel.optimisation.acquisition import (expected_hypervolume_improvement, expected_improvement,
                                                hypervolume_probability_of_improvement,
                                                probability_non_dominated, probability_of_feasibility)
from perfmodel.optimisation.gp import GPSurrogate
from perfmodel.optimisation.candidates import Candidates, linked_groups
from perfmodel.optimisation.strategies import BOStrategy
from perfmodel.pareto import hypervolume_improvement, non_dominated
from profiling.errors import PlatformError
from profiling.space import Boolean, Categorical, ConfigSpace, Integer, Ordinal, config_key


# ----------------------------------------------------------------------------------------- helpers
def small_space(constraints=()):
    return ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))), constraints)


class Toy:
    """Two smooth conflicting objectives plus a 'power' output; counts evaluations per configuration."""

    def __init__(self, space=None, crash_at=None):
        self.space = space or small_space()
        self.source = "simulated:toy"
        self.calls = Counter()
        self.crash_at = crash_at

    def evaluate(self, cfg):
        self.calls[config_key(cfg)] += 1
        if self.crash_at is not None and sum(self.calls.values()) == self.crash_at:
            raise RuntimeError("power cut")
        a, b = cfg["a"], cfg["b"]
        return {"time": 1.0 + (a - 6) ** 2 + 0.5 * (b - 5) ** 2, "power": 1.0 + a + b, "other": 3.0}


# ------------------------------------------------------------------------------------ acquisitions
def test_expected_improvement_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu, sd, best = np.array([0.0, 1.0, -0.5]), np.array([1.0, 0.3, 2.0]), 0.2
    samples = rng.normal(mu, sd, size=(400_000, 3))
    mc = np.maximum(best - samples, 0).mean(axis=0)
    np.testing.assert_allclose(expected_improvement(mu, sd, best), mc, rtol=0.02)


def test_probability_of_feasibility():
    assert probability_of_feasibility(0.0, 1.0, 1.0) == pytest.approx(norm.cdf(1.0))
    assert probability_of_feasibility(0.0, 1.0, 1.0, upper=False) == pytest.approx(norm.sf(1.0))


@pytest.mark.parametrize("d", [2, 3])
def test_ehvi_and_non_domination_probability_match_monte_carlo(d):
    rng = np.random.default_rng(d)
    front = rng.random((6, d))
    front = front[non_dominated(front)]
    ref = np.full(d, 1.3)
    mu = rng.random((4, d))
    sd = rng.uniform(0.05, 0.4, (4, d))
    exact = expected_hypervolume_improvement(mu, sd, front, ref)
    pnd = probability_non_dominated(mu, sd, front, ref)
    for i in range(4):
        Y = rng.normal(mu[i], sd[i], size=(40_000, d))
        mc = hypervolume_improvement(Y, front, ref).mean()
        assert exact[i] == pytest.approx(mc, rel=0.05, abs=1e-4)
        dominated = np.zeros(len(Y), bool)
        for p in front:
            dominated |= np.all(p <= Y, axis=1)
        assert pnd[i] == pytest.approx(1 - dominated.mean(), abs=0.01)


def test_hvpoi_prefers_a_point_that_improves_the_front():
    front = np.array([[0.2, 0.8], [0.8, 0.2]])
    mu = np.array([[0.3, 0.3], [0.9, 0.9]])           # the first would fill the gap, the second is dominated
    a = hypervolume_probability_of_improvement(mu, np.full((2, 2), 0.05), front, [1.0, 1.0])
    assert a[0] > a[1]


# ------------------------------------------------------------------------------------- constraints
def test_output_constraint_parsing():
    c = OutputConstraint.parse(" power_consumption <= 3000 ")
    assert (c.metric, c.op, c.limit) == ("power_consumption", "<=", 3000.0)
    assert c.satisfied(3000) and not c.satisfied(3000.1) and not c.satisfied(float("nan"))
    assert c.slack(2500) == -500
    lower = OutputConstraint.parse("accuracy>0.9")
    assert lower.satisfied(0.95) and not lower.satisfied(0.9) and lower.slack(0.8) == pytest.approx(0.1)
    for bad in ("power", "power<=", "power==3", "3<=power", "power<=inf"):
        with pytest.raises(OptimisationError):
            OutputConstraint.parse(bad)


# ------------------------------------------------------------------------------------------ studies
@pytest.mark.parametrize("strategy", ["random", "tpe", "bo"])
def test_strategies_never_repeat_and_stay_feasible(strategy):
    space = small_space(["a + b <= 9"])
    toy = Toy(space)
    study = optimize(toy, ["time", "power"], budget=14, n_init=5, strategy=strategy, seed=1)
    assert len(study.trials) == 14
    assert max(toy.calls.values()) == 1
    for t in study.trials:
        assert t.state == "complete" and space.is_feasible(t.config)
    res = study.results()
    assert list(res["evaluation"]) == list(range(1, 15))
    assert (res["source"] == "simulated:toy").all()
    # the front flags are exactly the non-dominated evaluated rows
    np.testing.assert_array_equal(res["on_front"], non_dominated(res[["time", "power"]].to_numpy()))


def test_budget_larger_than_space_warns_and_evaluates_everything_once():
    space = ConfigSpace((Integer("a", 0, 2), Integer("b", 0, 1)))
    toy = Toy(space)
    with pytest.warns(UserWarning, match="larger than the space"):
        study = optimize(toy, ["time"], budget=50, strategy="random")
    assert len(study.trials) == 6 and set(toy.calls.values()) == {1}


def test_ask_returns_none_when_space_exhausted():
    space = ConfigSpace((Integer("a", 0, 1),))
    study = Study(space, ["time"], strategy="random")
    for _ in range(2):
        t = study.ask()
        study.tell(t, {"time": 1.0})
    assert study.ask() is None


def test_failed_evaluations_are_recorded_and_not_retried():
    toy = Toy()

    def flaky(cfg):
        if cfg["a"] == 0:
            raise PlatformError("cannot set frequency")
        out = toy.evaluate(cfg)
        if cfg["a"] == 1:
            out["time"] = float("nan")
        return out

    study = optimize(flaky, ["time"], space=small_space(), budget=48, strategy="random")
    res = study.results()
    failed = res[res["state"] == "failed"]
    assert set(failed["a"]) == {0, 1} and len(failed) == 12
    assert "cannot set frequency" in set(failed["error"])
    assert not res.loc[res["state"] == "failed", "on_front"].any()


def test_missing_output_is_an_error():
    study = Study(small_space(), ["time"], constraints=["power<=5"], strategy="random")
    t = study.ask()
    with pytest.raises(OptimisationError, match="power"):
        study.tell(t, {"time": 1.0})


def test_maximize_flips_the_front():
    toy = Toy()
    study = optimize(toy, ["time", "power"], maximize=["power"], budget=48, strategy="random")
    res = study.results()
    Y = res[["time", "power"]].to_numpy() * [1, -1]
    np.testing.assert_array_equal(res["on_front"], non_dominated(Y))
    with pytest.raises(OptimisationError, match="not an objective"):
        Study(small_space(), ["time"], maximize=["power"])


def test_constrained_bo_finds_the_constrained_optimum():
    toy = Toy()
    study = optimize(toy, ["time"], constraints=["power<=8"], budget=20, n_init=6, strategy="bo", seed=0)
    res = study.results()
    grid = [toy.evaluate(c) for c in small_space().grid()]
    true_best = min(o["time"] for o in grid if o["power"] <= 8)
    assert res.loc[res["feasible"], "time"].min() == pytest.approx(true_best)
    assert res["on_front"].sum() >= 1
    assert (res.loc[res["on_front"], "power"] <= 8).all()


def test_prior_mean_hook_guides_the_first_model_step():
    toy = Toy()
    truth = lambda configs: [toy.evaluate(c)["time"] for c in configs]  # noqa: E731 - a perfect predictor
    study = Study(small_space(), ["time"], strategy="bo", n_init=3, seed=4, prior_mean={"time": truth})
    for _ in range(4):
        t = study.ask()
        study.tell(t, toy.evaluate(t.config))
    # with a prior for the objective, half the design follows the prior: its best is tried at once
    assert [t.phase for t in study.trials[:3]] == ["design"] * 3
    assert {"a": 6, "b": 5} in [t.config for t in study.trials[:3]]
    # and the surrogate takes the perfect prior as it is (weight 1): it then expects no improvement
    # anywhere (EI 0 in floats), yet log-EI still ranks the candidates: the next step is the model's,
    # one of the best configurations not tried yet
    assert study.prior_weights()["time"] == pytest.approx(1.0, abs=1e-3)
    assert study.trials[3].phase == "model"
    tried = {config_key(t.config) for t in study.trials[:3]}
    left = sorted(toy.evaluate(c)["time"] for c in small_space().grid() if config_key(c) not in tried)
    assert study.trials[3].outputs["time"] <= left[4]


# --------------------------------------------------------------------------------- storage, resume
def test_every_ask_and_tell_is_in_sqlite_as_it_happens(tmp_path):
    path = str(tmp_path / "s.sqlite")
    study = Study(small_space(), ["time"], strategy="random", storage=path)
    t = study.ask()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT state FROM trials").fetchall() == [("asked",)]
    study.tell(t, {"time": 2.0, "extra": 1.0})
    assert con.execute("SELECT state, outputs FROM trials").fetchall() == [("complete", '{"time": 2.0, "extra": 1.0}')]
    con.close()
    study.close()


def test_existing_study_file_is_not_overwritten(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"precious")
    with pytest.raises(OptimisationError, match="already exists"):
        Study(small_space(), ["time"], storage=str(path))
    assert path.read_bytes() == b"precious"
    with pytest.raises(OptimisationError, match="not a perfmodel study"):
        Study(small_space(), ["time"], storage=str(path), resume=True)
    with pytest.raises(OptimisationError, match="no study file"):
        Study(small_space(), ["time"], storage=str(tmp_path / "none.sqlite"), resume=True)


@pytest.mark.parametrize("strategy", ["random", "bo", "tpe"])
def test_resume_after_crash_neither_repeats_nor_loses(tmp_path, strategy):
    kw = dict(budget=12, n_init=4, strategy=strategy, seed=3)
    reference = optimize(Toy(), ["time", "power"], **kw)
    path = str(tmp_path / "s.sqlite")
    crashing = Toy(crash_at=7)
    with pytest.raises(RuntimeError):
        optimize(crashing, ["time", "power"], storage=path, **kw)
    con = sqlite3.connect(path)
    states = [s for (s,) in con.execute("SELECT state FROM trials ORDER BY number")]
    con.close()
    assert states == ["complete"] * 6 + ["asked"]
    second = Toy()
    resumed = optimize(second, ["time", "power"], storage=path, resume=True, **kw)
    assert len(resumed.trials) == 12 and all(t.state == "complete" for t in resumed.trials)
    # the unfinished trial is evaluated first; nothing completed before the crash is evaluated again
    done_before = {config_key(t.config) for t in resumed.trials[:6]}
    assert not done_before & set(second.calls)
    assert sum(second.calls.values()) == 6
    assert config_key(resumed.trials[6].config) in second.calls
    if strategy != "tpe":   # stateless strategies: the resumed study asks what an uninterrupted one asks
        assert [t.config for t in resumed.trials] == [t.config for t in reference.trials]


def test_load_study_reads_a_running_study_without_touching_it(tmp_path):
    from perfmodel.optimisation import load_study

    path = str(tmp_path / "s.sqlite")
    study = Study(small_space(), ["time", "power"], maximize=["power"], constraints=["power<=3"],
                  strategy="random", storage=path)
    outputs = [{"time": 2.0, "power": 1.0}, {"time": 1.0, "power": 5.0}, None, {"time": 3.0, "power": 2.0}]
    for out in outputs:
        t = study.ask()
        if out is None:
            study.tell(t, None, error="worker crashed")
        else:
            study.tell(t, out)
    pending = study.ask()                       # asked, not told: the study is still running and holds the lock
    before = (tmp_path / "s.sqlite").read_bytes()
    loaded = load_study(path)
    assert (tmp_path / "s.sqlite").read_bytes() == before
    got = loaded.results()
    assert list(got["state"]) == ["complete", "complete", "failed", "complete", "asked"]
    assert list(got["feasible"]) == [True, False, False, True, False]       # power <= 3
    # time minimised, power maximised: the feasible (2.0, 1.0) and (3.0, 2.0) trade one against the other
    assert list(got["on_front"]) == [True, False, False, True, False]
    assert got.loc[4, ["a", "b"]].to_dict() == {k: pending.config[k] for k in ("a", "b")}
    assert loaded.objectives == ("time", "power") and loaded.maximize == (False, True)
    # the study goes on; the file was never locked by the reader
    study.tell(pending, {"time": 0.5, "power": 0.5})
    study.close()
    assert list(load_study(path).results()["state"])[-1] == "complete"
    with pytest.raises(OptimisationError, match="no study file"):
        load_study(str(tmp_path / "none.sqlite"))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(OptimisationError, match="not a perfmodel study file"):
        load_study(str(tmp_path / "t.csv"))


def test_resume_with_different_settings_is_refused_and_file_unchanged(tmp_path):
    path = str(tmp_path / "s.sqlite")
    optimize(Toy(), ["time"], budget=3, strategy="random", storage=path)
    before = sqlite3.connect(path).execute("SELECT count(*) FROM trials").fetchone()
    with pytest.raises(OptimisationError, match="objectives differs"):
        optimize(Toy(), ["power"], budget=5, strategy="random", storage=path, resume=True)
    with pytest.raises(OptimisationError, match="strategy differs"):
        optimize(Toy(), ["time"], budget=5, strategy="bo", storage=path, resume=True)
    # a space that differs is said in knob terms (it was its JSON cut to 40 characters on either side)
    other = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5))))
    with pytest.raises(OptimisationError, match=r"its space differs from this run's \(b: ordinal \{1, 2, 3, 4, 5, 6\} "
                                                r"\(default 1\) vs b: ordinal \{1, 2, 3, 4, 5\} \(default 1\)\)$"):
        optimize(Toy(other), ["time"], budget=5, strategy="random", storage=path, resume=True)
    with pytest.raises(OptimisationError, match=r"\(knobs a, b vs a\)$"):
        optimize(Toy(ConfigSpace((Integer("a", 0, 7),))), ["time"], budget=5, strategy="random", storage=path,
                 resume=True)
    assert sqlite3.connect(path).execute("SELECT count(*) FROM trials").fetchone() == before
    # a larger budget on resume just continues
    study = optimize(Toy(), ["time"], budget=5, strategy="random", storage=path, resume=True)
    assert len(study.trials) == 5
    # a budget the study has reached evaluates nothing, and says so (it used to end as if it had run)
    toy = Toy()
    with pytest.warns(UserWarning, match=r"already holds 5 evaluations, at least the budget \(4\): nothing is "
                                         "evaluated; give a larger budget to go on"):
        study = optimize(toy, ["time"], budget=4, strategy="random", storage=path, resume=True)
    assert len(study.trials) == 5 and not toy.calls


def test_bad_study_arguments():
    with pytest.raises(OptimisationError):
        Study(small_space(), [])
    with pytest.raises(OptimisationError):
        Study(small_space(), ["time"], strategy="annealing")
    with pytest.raises(OptimisationError):
        Study(small_space(), ["time"], resume=True)
    with pytest.raises(OptimisationError):
        optimize(Toy(), ["time"], budget=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OptimisationError, match="two or more"):
            optimize(Toy(), ["time"], budget=6, n_init=3, acquisition="ehvi")


# ---------------------------------------------------------------------------- BO input encoding
def core_space():
    """Three per-core flags that only occur as 000/100/110/111, plus a frequency."""
    flags = (Ordinal("c1", (0, 1)), Ordinal("c2", (0, 1)), Ordinal("c3", (0, 1)))
    return ConfigSpace((*flags, Ordinal("freq", (100, 200, 400, 800))), ["c2 <= c1", "c3 <= c2"])


def test_linked_groups_finds_chains_only():
    thermo = np.array([[a, b, c, f] for (a, b, c) in [(0, 0, 0), (1, 0, 0), (1, 1, 0), (1, 1, 1)]
                       for f in (0.0, 0.5, 1.0)])
    assert linked_groups(thermo) == [(0, 1, 2), (3,)]
    factorial = np.array([[a, b] for a in (0, 1) for b in (0, 1)])
    assert linked_groups(factorial) == [(0,), (1,)]
    # b is constant: never grouped, even though it is trivially ordered with everything
    assert linked_groups(np.array([[0, 5, 0], [1, 5, 1], [0, 5, 0]])) == [(0, 2), (1,)]
    # linked pairwise (0~1, 1~2) is not enough: 0 and 2 are not ordered together
    rows = np.array([[0, 0, 1], [1, 0, 0], [0, 0, 0], [1, 1, 1]])
    groups = linked_groups(rows)
    assert (0, 1, 2) not in groups and sorted(j for g in groups for j in g) == [0, 1, 2]


def _chain_by_definition(a, b) -> bool:
    # every two distinct joint values ordered alike in both columns
    pts = {(x, y) for x, y in zip(a, b)}
    return all((x1 - x2) * (y1 - y2) >= 0 for x1, y1 in pts for x2, y2 in pts)


@pytest.mark.parametrize("seed", range(6))
def test_linked_groups_match_the_definition_of_a_chain(seed):
    # columns of few levels, some built as chains of others: the groups are those the definition gives
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 4, 30)
    cols = [base, (base >= 1).astype(int), (base >= 3).astype(int), rng.integers(0, 2, 30), np.minimum(base, 2),
            rng.integers(0, 3, 30), 3 - base]
    m = np.column_stack(cols).astype(float)
    expected: list[list[int]] = []
    for j in range(m.shape[1]):
        for g in expected:
            if all(len(set(m[:, i])) > 1 and len(set(m[:, j])) > 1 and _chain_by_definition(m[:, i], m[:, j])
                   for i in g):
                g.append(j)
                break
        else:
            expected.append([j])
    assert linked_groups(m) == [tuple(g) for g in expected]
    assert (0, 1, 2, 4) in linked_groups(m)


def test_linked_groups_skip_the_exact_test_for_pairs_that_cannot_chain(monkeypatch):
    # a categorical knob with one level per row (a table's config_name: 768 one-hot columns) has no chain; the
    # exact test on all its pairs took minutes (explore --knobs config_name: 4 minutes for 10 evaluations)
    from perfmodel.optimisation import candidates

    tested = []
    exact = candidates._is_chain
    monkeypatch.setattr(candidates, "_is_chain", lambda pairs: tested.append(1) or exact(pairs))
    assert linked_groups(np.eye(50)) == [(j,) for j in range(50)]
    assert tested == []                           # one-hot columns are never positively correlated
    assert linked_groups(np.array([[0, 0], [1, 0], [1, 1]])) == [(0, 1)] and len(tested) == 1


def test_encoding_merges_linked_flags_and_logs_numeric_levels():
    space = core_space()
    cands = Candidates(space)
    assert len(cands.configs) == 16
    assert cands.groups == [(0, 1, 2), (3,)]
    E = cands.encode(cands.configs)
    assert E.shape == (16, 2)
    assert len(np.unique(E, axis=0)) == 16                      # still one-to-one on the candidates
    n_cores = np.array([c["c1"] + c["c2"] + c["c3"] for c in cands.configs])
    np.testing.assert_allclose(E[:, 0], n_cores / 3)
    freq = np.array([c["freq"] for c in cands.configs])
    np.testing.assert_allclose(E[:, 1], np.log(freq / 100) / np.log(8))   # 100,200,400,800 -> 0,1/3,2/3,1
    plain = cands.encode(cands.configs, linked=False, log_inputs=False)   # values, min-max scaled
    np.testing.assert_allclose(plain[:, :3], cands.matrix[:, :3])
    np.testing.assert_allclose(plain[:, 3], (freq - 100) / 700)
    # a full factorial links nothing; levels with zero or only two values are not logged
    free = Candidates(ConfigSpace((Ordinal("a", (0, 1, 2)), Ordinal("b", (10, 1000)), Integer("c", 1, 4))))
    assert free.groups == [(0,), (1,), (2,)]
    E = free.encode(free.configs)
    np.testing.assert_allclose(np.unique(E[:, 0]), [0, 0.5, 1])
    np.testing.assert_allclose(np.unique(E[:, 1]), [0, 1])
    np.testing.assert_allclose(np.unique(E[:, 2]), np.log([1, 2, 3, 4]) / np.log(4))
    # a configuration outside the candidate cache (an infinite space's sample) gets the same rule
    np.testing.assert_allclose(free.encode([{"a": 2, "b": 1000, "c": 2}]), [[1.0, 1.0, np.log(2) / np.log(4)]])


def test_encoding_one_hot_encodes_categorical_knobs():
    # A categorical knob is one 0/1 input per level (not its level's index, which would order the
    # choices), a boolean knob 0/1, a numeric knob its (log) value scaled to [0, 1].
    space = ConfigSpace((Categorical("governor", ("fast", "eco", "balanced")), Boolean("xla"),
                         Ordinal("freq", (100, 200, 400))))
    cands = Candidates(space)
    E = cands.encode(cands.configs)
    assert E.shape == (len(cands.configs), 5)                  # 3 one-hot + xla + freq
    for c, row in zip(cands.configs, E):
        onehot = dict(zip(("fast", "eco", "balanced"), row[:3]))        # levels in declared order
        assert onehot == {g: float(g == c["governor"]) for g in onehot}
        assert row[3] == float(c["xla"])
        assert row[4] == pytest.approx(np.log(c["freq"] / 100) / np.log(4))
    # every pair of different governors is equally far apart (no order read into the choices)
    by_gov = {c["governor"]: row for c, row in zip(cands.configs, E) if not c["xla"] and c["freq"] == 100}
    d = {(a, b): np.linalg.norm(by_gov[a] - by_gov[b]) for a in by_gov for b in by_gov if a < b}
    assert len(set(np.round(list(d.values()), 12))) == 1
    # BO runs on such a space and never repeats a configuration
    class Cat:
        def __init__(self):
            self.space = space

        def evaluate(self, config):
            g = {"fast": 1.0, "eco": 3.0, "balanced": 2.0}[config["governor"]]
            return {"time": g * 100 / config["freq"] + (0.5 if config["xla"] else 0.0)}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optimize(Cat(), ["time"], budget=8, n_init=4, seed=0)
    keys = [config_key(t.config) for t in study.trials]
    assert len(keys) == len(set(keys)) == 8


def test_noisy_prediction_adds_the_fitted_noise():
    rng = np.random.default_rng(0)
    X = rng.random((25, 2))
    y = np.exp(X[:, 0] + 0.3 * rng.standard_normal(25))
    gp = GPSurrogate(seed=0).fit(X, y)
    mu0, sd0 = gp.predict(X[:5])
    mu1, sd1 = gp.predict(X[:5], noisy=True)
    np.testing.assert_array_equal(mu0, mu1)
    assert gp.noise_variance > 0
    np.testing.assert_allclose(sd1 ** 2 - sd0 ** 2, gp.noise_variance * gp.std_ ** 2, rtol=1e-6)
    assert np.all(sd1 > sd0)


def test_bo_options_change_the_search_and_are_checked():
    def cores_toy(cfg):
        n = cfg["c1"] + cfg["c2"] + cfg["c3"]
        return {"time": 1.0 / (cfg["freq"] * (1 + n)) + 0.001 * n, "power": cfg["freq"] * (1 + 0.5 * n)}

    space = core_space()
    runs = {}
    for name, opts in {"default": None, "again": None,
                       "plain": {"linked": False, "log_inputs": False, "noisy": False}}.items():
        study = optimize(cores_toy, ["time", "power"], space=space, budget=10, n_init=4, seed=2,
                         bo_options=opts)
        runs[name] = [config_key(t.config) for t in study.trials]
    assert runs["default"] == runs["again"]                    # deterministic for a seed
    assert runs["default"][:4] == runs["plain"][:4]            # same design ...
    assert runs["default"] != runs["plain"]                    # ... then a different model
    strategy = BOStrategy(space, linked=False)
    assert strategy.linked is False and strategy.noisy is True
    with pytest.raises(OptimisationError, match="unknown BO option 'linkd'"):
        Study(space, ["time"], bo_options={"linkd": False})


# ---------------------------------------------------------------------------- acquisitions in log space
def test_log_ei_matches_ei_and_stays_finite_where_ei_underflows():
    from perfmodel.optimisation.acquisition import log_expected_improvement, log_h

    rng = np.random.default_rng(3)
    mu, sd = rng.normal(size=200), rng.uniform(0.05, 2.0, size=200)
    ei = (0.2 - mu) * norm.cdf((0.2 - mu) / sd) + sd * norm.pdf((0.2 - mu) / sd)   # the closed form
    np.testing.assert_allclose(log_expected_improvement(mu, sd, 0.2), np.log(ei), rtol=1e-9, atol=1e-9)
    # far below the incumbent: EI underflows to 0 in floats; log h(z) follows its asymptotic series
    # phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6)
    z = np.array([-40.0, -100.0, -1e3])
    series = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi) - 2 * np.log(-z) + np.log1p(-3 / z ** 2 + 15 / z ** 4
                                                                              - 105 / z ** 6)
    assert np.all(norm.pdf(z) + z * norm.cdf(z) <= 1e-300)
    np.testing.assert_allclose(log_h(z), series, rtol=1e-12)
    assert np.all(np.diff(log_h(np.linspace(-1e4, 30, 2001))) > 0)     # increasing: candidates stay ranked


def test_log_ehvi_matches_ehvi():
    from perfmodel.optimisation.acquisition import log_expected_hypervolume_improvement

    rng = np.random.default_rng(4)
    mu, sd = rng.normal(size=(60, 3)), rng.uniform(0.1, 1.0, size=(60, 3))
    front, ref = np.array([[0.0, 1.0, 0.5], [0.5, 0.2, 0.0], [1.0, -0.5, 1.0]]), np.array([2.0, 2.0, 2.0])
    ehvi = expected_hypervolume_improvement(mu, sd, front, ref)
    np.testing.assert_allclose(log_expected_hypervolume_improvement(mu, sd, front, ref), np.log(ehvi), rtol=1e-9)
    # a candidate far behind the front: EHVI is 0 in floats, its log finite and below every other
    far = log_expected_hypervolume_improvement(np.array([[40.0, 40.0, 40.0]]), np.full((1, 3), 0.5), front, ref)
    assert expected_hypervolume_improvement(np.array([[40.0, 40.0, 40.0]]), np.full((1, 3), 0.5), front,
                                            ref)[0] == 0.0
    assert np.isfinite(far[0]) and far[0] < np.log(ehvi).min()


def test_a_perfect_prior_keeps_model_steps_where_ei_underflows():
    # With a prior equal to the objective the GP is sure that nothing beats the optimum found in the design,
    # so EI is 0 in floats at every candidate: the steps are still ranked (log-EI) and go to the
    # configurations next to the optimum, not to random ones.
    space = ConfigSpace((Integer("x", 0, 30), Integer("y", 0, 9)))

    def f(c):
        return 1.0 + (c["x"] - 10) ** 2 + 0.5 * (c["y"] - 3) ** 2

    class Exact:
        def __init__(self):
            self.space = space

        def evaluate(self, config):
            return {"time": f(config)}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optimize(Exact(), ["time"], budget=10, n_init=4, seed=0,
                         prior_mean={"time": lambda configs: [f(c) for c in configs]})
    after = study.trials[4:]
    assert min(t.outputs["time"] for t in study.trials[:4]) == 1.0       # the design found the optimum
    assert all(t.phase == "model" for t in after)
    values = sorted(f(c) for c in space.grid())
    assert all(t.outputs["time"] <= values[9] for t in after)            # among the ten best of 310


@pytest.mark.parametrize("d", [2, 3])
def test_ehvi_in_output_units_matches_monte_carlo_of_lognormal_predictions(d):
    # Objectives modelled on a log scale, hypervolume measured in their own units: the exact EHVI with
    # log-normal factors must equal the mean hypervolume improvement of exp(samples of the log model).
    rng = np.random.default_rng(10 + d)
    front = rng.uniform(0.5, 3.0, (6, d))
    front = front[non_dominated(front)]
    ref = np.full(d, 3.5)
    mu = np.log(rng.uniform(0.5, 3.0, (4, d)))         # mean and std of log(objective)
    sd = rng.uniform(0.05, 0.5, (4, d))
    logn = np.ones(d, bool)
    logn[0] = d == 3                                   # with d = 2, one log-normal and one Gaussian objective
    mu_mixed = np.where(logn, mu, np.exp(mu))
    sd_mixed = np.where(logn, sd, 0.3)
    exact = expected_hypervolume_improvement(mu_mixed, sd_mixed, front, ref, lognormal=logn)
    for i in range(4):
        Y = rng.normal(mu_mixed[i], sd_mixed[i], size=(60_000, d))
        Y[:, logn] = np.exp(Y[:, logn])
        mc = hypervolume_improvement(Y, front, ref).mean()
        assert exact[i] == pytest.approx(mc, rel=0.05, abs=1e-4)


def test_ehvi_in_output_units_values_the_end_of_the_front_the_log_scale_compresses():
    # Front (time, power) with a gap at the fast, high-power end. Two candidates whose log-scale
    # predictions make the same relative (log) improvement: on the log scale their EHVI is about equal,
    # in the objectives' units the one in the high-power region adds more hypervolume.
    front = np.array([[1.0, 10.0], [2.0, 2.0], [4.0, 1.0]])
    ref = np.array([4.4, 10.9])
    gap_fast = np.array([1.05, 6.0])                   # fills the fast end's gap: power 10 -> 6
    gap_slow = np.array([2.1, 1.2])                    # fills the slow end's gap: power 2 -> 1.2 (same ratio)
    mu = np.log(np.vstack([gap_fast, gap_slow]))
    sd = np.full((2, 2), 0.02)
    units = expected_hypervolume_improvement(mu, sd, front, ref, lognormal=[True, True])
    # by hand: (2 - 1.05) * (10 - 6) = 3.8 and (4 - 2.1) * (2 - 1.2) = 1.52 (sd small: about the mean's)
    np.testing.assert_allclose(units, [3.8, 1.52], rtol=0.05)
    logscale = expected_hypervolume_improvement(mu, sd, np.log(front), np.log(ref))
    # on the log scale both are log(2 / 1.05) * log(10 / 6) = log(4 / 2.1) * log(2 / 1.2) = 0.329
    np.testing.assert_allclose(logscale, [0.329, 0.329], rtol=0.05)


def test_reference_point_from_the_observed_worst_or_from_the_front_nadir():
    space = ConfigSpace((Integer("a", 0, 3),))
    Yall = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    front = Yall[:3]
    # worst observed (9, 9) + 10 % of the observed range (8, 8); front nadir (4, 5) + 10 % of its range (3, 4)
    np.testing.assert_allclose(BOStrategy(space)._reference(Yall, front), [9.8, 9.8])
    np.testing.assert_allclose(BOStrategy(space, reference="front")._reference(Yall, front), [4.3, 5.4])
    # a one-point front has no range: 10 % of the observed range beyond it
    np.testing.assert_allclose(BOStrategy(space, reference="front")._reference(Yall, front[:1]), [1.8, 5.8])


def test_nadir_reference_point_is_anchored_on_the_front_with_the_observed_margin():
    space = ConfigSpace((Integer("a", 0, 3),))
    Yall = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    front = Yall[:3]
    nadir = BOStrategy(space, reference="nadir")
    # front nadir (4, 5) + 10 % of the range over every observation (8, 8)
    np.testing.assert_allclose(nadir._reference(Yall, front), [4.8, 5.8])
    # a far worse, dominated configuration moves the observed rule's reference with it, not this one's
    # beyond the margin it adds to the range (here 10 % of 100 - 1 instead of 10 % of 9 - 1)
    far = np.vstack([Yall, [100.0, 9.0]])
    observed = BOStrategy(space)._reference(far, front)
    np.testing.assert_allclose(observed, [109.9, 9.8])
    np.testing.assert_allclose(nadir._reference(far, front), [13.9, 5.8])
    # a one-point front: the point plus the margin, which the front's own range (BoTorch's rule) would not give
    np.testing.assert_allclose(nadir._reference(Yall, front[:1]), [1.8, 5.8])


def test_predicted_reference_point_extends_where_the_model_expects_the_front():
    space = ConfigSpace((Integer("a", 0, 3),))
    Yall = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    front = Yall[:3]
    bo = BOStrategy(space, reference="predicted")
    # predicted means of the remaining configurations: their front (3, 2), (6, 0.5) reaches further in the
    # first objective (6 > 4); (20, 20) is dominated and does not count. Worse nadir per objective (6, 5)
    # + 10 % of the observed range (8, 8)
    predicted = np.array([[6.0, 0.5], [3.0, 2.0], [20.0, 20.0]])
    np.testing.assert_allclose(bo._reference(Yall, front, predicted=predicted), [6.8, 5.8])
    # a predicted front inside the observed one leaves the observed front's nadir (as "nadir")
    inside = np.array([[1.5, 2.0], [30.0, 30.0]])
    np.testing.assert_allclose(bo._reference(Yall, front, predicted=inside), [4.8, 5.8])
    np.testing.assert_allclose(bo._reference(Yall, front), [4.8, 5.8])       # no predictions: "nadir"


def test_robust_reference_point_ignores_far_outliers_and_is_the_observed_rule_without_them():
    space = ConfigSpace((Integer("a", 0, 3),))
    Yall = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    front = Yall[:3]
    robust, observed = BOStrategy(space, reference="robust"), BOStrategy(space)
    # no observation beyond Tukey's upper fence: the observed rule, (9, 9) + 10 % of (8, 8)
    np.testing.assert_allclose(robust._reference(Yall, front), observed._reference(Yall, front))
    np.testing.assert_allclose(robust._reference(Yall, front), [9.8, 9.8])
    # a dominated configuration 100 in the first objective: quartiles 2 and 9, fence 9 + 1.5 * 7 = 19.5;
    # it is left out of the first objective's worst value and range (the observed rule would give 109.9)
    far = np.vstack([Yall, [100.0, 9.0]])
    np.testing.assert_allclose(observed._reference(far, front), [109.9, 9.8])
    np.testing.assert_allclose(robust._reference(far, front), [9.8, 9.8])
    # an outlier that is on the front (the only point with the lowest second objective) is still covered:
    # the reference is never short of the front's nadir
    lone = np.array([[1.0, 5.0], [1.5, 4.0], [2.0, 3.0], [2.5, 3.5], [100.0, 0.5]])
    ref = robust._reference(lone, lone[[0, 1, 2, 4]])
    assert ref[0] > 100.0


def test_a_stated_reference_point_replaces_the_rule_per_objective():
    space = ConfigSpace((Integer("a", 0, 3),))
    Yall = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [9.0, 9.0]])
    front = Yall[:3]
    bo = BOStrategy(space, reference={"time": 3.0})
    # time stated (3.0); power, not named, takes the observed rule: 9 + 0.1 * 8
    np.testing.assert_allclose(bo._reference(Yall, front, np.array([3.0, np.nan])), [3.0, 9.8])

    class Fitted:          # what _stated reads of a fitted surrogate: log scale or not, and the transform
        def __init__(self, log):
            self.log_ = log

        def transform(self, y):
            return np.log(y) if self.log_ else np.asarray(y, float)

    class State:
        objectives = ("time", "power")
        maximize = (False, True)

    models = {"time": (Fitted(True),), "power": (Fitted(False),)}
    bo = BOStrategy(space, reference={"time": 0.5, "power": 20.0})
    # the hypervolume is computed minimised on the GP's scale: log(0.5) for time, -20 for the maximised power
    np.testing.assert_allclose(bo._stated(State, models, np.zeros(2, bool)), [np.log(0.5), -20.0])
    # in the objectives' own units (ehvi_units="output"), the value as stated
    np.testing.assert_allclose(bo._stated(State, models, np.ones(2, bool)), [0.5, -20.0])
    bad = BOStrategy(space, reference={"time": -1.0})
    with pytest.warns(UserWarning, match="not positive"):
        assert np.isnan(bad._stated(State, models, np.zeros(2, bool))).all()


def test_a_stated_reference_point_steers_the_search_into_its_box():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):
        return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}

    inside = {True: 0, False: 0}
    for seed in range(4):
        for stated in (True, False):
            study = optimize(evaluate, ["time", "power"], space=space, budget=14, n_init=6, seed=seed,
                             bo_options={"reference": {"time": 2.0, "power": 17.0}} if stated else None)
            res = study.results()
            inside[stated] += int(((res["time"] <= 2.0) & (res["power"] <= 17.0)).sum())
    # the same designs; the model steps of the stated runs look for what improves on (2, 17)
    assert inside[True] > inside[False]


def test_a_stated_reference_point_is_checked_and_kept_with_the_study(tmp_path):
    space = small_space()
    for bad, msg in (({"speed": 1.0}, "names 'speed', which is not an objective"),
                     ({"time": "fast"}, "time = 'fast' is not a number"),
                     ({"time": float("inf")}, "not finite"), ({}, "mapping of objective names")):
        with pytest.raises(OptimisationError, match=msg):
            Study(space, ["time", "power"], bo_options={"reference": bad})
    path = str(tmp_path / "s.sqlite")
    kw = dict(space=space, n_init=4, seed=0, storage=path)
    optimize(Toy(space), ["time", "power"], budget=5, bo_options={"reference": {"time": 20.0}}, **kw).close()
    with pytest.raises(OptimisationError, match="its reference differs"):
        optimize(Toy(space), ["time", "power"], budget=6, resume=True, **kw)
    resumed = optimize(Toy(space), ["time", "power"], budget=6, resume=True,
                       bo_options={"reference": {"time": 20.0}}, **kw)
    assert len(resumed.trials) == 6


def test_bo_options_for_the_hypervolume_units_reference_and_noise_prior():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):
        return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}

    study = optimize(evaluate, ["time", "power"], space=space, budget=12, n_init=6, seed=0,
                     bo_options={"ehvi_units": "output", "reference": "front", "noise_prior": True})
    res = study.results()
    assert list(res["phase"]) == ["design"] * 6 + ["model"] * 6
    assert res[["a", "b"]].drop_duplicates().shape[0] == 12           # never a configuration twice
    for rule in ("nadir", "predicted", "plausible", "robust"):
        res = optimize(evaluate, ["time", "power"], space=space, budget=12, n_init=6, seed=0,
                       bo_options={"reference": rule}).results()
        assert list(res["phase"]) == ["design"] * 6 + ["model"] * 6
        assert res[["a", "b"]].drop_duplicates().shape[0] == 12
    for bad, msg in (({"ehvi_units": "linear"}, "unknown EHVI units 'linear'"),
                     ({"reference": "worst"}, "unknown reference point 'worst'.*nadir")):
        with pytest.raises(OptimisationError, match=msg):
            Study(space, ["time", "power"], bo_options=bad)


def test_bo_kernel_option_reaches_the_surrogate_and_is_checked():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):
        return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}

    runs = {}
    for kernel in ("matern52", "additive"):
        study = optimize(evaluate, ["time", "power"], space=space, budget=12, n_init=6, seed=0,
                         bo_options={"kernel": kernel})
        runs[kernel] = [config_key(t.config) for t in study.trials]
        assert len(set(runs[kernel])) == 12
    assert runs["matern52"][:6] == runs["additive"][:6] and runs["matern52"] != runs["additive"]
    rng = np.random.default_rng(0)
    gp = GPSurrogate(kernel="additive").fit(rng.random((10, 2)), np.exp(rng.random(10)))
    assert gp.gp_.kernel == "additive" and gp.gp_.add_variance.shape == (2,)
    with pytest.raises(OptimisationError, match="unknown kernel 'cubic'"):
        Study(space, ["time", "power"], bo_options={"kernel": "cubic"})
    # the kernel used is recorded with the study: "auto" resolved by the number of objectives
    assert Study(space, ["time", "power"]).settings["kernel"] == "average"
    assert Study(space, ["time"]).settings["kernel"] == "matern52"
    assert Study(space, ["time"], bo_options={"kernel": "additive"}).settings["kernel"] == "additive"
    assert "kernel" not in Study(space, ["time", "power"], strategy="random").settings
    with pytest.raises(OptimisationError, match="unknown kernel 'cubic'"):
        GPSurrogate(kernel="cubic")


def test_kernel_select_keeps_the_kernel_with_the_better_leave_one_out_density():
    rng = np.random.default_rng(0)
    X = rng.random((15, 4))
    fits = {}
    for name, y in {"additive": np.exp(np.sin(6 * X[:, 0]) + np.cos(5 * X[:, 1]) + 2 * X[:, 2] ** 2),
                    "interaction": np.exp(np.sin(4 * X[:, 0] * X[:, 1]) + X[:, 2])}.items():
        loo = {k: GPSurrogate(kernel=k, seed=0).fit(X, y).gp_.loo_log_density() for k in ("matern52", "additive")}
        chosen = GPSurrogate(kernel="select", seed=0).fit(X, y).gp_
        assert chosen.kernel == max(loo, key=loo.get)
        assert chosen.loo_log_density() == pytest.approx(max(loo.values()))
        fits[name] = chosen.kernel
    assert fits["additive"] == "additive"            # an exactly additive response: the first-order terms win


def test_auto_initial_design_is_larger_only_with_prior_means_and_recorded():
    space = small_space()
    truth = {"time": lambda cs: [1.0 + c["a"] for c in cs], "power": lambda cs: [1.0 + c["b"] for c in cs]}
    source = [({"a": a, "b": 2}, {"time": 1.0 + a, "power": 3.0}) for a in range(4)]
    got = {"bo": Study(space, ["time", "power"]),
           "bo with priors": Study(space, ["time", "power"], prior_mean=truth),
           "bo with source data": Study(space, ["time", "power"], bo_options={"source_data": source}),
           "tpe": Study(space, ["time", "power"], strategy="tpe"),
           "random": Study(space, ["time", "power"], strategy="random"),
           "bo, stated": Study(space, ["time", "power"], n_init=3)}
    assert {k: (s.n_init, s.settings["n_init"]) for k, s in got.items()} == {
        "bo": (6, 6), "bo with priors": (10, 10), "bo with source data": (6, 6), "tpe": (10, 10),
        "random": (10, 10), "bo, stated": (3, 3)}
    phases = [t.phase for t in optimize(Toy(space), ["time", "power"], budget=8, seed=1).trials]
    assert phases == ["design"] * 6 + ["model"] * 2


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "six", "AUTO", None])
def test_a_bad_initial_design_size_is_refused_before_the_study_file_is_written(tmp_path, bad):
    path = tmp_path / "s.sqlite"
    with pytest.raises(OptimisationError, match="initial design size must be a positive integer or 'auto'"):
        Study(small_space(), ["time"], n_init=bad, storage=str(path))
    assert not path.exists()


def test_resuming_with_the_auto_design_keeps_the_study_files_own(tmp_path):
    space = small_space()
    path = str(tmp_path / "s.sqlite")
    first = optimize(Toy(space), ["time", "power"], space=space, budget=7, n_init=10, seed=0, storage=path)
    assert [t.phase for t in first.trials] == ["design"] * 7
    before = (tmp_path / "s.sqlite").read_bytes()
    with pytest.raises(OptimisationError, match="its n_init differs"):   # a stated size must match
        optimize(Toy(space), ["time", "power"], space=space, budget=12, n_init=6, seed=0, storage=path, resume=True)
    assert (tmp_path / "s.sqlite").read_bytes() == before
    resumed = optimize(Toy(space), ["time", "power"], space=space, budget=12, seed=0, storage=path, resume=True)
    assert resumed.n_init == 10 and resumed.settings["n_init"] == 10
    assert [t.phase for t in resumed.trials] == ["design"] * 10 + ["model"] * 2
    assert [t.config for t in resumed.trials[:7]] == [t.config for t in first.trials]


# ------------------------------------------------------------------------- steps next to the front
def test_neighbours_are_one_level_step_on_the_gp_inputs():
    cands = Candidates(core_space())
    centre = {"c1": 1, "c2": 0, "c3": 0, "freq": 200}
    got = cands.neighbours([centre], cands.configs)
    names = {(c["c1"] + c["c2"] + c["c3"], c["freq"]) for c, g in zip(cands.configs, got) if g}
    # one core more or fewer (the linked flags are one input), or one frequency level up or down
    assert names == {(0, 200), (2, 200), (1, 100), (1, 400)}
    # two centres: the union, never a centre itself (distance 0) and never a diagonal step
    other = {"c1": 1, "c2": 1, "c3": 1, "freq": 800}
    got = cands.neighbours([centre, other], cands.configs)
    names = {(c["c1"] + c["c2"] + c["c3"], c["freq"]) for c, g in zip(cands.configs, got) if g}
    assert names == {(0, 200), (2, 200), (1, 100), (1, 400), (2, 800), (3, 400)}
    assert not cands.neighbours([], cands.configs).any()


def test_local_steps_pick_next_to_the_observed_front_and_are_checked():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):
        return {"time": (1 + c["a"]) * (7 - c["b"]) / 6, "power": (1 + c["b"] ** 2) * (1 + 0.1 * c["a"])}

    study = optimize(evaluate, ["time", "power"], space=space, budget=16, n_init=6, seed=1,
                     bo_options={"local": "all"})
    cands = Candidates(space)
    for k in range(6, 16):               # every model step is one level from the front observed before it
        done = study.trials[:k]
        Y = np.array([[t.outputs["time"], t.outputs["power"]] for t in done])
        front = [t.config for t, keep in zip(done, non_dominated(Y)) if keep]
        assert cands.neighbours(front, [study.trials[k].config])[0]
    plain = optimize(evaluate, ["time", "power"], space=space, budget=16, n_init=6, seed=1)
    assert [config_key(t.config) for t in plain.trials[:6]] == [config_key(t.config) for t in study.trials[:6]]
    with pytest.raises(OptimisationError, match="unknown local steps 'near'"):
        Study(space, ["time", "power"], bo_options={"local": "near"})


def test_extreme_steps_take_each_objectives_own_best_in_turn():
    space = ConfigSpace((Integer("a", 0, 7), Ordinal("b", (1, 2, 3, 4, 5, 6))))

    def evaluate(c):            # time falls with both knobs, power rises: the ends are (7, 6) and (0, 1)
        return {"time": 1 + (7 - c["a"]) + 0.5 * (6 - c["b"]), "power": 1 + c["a"] + c["b"]}

    grid = list(space.grid())
    for seed in range(3):
        study = optimize(evaluate, ["time", "power"], space=space, budget=10, n_init=6, seed=seed,
                         bo_options={"extremes": 2})
        trials = study.trials
        # model steps 2 and 4 (trials 7 and 9): time's step, then power's
        assert (trials[7].config["a"], trials[7].config["b"]) == (7, 6)
        left = [c for c in grid if config_key(c) not in {config_key(t.config) for t in trials[:9]}]
        assert trials[9].outputs["power"] == min(evaluate(c)["power"] for c in left)
        plain = optimize(evaluate, ["time", "power"], space=space, budget=10, n_init=6, seed=seed)
        assert [config_key(t.config) for t in plain.trials[:7]] == [config_key(t.config) for t in trials[:7]]
        # the hypervolume acquisition alone does not go to the fast end within these steps
        assert (7, 6) not in [(t.config["a"], t.config["b"]) for t in plain.trials]
    for bad in (-1, 1.5, True):
        with pytest.raises(OptimisationError, match="extremes must be a whole number"):
            Study(space, ["time", "power"], bo_options={"extremes": bad})


# ------------------------------------------------------------------------- a monotone prior of its own
def test_monotone_basis_is_each_input_as_a_ratio_and_its_inverse():
    cands = Candidates(core_space())
    configs = [{"c1": 0, "c2": 0, "c3": 0, "freq": 100}, {"c1": 1, "c2": 1, "c3": 0, "freq": 400},
               {"c1": 1, "c2": 1, "c3": 1, "freq": 800}]
    B = cands.monotone_basis(configs)
    # columns: constant; cores n / 4, 1 / n (n = 1 + flags set); freq f / 800, 100 / f
    np.testing.assert_allclose(B, [[1, 1 / 4, 1, 100 / 800, 1],
                                   [1, 3 / 4, 1 / 3, 400 / 800, 100 / 400],
                                   [1, 1, 1 / 4, 1, 100 / 800]])


def test_monotone_prior_is_exact_for_a_monotone_output_and_left_out_where_evaluated():
    from perfmodel.optimisation.bo import monotone_prior

    cands = Candidates(core_space())
    cfgs = cands.configs
    B = cands.monotone_basis(cfgs)
    n = np.array([1 + c["c1"] + c["c2"] + c["c3"] for c in cfgs], dtype=float)
    f = np.array([c["freq"] for c in cfgs], dtype=float)
    y = 0.2 + 30.0 / f + 0.5 * n / 4          # falls with the clock, rises with the cores
    done = list(range(0, len(cfgs), 2))
    loo, cand = monotone_prior(B[done], y[done], B)
    np.testing.assert_allclose(cand, y, rtol=1e-6)
    np.testing.assert_allclose(loo, y[done], rtol=1e-5)   # every term is needed by other points too
    # a point the others cannot explain keeps its own value out of its left-out prediction
    y_odd = y[done].copy()
    y_odd[3] *= 5.0
    loo_odd, _ = monotone_prior(B[done], y_odd, B)
    assert abs(loo_odd[3] - y_odd[3]) > 0.5 * abs(y_odd[3] - y[done][3])
    # never below a millionth of the median (the GP's log scale must hold it)
    loo_neg, cand_neg = monotone_prior(B[done], -y[done], B)
    assert np.all(loo_neg > 0) and np.all(cand_neg > 0)


def test_monotone_mean_is_offered_checked_and_kept_by_the_evidence_where_it_fits():
    space = core_space()

    def evaluate(c):
        n = 1 + c["c1"] + c["c2"] + c["c3"]
        return {"time": 0.2 + 30.0 / c["freq"] + 0.02 * n, "power": 1.0 + c["freq"] / 100 + 2.0 * n}

    study = optimize(evaluate, ["time", "power"], space=space, budget=10, n_init=6, seed=0,
                     bo_options={"mean": "monotone"})
    weights = study.prior_weights()
    assert set(weights) == {"time", "power"}                      # the monotone fit became each output's prior
    assert all(w > 0.5 for w in weights.values())                  # and the evidence kept it
    assert optimize(evaluate, ["time", "power"], space=space, budget=10, n_init=6, seed=0).prior_weights() == {}
    with pytest.raises(OptimisationError, match="unknown mean 'linear'"):
        Study(space, ["time", "power"], bo_options={"mean": "linear"})


# ------------------------------------------------------------------------------- the front outlook
def test_front_outlook_compares_the_observed_front_with_the_models_view_of_the_rest():
    space = small_space()
    study = optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0)
    got = study.front_outlook()
    assert got["remaining"] == space.size - 8
    assert 0 < got["found_share_optimistic"] <= got["found_share_mean"] <= 1.0
    assert got["found_share_optimistic"] < 1.0          # the 95 % band's better end improves somewhere

    # evaluated everywhere: nothing is left, and the shares say so without fitting anything
    full = optimize(Toy(space), ["time", "power"], space=space, budget=space.size, n_init=6, seed=0)
    assert full.front_outlook() == {"found_share_mean": 1.0, "found_share_optimistic": 1.0, "remaining": 0}
    strategy = study._strategy
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(OptimisationError, match="band's half-width"):
            strategy.front_outlook(study._state(), z=bad)
    assert strategy.front_outlook(study._state(), z=0.0)["found_share_optimistic"] == pytest.approx(
        got["found_share_mean"])                                  # no band: the optimistic share is the mean's


def test_front_outlook_needs_a_feasible_evaluation():
    space = small_space()
    bound = optimize(Toy(space), ["time", "power"], space=space, budget=10, n_init=6, seed=0,
                     constraints=["other <= 1"])                # every configuration breaks it (other = 3)
    assert bound.front_outlook() is None                       # no feasible evaluation: no front to judge
    loose = optimize(Toy(space), ["time", "power"], space=space, budget=10, n_init=6, seed=0,
                     constraints=["other <= 5"])                # every configuration meets it
    assert loose.front_outlook()["remaining"] == space.size - 10


def test_front_outlook_applies_to_the_gp_with_two_or_more_objectives_only():
    space = small_space()
    assert optimize(Toy(space), ["time"], space=space, budget=8, n_init=6, seed=0).front_outlook() is None
    assert optimize(Toy(space), ["time", "power"], space=space, budget=8, seed=0,
                    strategy="random").front_outlook() is None
    assert optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0,
                    acquisition="parego").front_outlook() is None


# ------------------------------------------------------------------------------------------- the fit quality
def test_fit_quality_tells_an_output_the_knobs_set_from_one_they_do_not():
    space = small_space()
    rng = np.random.default_rng(3)
    noise = {config_key(c): float(np.exp(rng.normal(0.0, 0.5))) for c in space.grid()}

    def evaluate(c):   # time: set by the knobs; heat: a recorded value the knobs do not explain
        return {"time": 1.0 + (c["a"] - 6) ** 2 + 0.5 * (c["b"] - 5) ** 2, "heat": noise[config_key(c)]}

    study = optimize(evaluate, ["time", "heat"], space=space, budget=20, n_init=6, seed=0)
    got = study.fit_quality()
    assert set(got) == {"time", "heat"}
    assert got["time"] > 0.9 and got["heat"] < 0.3
    assert study.n_told == 20 and len(study.results()) == 20          # looking evaluates nothing
    # constrained outputs are modelled too; strategies without a surrogate and studies with one evaluation
    # have nothing to say
    constrained = optimize(Toy(space), ["time"], space=space, budget=8, n_init=6, seed=0,
                           constraints=["power <= 9"])
    assert set(constrained.fit_quality()) == {"time", "power"}
    assert optimize(Toy(space), ["time", "power"], space=space, budget=8, seed=0,
                    strategy="random").fit_quality() == {}
    assert optimize(Toy(space), ["time"], space=space, budget=1, n_init=6, seed=0).fit_quality() == {}
    X = np.array([[0.0], [0.5], [1.0], [0.25]])
    assert np.isnan(GPSurrogate(seed=0).fit(X[:2], np.array([1.0, 2.0])).loo_r2_)      # too few to say
    assert np.isnan(GPSurrogate(seed=0).fit(X, np.full(4, 3.0)).loo_r2_)               # nothing to explain


def test_fit_quality_does_not_change_the_run():
    space = small_space()
    plain = optimize(Toy(space), ["time", "power"], space=space, budget=10, n_init=6, seed=1)
    looked = Study(space, ["time", "power"], seed=1, n_init=6)
    toy = Toy(space)
    while looked.n_told < 10:
        trial = looked.ask()
        looked.tell(trial, toy.evaluate(dict(trial.config)))
        if looked.n_told >= 6:
            looked.fit_quality()
    assert [t.config for t in looked.trials] == [t.config for t in plain.trials]


# ------------------------------------------------------------------------------------ extending the budget
def _scripted_outlook(monkeypatch, shares):
    """Study.front_outlook answering the given mean shares in turn (then the last one again)."""
    seen = []

    def outlook(self):
        seen.append(self.n_told)
        share = shares[min(len(seen), len(shares)) - 1]
        return {"found_share_mean": share, "found_share_optimistic": share, "remaining": 1}

    monkeypatch.setattr(Study, "front_outlook", outlook)
    return seen


def test_extend_to_goes_on_while_the_outlook_expects_more_and_stops_when_it_does_not(monkeypatch):
    space = small_space()
    seen = _scripted_outlook(monkeypatch, [0.99, 0.995, 1.0 - 5e-5])
    study = optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0, extend_to=30,
                     extend_step=3)
    assert seen == [8, 11, 14]                                  # a look at the budget, then every 3 evaluations
    assert study.n_told == 14                                   # 0.005 % left < the default 0.01 %: stop
    assert study.extension == [(8, 0.99), (11, 0.995), (14, 1.0 - 5e-5)]
    # a larger gain threshold stops at the first look
    _scripted_outlook(monkeypatch, [0.99])
    assert optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0, extend_to=30,
                    extend_gain=0.02).n_told == 8


def test_extend_to_is_the_most_evaluated_and_batches_keep_to_it(monkeypatch):
    space = small_space()
    seen = _scripted_outlook(monkeypatch, [0.9])                # always expects more
    study = optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0, extend_to=15,
                     extend_step=3, batch_size=2)
    assert study.n_told == 15 and seen == [8, 11, 14]           # the last step is cut to the cap
    toy = Toy(space)
    _scripted_outlook(monkeypatch, [0.9])
    big = optimize(toy, ["time", "power"], space=space, budget=40, n_init=6, seed=0, extend_to=500)
    assert big.n_told == space.size and max(toy.calls.values()) == 1   # capped at the space, nothing twice


def test_extend_to_with_the_real_outlook_stops_only_where_the_model_expects_little():
    space = small_space()
    study = optimize(Toy(space), ["time", "power"], space=space, budget=8, n_init=6, seed=0, extend_to=24,
                     extend_step=4)
    looks = study.extension
    assert looks and looks[0][0] == 8 and all(0 < s <= 1 for _, s in looks)
    assert all(s < 1 - 1e-4 for _, s in looks[:-1])            # every look but the last went on
    assert [n for n, _ in looks] == list(range(8, 8 + 4 * len(looks), 4))
    last_n, last_share = looks[-1]
    assert study.n_told == (last_n if last_share >= 1 - 1e-4 else 24)


@pytest.mark.parametrize("kwargs, match", [
    ({"extend_to": 5}, "at least the budget"),
    ({"extend_to": 20.5}, "at least the budget"),
    ({"extend_to": 20, "extend_gain": 0.0}, r"share in \(0, 1\)"),
    ({"extend_to": 20, "extend_gain": 1.0}, r"share in \(0, 1\)"),
    ({"extend_to": 20, "extend_step": 0}, "positive integer"),
    ({"extend_to": 20, "objectives": ["time"]}, "two or more objectives"),
    ({"extend_to": 20, "strategy": "random"}, "the bo strategy"),
    ({"extend_to": 20, "acquisition": "parego"}, "not ParEGO"),
])
def test_extend_to_refuses_what_it_cannot_do_before_anything_is_stored(tmp_path, kwargs, match):
    space = small_space()
    kwargs = dict(kwargs)
    objectives = kwargs.pop("objectives", ["time", "power"])
    storage = tmp_path / "study.sqlite"
    toy = Toy(space)
    with pytest.raises(OptimisationError, match=match):
        optimize(toy, objectives, space=space, budget=8, n_init=6, seed=0, storage=str(storage), **kwargs)
    assert not storage.exists() and not toy.calls


def test_front_outlook_uses_a_stated_reference_point():
    from perfmodel.optimisation.bo import observed_reference

    space = small_space()
    study = optimize(Toy(space), ["time", "power"], space=space, budget=10, n_init=6, seed=0)
    strategy, state = study._strategy, study._state()
    rule = study.front_outlook()
    ref = observed_reference(study.results()[["time", "power"]].to_numpy(float))
    strategy.reference = {"time": float(ref[0]), "power": float(ref[1])}    # the rule's own point, stated
    same = strategy.front_outlook(state)
    assert same["found_share_mean"] == pytest.approx(rule["found_share_mean"])
    assert same["found_share_optimistic"] == pytest.approx(rule["found_share_optimistic"])
    strategy.reference = {"time": float(ref[0]) * 50}                       # looser in time; power keeps the rule
    loose = strategy.front_outlook(state)
    assert loose["found_share_optimistic"] != pytest.approx(rule["found_share_optimistic"])
    assert 0 < loose["found_share_optimistic"] <= loose["found_share_mean"] <= 1


def test_extend_to_goes_on_while_no_evaluation_is_feasible():
    space = small_space()
    study = optimize(Toy(space), ["time", "power"], space=space, budget=6, n_init=6, seed=0, extend_to=12,
                     extend_step=3, constraints=["other <= 1"])          # nothing meets it (other = 3)
    assert study.n_told == 12 and study.extension == [(6, 0.0), (9, 0.0)]


def test_repr_says_what_a_study_searches_and_how_far_it_got(tmp_path):
    space = ConfigSpace((Integer("threads", 1, 4),))
    path = str(tmp_path / "s.sqlite")
    with Study(space, ["runtime_s"], constraints=["power_w<=15"], strategy="random", storage=path) as study:
        assert repr(study) == f"<Study random ['runtime_s'] where ['power_w<=15']: 0 told, 0 complete, file {path}>"
        study.tell(study.ask(), {"runtime_s": 0.1, "power_w": 9.0})
        study.tell(study.ask(), error="timed out")
        study.ask()
        assert repr(study).endswith(f": 2 told, 1 complete, file {path}>")
    assert repr(study) == "<Study random ['runtime_s'] where ['power_w<=15']: 2 told, 1 complete>"
