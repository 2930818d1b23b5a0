import numpy as np

from profiling.reference import REFERENCE_COLUMNS, speed_reference


def test_speed_reference_times_both_workloads():
    ref = speed_reference(repeats=3)
    assert set(ref) == set(REFERENCE_COLUMNS)
    assert all(np.isfinite(v) and 0 < v < 1.0 for v in ref.values())
