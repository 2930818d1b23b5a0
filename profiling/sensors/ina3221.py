"""INA3221 power monitors of NVIDIA Jetson boards (TX1, TX2, Xavier).

Two kernel interfaces exist and both are read here, under one ``sysfs_root`` (``/`` on a board, a
folder in tests):

* **iio** (``ina3221x`` driver, L4T 28 and 32): ``sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device*/``
  with ``rail_name_<n>`` and ``in_power<n>_input`` in milliwatts; L4T 28 (TX1, TX2) names the folder
  ``iio_device`` (reached from the driver folder, or under ``sys/devices/.../<bus>-<addr>/``);
* **hwmon** (mainline ``ina3221`` driver): ``sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmon*/`` with
  ``in<n>_label``, ``in<n>_input`` (mV) and ``curr<n>_input`` (mA); power is V x I (a ``power<n>_input``
  file, in microwatts per the hwmon ABI, is used where the driver has one).

Rails are named by role where the board label says it: ``total`` (VDD_IN), ``cpu``, ``gpu``, ``ddr``,
``soc``; other rails keep their lower-cased label. A rail file that disappears while sampling raises
:class:`~profiling.errors.SensorUnavailable` naming the file; no value is ever filled in.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from ..errors import SensorUnavailable
from .base import PowerSensor

IIO_GLOB = "sys/bus/i2c/drivers/ina3221x/*/iio:device*"
#: L4T 28 (JetPack 3 on TX1 and TX2) names the iio folder ``iio_device``; the driver folder links to the
#: device (TX1: sys/devices/platform/7000c400.i2c/i2c-1/1-0040/iio_device, TX2:
#: sys/devices/3160000.i2c/i2c-0/0-0040/iio_device), which is also looked for directly.
IIO_L4T28_GLOBS = ("sys/bus/i2c/drivers/ina3221x/*/iio_device",
                   "sys/devices/platform/*.i2c/i2c-*/*-004*/iio_device",
                   "sys/devices/*.i2c/i2c-*/*-004*/iio_device")
HWMON_GLOB = "sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*"

#: Board rail label -> role. Labels not listed keep their own (lower-cased) name.
RAIL_ROLES = {
    "VDD_IN": "total", "POM_5V_IN": "total", "VDD_SYS_IN": "total",
    "VDD_CPU": "cpu", "VDD_SYS_CPU": "cpu", "POM_5V_CPU": "cpu", "CPU": "cpu", "VDD_CPU_GPU_CV": "cpu_gpu_cv",
    "VDD_GPU": "gpu", "VDD_SYS_GPU": "gpu", "POM_5V_GPU": "gpu", "GPU": "gpu",
    "VDD_SYS_DDR": "ddr", "VDD_DDR": "ddr", "VDDRQ": "ddr",
    "VDD_SYS_SOC": "soc", "VDD_SOC": "soc", "SOC": "soc",
}
_DISABLED = {"", "NC", "N/A", "UNUSED"}


@dataclass(frozen=True)
class Rail:
    """One monitored rail.

    ``power_file`` is read directly (``power_scale`` converts its unit to W); otherwise power is
    ``voltage_file`` (mV) x ``current_file`` (mA).
    """

    name: str
    label: str
    style: str
    device: str
    power_file: str | None = None
    power_scale: float = 1e-3
    voltage_file: str | None = None
    current_file: str | None = None

    def read_w(self) -> float:
        if self.power_file is not None:
            return _read_number(self.power_file, self.name) * self.power_scale
        assert self.voltage_file is not None and self.current_file is not None
        mv = _read_number(self.voltage_file, self.name)
        ma = _read_number(self.current_file, self.name)
        return mv * ma * 1e-6


def _read_text(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as fh:
        return fh.read().strip()


def _read_number(path: str, rail: str) -> float:
    try:
        text = _read_text(path)
    except FileNotFoundError:
        raise SensorUnavailable(f"INA3221 rail {rail}: {path} disappeared") from None
    except OSError as exc:
        raise SensorUnavailable(f"INA3221 rail {rail}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return float(text)
    except ValueError:
        raise SensorUnavailable(f"INA3221 rail {rail}: {path} holds {text[:30]!r}, not a number") from None


def discover_rails(sysfs_root: str | os.PathLike = "/") -> list[Rail]:
    """All INA3221 rails under ``sysfs_root`` (iio style first, then hwmon), named by role."""
    root = os.fspath(sysfs_root)
    found: list[Rail] = []
    iio_dirs: list[str] = []
    seen: set[str] = set()
    for pattern in (IIO_GLOB, *IIO_L4T28_GLOBS):
        for dev in sorted(glob.glob(os.path.join(root, pattern))):
            real = os.path.realpath(dev)  # the driver folder and the device path are one monitor
            if real not in seen:
                seen.add(real)
                iio_dirs.append(dev)
    for dev in iio_dirs:
        device = os.path.basename(os.path.dirname(dev))
        for name_file in sorted(glob.glob(os.path.join(dev, "rail_name_*"))):
            ch = name_file.rsplit("_", 1)[-1]
            power = os.path.join(dev, f"in_power{ch}_input")
            try:
                label = _read_text(name_file)
            except OSError:
                continue
            if label.upper() in _DISABLED or not os.path.exists(power):
                continue
            found.append(Rail(label, label, "iio", device, power_file=power, power_scale=1e-3))
    for dev in sorted(glob.glob(os.path.join(root, HWMON_GLOB))):
        device = os.path.basename(os.path.dirname(os.path.dirname(dev)))
        for label_file in sorted(glob.glob(os.path.join(dev, "in*_label"))):
            ch = os.path.basename(label_file)[2:-len("_label")]
            try:
                label = _read_text(label_file)
            except OSError:
                continue
            if label.upper() in _DISABLED:
                continue
            power = os.path.join(dev, f"power{ch}_input")
            volt, curr = os.path.join(dev, f"in{ch}_input"), os.path.join(dev, f"curr{ch}_input")
            if os.path.exists(power):
                found.append(Rail(label, label, "hwmon", device, power_file=power, power_scale=1e-6))
            elif os.path.exists(volt) and os.path.exists(curr):
                found.append(Rail(label, label, "hwmon", device, voltage_file=volt, current_file=curr))
    return _name_by_role(found)


def _name_by_role(rails: list[Rail]) -> list[Rail]:
    out: list[Rail] = []
    used: set[str] = set()
    for rail in rails:
        role = RAIL_ROLES.get(rail.label.upper(), rail.label.lower())
        name = role if role not in used else f"{role}_{rail.label.lower()}"
        used.add(name)
        out.append(Rail(name, rail.label, rail.style, rail.device, rail.power_file, rail.power_scale,
                        rail.voltage_file, rail.current_file))
    return out


class Ina3221Sensor(PowerSensor):
    """Instantaneous power (W) of every INA3221 rail the board exposes.

    Parameters
    ----------
    sysfs_root : path-like
        Root of the file system tree (``/`` on a board).
    rails : sequence of str, optional
        Keep only these rails (role names such as ``total``, ``gpu``).
    """

    name = "ina3221"

    def __init__(self, sysfs_root: str | os.PathLike = "/", rails: tuple[str, ...] | None = None):
        self.sysfs_root = os.fspath(sysfs_root)
        found = discover_rails(self.sysfs_root)
        if rails is not None:
            missing = [r for r in rails if r not in {x.name for x in found}]
            if missing:
                raise SensorUnavailable(f"INA3221 has no rail {missing[0]!r}; rails: "
                                        f"{', '.join(x.name for x in found) or 'none'}")
            found = [x for x in found if x.name in rails]
        self.rails: tuple[Rail, ...] = tuple(found)

    def availability(self) -> tuple[bool, str]:
        if not self.rails:
            return False, (f"no INA3221 rails under {os.path.join(self.sysfs_root, IIO_GLOB)}, "
                           f"{os.path.join(self.sysfs_root, IIO_L4T28_GLOBS[0])} "
                           f"or {os.path.join(self.sysfs_root, HWMON_GLOB)}")
        try:
            self.read_power_w()
        except SensorUnavailable as exc:
            return False, str(exc)
        return True, ""

    def read_power_w(self) -> dict[str, float]:
        return {rail.name: rail.read_w() for rail in self.rails}

    def describe(self) -> dict[str, str]:
        """Rail name -> ``label (style device)`` for the record of a measurement."""
        return {r.name: f"{r.label} ({r.style} {r.device})" for r in self.rails}
