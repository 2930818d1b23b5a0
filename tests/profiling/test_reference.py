import numpy as np
import pytest

from profiling.errors import ConfigError
from profiling.reference import REFERENCE_COLUMNS, framework_reference, reference_now, speed_reference


def test_speed_reference_times_both_workloads():
    ref = speed_reference(repeats=3)
    assert set(ref) == set(REFERENCE_COLUMNS) - {"ref_framework_s"}
    assert all(np.isfinite(v) and 0 < v < 1.0 for v in ref.values())


@pytest.mark.tf
def test_framework_reference_times_the_small_network_in_this_process():
    ref = framework_reference(repeats=3)
    assert list(ref) == ["ref_framework_s"]
    # 24 dense layers of one sample: far more than one operation's dispatch, far less than a real network
    assert 1e-5 < ref["ref_framework_s"] < 0.05
    assert 1e-5 < reference_now("ref_framework_s") < 0.05


def test_reference_now_times_the_column_asked_for_and_refuses_others():
    assert 0 < reference_now("ref_compute_s") < 1.0
    # a user error (one line and exit status 2 from the CLI), e.g. a model file naming a column of its own
    with pytest.raises(ConfigError, match="unknown speed reference 'runtime_s'"):
        reference_now("runtime_s")
