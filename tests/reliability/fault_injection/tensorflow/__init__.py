"""TEST ONLY: a stand-in for TensorFlow that makes the measuring worker fail (hang, run out of memory, crash).

The fault tests put ``tests/reliability/fault_injection`` first on the worker's ``PYTHONPATH`` and name the
fault in ``PERFMODEL_TEST_FAULT`` (``hang|oom|crash|error``). The real worker
(``python -m profiling.executors.tf_worker``) then runs unchanged until it imports TensorFlow for its job,
and this module fails there, in the worker process, fast. Nothing in the ``profiling`` package reads that
variable or knows this folder: faults come from the tests only.

Any other process that imports ``tensorflow`` with this folder on its path (the campaign process, started
with the same environment) gets the real TensorFlow.
"""

import os
import sys
import time

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _in_worker() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", "") or os.path.basename(getattr(main, "__file__", "") or "")
    return "tf_worker" in name


def _fault(kind: str) -> None:
    if kind == "hang":
        while True:
            time.sleep(1)
    if kind == "oom":
        hog = []
        while len(hog) < 64:  # grows (pages written) until the parent's memory limit kills it; capped at 4 GiB
            hog.append(b"x" * (64 * 1024**2))
            time.sleep(0.02)
        while True:
            time.sleep(1)
    if kind == "crash":
        os.abort()
    if kind == "error":
        raise RuntimeError("fault injected by the test (PERFMODEL_TEST_FAULT=error)")
    raise ValueError(f"unknown PERFMODEL_TEST_FAULT {kind!r}")


_KIND = os.environ.get("PERFMODEL_TEST_FAULT", "")
if _KIND and _in_worker():
    _fault(_KIND)
else:  # hand over to the real TensorFlow
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    del sys.modules[__name__]
    import tensorflow as _real  # noqa: E402  (the installed package, now that this folder is off the path)

    sys.modules[__name__] = _real
