"""A speed reference timed before every job: how fast this machine runs at the moment of a measurement.

A shared virtual machine does not run at one speed. On this project's 2-core VM the same networks ran
1.3-1.5x slower on 2026-12-01 than on 2026-11-23, and about 15 % faster from 02:10 than at 01:50 on 2026-12-02
(datasets/cpu-keras-applications/SOURCE.txt), which no knob explains. Timings taken at different moments can
only be compared after dividing by what the machine could do at each moment, so every job of a campaign
records two fixed micro-benchmarks taken just before it, in the campaign's process (not the job's worker, so
the job's thread and core settings do not change them):

``ref_compute_s``
    fastest of 21 timings of a 512 x 512 float32 matrix product on one thread (compute-bound, in cache);
``ref_memory_s``
    fastest of 9 timings of copying 32 MiB of float32 (memory-bound: well over the caches of a core).

The fastest timing, not the median: interference (a worker still exiting, a daemon) only ever adds time, and
on 2026-12-02 the median of 15 matrix products was once 50 % above its neighbours' with nothing flagged.

They are stored as columns of every measurement row of the job (exported like any other column); a model
can divide runtimes by them (``perfmodel.models.LayerwisePredictor(reference=...)``).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from .timing import best_time

__all__ = ["speed_reference", "REFERENCE_COLUMNS"]

REFERENCE_COLUMNS = ("ref_compute_s", "ref_memory_s")


def speed_reference(repeats: int = 21) -> dict[str, float]:
    """Time the two reference workloads now (about 0.07 s); see the module docstring."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((512, 512)).astype(np.float32)
    src = np.ones(8 * 2 ** 20, dtype=np.float32)
    dst = np.empty_like(src)
    # one BLAS thread: more would make the compute reference depend on the other core's load
    with threadpool_limits(limits=1, user_api="blas"):
        compute = best_time(lambda: a @ b, repeats)
    memory = best_time(lambda: np.copyto(dst, src), max(3, repeats // 2 - 1))
    return {"ref_compute_s": compute, "ref_memory_s": memory}
