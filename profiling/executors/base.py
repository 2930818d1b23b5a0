"""The interface every executor implements: run one job, return its rows.

A job is one network under one configuration: the views to time, the timing policy and (where the
platform has a sensor) the power plan. The platform has already applied the hardware knobs of the
configuration (its :meth:`~profiling.platforms.base.Platform.applied` context is open while the job
runs); the executor applies the software knobs (threads, batch, data type, graph capture, ...), and
leaves the hardware knobs alone.

Two executors exist: :class:`~profiling.executors.tf_executor.TfExecutor` (TensorFlow, one worker
process per configuration) and :class:`~profiling.executors.torch_executor.TorchRunner` (PyTorch, in
this process, CPU or CUDA).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..measurement import MeasurementRow
from ..sensors.window import PowerPlan
from ..space import ConfigSpace, Knob
from ..timing import TimingPolicy

EXECUTORS = ("tensorflow", "torch")


@dataclass(frozen=True)
class ExecutorJob:
    """What an executor measures: one network under one configuration.

    ``config`` is the whole validated configuration (platform and executor knobs); ``hardware`` names the
    knobs the platform applied (the executor must not apply them again).
    """

    network: str
    config: Mapping[str, Any]
    views: tuple[str, ...] = ("whole",)
    level: str = "network"
    input_size: int | None = None
    policy: TimingPolicy = field(default_factory=TimingPolicy)
    trace_runs: int = 20
    inplace_method: str | None = None
    power: PowerPlan | None = None
    hardware: tuple[str, ...] = ()

    def software_config(self) -> dict[str, Any]:
        """The configuration without the platform's hardware knobs."""
        return {k: v for k, v in self.config.items() if k not in self.hardware}


@dataclass(frozen=True)
class JobResult:
    """The outcome of a job: ``ok`` with rows, or ``failed`` with a reason (``timeout``, ``oom``, ``crash: ...``)."""

    status: str
    rows: tuple[MeasurementRow, ...] = ()
    reason: str | None = None
    note: str | None = None
    spec: Mapping[str, Any] | None = None
    versions: Mapping[str, Any] = field(default_factory=dict)
    wall_s: float | None = None

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ConfigError(f"job status must be ok or failed, not {self.status!r}")
        object.__setattr__(self, "rows", tuple(MeasurementRow.from_dict(r) for r in self.rows))
        if self.status == "failed" and not self.reason:
            object.__setattr__(self, "reason", "crash: no reason given")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JobResult:
        """From the TensorFlow worker's JSON result (rows are validated here)."""
        status = d.get("status", "failed")
        return cls(status=status, rows=tuple(d.get("rows", ())) if status == "ok" else (),
                   reason=d.get("reason"), note=d.get("note"), spec=d.get("spec"),
                   versions=dict(d.get("versions") or {}), wall_s=d.get("wall_s"))


class Executor(abc.ABC):
    """Runs jobs with one framework.

    Attributes
    ----------
    name : str
        ``tensorflow`` or ``torch`` (stored with every campaign).
    views : tuple of str
        The views it can time.
    inplace_methods : tuple of str
        How its ``inplace`` view may be timed (the first is the default).
    """

    name: str = "executor"
    views: tuple[str, ...] = ("whole", "inplace", "isolated")
    inplace_methods: tuple[str, ...] = ()

    @abc.abstractmethod
    def software_knobs(self, platform: Any) -> tuple[Knob, ...]:
        """The knobs this executor applies when it runs on ``platform``."""

    def space(self, platform: Any) -> ConfigSpace:
        """The campaign's space: the platform's hardware knobs, then this executor's knobs."""
        return compose_space(platform, self.software_knobs(platform), self.name)

    def knob_notes(self) -> dict[str, str]:
        """One line per knob on how this executor applies it."""
        return {}

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Refuse (ConfigError) a configuration this executor cannot run here (e.g. a CUDA knob on a CPU)."""

    def fixed_knobs(self) -> tuple[str, ...]:
        """Knobs of the space that this executor cannot vary here (only their default runs, see
        :meth:`check_config`): a design over all knobs leaves them out."""
        return ()

    def check_network(self, name: str) -> str:
        """The canonical identifier of a network this executor can build (SpecError otherwise)."""
        from ..networks import check_network

        return check_network(name)

    def describe(self) -> dict[str, Any]:
        """Framework and device, stored with the campaign."""
        return {"executor": self.name}

    @abc.abstractmethod
    def run(self, job: ExecutorJob, *, timeout_s: float = 900.0, memory_limit_gb: float | None = None) -> JobResult:
        """Measure ``job``; a failure is returned as a ``failed`` result, never raised (except KeyboardInterrupt)."""


def compose_space(platform: Any, software: Sequence[Knob], executor: str) -> ConfigSpace:
    """Hardware knobs of ``platform`` (as its space defines them) followed by ``software``."""
    plat = platform.space()
    hw = set(platform.hardware_knobs())
    soft_names = {k.name for k in software}
    knobs = [k for k in plat if k.name in hw and k.name not in soft_names] + list(software)
    return ConfigSpace(tuple(knobs), name=f"{plat.name}+{executor}")


def executor_from_name(name: str, **options: Any) -> Executor:
    """Build an executor by its command-line name (``tensorflow`` or ``torch``)."""
    if name == "tensorflow":
        from .tf_executor import TfExecutor

        return TfExecutor(**{k: v for k, v in options.items() if k != "device"})
    if name == "torch":
        from .torch_runner import TorchRunner

        return TorchRunner(**options)
    raise ConfigError(f"unknown executor {name!r}; choose {' or '.join(EXECUTORS)}")
