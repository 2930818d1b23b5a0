"""Pareto utilities against brute force."""

import itertools

import numpy as np
import pytest

from perfmodel.errors import DataError
from perfmodel.pareto import (hypervolume, hypervolume_improvement, non_dominated, nondominated_boxes,
                              pareto_front, to_minimisation)


def brute_non_dominated(Y):
    n = len(Y)
    keep = []
    for i in range(n):
        dominated = any(np.all(Y[j] <= Y[i]) and np.any(Y[j] < Y[i]) for j in range(n) if j != i)
        keep.append(not dominated)
    return np.array(keep)


def brute_hypervolume(Y, ref):
    """Sum the cells of the grid spanned by all coordinates that some point dominates."""
    Y = np.asarray(Y, float)
    Y = Y[np.all(Y < ref, axis=1)]
    if len(Y) == 0:
        return 0.0
    d = Y.shape[1]
    axes = [np.unique(np.append(Y[:, j], ref[j])) for j in range(d)]
    total = 0.0
    for idx in itertools.product(*(range(len(a) - 1) for a in axes)):
        lo = np.array([axes[j][i] for j, i in enumerate(idx)])
        hi = np.array([axes[j][i + 1] for j, i in enumerate(idx)])
        if np.any(np.all(Y <= lo, axis=1)):
            total += float(np.prod(hi - lo))
    return total


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(4))
def test_non_dominated_matches_brute_force(d, seed):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 6, size=(40, d)).astype(float)   # small integers: many ties and duplicates
    np.testing.assert_array_equal(non_dominated(Y), brute_non_dominated(Y))


def test_identical_points_are_all_kept_and_front_is_deduplicated():
    Y = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 3.0]])
    assert non_dominated(Y).tolist() == [True, True, False]
    assert pareto_front(Y).tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("d,n", [(2, 30), (3, 15), (4, 8)])
@pytest.mark.parametrize("seed", range(3))
def test_hypervolume_matches_brute_force(d, n, seed):
    rng = np.random.default_rng(seed)
    Y = rng.random((n, d))
    ref = np.full(d, 1.1)
    assert hypervolume(Y, ref) == pytest.approx(brute_hypervolume(Y, ref), rel=1e-10)


def test_hypervolume_by_hand():
    assert hypervolume([[1.0, 1.0]], [2.0, 3.0]) == pytest.approx(2.0)
    # two points: union of [1,3]x[2,3] and [2,3]x[1,3] = 2 + 2 - 1
    assert hypervolume([[1.0, 2.0], [2.0, 1.0]], [3.0, 3.0]) == pytest.approx(3.0)
    assert hypervolume([[5.0, 0.0]], [3.0, 3.0]) == 0.0    # beyond the reference
    assert hypervolume(np.empty((0, 2)), [1.0, 1.0]) == 0.0


def test_hypervolume_rejects_nan_and_wrong_reference():
    with pytest.raises(DataError):
        hypervolume([[np.nan, 1.0]], [2.0, 2.0])
    with pytest.raises(DataError):
        hypervolume([[1.0, 1.0]], [2.0, 2.0, 2.0])


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_boxes_tile_the_non_dominated_region(d):
    rng = np.random.default_rng(d)
    F = rng.random((12, d))
    ref = np.full(d, 1.2)
    lower, upper = nondominated_boxes(F, ref)
    floor = np.full(d, -0.5)           # below every point
    lo = np.maximum(lower, floor)
    free = np.prod(np.clip(upper - lo, 0, None), axis=1).sum()
    assert free + hypervolume(F, ref) == pytest.approx(np.prod(ref - floor))


@pytest.mark.parametrize("d", [2, 3])
def test_hypervolume_improvement_matches_difference(d):
    rng = np.random.default_rng(10 + d)
    F = rng.random((10, d))
    ref = np.full(d, 1.1)
    P = rng.random((25, d)) * 1.2 - 0.1
    hvi = hypervolume_improvement(P, F, ref)
    base = hypervolume(F, ref)
    expected = [hypervolume(np.vstack([F, p]), ref) - base for p in P]
    np.testing.assert_allclose(hvi, expected, atol=1e-12)


def test_to_minimisation_negates_flagged_columns():
    Y = np.array([[1.0, 2.0]])
    assert to_minimisation(Y, [False, True]).tolist() == [[1.0, -2.0]]


def test_score_reference_is_the_fronts_nadir_plus_a_tenth_of_its_range():
    from perfmodel.pareto import score_reference

    assert score_reference([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]]) == pytest.approx([4.3, 4.3])
    assert score_reference([[1.0, 10.0], [3.0, 0.0]]) == pytest.approx([3.2, 11.0])


def test_hypervolume_trace_adds_each_evaluation_in_turn_and_skips_a_failed_one():
    from perfmodel.pareto import hypervolume_trace

    Y = [[3.0, 3.0], [np.nan, 1.0], [1.0, 3.5], [3.5, 3.5], [2.0, 2.0]]
    # box 1x1; a failed row adds nothing; [1, 3.5] adds a 2 x 0.5 strip above; [3.5, 3.5] is dominated;
    # [2, 2] dominates [3, 3] and adds 2x2 minus the overlap with what is there
    assert hypervolume_trace(Y, [4.0, 4.0]).tolist() == pytest.approx([1.0, 1.0, 2.0, 2.0, 4.5])
