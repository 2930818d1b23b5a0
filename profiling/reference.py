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

``ref_framework_s``
    fastest of 21 calls of a fixed small network (:func:`framework_reference`: 24 dense layers of 32 units
    on one sample, about 50 tiny operations), timed in the job's own worker just before the job, with the
    job's thread settings: what the framework costs per operation, which neither workload above sees. On
    2026-12-02 networks of hundreds of small operations (mobilenetv2) slowed 1.30x within half an hour while
    the matrix product slowed 1.04x. Its operations are far too small for TensorFlow to split across threads,
    so the job's ``threads`` do not change what it measures.

They are stored as columns of every measurement row of the job (exported like any other column); a model
can divide runtimes by them (``perfmodel.models.LayerwisePredictor(reference=...)``).

:func:`measure_peaks` times the same two kinds of workload, larger and with the machine's BLAS threads, as
achievable FLOP/s and memory bandwidth (the peaks of a Paleo / roofline model,
:class:`perfmodel.models.RooflineRegressor`): all the project's machine-speed micro-benchmarks live here.
"""

from __future__ import annotations

import datetime as _dt
import os

import numpy as np
from threadpoolctl import threadpool_limits

from .errors import ConfigError
from .timing import best_time

__all__ = ["speed_reference", "framework_reference", "reference_now", "measure_peaks", "REFERENCE_COLUMNS"]

REFERENCE_COLUMNS = ("ref_compute_s", "ref_memory_s", "ref_framework_s")
FRAMEWORK_LAYERS, FRAMEWORK_UNITS = 24, 32


def _matmul_s(n: int, threads: int | None, repeats: int, out: bool = False) -> float:
    """Fastest time of an ``n x n`` float32 matrix product under ``threads`` BLAS threads (None: the library's)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a) if out else None
    with threadpool_limits(limits=threads, user_api="blas"):
        return best_time(lambda: np.matmul(a, b, out=c), repeats)


def _copy_s(mib: int, repeats: int) -> tuple[float, int]:
    """Fastest time of copying ``mib`` MiB of float32, and the bytes copied."""
    src = np.ones(mib * 2 ** 20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    return best_time(lambda: np.copyto(dst, src), repeats), src.nbytes


def speed_reference(repeats: int = 21) -> dict[str, float]:
    """Time the two reference workloads now (about 0.07 s); see the module docstring."""
    # one BLAS thread: more would make the compute reference depend on the other core's load
    compute = _matmul_s(512, 1, repeats)
    memory, _ = _copy_s(32, max(3, repeats // 2 - 1))
    return {"ref_compute_s": compute, "ref_memory_s": memory}


def measure_peaks(threads: int | None = None, matmul_n: int = 1024, copy_mib: int = 64, repeats: int = 7) -> dict:
    """Measure the achievable FLOP/s and memory bandwidth of this machine with numpy.

    Parameters
    ----------
    threads : int, optional
        BLAS threads during the matmul (default: the library's current setting).
    matmul_n : int, default 1024
        Size of the square float32 matrices (``2 n^3`` FLOPs per product).
    copy_mib : int, default 64
        Size of the copied array (well beyond the caches); a copy reads and writes it (2x the bytes).
    repeats : int, default 7
        Best of this many timed runs is kept (the peak is the least-disturbed run).

    Returns
    -------
    dict
        ``peak_flops`` (FLOP/s), ``bandwidth_bytes_s`` (B/s), and how they were measured; pass the first two to
        :class:`perfmodel.models.RooflineRegressor`.
    """
    t_mm = _matmul_s(matmul_n, threads, repeats, out=True)
    t_cp, nbytes = _copy_s(copy_mib, repeats)
    return {"peak_flops": 2.0 * matmul_n**3 / t_mm, "bandwidth_bytes_s": 2.0 * nbytes / t_cp,
            "method": f"numpy float32 matmul n={matmul_n}, copy {copy_mib} MiB, best of {repeats}",
            "threads": threads if threads is not None else os.cpu_count(),
            "measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def framework_reference(tf=None, repeats: int = 21) -> dict[str, float]:
    """Time the fixed small network now, in this process (about 0.5 s with building it); see the module docstring.

    Parameters
    ----------
    tf : module, optional
        The imported ``tensorflow`` (a worker passes the one it configured); imported here when omitted.
    repeats : int
        Timed calls; the fastest is kept.
    """
    if tf is None:
        import tensorflow as tf
    # seeded weights and input: the reference is the same work in every process
    init = tf.keras.initializers.GlorotUniform(seed=0)
    layers = [tf.keras.layers.Dense(FRAMEWORK_UNITS, activation="relu", kernel_initializer=init)
              for _ in range(FRAMEWORK_LAYERS)]
    net = tf.keras.Sequential([tf.keras.Input((FRAMEWORK_UNITS,)), *layers])
    x = tf.constant(np.random.default_rng(0).standard_normal((1, FRAMEWORK_UNITS)).astype(np.float32))
    fn = tf.function(lambda t: net(t, training=False))
    for _ in range(5):  # trace, then let the runtime settle its first-call allocations
        fn(x).numpy()
    return {"ref_framework_s": best_time(lambda: fn(x).numpy(), repeats)}


def reference_now(column: str) -> float:
    """One reference column (``REFERENCE_COLUMNS``) timed now, in this process, in seconds."""
    if column == "ref_framework_s":
        return framework_reference()[column]
    if column not in REFERENCE_COLUMNS:
        raise ConfigError(f"unknown speed reference {column!r}; choose {', '.join(REFERENCE_COLUMNS)}")
    return speed_reference()[column]
