"""NVIDIA Jetson boards (TX1 first; TX2 and Xavier where their paths differ).

The platform drives DVFS and core hot-plug through sysfs/debugfs and reads the INA3221 power rails.
Every path goes through one ``sysfs_root`` (``/`` on a board), so the tests run it against a simulated
tree (:mod:`profiling.platforms.fake_jetson`).

Knobs (frequencies in Hz, as integers)
--------------------------------------
``cpu_freq``
    CPU frequency of every cpufreq policy: governor ``userspace`` + ``scaling_setspeed`` when the kernel
    offers it, else ``scaling_min_freq``/``scaling_max_freq`` pinned to the value.
``cores``
    Number of online cores (cpu0 always on; ``cpuN/online``). On TX1 the ``cpuquiet`` hot-plug governor
    is disabled first, or it would bring cores back.
``gpu_freq``
    L4T 28 TX1: debugfs clock override (``debug/clock/override.gbus/{rate,state}``); L4T 32 and TX2/Xavier:
    GPU devfreq ``min_freq``/``max_freq`` pinned to the value.
``emc_freq``
    Memory controller: debugfs override (``debug/clock/override.emc`` on L4T 28 TX1,
    ``debug/clk/override.emc`` on L4T 32 TX1, ``debug/bpmp/debug/clk/emc`` on TX2/Xavier).
``allow_growth``, ``memory_fraction``, ``batch``
    Software knobs of the Jetson TX1 design-space study (TensorFlow GPU options and batch size), applied by the executor.

Only files found at detection are ever written; a write the kernel refuses (error, or a read-back that
differs) raises :class:`~profiling.errors.PlatformError` naming the file, and
:meth:`~profiling.platforms.base.Platform.applied` puts back every file it changed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import platform as _pyplatform
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PlatformError
from ..sensors.base import PowerSensor
from ..sensors.ina3221 import Ina3221Sensor
from ..space import Boolean, ConfigSpace, Integer, Ordinal
from .base import Platform
from .fake_jetson import FAKE_MARKER

#: tegra chip id -> (SoC family, board)
CHIPS = {0x21: ("tegra210", "TX1"), 0x18: ("tegra186", "TX2"), 0x19: ("tegra194", "Xavier")}
CHIP_ID_FILES = ("sys/module/tegra_fuse/parameters/tegra_chip_id", "sys/devices/soc0/soc_id")
GPU_DEVFREQ = {
    "tegra210": "sys/devices/57000000.gpu/devfreq/57000000.gpu",
    "tegra186": "sys/devices/17000000.gp10b/devfreq/17000000.gp10b",
    "tegra194": "sys/devices/17000000.gv11b/devfreq/17000000.gv11b",
}
CPU = "sys/devices/system/cpu"
CPUQUIET = f"{CPU}/cpuquiet/tegra_cpuquiet/enable"
DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32)
DEFAULT_MEMORY_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)
HW_KNOBS = ("cpu_freq", "gpu_freq", "emc_freq", "cores")  # application order; restore runs backwards


@dataclass(frozen=True)
class _Override:
    """A debugfs clock override: write ``rate`` and set ``state`` to 1 (``state_first``: state then rate)."""

    rate: str
    state: str
    levels: str
    current: str
    state_first: bool = False


_EMC_OVERRIDES = {
    ("tegra210", "legacy"): _Override("sys/kernel/debug/clock/override.emc/rate",
                                      "sys/kernel/debug/clock/override.emc/state",
                                      "sys/kernel/debug/clock/emc/possible_rates", "sys/kernel/debug/clock/emc/rate"),
    ("tegra210", "clk"): _Override("sys/kernel/debug/clk/override.emc/clk_update_rate",
                                   "sys/kernel/debug/clk/override.emc/clk_state",
                                   "sys/kernel/debug/clk/emc/clk_possible_rates",
                                   "sys/kernel/debug/clk/override.emc/clk_rate"),
    ("bpmp", "bpmp"): _Override("sys/kernel/debug/bpmp/debug/clk/emc/rate",
                                "sys/kernel/debug/bpmp/debug/clk/emc/mrq_rate_locked",
                                "sys/kernel/debug/bpmp/debug/emc/possible_rates",
                                "sys/kernel/debug/bpmp/debug/clk/emc/rate", state_first=True),
}
_GPU_OVERRIDE = _Override("sys/kernel/debug/clock/override.gbus/rate", "sys/kernel/debug/clock/override.gbus/state",
                          "sys/kernel/debug/clock/gbus/possible_rates", "sys/kernel/debug/clock/gbus/rate")


@dataclass
class _Knob:
    levels: tuple[int, ...]
    method: str
    files: tuple[str, ...]          # every file the knob may write, in application order
    current: Callable[[], Any]
    apply: Callable[[int], None]
    capture: Callable[[], list[tuple[str, str]]]


def parse_rates(text: str, default_unit: float = 1.0) -> tuple[int, ...]:
    """Parse a list of clock rates such as ``"40800 68000 (kHz)"`` into sorted Hz integers."""
    unit = default_unit
    m = re.search(r"\((k|M|G)?Hz\)", text)
    if m:
        unit = {"k": 1e3, "M": 1e6, "G": 1e9, None: 1.0}[m.group(1)]
        text = text[: m.start()]
    try:
        values = [int(round(float(tok) * unit)) for tok in text.split()]
    except ValueError:
        raise PlatformError(f"cannot parse clock rates {text[:60]!r}") from None
    return tuple(sorted(set(v for v in values if v > 0)))


class JetsonPlatform(Platform):
    """A Jetson board (or a simulated tree of one).

    Parameters
    ----------
    sysfs_root : path-like
        Root under which ``sys/``, ``proc/`` and ``etc/`` are read (``/`` on the board).
    restore_file : path-like, optional
        Where the state found is saved while a configuration is applied (default: per board under
        ``~/.cache/perfmodel/restore``).
    batches, memory_fractions : sequence of numbers
        Levels of the software knobs ``batch`` and ``memory_fraction``.

    Raises
    ------
    PlatformError
        When ``sysfs_root`` holds no Tegra chip id of a known board.
    """

    name = "jetson"

    def __init__(self, sysfs_root: str | os.PathLike = "/", *, restore_file: str | os.PathLike | None = None,
                 batches: Sequence[int] = DEFAULT_BATCHES,
                 memory_fractions: Sequence[float] = DEFAULT_MEMORY_FRACTIONS):
        self.root = Path(sysfs_root)
        self.restore_file = restore_file
        self.batches = tuple(batches)
        self.memory_fractions = tuple(memory_fractions)
        self.simulated = (self.root / FAKE_MARKER).exists()
        self.chip_id, self.soc, self.board = self._detect_chip()
        self.l4t = self._read_l4t()
        self._soft: set[str] = set()  # override rate files: not compared after a restore (see _restore)
        self._knobs: dict[str, _Knob] = {}
        self._missing: dict[str, str] = {}
        for knob, detect in (("cpu_freq", self._detect_cpu_freq), ("gpu_freq", self._detect_gpu),
                             ("emc_freq", self._detect_emc), ("cores", self._detect_cores)):
            try:
                self._knobs[knob] = detect()
            except _Missing as why:
                self._missing[knob] = str(why)
        self._writable = {f for k in self._knobs.values() for f in k.files}

    # ------------------------------------------------------------------------------------ detection
    def _p(self, rel: str) -> Path:
        return self.root / rel

    def _read(self, rel: str) -> str:
        with open(self._p(rel), encoding="ascii", errors="replace") as fh:
            return fh.read().replace("\0", " ").strip()

    def _exists(self, rel: str) -> bool:
        return self._p(rel).exists()

    def _detect_chip(self) -> tuple[int, str, str]:
        for rel in CHIP_ID_FILES:
            if self._exists(rel):
                text = self._read(rel)
                try:
                    chip = int(text, 16) if text.lower().startswith("0x") else int(text)
                except ValueError:
                    raise PlatformError(f"{self._p(rel)} holds {text!r}, not a chip id") from None
                if chip not in CHIPS:
                    raise PlatformError(f"unsupported Tegra chip id {chip:#x} in {self._p(rel)}; "
                                        f"known: {', '.join(f'{k:#x} ({v[1]})' for k, v in CHIPS.items())}")
                return chip, *CHIPS[chip]
        if self._exists("proc/device-tree/compatible"):
            compat = self._read("proc/device-tree/compatible")
            for chip, (soc, board) in CHIPS.items():
                if f"nvidia,{soc}" in compat:
                    return chip, soc, board
        raise PlatformError(f"not a Jetson board: no Tegra chip id under {self.root} "
                            f"({', '.join(CHIP_ID_FILES)} or proc/device-tree/compatible)")

    def _read_l4t(self) -> tuple[int, str] | None:
        try:
            text = self._read("etc/nv_tegra_release")
        except OSError:
            return None
        m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
        return (int(m.group(1)), m.group(2)) if m else None

    def _policies(self) -> list[str]:
        pols = sorted(os.path.relpath(p, self.root) for p in glob.glob(str(self._p(f"{CPU}/cpufreq/policy*"))))
        pols = [p for p in pols if self._exists(f"{p}/scaling_available_frequencies")]
        if not pols and self._exists(f"{CPU}/cpu0/cpufreq/scaling_available_frequencies"):
            pols = [f"{CPU}/cpu0/cpufreq"]
        return pols

    def _detect_cpu_freq(self) -> _Knob:
        pols = self._policies()
        if not pols:
            raise _Missing(f"no cpufreq policy under {self._p(CPU)} (cpufreq/policy*/ or cpu0/cpufreq/)")
        sets = [set(parse_rates(self._read(f"{p}/scaling_available_frequencies"), 1e3)) for p in pols]
        levels = tuple(sorted(set.intersection(*sets)))
        if not levels:
            raise _Missing("the cpufreq policies share no frequency")
        userspace = all(self._exists(f"{p}/scaling_available_governors") and self._exists(f"{p}/scaling_setspeed")
                        and "userspace" in self._read(f"{p}/scaling_available_governors").split() for p in pols)
        files: list[str] = []
        for p in pols:
            files += [f"{p}/scaling_min_freq", f"{p}/scaling_max_freq"]
            if userspace:
                files += [f"{p}/scaling_governor", f"{p}/scaling_setspeed"]

        def capture() -> list[tuple[str, str]]:
            out = []
            for p in pols:
                out += [(f"{p}/scaling_min_freq", self._read(f"{p}/scaling_min_freq")),
                        (f"{p}/scaling_max_freq", self._read(f"{p}/scaling_max_freq"))]
                if userspace:
                    gov = self._read(f"{p}/scaling_governor")
                    out.append((f"{p}/scaling_governor", gov))
                    out.append((f"{p}/scaling_setspeed", self._read(f"{p}/scaling_setspeed")))
            return out

        def apply(hz: int) -> None:
            khz = str(hz // 1000)
            for p in pols:
                lo, hi = int(self._read(f"{p}/scaling_min_freq")), int(self._read(f"{p}/scaling_max_freq"))
                if userspace:  # widen min/max only when they would clamp the set speed
                    if hz // 1000 > hi:
                        self._write(f"{p}/scaling_max_freq", khz)
                    if hz // 1000 < lo:
                        self._write(f"{p}/scaling_min_freq", khz)
                    self._write(f"{p}/scaling_governor", "userspace")
                    self._write(f"{p}/scaling_setspeed", khz)
                else:
                    order = ("max", "min") if hz // 1000 > hi else ("min", "max")
                    for which in order:
                        self._write(f"{p}/scaling_{which}_freq", khz)

        def current() -> int | None:
            return self._read_int(f"{pols[0]}/scaling_cur_freq", 1000)

        method = ("governor userspace + scaling_setspeed" if userspace else "scaling_min_freq = scaling_max_freq")
        return _Knob(levels, f"{method} ({len(pols)} cpufreq polic{'y' if len(pols) == 1 else 'ies'})",
                     tuple(files), current, apply, capture)

    def _detect_cores(self) -> _Knob:
        cpus = sorted((int(m.group(1)), os.path.relpath(p, self.root))
                      for p in glob.glob(str(self._p(f"{CPU}/cpu[0-9]*")))
                      if (m := re.search(r"cpu(\d+)$", p)))
        if not cpus:
            raise _Missing(f"no cpuN folders under {self._p(CPU)}")
        hotplug = [f"{rel}/online" for n, rel in cpus if n != 0 and self._exists(f"{rel}/online")]
        if not hotplug:
            raise _Missing("no hot-pluggable core (cpuN/online) found")
        quiet = CPUQUIET if self._exists(CPUQUIET) else None
        files = ((quiet,) if quiet else ()) + tuple(hotplug)

        def capture() -> list[tuple[str, str]]:
            return [(f, self._read(f)) for f in files]

        def apply(n: int) -> None:
            if quiet and self._read(quiet) != "0":
                self._write(quiet, "0")  # else cpuquiet brings cores back (TX1)
            for i, f in sorted(enumerate(hotplug), key=lambda x: x[0] >= n - 1):  # online first
                want = "1" if i < n - 1 else "0"
                if self._read(f) != want:
                    self._write(f, want)

        def current() -> int | None:
            try:
                return 1 + sum(self._read(f) == "1" for f in hotplug)
            except OSError:
                return None

        note = "cpuN/online" + (" (cpuquiet disabled first)" if quiet else "")
        return _Knob(tuple(range(1, len(hotplug) + 2)), note, files, current, apply, capture)

    def _debugfs_hint(self) -> str:
        debug = self._p("sys/kernel/debug")
        if not debug.is_dir() or not any(debug.iterdir()):
            return f"; debugfs is not mounted at {debug} (or not readable: run as root)"
        return ""

    def _detect_gpu(self) -> _Knob:
        devfreq = GPU_DEVFREQ.get(self.soc)
        has_devfreq = devfreq is not None and all(self._exists(f"{devfreq}/{f}")
                                                  for f in ("available_frequencies", "min_freq", "max_freq"))
        has_override = self._exists(_GPU_OVERRIDE.rate) and self._exists(_GPU_OVERRIDE.state)
        prefer_devfreq = self.l4t is None or self.l4t[0] >= 32 or self.soc != "tegra210"
        if has_devfreq and (prefer_devfreq or not has_override):
            assert devfreq is not None
            return self._devfreq_knob(devfreq)
        if has_override:
            levels_file = _GPU_OVERRIDE.levels
            if self._exists(levels_file):
                levels = parse_rates(self._read(levels_file))
            elif devfreq and self._exists(f"{devfreq}/available_frequencies"):
                levels = parse_rates(self._read(f"{devfreq}/available_frequencies"))
            else:
                raise _Missing(f"no list of GPU rates ({self._p(levels_file)})")
            return self._override_knob(_GPU_OVERRIDE, levels, "debugfs clock override (override.gbus)")
        looked = [f"{devfreq}/min_freq" if devfreq else "", _GPU_OVERRIDE.rate]
        raise _Missing(f"no GPU frequency control found (looked for {', '.join(str(self._p(x)) for x in looked if x)})"
                       + self._debugfs_hint())

    def _devfreq_knob(self, d: str) -> _Knob:
        levels = parse_rates(self._read(f"{d}/available_frequencies"))
        files = (f"{d}/min_freq", f"{d}/max_freq")

        def capture() -> list[tuple[str, str]]:
            return [(f, self._read(f)) for f in files]

        def apply(hz: int) -> None:
            hi = int(self._read(f"{d}/max_freq"))
            order = ("max_freq", "min_freq") if hz > hi else ("min_freq", "max_freq")
            for which in order:
                self._write(f"{d}/{which}", str(hz))

        return _Knob(levels, "devfreq min_freq = max_freq", files,
                     lambda: self._read_int(f"{d}/cur_freq"), apply, capture)

    def _override_knob(self, ov: _Override, levels: tuple[int, ...], method: str) -> _Knob:
        files = (ov.state, ov.rate) if ov.state_first else (ov.rate, ov.state)
        self._soft.add(ov.rate)

        def capture() -> list[tuple[str, str]]:
            return [(f, self._read(f)) for f in files]

        def apply(hz: int) -> None:
            for f in files:
                self._write(f, "1" if f == ov.state else str(hz))

        return _Knob(levels, method, files, lambda: self._read_int(ov.current), apply, capture)

    def _detect_emc(self) -> _Knob:
        if self.soc == "tegra210":
            flavours = ["legacy", "clk"] if (self.l4t is None or self.l4t[0] < 32) else ["clk", "legacy"]
            candidates = [_EMC_OVERRIDES[("tegra210", f)] for f in flavours]
        else:
            candidates = [_EMC_OVERRIDES[("bpmp", "bpmp")]]
        for ov in candidates:
            if self._exists(ov.rate) and self._exists(ov.state):
                if not self._exists(ov.levels):
                    raise _Missing(f"no list of EMC rates ({self._p(ov.levels)})")
                levels = parse_rates(self._read(ov.levels))
                where = os.path.dirname(ov.state).removeprefix("sys/kernel/")
                return self._override_knob(ov, levels, f"debugfs override ({where})")
        raise _Missing("no EMC clock override found (looked for "
                       f"{', '.join(str(self._p(c.rate)) for c in candidates)})" + self._debugfs_hint())

    def _read_int(self, rel: str, scale: int = 1) -> int | None:
        try:
            return int(float(self._read(rel).split()[0])) * scale
        except (OSError, ValueError, IndexError):
            return None

    # ------------------------------------------------------------------------------------- writing
    def _write(self, rel: str, value: str, verify: bool = True) -> None:
        path = self._p(rel)
        if rel not in self._writable:
            raise PlatformError(f"refusing to write {path}: not a file this platform detected as a knob")
        try:
            with open(path, "w", encoding="ascii") as fh:
                fh.write(f"{value}\n")
        except PermissionError:
            raise PlatformError(f"no permission to write {path} (run as root)") from None
        except OSError as exc:
            raise PlatformError(f"{path} rejected {value!r}: {exc.strerror or exc}") from None
        if verify:
            try:
                got = self._read(rel)
            except OSError as exc:
                raise PlatformError(f"{path} cannot be read back after writing {value!r}: {exc}") from None
            if got != value:
                raise PlatformError(f"{path} rejected {value!r}: it reads back {got!r}")

    # --------------------------------------------------------------------------- platform interface
    def space(self) -> ConfigSpace:
        knobs: list[Any] = []
        for name in ("cpu_freq", "cores", "gpu_freq", "emc_freq"):
            k = self._knobs.get(name)
            if k is None:
                continue
            if name == "cores":
                knobs.append(Integer("cores", low=1, high=max(k.levels), default=max(k.levels)))
            else:
                knobs.append(Ordinal(name, values=k.levels, default=max(k.levels)))
        knobs += [Boolean("allow_growth", default=False),
                  Ordinal("memory_fraction", values=self.memory_fractions, default=max(self.memory_fractions)),
                  Ordinal("batch", values=self.batches, default=min(self.batches))]
        return ConfigSpace(tuple(knobs), name=f"jetson-{self.board.lower()}")

    def sensors(self) -> list[PowerSensor]:
        return [Ina3221Sensor(self.root)]

    def hardware_knobs(self) -> tuple[str, ...]:
        return tuple(k for k in HW_KNOBS if k in self._knobs)

    def unavailable_knobs(self) -> dict[str, str]:
        return dict(self._missing)

    def current_values(self) -> dict[str, Any]:
        out = {}
        for name, k in self._knobs.items():
            try:
                out[name] = k.current()
            except (OSError, ValueError):
                out[name] = None
        return out

    def knob_notes(self) -> dict[str, str]:
        notes = {}
        for name, k in self._knobs.items():
            locked = [f for f in k.files if not os.access(self._p(f), os.W_OK)]
            notes[name] = k.method + (f"; not writable by this user: {self._p(locked[0])} (run as root)"
                                      if locked else "")
        notes.update({"allow_growth": "software (TensorFlow gpu_options.allow_growth)",
                      "memory_fraction": "software (TensorFlow per_process_gpu_memory_fraction)",
                      "batch": "software (executor batch size)"})
        return notes

    def describe(self) -> dict[str, Any]:
        def opt(rel: str) -> str | None:
            try:
                return self._read(rel)
            except OSError:
                return None

        d: dict[str, Any] = {
            "platform": self.name, "source": self.source, "board": f"Jetson {self.board}", "soc": self.soc,
            "chip_id": f"{self.chip_id:#x}", "model": opt("proc/device-tree/model"),
            "l4t": f"R{self.l4t[0]}.{self.l4t[1]}" if self.l4t else None,
            "kernel": opt("proc/version") if str(self.root) != "/" else _pyplatform.release(),
            "python": _pyplatform.python_version(), "sysfs_root": str(self.root),
            "knob_methods": {k: v.method for k, v in self._knobs.items()},
        }
        sensor = Ina3221Sensor(self.root)
        d["power_rails"] = sensor.describe()
        return d

    def capture_state(self, knobs: Sequence[str]) -> dict[str, Any]:
        files: list[tuple[str, str]] = []
        for name in HW_KNOBS:
            if name in knobs:
                try:
                    files += self._knobs[name].capture()
                except OSError as exc:
                    raise PlatformError(f"cannot read the state of {name}: {exc}") from None
        return {"board": self.board, "files": [list(x) for x in files]}

    def apply_state(self, values: Mapping[str, Any]) -> None:
        for name in HW_KNOBS:
            if name in values:
                self._knobs[name].apply(int(values[name]))

    def restore_state(self, state: Mapping[str, Any]) -> None:
        entries = [(str(rel), str(text)) for rel, text in state.get("files", [])]
        for rel, _ in entries:  # a restore file is data: only files of detected knobs are written
            if rel not in self._writable:
                raise PlatformError(f"restore state names {self._p(rel)}, which is not a file this platform controls")
        # scaling_setspeed saved as "<unsupported>" is the kernel's view under another governor: restoring the
        # governor restores it, and writing the text would be refused.
        entries = [(r, t) for r, t in entries if not (r.endswith("scaling_setspeed") and not t.strip().isdigit())]
        pending = list(reversed(entries))
        errors: list[str] = []
        for _ in range(3):  # a later write can unblock an earlier one (min/max ordering)
            errors, failed = [], []
            for rel, text in pending:
                try:
                    if self._read(rel) == text:
                        continue  # unchanged: no write (a file that refused the new value is still as found)
                except OSError:
                    pass
                try:
                    self._write(rel, text, verify=rel not in self._soft)
                except PlatformError as exc:
                    errors.append(str(exc))
                    failed.append((rel, text))
            if not failed:
                return
            pending = failed
        raise PlatformError("; ".join(errors))

    def restore_init(self) -> dict[str, Any]:
        return {"sysfs_root": str(self.root.resolve())}

    def restore_key(self) -> str:
        root = str(self.root.resolve())
        if root == "/":
            return "jetson"
        return "jetson-" + hashlib.sha1(root.encode()).hexdigest()[:10]


class _Missing(Exception):
    """A knob this board does not expose (with the reason)."""
