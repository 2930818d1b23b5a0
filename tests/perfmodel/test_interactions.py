"""perfmodel.interactions: recovery of known equations, sympy rendering, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
import sympy
from sklearn.base import clone

from perfmodel.errors import DataError, ModelError
from perfmodel.interactions import InteractionModel, fit_equation

TRUE = {"1": 3.0, "a": 2.0, "b": -1.5, "a*b": 0.8, "a*b*c": 0.5, "c**2": 1.2}


def _synthetic(n=240, noise=0.3, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({k: rng.uniform(-2, 2, n) for k in "abcd"})  # d is a spurious knob
    a, b, c = df.a, df.b, df.c
    df["y"] = 3 + 2 * a - 1.5 * b + 0.8 * a * b + 0.5 * a * b * c + 1.2 * c**2 + rng.normal(0, noise, n)
    return df


@pytest.fixture(scope="module")
def fitted():
    return fit_equation(_synthetic(seed=2), list("abcd"), "y")


def test_recovers_true_terms_within_confidence_intervals(fitted):
    t = fitted.terms_.set_index("term")
    assert fitted.degree_ == 3
    assert set(t.index) == set(TRUE), f"terms {sorted(t.index)}"  # no spurious term, none missing
    for term, true in TRUE.items():
        row = t.loc[term]
        assert np.sign(row.coefficient) == np.sign(true)
        assert row.ci_low <= true <= row.ci_high, (term, row.ci_low, true, row.ci_high)
        assert row.p_value < 1e-3
    assert fitted.r2_ > 0.98
    assert fitted.cv_error_ < 0.45  # noise std is 0.3


def test_spurious_terms_are_rare_and_small_across_seeds(fitted):
    spurious = []
    for seed in (1, 3, 4):
        m = fit_equation(_synthetic(seed=seed), list("abcd"), "y")
        terms = set(m.terms_["term"])
        assert set(TRUE) <= terms, f"seed {seed}: missing {set(TRUE) - terms}"
        extra = m.terms_[~m.terms_["term"].isin(list(TRUE))]
        spurious += list(zip(extra["term"], extra["coefficient"]))
    # p-values after selection are optimistic; we allow one small false positive in 3 x ~30 candidates
    assert len(spurious) <= 1, spurious
    assert all(abs(c) < 0.1 for _, c in spurious), spurious


def test_contributions_rank_main_effects_and_sum_to_one(fitted):
    eff = fitted.effects_
    assert eff["share"].sum() == pytest.approx(1.0)
    assert eff["effect"].iloc[0] == "a"  # 2a over [-2, 2] has the largest variance
    assert set(eff.loc[eff["share"].abs() > 0.01, "effect"]) == {"a", "b", "c", "a×b", "a×b×c"}
    assert eff.set_index("effect").loc["a×b×c", "knobs"] == 3


def test_effects_do_not_depend_on_where_the_knobs_start():
    """Centred effects: shifting every knob by +5 changes the natural-unit terms, not the effects."""
    df = _synthetic(seed=2)
    base = fit_equation(df, list("abcd"), "y").effects_.set_index("effect")["share"]
    shifted = df.copy()
    shifted[list("abcd")] += 5
    moved = fit_equation(shifted, list("abcd"), "y").effects_.set_index("effect")["share"]
    for effect in ("a", "b", "c", "a×b"):
        assert moved[effect] == pytest.approx(base[effect], abs=0.05)


def test_sympy_expression_reproduces_predict(fitted):
    df = _synthetic(n=7, seed=5)
    pred = fitted.predict(df)
    syms = fitted.symbols()
    for i in range(len(df)):
        value = fitted.expression_.subs({syms[k]: df[k].iloc[i] for k in syms})
        assert float(value) == pytest.approx(pred[i], rel=1e-10, abs=1e-10)
    assert np.allclose(fitted.to_callable()(df), pred, rtol=1e-10, atol=1e-10)
    # the expression is written in the knob names
    assert {s.name for s in fitted.expression_.free_symbols} == {"a", "b", "c"}
    assert fitted.text().startswith("y = ")
    assert r"\mathrm{a}" in fitted.latex()


def test_standardized_units_equivalent_and_reproducible():
    df = _synthetic()
    m = fit_equation(df, list("abcd"), "y", units="standardized")
    new = _synthetic(n=9, seed=7)
    pred = m.predict(new)
    syms = m.symbols()
    mean = dict(zip(m.encoding_.variables, m.mean_))
    scale = dict(zip(m.encoding_.variables, m.scale_))
    for i in range(len(new)):
        z = {syms[k]: (new[k].iloc[i] - mean[k]) / scale[k] for k in syms}
        assert float(m.expression_.subs(z)) == pytest.approx(pred[i], rel=1e-9, abs=1e-9)
        nat = m.expression("natural").subs({syms[k]: new[k].iloc[i] for k in syms})
        assert float(nat) == pytest.approx(pred[i], rel=1e-8, abs=1e-8)
    assert np.allclose(m.to_callable()(new), pred)
    # the natural-units equation recovers the true a*b coefficient
    coeffs = sympy.Poly(m.expression("natural"), *[syms[k] for k in "abc"]).as_dict()
    assert coeffs[(1, 1, 0)] == pytest.approx(0.8, abs=0.1)


def test_degree_cv_chooses_one_for_a_linear_truth():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.uniform(0, 10, 80), "z": rng.uniform(0, 1, 80)})
    df["y"] = 1 + 0.5 * df.x - 2 * df.z + rng.normal(0, 0.1, 80)
    m = fit_equation(df, ["x", "z"], "y")
    assert m.degree_ == 1
    assert set(m.terms_["term"]) == {"1", "x", "z"}


def test_fixed_degree_and_too_few_rows():
    df = _synthetic(n=12)
    with pytest.raises(DataError, match="too few rows"):
        fit_equation(df, list("abcd"), "y", degree=3)
    m = fit_equation(df, list("abcd"), "y", degree="cv")  # tries only the degrees the rows allow
    assert m.degree_ <= 2
    assert any("not tried" in n for n in m.notes_)


def test_a_degree_with_more_candidate_terms_than_rows_is_not_tried():
    """12 knobs on 60 rows: degree 2 has 12 + 78 = 90 candidate terms, more than the rows (a fit that took
    minutes on a 26-knob table selected nothing the rows could support)."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({f"k{i}": rng.uniform(0, 1, 60) for i in range(12)})
    df["y"] = 2 * df.k0 - df.k1 + rng.normal(0, 0.05, 60)
    knobs = [f"k{i}" for i in range(12)]
    m = fit_equation(df, knobs, "y")
    assert m.degree_ == 1 and list(m.cv_errors_) == [1]
    assert "degree(s) 2, 3 not tried: too few rows (60; degree 2 needs 92)" in m.notes_
    assert {"k0", "k1"} <= set(m.terms_["term"])
    with pytest.raises(DataError, match=r"too few rows \(60\) for a degree-2 equation of 12 knob variable\(s\): "
                                        r"at least 92 needed"):
        fit_equation(df, knobs, "y", degree=2)


