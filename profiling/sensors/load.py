"""CPU load of other processes, to flag measurements taken under contention.

On a 2-core machine a second busy process doubles measured times, so every measurement records how many
cores other processes used while it ran.
"""

from __future__ import annotations

import os
import time

import psutil


def _busy_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) + getattr(t, "steal", 0.0)


def _own_s(proc: psutil.Process) -> float:
    # Children that already exited are counted through the kernel's reaped-children times.
    t = os.times()
    total = t.children_user + t.children_system
    for p in [proc, *proc.children(recursive=True)]:
        try:
            c = p.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            continue
    return total


class LoadMonitor:
    """Measures the CPU load (in cores) of processes other than this one (and its children).

    Use as a context manager around a measurement; :attr:`other_load` holds the result.
    """

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.other_load: float | None = None

    def __enter__(self) -> LoadMonitor:
        self._t0, self._busy0, self._own0 = time.monotonic(), _busy_s(), _own_s(self._proc)
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self._t0
        if wall <= 0.05:  # too short for the kernel's tick-based accounting
            self.other_load = None
            return
        other = (_busy_s() - self._busy0) - (_own_s(self._proc) - self._own0)
        self.other_load = max(0.0, other / wall)


def other_load_now(interval_s: float = 0.5) -> float:
    """Cores used by other processes over the next ``interval_s`` seconds."""
    with LoadMonitor() as mon:
        time.sleep(interval_s)
    return mon.other_load or 0.0


def wait_for_quiet(threshold: float, timeout_s: float, interval_s: float = 1.0) -> float:
    """Wait until other processes use fewer than ``threshold`` cores; return the last load seen."""
    deadline = time.monotonic() + timeout_s
    load = other_load_now(interval_s)
    while load > threshold and time.monotonic() < deadline:
        load = other_load_now(interval_s)
    return load
