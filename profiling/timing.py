"""Repeated timing with warm-up and a stopping rule on the confidence interval of the median.

One loop (:func:`timing_loop`) for every executor; what is device-specific, how one repeat is timed and how
queued work is waited for, is its ``stopwatch`` argument (:class:`HostStopwatch` here, CUDA events in the PyTorch
executor).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class TimingPolicy:
    """How long to time a callable.

    Repeats until the 95% confidence interval of the median is within ``rel_ci`` of the median (after
    ``min_repeats``), or ``max_repeats`` or ``max_time_s`` is reached.
    """

    warmup: int = 3
    min_repeats: int = 10
    max_repeats: int = 200
    max_time_s: float = 10.0
    rel_ci: float = 0.02

    @classmethod
    def quick(cls) -> TimingPolicy:
        return cls(warmup=2, min_repeats=5, max_repeats=30, max_time_s=2.0, rel_ci=0.05)


@dataclass(frozen=True)
class TimingResult:
    """Statistics of repeated timings in seconds."""

    runtime_s: float
    runtime_s_mean: float
    runtime_s_std: float
    runtime_s_ci_low: float
    runtime_s_ci_high: float
    repeats: int
    converged: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up call (page faults, BLAS thread start): the least
    disturbed run, for peaks and speed references (interference only ever adds time)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def median_ci(samples: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics (binomial approximation)."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n < 3:
        return float(x[0]), float(x[-1])
    half = z * math.sqrt(n) / 2
    lo = max(int(math.floor(n / 2 - half)), 0)
    hi = min(int(math.ceil(n / 2 + half)), n - 1)
    return float(x[lo]), float(x[hi])


def summarize(samples: list[float] | np.ndarray, converged: bool = True) -> TimingResult:
    x = np.asarray(samples, dtype=float)
    lo, hi = median_ci(x)
    return TimingResult(float(np.median(x)), float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else 0.0,
                        lo, hi, int(len(x)), converged)


class HostStopwatch:
    """Times a synchronous call on the host: ``time.perf_counter`` around it; nothing to wait for."""

    def settle(self) -> None:
        """Nothing is queued on the host: a call has done its work when it returns."""

    def time(self, fn: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


class Stopwatch(Protocol):
    """The device-specific part of :func:`timing_loop`: how one repeat is timed.

    ``settle()`` waits until the work queued so far (the warm-up calls) is done; ``time(fn)`` calls ``fn`` once
    and returns its duration in seconds, its work included (a GPU stopwatch brackets the call with events and
    waits for the end event: see :class:`profiling.executors.torch_executor.CudaStopwatch`).
    """

    def settle(self) -> None: ...

    def time(self, fn: Callable[[], object]) -> float: ...


HOST = HostStopwatch()


def timing_loop(fn: Callable[[], object], policy: TimingPolicy = TimingPolicy(), stopwatch: Stopwatch = HOST, *,
                clock: Callable[[], float] = time.monotonic) -> tuple[TimingResult, tuple[float, float]]:
    """Time ``fn()`` under ``policy``, each repeat by ``stopwatch``; the statistics and the repeats' window.

    ``policy.warmup`` untimed calls, ``stopwatch.settle()``, then timed repeats until the 95 % confidence interval
    of the median (:func:`median_ci`) is within ``policy.rel_ci`` of the median (after ``policy.min_repeats``), or
    ``policy.max_repeats`` repeats, or ``policy.max_time_s`` of ``clock`` since the first repeat. The window is
    the ``clock`` interval (``time.monotonic``, as power traces) of the timed repeats, warm-up excluded.
    """
    for _ in range(policy.warmup):
        fn()
    stopwatch.settle()  # nothing queued before may leak into the first repeat
    samples: list[float] = []
    converged = False
    start = clock()
    while len(samples) < policy.max_repeats:
        samples.append(stopwatch.time(fn))
        if len(samples) >= policy.min_repeats:
            med = float(np.median(samples))
            lo, hi = median_ci(np.asarray(samples))
            if med > 0 and (hi - lo) / 2 <= policy.rel_ci * med:
                converged = True
                break
            if clock() - start > policy.max_time_s:
                break
    return summarize(samples, converged), (start, clock())


def time_callable(fn: Callable[[], object], policy: TimingPolicy = TimingPolicy(),
                  stopwatch: Stopwatch = HOST) -> TimingResult:
    """Time ``fn()`` under ``policy`` (:func:`timing_loop`; on the host, ``fn`` must return only when its work is
    done)."""
    return timing_loop(fn, policy, stopwatch)[0]
