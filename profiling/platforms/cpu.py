"""The local CPU as a platform: software knobs of TensorFlow plus core count through CPU affinity.

Nothing here writes hardware state: the ``cores`` knob is applied as CPU affinity of the worker process,
so measurements never change the machine (no core offlining, no frequency writes).
"""

from __future__ import annotations

import os
import platform as _platform
from typing import Any

from ..sensors.base import PowerSensor
from ..sensors.rapl import RaplSensor
from ..space import Boolean, Categorical, ConfigSpace, Integer, Ordinal
from .base import Platform


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return _platform.processor() or "unknown"


class CpuPlatform(Platform):
    """The machine this process runs on, driven through TensorFlow worker processes."""

    name = "cpu"

    def __init__(self, powercap_root: str = "/sys/class/powercap"):
        self.powercap_root = powercap_root
        self.n_cpus = len(os.sched_getaffinity(0))

    def space(self) -> ConfigSpace:
        n = self.n_cpus
        return ConfigSpace((
            Integer("threads", 1, max(n, 1), default=n),
            Integer("inter_op_threads", 1, max(n, 1), default=1),
            Integer("cores", 1, max(n, 1), default=n),
            Ordinal("batch", (1, 2, 4, 8, 16, 32, 64), default=1),
            Boolean("xla", default=False),
            Boolean("onednn", default=True),
            Integer("omp_num_threads", 0, max(n, 1), default=0),        # 0: not set
            Ordinal("kmp_blocktime", (-1, 0, 1, 10, 200), default=-1),  # -1: not set
            Categorical("kmp_affinity", ("none", "compact", "scatter"), default="none"),
        ), name="cpu")

    def sensors(self) -> list[PowerSensor]:
        return [RaplSensor(self.powercap_root)]

    def power_sensor_status(self) -> tuple[str | None, str]:
        """``(sensor name, "")`` when RAPL is readable, else ``(None, "absent: why")``."""
        sensor = RaplSensor(self.powercap_root)
        ok, why = sensor.availability()
        return (sensor.name, "") if ok else (None, f"absent: {why}")

    def power_sensor(self) -> tuple[PowerSensor | None, str]:
        name, note = self.power_sensor_status()
        return (RaplSensor(self.powercap_root), "") if name is not None else (None, note)

    def describe(self) -> dict[str, Any]:
        import psutil

        return {
            "platform": self.name, "cpu_model": _cpu_model(), "logical_cpus": os.cpu_count(),
            "usable_cpus": self.n_cpus, "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "os": f"{_platform.system()} {_platform.release()}", "machine": _platform.machine(),
            "hostname": _platform.node(), "python": _platform.python_version(),
        }
