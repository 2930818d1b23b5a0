"""Shape_DNN design space, parameter counts, strategies and accuracy model (no TensorFlow)."""

from fractions import Fraction as F

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from perfmodel.errors import ConfigError
from perfmodel.shape import (MODELLING, PRESETS, InversePolynomialAccuracy, Shape, ShapeSpace, channels,
                             count_params, inverse_features, n_to_train, select)


@pytest.mark.parametrize("name,size", [("A", 135), ("B", 45), ("C", 180), ("D1", 119), ("D2", 119)])
def test_presets_have_the_sizes_of_seed_002_table_2(name, size):
    space, _ = PRESETS[name]
    assert len(space) == size == len(space.shapes())


def test_parse_fractions_and_half_open_ranges():
    s = ShapeSpace.parse("10:23:6", "1/16:1/4:1/16")
    assert s.depths == (10, 16, 22)
    assert s.widths == (F(1, 16), F(1, 8), F(3, 16))
    assert all(isinstance(w, F) for w in s.widths)


@pytest.mark.parametrize("depth,width,msg", [
    ("11:30:6", "1:2:1", r"6n\+4"), ("10:30:5", "1:2:1", r"6n\+4"), ("10:30", "1:2:1", "MIN:MAX:STEP"),
    ("10:30:6", "2:1:1", "empty design space"), ("10:30:6", "0:1:1/4", "width_min"), ("10:30:6", "a:1:1", "fraction"),
])
def test_bad_ranges_are_named(depth, width, msg):
    with pytest.raises(ConfigError, match=msg):
        ShapeSpace.parse(depth, width)


def test_size_is_linear_in_depth_and_grows_about_quadratically_in_width():
    # Seed 002, Sec. 3.5: linear in depth; proportional to the square of the width.
    p = [count_params(Shape(d, F(2))) for d in (10, 16, 22, 28)]
    assert len(set(np.diff(p))) == 1 and p[1] > p[0]
    r = count_params(Shape(28, F(8))) / count_params(Shape(28, F(4)))
    assert 3.5 < r < 4.1


def test_thin_widths_keep_at_least_one_channel():
    assert channels(Shape(10, F(1, 64))) == (1, 1, 1)
    assert channels(Shape(10, F(1, 16))) == (1, 2, 4)


def test_modelling_strategies_train_decreasing_fractions():
    for n in (12, 40, 135):
        t, s, o = (n_to_train(n, m) for m in ("thorough", "standard", "optimistic"))
        assert n >= t >= s >= o >= 1
    # Large spaces: at most 1/3, 1/4, 1/5 trained (speed-ups up to 3x, 4x, 5x in Shape_DNN).
    assert [n_to_train(180, m) for m in MODELLING] == [60, 45, 36]
    assert n_to_train(3, "optimistic") == 3
    with pytest.raises(ConfigError, match="modelling"):
        n_to_train(10, "lazy")


def test_sampling_strategies():
    shapes = ShapeSpace.parse("10:35:6", "1:5:1").shapes()  # 5 depths x 4 widths
    interval = select(shapes, 5, "interval")
    assert len(interval) == 5 and {s.width for s in interval} == {F(1), F(2), F(3), F(4)}
    wider = select(shapes, 4, "wider")
    assert all(s.depth == 10 for s in wider)  # the shallow shapes of every width come first
    r1, r2 = select(shapes, 6, "random", seed=3), select(shapes, 6, "random", seed=3)
    assert r1 == r2 and len(set(r1)) == 6
    assert select(shapes, 50, "interval") == sorted(shapes, key=lambda s: (s.width, s.depth))
    with pytest.raises(ConfigError, match="sampling"):
        select(shapes, 3, "grid")


def test_accuracy_model_recovers_an_inverse_polynomial():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.choice([10, 16, 22, 28, 34, 40], 40), rng.uniform(0.25, 4, 40)])
    v = rng.normal(0, 0.05, 9)
    y = 0.9 + inverse_features(X) @ v
    est = InversePolynomialAccuracy(clip=False).fit(X, y)
    Xn = np.array([[46.0, 0.7], [13.0, 2.2]])
    assert np.allclose(est.predict(Xn), 0.9 + inverse_features(Xn) @ v, atol=1e-6)
    assert est.coef_.shape == (9,) and est.n_features_in_ == 2


def test_accuracy_model_estimator_contract():
    est = InversePolynomialAccuracy(alpha=0.5)
    assert clone(est).get_params() == {"alpha": 0.5, "clip": True}
    with pytest.raises(NotFittedError):
        est.predict([[10, 1]])
    X = [[10, 1], [16, 1], [10, 2], [22, 2], [28, 3]]
    y = [0.8, 0.85, 0.9, 0.95, 2.0]
    pred = est.fit(X, y).predict(X)
    assert pred.max() <= 1.0  # clipped to a fraction
    with pytest.raises(ValueError):
        InversePolynomialAccuracy().fit([[10, 1, 3], [16, 2, 3]], [0.5, 0.6])
    with pytest.raises(ValueError):
        InversePolynomialAccuracy(alpha=-1).fit(X, y)
