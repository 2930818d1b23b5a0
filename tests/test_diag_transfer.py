"""benchmarks/diag_transfer.py's transplant bound: the source grid's true front measured on the target."""

import numpy as np
import pytest

from benchmark_scripts import load

diag_transfer = load("diag_transfer")

# (time, power) of four configurations; the source's front is rows 0-2, row 3 its second layer
SOURCE = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0]])
# the same configurations on the target: its front is rows 0, 2 and 3; row 1 (the source's best) is dominated
TARGET = np.array([[1.0, 3.0], [3.0, 3.0], [3.0, 1.0], [2.0, 2.0]])


def test_transplant_scores_worked_by_hand():
    r = diag_transfer.transplant_scores(SOURCE, TARGET, ks=(1, 2))
    # On the source (reference (4.3, 4.3)) row 1 alone adds 2.3 x 2.3, rows 0 and 2 then 0.3 each: the order
    # is 1, 0, 2 (ties to the first). Target: reference (3.2, 3.2), true hypervolume 0.2 + 1.2 + 0.44 = 1.84.
    assert r[1] == pytest.approx(0.2 * 0.2 / 1.84)              # (3, 3) alone
    assert r[2] == pytest.approx(2.2 * 0.2 / 1.84)              # (1, 3) dominates (3, 3)
    assert r["front"] == pytest.approx((2 * 0.2 + 0.2 * 2.2) / 1.84)
    assert r["front+layer2"] == pytest.approx(1.0)             # row 3 is the target's missing front point
    assert (r["front_points"], r["layer2_points"]) == (3, 1)


def test_transplant_of_a_grid_onto_itself_scores_one_and_skips_ks_beyond_the_front():
    r = diag_transfer.transplant_scores(SOURCE, SOURCE, ks=(2, 5))
    assert r["front"] == pytest.approx(1.0)
    assert 0 < r[2] < 1
    assert 5 not in r
