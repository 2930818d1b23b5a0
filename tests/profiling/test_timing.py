import numpy as np

from profiling.timing import TimingPolicy, median_ci, summarize, time_callable


def test_median_ci_brackets_the_median():
    x = np.random.default_rng(0).normal(10, 1, 200)
    lo, hi = median_ci(x)
    assert lo < np.median(x) < hi
    assert hi - lo < 0.6


def test_stops_early_when_stable_and_caps_otherwise():
    calls = []
    res = time_callable(lambda: calls.append(1), TimingPolicy(warmup=1, min_repeats=5, max_repeats=50, rel_ci=10.0))
    assert res.repeats == 5 and res.converged
    rng = np.random.default_rng(1)
    noisy = TimingPolicy(warmup=0, min_repeats=3, max_repeats=12, rel_ci=1e-9, max_time_s=60)
    res = time_callable(lambda: sum(range(int(rng.integers(1, 20000)))), noisy)
    assert res.repeats == 12 and not res.converged


def test_summary_fields():
    s = summarize([1.0, 2.0, 3.0])
    assert s.runtime_s == 2.0 and s.runtime_s_mean == 2.0 and s.repeats == 3
