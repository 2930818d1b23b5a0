"""The measurement row: one timed (and possibly powered) view of a network or a layer.

Every executor returns :class:`MeasurementRow` objects, the campaign adds what it knows (contention,
speed reference), the store writes them and the export reads them back into the measurement table
(``docs/measurement-table.md``). The row is validated once, when it is built: a view, level or status
outside the known ones, a negative or non-finite time, or extra values that cannot be stored as JSON
are refused there with a one-line :class:`~profiling.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

VIEWS = ("whole", "inplace", "isolated")
LEVELS = ("network", "layer")
STATUSES = ("ok", "failed")
#: the outputs of a live measurement (profiling.campaign.measure_network) that only a power sensor gives
POWER_OUTPUTS = ("power_w", "energy_j", "energy_per_sample_j")
#: outputs per sample (what a search over the batch size weighs) and the per-call output each divides by ``batch``
PER_SAMPLE = {"runtime_per_sample_s": "runtime_s", "energy_per_sample_j": "energy_j"}

#: Timing and power fields, in the order of the store's columns.
NUMBER_FIELDS = ("runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high",
                 "repeats", "converged", "overhead_s", "power_w", "energy_j", "other_load")


@dataclass(frozen=True)
class MeasurementRow:
    """One measurement of a job (a network under a configuration).

    Units are in the names: seconds (``*_s``), watts (``power_w``), joules per call (``energy_j``).
    ``extra`` holds the executor's or campaign's additional values (``power_window_s``, ``power_calls``,
    ``idle_power_w``, ``ref_compute_s``, ``inplace_method``, ...), stored as JSON beside the columns.
    A missing sensor leaves ``power_w``/``energy_j`` None: never filled in.
    """

    view: str
    level: str = "layer"
    layer: str = ""
    unit: str = ""
    layer_type: str = ""
    runtime_s: float | None = None
    runtime_s_mean: float | None = None
    runtime_s_std: float | None = None
    runtime_s_ci_low: float | None = None
    runtime_s_ci_high: float | None = None
    repeats: int | None = None
    converged: bool | None = None
    overhead_s: float | None = None
    power_w: float | None = None
    energy_j: float | None = None
    other_load: float | None = None
    status: str = "ok"
    reason: str | None = None
    contended: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ConfigError(f"measurement row: unknown view {self.view!r}; views: {', '.join(VIEWS)}")
        if self.level not in LEVELS:
            raise ConfigError(f"measurement row: unknown level {self.level!r}; levels: {', '.join(LEVELS)}")
        if self.status not in STATUSES:
            raise ConfigError(f"measurement row: unknown status {self.status!r}; statuses: {', '.join(STATUSES)}")
        for name in ("runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high",
                     "overhead_s", "power_w", "energy_j", "other_load"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"measurement row {self.layer or self.view!r}: {name} must be a finite number, "
                                  f"got {v!r}")
            if name.startswith("runtime_s") and name != "runtime_s_std" and v < 0:
                raise ConfigError(f"measurement row {self.layer or self.view!r}: {name} is negative ({v!r})")
            object.__setattr__(self, name, float(v))
        if self.repeats is not None:
            object.__setattr__(self, "repeats", int(self.repeats))
        if self.converged is not None:
            object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "contended", bool(self.contended))
        for name in ("layer", "unit", "layer_type"):
            object.__setattr__(self, name, str(getattr(self, name) or ""))
        extra = dict(self.extra or {})
        clash = sorted(k for k in extra if k in _FIELDS)
        if clash:
            raise ConfigError(f"measurement row: extra value {clash[0]!r} is a column; give it as a field")
        try:
            json.dumps(extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"measurement row: extra values must be plain JSON ({exc})") from None
        object.__setattr__(self, "extra", types.MappingProxyType(extra))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MeasurementRow:
        """A row from a flat mapping (the worker's JSON): known keys are fields, the rest go to ``extra``.

        None values of extra keys are dropped (an absent value is absent); NaN timings are refused.
        """
        if isinstance(d, MeasurementRow):
            return d
        if "view" not in d:
            raise ConfigError("measurement row has no 'view'")
        known = {k: d[k] for k in d if k in _FIELDS and k != "extra"}
        extra = dict(d.get("extra") or {})
        extra.update({k: v for k, v in d.items() if k not in _FIELDS and v is not None})
        if known.get("status") is None:
            known.pop("status", None)
        if known.get("level") is None:
            known.pop("level", None)
        if known.get("contended") is None:
            known.pop("contended", None)
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: every field (``extra`` merged in)."""
        out = {f: getattr(self, f) for f in _FIELDS if f != "extra"}
        out.update(self.extra)
        return out

    def get(self, key: str, default: Any = None) -> Any:
        """A field or extra value by name."""
        if key in _FIELDS and key != "extra":
            return getattr(self, key)
        return self.extra.get(key, default)

    def replace(self, **changes: Any) -> MeasurementRow:
        """A copy with fields changed; keys that are not fields are merged into ``extra``."""
        fields = {k: v for k, v in changes.items() if k in _FIELDS and k != "extra"}
        more = {k: v for k, v in changes.items() if k not in _FIELDS}
        if more or "extra" in changes:
            fields["extra"] = {**self.extra, **dict(changes.get("extra") or {}), **more}
        return dataclasses.replace(self, **fields)


_FIELDS = tuple(f.name for f in dataclasses.fields(MeasurementRow))
