import numpy as np

from profiling.timing import HOST, TimingPolicy, median_ci, summarize, time_callable, timing_loop


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


class FakeDevice:
    """A stopwatch whose repeats take scripted durations on a fake clock; logs calls, warm-ups and settles."""

    def __init__(self, durations):
        self.durations, self.now, self.log = list(durations), 100.0, []

    def clock(self):
        return self.now

    def settle(self):
        self.log.append("settle")

    def time(self, fn):
        fn()
        d = self.durations.pop(0)
        self.now += d
        self.log.append("timed")
        return d


def test_loop_warms_up_settles_then_times_each_repeat_by_the_stopwatch():
    dev = FakeDevice([2.0] * 5)
    calls = []
    res, window = timing_loop(lambda: calls.append(dev.now), TimingPolicy(warmup=2, min_repeats=3, max_repeats=9,
                                                                         rel_ci=0.01), dev, clock=dev.clock)
    assert len(calls) == 2 + 3 and dev.log == ["settle", "timed", "timed", "timed"]
    assert res.runtime_s == 2.0 and res.repeats == 3 and res.converged
    assert window == (100.0, 106.0)  # the timed repeats only: warm-up calls are outside


def test_loop_stops_on_the_median_it_reports():
    """Four repeats 1, 1, 3, 3 s: median 2 s, CI of the median [1, 3] s, half-width 1 s. At rel_ci 0.5 (1 s) that
    converges; at rel_ci 0.4 (0.8 s) it does not, although the upper middle sample (3 s: 1.2 s) would have stopped."""
    dev = FakeDevice([1.0, 1.0, 3.0, 3.0])
    res, _ = timing_loop(lambda: None, TimingPolicy(warmup=0, min_repeats=4, max_repeats=9, rel_ci=0.5,
                                                   max_time_s=1e9), dev, clock=dev.clock)
    assert res.repeats == 4 and res.converged and res.runtime_s == 2.0
    dev = FakeDevice([1.0, 1.0, 3.0, 3.0, 1.0])
    res, _ = timing_loop(lambda: None, TimingPolicy(warmup=0, min_repeats=4, max_repeats=5, rel_ci=0.4,
                                                   max_time_s=1e9), dev, clock=dev.clock)
    assert res.repeats == 5 and not res.converged and res.runtime_s == 1.0


def test_loop_stops_at_the_time_budget_of_its_clock():
    dev = FakeDevice([1.0, 5.0] * 50)  # never converges at rel_ci 1e-9
    res, window = timing_loop(lambda: None, TimingPolicy(warmup=1, min_repeats=3, max_repeats=100, rel_ci=1e-9,
                                                        max_time_s=10.0), dev, clock=dev.clock)
    # clock after 3 repeats: 7 s (<= 10: go on), after 4: 12 s (> 10: stop)
    assert res.repeats == 4 and not res.converged
    assert window == (100.0, 112.0)


def test_host_stopwatch_times_the_call_itself():
    import time

    assert HOST.time(lambda: time.sleep(0.02)) >= 0.02
    HOST.settle()  # nothing to wait for: returns
