"""Linux RAPL energy counters (``/sys/class/powercap/intel-rapl*``).

Absent or unreadable counters (no RAPL on this CPU, no permission, a virtual machine) make the sensor
report itself as unavailable with the reason; nothing is ever estimated in its place.
"""

from __future__ import annotations

import glob
import os

from ..errors import SensorUnavailable
from .base import PowerSensor


class RaplSensor(PowerSensor):
    """Package-level RAPL domains, read as energy counters (J)."""

    name = "rapl"
    has_energy_counter = True

    def __init__(self, root: str = "/sys/class/powercap"):
        self.root = root

    def _domains(self) -> dict[str, str]:
        out = {}
        for path in sorted(glob.glob(os.path.join(self.root, "intel-rapl:*"))):
            base = os.path.basename(path)
            if base.count(":") != 1:  # sub-domains (core, uncore) are inside the package total
                continue
            try:
                with open(os.path.join(path, "name"), encoding="ascii") as fh:
                    label = fh.read().strip()
            except OSError:
                label = base
            out[label] = path
        return out

    def availability(self) -> tuple[bool, str]:
        domains = self._domains()
        if not domains:
            return False, f"no RAPL domains under {self.root}"
        for label, path in domains.items():
            try:
                with open(os.path.join(path, "energy_uj"), encoding="ascii") as fh:
                    int(fh.read().strip())
            except PermissionError:
                return False, f"{path}/energy_uj is not readable (permission denied)"
            except (OSError, ValueError) as exc:
                return False, f"{path}/energy_uj cannot be read: {exc}"
        return True, ""

    def read_energy_j(self) -> dict[str, float]:
        out = {}
        for label, path in self._domains().items():
            try:
                with open(os.path.join(path, "energy_uj"), encoding="ascii") as fh:
                    out[label] = int(fh.read().strip()) / 1e6
            except (OSError, ValueError) as exc:
                raise SensorUnavailable(f"RAPL {path}/energy_uj: {exc}") from None
        if len(out) > 1:
            out["total"] = sum(out.values())
        return out

    def energy_wrap_j(self) -> dict[str, float]:
        out = {}
        for label, path in self._domains().items():
            try:
                with open(os.path.join(path, "max_energy_range_uj"), encoding="ascii") as fh:
                    out[label] = int(fh.read().strip()) / 1e6
            except (OSError, ValueError):
                out[label] = float("inf")
        return out
