"""Runtimes measured while a shared machine ran at different speeds, put at one speed.

Campaigns time a speed reference just before every job (``ref_compute_s``, ``ref_memory_s`` or
``ref_framework_s``, :mod:`profiling.reference`). A model fitted with one learns runtimes at the median speed
of its training rows, and scales its predictions to the reference timed at prediction time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError

__all__ = ["at_reference_speed", "speed_scale"]


def at_reference_speed(tables, column: str, window: int = 9) -> tuple[list[pd.DataFrame], float]:
    """The tables with every runtime put at one speed of the machine, and that speed's reference (seconds).

    Each job's reference (``column``, e.g. ``ref_compute_s``: timed before the job, on all of its rows) is
    replaced by the median over the ``window`` jobs closest in time (``measured_at``; all tables together),
    then ``runtime_s`` is multiplied by ``median reference / job reference``. Raises :class:`DataError` when
    a row has no valid reference.
    """
    window = int(window)
    if window < 1:
        raise DataError(f"the reference window must be at least one job, got {window}")
    jobs, row_keys = [], []
    for i, t in enumerate(tables):
        if column not in t.columns:
            raise DataError(f"the table has no speed reference column {column!r} (recorded by campaigns since "
                            "2026-12-02); fit with reference=None")
        ref = pd.to_numeric(t[column], errors="coerce")
        bad = ~(np.isfinite(ref) & (ref > 0))
        if bad.any():
            raise DataError(f"{int(bad.sum())} rows of the table have no valid {column!r} (measured before speed "
                            "references were recorded?); fit with reference=None or drop them")
        keys = [c for c in ("campaign", "network", "config", "measured_at") if c in t.columns]
        key = t[keys].astype(str).agg("|".join, axis=1) if keys else pd.Series(t.index.astype(str), index=t.index)
        row_keys.append(key)
        when = pd.to_datetime(t["measured_at"], errors="coerce", utc=True) if "measured_at" in t.columns else \
            pd.Series(pd.NaT, index=t.index)
        jobs.append(pd.DataFrame({"table": i, "key": key, "ref": ref, "when": when}).drop_duplicates(["key"]))
    jobs = pd.concat(jobs, ignore_index=True)
    jobs = jobs.sort_values("when", kind="stable")  # jobs without a time keep their order, at the end
    jobs["smooth"] = jobs["ref"].rolling(window, center=True, min_periods=1).median().to_numpy() \
        if jobs["when"].notna().all() else jobs["ref"]
    ref0 = float(np.median(jobs["smooth"]))
    out = []
    for i, (t, key) in enumerate(zip(tables, row_keys)):
        mine = jobs[jobs["table"].eq(i)].set_index("key")["smooth"]
        out.append(t.assign(runtime_s=t["runtime_s"].astype(float) * ref0 / key.map(mine).to_numpy(dtype=float)))
    return out, ref0


def speed_scale(reference_s, trained_reference_s) -> float:
    """How much slower than in training the machine runs now: ``reference_s / trained_reference_s`` (1 without
    a reference now)."""
    if reference_s is None:
        return 1.0
    if trained_reference_s is None:
        raise ModelError("reference_s given, but the model was fitted without a speed reference (reference=None)")
    reference_s = float(reference_s)
    if not np.isfinite(reference_s) or reference_s <= 0:
        raise DataError(f"reference_s must be a positive time in seconds, got {reference_s!r}")
    return reference_s / trained_reference_s