@pytest.mark.parametrize("levels,degree", [((2, 2, 2), 3), ((2, 3, 10, 1), 3), ((50,) * 6, 4), ((2, 7), 1)])
def test_terms_are_counted_as_the_monomials_built(levels, degree):
    """The rows a degree needs are counted without building its terms, and the count is what is built."""
    from perfmodel.interactions.design import count_terms, monomials

    x = pd.DataFrame({f"v{i}": np.arange(60) % n for i, n in enumerate(levels)})
    assert count_terms(x, degree) == len(monomials(x, degree).powers)


def test_a_degree_not_tried_is_not_built():
    """200 variables: degree 3 has 1.37 million terms (2 GB of exponents); only its count is needed to skip it."""
    from perfmodel.interactions.design import count_terms, rows_needed

    import tracemalloc

    x = pd.DataFrame(np.random.default_rng(0).uniform(size=(50, 200)))
    tracemalloc.start()
    try:
        need = rows_needed(x, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert need == 200 + 200 * 201 // 2 + 200 * 201 * 202 // 6 + 2
    assert peak < 20e6, f"{peak / 1e6:.0f} MB to count the terms"
    assert count_terms(x, 2) == 200 + 200 * 201 // 2


def test_constant_and_collinear_knobs_are_dropped_with_a_note():
    df = _synthetic(n=120)
    df["const"] = 5.0
    df["twice_a"] = 2 * df.a + 1
    m = fit_equation(df, ["a", "b", "c", "const", "twice_a"], "y")
    assert m.encoding_.dropped == {"const": "constant", "twice_a": "collinear"}
    assert any("constant" in n for n in m.notes_) and any("collinear" in n for n in m.notes_)
    assert "twice_a" not in str(m.expression_)


def test_non_numeric_knob_is_one_hot_encoded():
    rng = np.random.default_rng(4)
    n = 150
    df = pd.DataFrame({"mode": rng.choice(["eco", "fast", "std"], n), "f": rng.uniform(1, 2, n)})
    effect = df["mode"].map({"eco": 0.0, "fast": -1.0, "std": -0.4})
    df["y"] = 2 + effect + 0.7 * df.f + rng.normal(0, 0.05, n)
    m = fit_equation(df, ["mode", "f"], "y", degree=1)
    t = m.terms_.set_index("term")
    assert t.loc["mode_fast", "coefficient"] == pytest.approx(-1.0, abs=0.05)
    assert t.loc["mode_std", "coefficient"] == pytest.approx(-0.4, abs=0.05)
    assert "mode" in set(m.effects_["effect"])
    assert np.allclose(m.to_callable()(df), m.predict(df))
    with pytest.raises(DataError, match="level 'turbo'"):
        m.predict(pd.DataFrame({"mode": ["turbo"], "f": [1.5]}))


def test_nan_objective_rows_are_left_out_with_a_note():
    df = _synthetic(n=150)
    df.loc[[3, 10, 50], "y"] = np.nan
    m = fit_equation(df, list("abc"), "y")
    assert m.n_rows_ == 147
    assert any("3 row(s)" in n for n in m.notes_)
    df["y"] = np.nan
    with pytest.raises(DataError, match="no finite value"):
        fit_equation(df, list("abc"), "y")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"degree": 0}, ModelError, "degree"),
    ({"units": "kelvin"}, ModelError, "units"),
    ({"cv": 1}, ModelError, "cv"),
])
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_equation(_synthetic(n=60), list("ab"), "y", **kwargs)


