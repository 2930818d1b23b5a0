"""Memory-access cycles from valgrind's cachegrind: a *proxy* for energy, not a power reading.

Seed 003 (PowerML) runs a workload under ``valgrind --tool=cachegrind``, reads the cache summary and
weights each level by its latency (Eq. 2.1)::

    cost = L1 hits * L1 latency + LL hits * LL latency + LL misses * memory latency   [cycles]

where L1 hits = (I refs + D refs) - (I1 misses + D1 misses) and LL hits = LL refs - LL misses.
The seed reports r = 0.991 between this cost and wall-meter power for NumPy matrix products; that
correlation has to be re-established on any machine with a power meter before trusting the proxy.

The simulated caches are fixed by default (32 KiB 8-way L1s, 8 MiB 16-way LL, 64-byte lines) so the
proxy does not depend on the host's cache sizes; the latencies (4, 40 and 200 cycles) are typical of an
Intel Broadwell-class part (the seed takes its numbers from such spec sheets). Both are parameters.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import SensorUnavailable
from .base import PowerSensor

__all__ = ["CacheCounts", "CacheLatencies", "CachegrindSensor", "parse_cachegrind_summary"]

_FIELDS = {
    "I   refs": "i_refs", "I1  misses": "i1_misses", "LLi misses": "lli_misses",
    "D   refs": "d_refs", "D1  misses": "d1_misses", "LLd misses": "lld_misses",
    "LL refs": "ll_refs", "LL misses": "ll_misses",
}
_LINE = re.compile(r"^==\d+==\s+(I   refs|I1  misses|LLi misses|D   refs|D1  misses|LLd misses|LL refs|LL misses):"
                   r"\s+([\d,]+)", re.M)


@dataclass(frozen=True)
class CacheLatencies:
    """Cycles per access served by L1, by the last-level cache, and by memory."""

    l1_cycles: float = 4.0
    ll_cycles: float = 40.0
    memory_cycles: float = 200.0


@dataclass(frozen=True)
class CacheCounts:
    """cachegrind's summary counts for one run (or the difference of two runs)."""

    i_refs: int
    i1_misses: int
    lli_misses: int
    d_refs: int
    d1_misses: int
    lld_misses: int
    ll_refs: int
    ll_misses: int

    @property
    def l1_hits(self) -> int:
        return self.i_refs + self.d_refs - self.i1_misses - self.d1_misses

    @property
    def ll_hits(self) -> int:
        return self.ll_refs - self.ll_misses

    def memory_access_cycles(self, latencies: CacheLatencies = CacheLatencies()) -> float:
        """Seed 003, Eq. 2.1."""
        return (self.l1_hits * latencies.l1_cycles + self.ll_hits * latencies.ll_cycles
                + self.ll_misses * latencies.memory_cycles)

    def __sub__(self, other: CacheCounts) -> CacheCounts:
        return CacheCounts(**{k: getattr(self, k) - getattr(other, k) for k in self.__dataclass_fields__})

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def parse_cachegrind_summary(text: str) -> CacheCounts:
    """Read the ``==pid== D1  misses: 1,234 ...`` summary that cachegrind prints on stderr."""
    found = {_FIELDS[m.group(1)]: int(m.group(2).replace(",", "")) for m in _LINE.finditer(text)}
    missing = [v for v in _FIELDS.values() if v not in found]
    if missing:
        raise SensorUnavailable(f"cachegrind output has no {missing[0]} line (was the cache simulation on?)")
    return CacheCounts(**found)


class CachegrindSensor(PowerSensor):
    """Runs a command under cachegrind and returns its cache counts: an energy *proxy* (``proxy = True``).

    It measures a whole process, so it has neither instantaneous power nor an energy counter; use
    :meth:`measure` (or :meth:`measure_python`) instead of a :class:`~profiling.sensors.base.PowerSampler`.

    Parameters
    ----------
    i1, d1, ll : str
        Simulated caches as ``"size,associativity,line_size"``; ``None`` uses the host's.
    latencies : CacheLatencies
    valgrind : str
        The valgrind executable.
    """

    name = "cachegrind"
    proxy = True
    unit = "cycles"

    def __init__(self, i1: str | None = "32768,8,64", d1: str | None = "32768,8,64",
                 ll: str | None = "8388608,16,64", latencies: CacheLatencies = CacheLatencies(),
                 valgrind: str = "valgrind"):
        self.i1, self.d1, self.ll = i1, d1, ll
        self.latencies = latencies
        self.valgrind = valgrind

    def availability(self) -> tuple[bool, str]:
        if shutil.which(self.valgrind) is None:
            return False, f"{self.valgrind} is not installed (apt-get install valgrind)"
        return True, ""

    def command(self, argv: Sequence[str]) -> list[str]:
        cmd = [self.valgrind, "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=/dev/null"]
        for opt, val in (("--I1", self.i1), ("--D1", self.d1), ("--LL", self.ll)):
            if val:
                cmd.append(f"{opt}={val}")
        return [*cmd, *argv]

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """Start ``argv`` under cachegrind (pass the result to :meth:`finish`); lets callers run several."""
        ok, why = self.availability()
        if not ok:
            raise SensorUnavailable(f"{self.name}: {why}")
        full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "PYTHONHASHSEED": "0", **(env or {})}
        return subprocess.Popen(self.command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env)

    def finish(self, proc: subprocess.Popen, timeout_s: float | None = 600) -> CacheCounts:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise SensorUnavailable(f"{self.name}: the workload ran longer than {timeout_s} s") from None
        if proc.returncode != 0:
            tail = (err or out).strip().splitlines()[-3:]
            raise SensorUnavailable(f"{self.name}: workload exited with status {proc.returncode}: "
                                    + " | ".join(tail))
        return parse_cachegrind_summary(err)

    def measure(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
                timeout_s: float | None = 600) -> CacheCounts:
        """Run ``argv`` under cachegrind and return its counts."""
        return self.finish(self.start(argv, env), timeout_s)

    def measure_python(self, code: str, python: str | None = None, timeout_s: float | None = 600) -> CacheCounts:
        """Run a Python snippet under cachegrind (interpreter start-up included: subtract a baseline)."""
        import sys

        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
            fh.write(code)
        try:
            return self.measure([python or sys.executable, fh.name], timeout_s=timeout_s)
        finally:
            os.unlink(fh.name)

    def cycles(self, counts: CacheCounts) -> float:
        """Memory-access cycles of ``counts`` with this sensor's latencies."""
        return counts.memory_access_cycles(self.latencies)