def test_bad_columns():
    df = _synthetic(n=60)
    with pytest.raises(DataError, match="objective column 'zz'"):
        fit_equation(df, ["a"], "zz")
    with pytest.raises(DataError, match="knob 'q'"):
        fit_equation(df, ["a", "q"], "y")
    df["y"] = 1.0
    with pytest.raises(DataError, match="constant"):
        fit_equation(df, ["a"], "y")


def test_to_dict_is_json_and_complete(fitted):
    d = json.loads(json.dumps(fitted.to_dict(), allow_nan=False))
    assert d["format"] == "perfmodel.interaction-equation" and d["version"] == 1
    assert d["degree"] == 3
    assert {"coefficient", "std_error", "p_value", "ci_low", "ci_high"} <= set(d["terms"][0])
    expr = sympy.sympify(d["expression"], locals={k: sympy.Symbol(k, real=True) for k in "abcd"})
    df = _synthetic(n=3, seed=9)
    syms = fitted.symbols()
    for i in range(3):
        v = float(expr.subs({syms[k]: df[k].iloc[i] for k in syms}))
        assert v == pytest.approx(fitted.predict(df)[i], rel=1e-9)
    assert {"r2", "cv_rmse", "cv_rmse_by_degree"} <= set(d["fit"])


def test_estimator_contract():
    m = InteractionModel(knobs=["a"], degree=2, p_max=None)
    assert clone(m).get_params() == m.get_params()
    with pytest.raises(ModelError, match="not fitted"):
        m.predict(pd.DataFrame({"a": [1.0]}))
    df = _synthetic(n=60)
    m.fit(df[["a", "b"]], df["y"])
    assert m.objective_ == "y" and m.degree_ == 2
