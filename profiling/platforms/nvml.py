"""NVIDIA GPUs through NVML (``nvidia-ml-py``): power, total energy, clocks and memory.

Knobs (frequencies in Hz, as integers)
--------------------------------------
``gpu_freq``, ``mem_freq``
    Application clocks (``nvmlDeviceSetApplicationsClocks``) where the GPU supports them and this user
    may set them (root, or ``nvidia-smi -acp UNRESTRICTED``); otherwise, as root, locked clocks
    (``nvmlDeviceSetGpuLockedClocks``/``nvmlDeviceSetMemoryLockedClocks``). When neither is permitted
    the knobs are reported as *not settable* (``platform info``) and asking for them is an error.
``power_limit``
    Board power limit in W (``nvmlDeviceSetPowerManagementLimit``), five levels from the GPU's minimum to
    its maximum (``nvmlDeviceGetPowerManagementLimitConstraints``); settable only as root. Restored to the
    limit found.
``cudnn_benchmark``, ``batch``
    Software knobs of the PyTorch executor (its campaign knobs are
    :class:`~profiling.executors.torch_runner.TorchRunner`'s).

``pynvml`` is imported lazily; without it (or without a driver) constructing the platform raises
:class:`~profiling.errors.PlatformError` with the reason.
"""

from __future__ import annotations

import os
import platform as _pyplatform
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import PlatformError, SensorUnavailable
from ..sensors.base import PowerSensor
from ..sensors.nvml import NvmlSensor, device_handle, nvml_message, text
from ..space import Boolean, ConfigSpace, Ordinal
from .base import Platform

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32, 64)
_MHZ = 1_000_000


class NvmlPlatform(Platform):
    """One NVIDIA GPU seen through NVML.

    Parameters
    ----------
    index : int
        NVML device index.
    restore_file : path-like, optional
        Where the clocks found are saved while a configuration is applied.
    batches : sequence of int
        Levels of the ``batch`` knob.
    """

    name = "nvml"

    def __init__(self, index: int = 0, *, restore_file: str | os.PathLike | None = None,
                 batches: Sequence[int] = DEFAULT_BATCHES):
        self.index = int(index)
        self.restore_file = restore_file
        self.batches = tuple(batches)
        try:
            self._nv, self._h = device_handle(self.index)
        except SensorUnavailable as exc:
            raise PlatformError(str(exc)) from None
        self._missing: dict[str, str] = {}
        self.clock_method = self._detect_clock_method()
        self._mem_levels, self._gpu_levels = self._clock_levels()
        self._power_levels = self._detect_power_limit()

    # ------------------------------------------------------------------------------------ detection
    def _call(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self._nv, fn)(self._h, *args)
        except Exception as exc:  # noqa: BLE001 - pynvml.NVMLError, or a binding without the function
            raise PlatformError(f"NVML {fn} failed on GPU {self.index}: {nvml_message(exc)}") from None

    def _const(self, name: str, default: int) -> int:
        return int(getattr(self._nv, name, default))

    def _detect_clock_method(self) -> str | None:
        graphics = self._const("NVML_CLOCK_GRAPHICS", 0)
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        app_supported = True
        try:
            self._call("nvmlDeviceGetApplicationsClock", graphics)
        except PlatformError:
            app_supported = False
        if app_supported:
            restricted = True
            try:
                restricted = self._call("nvmlDeviceGetAPIRestriction",
                                        self._const("NVML_RESTRICTED_API_SET_APPLICATION_CLOCKS", 0)) \
                    != self._const("NVML_FEATURE_DISABLED", 0)
            except PlatformError:
                pass
            if root or not restricted:
                return "application"
        if root and hasattr(self._nv, "nvmlDeviceSetGpuLockedClocks"):
            return "locked"
        why = ("not settable: application clocks are restricted to root on this GPU "
               "(run as root, or 'nvidia-smi -acp UNRESTRICTED')" if app_supported
               else "not settable: this GPU has no application clocks and locked clocks need root")
        self._missing = {"gpu_freq": why, "mem_freq": why}
        return None

    def _clock_levels(self) -> tuple[tuple[int, ...], dict[int, tuple[int, ...]]]:
        try:
            mems = sorted(int(m) for m in self._call("nvmlDeviceGetSupportedMemoryClocks"))
        except PlatformError as exc:
            if self.clock_method is not None:
                self._missing = {"gpu_freq": f"not settable: {exc}", "mem_freq": f"not settable: {exc}"}
                self.clock_method = None
            return (), {}
        gpus = {}
        for m in mems:
            try:
                gpus[m] = tuple(sorted(int(g) for g in self._call("nvmlDeviceGetSupportedGraphicsClocks", m)))
            except PlatformError:
                gpus[m] = ()
        return tuple(mems), gpus

    def _detect_power_limit(self) -> tuple[int, ...]:
        """Levels (W) of the power limit, or () with the reason in ``unavailable_knobs``."""
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        try:
            lo, hi = (int(v) for v in self._call("nvmlDeviceGetPowerManagementLimitConstraints"))
            self._call("nvmlDeviceGetPowerManagementLimit")
        except (PlatformError, TypeError, ValueError) as exc:
            self._missing["power_limit"] = f"not settable: {exc}"
            return ()
        if not root or not hasattr(self._nv, "nvmlDeviceSetPowerManagementLimit"):
            self._missing["power_limit"] = "not settable: the power limit is set as root only"
            return ()
        lo_w, hi_w = lo // 1000, hi // 1000
        if hi_w <= lo_w:
            self._missing["power_limit"] = f"not settable: the GPU allows only {hi_w} W"
            return ()
        return tuple(sorted({round(lo_w + (hi_w - lo_w) * i / 4) for i in range(5)}))

    # --------------------------------------------------------------------------- platform interface
    def space(self) -> ConfigSpace:
        knobs: list[Any] = []
        if self.clock_method is not None and self._mem_levels:
            top = max(self._mem_levels)
            gpu_levels = self._gpu_levels.get(top) or tuple(sorted({g for v in self._gpu_levels.values() for g in v}))
            if gpu_levels:
                knobs.append(Ordinal("gpu_freq", values=tuple(g * _MHZ for g in gpu_levels),
                                     default=max(gpu_levels) * _MHZ))
            knobs.append(Ordinal("mem_freq", values=tuple(m * _MHZ for m in self._mem_levels), default=top * _MHZ))
        if self._power_levels:
            knobs.append(Ordinal("power_limit", values=self._power_levels, default=max(self._power_levels)))
        knobs += [Boolean("cudnn_benchmark", default=False),
                  Ordinal("batch", values=self.batches, default=min(self.batches))]
        return ConfigSpace(tuple(knobs), name=f"nvml-gpu{self.index}")

    def sensors(self) -> list[PowerSensor]:
        return [NvmlSensor(self.index)]

    def hardware_knobs(self) -> tuple[str, ...]:
        clocks = ("gpu_freq", "mem_freq") if self.clock_method is not None else ()
        return clocks + (("power_limit",) if self._power_levels else ())

    def unavailable_knobs(self) -> dict[str, str]:
        return dict(self._missing)

    def _clock(self, fn: str, which: str) -> int | None:
        try:
            return int(self._call(fn, self._const(which, 0 if which == "NVML_CLOCK_GRAPHICS" else 2))) * _MHZ
        except PlatformError:
            return None

    def current_values(self) -> dict[str, Any]:
        fn = "nvmlDeviceGetApplicationsClock" if self.clock_method == "application" else "nvmlDeviceGetClockInfo"
        out = {"gpu_freq": self._clock(fn, "NVML_CLOCK_GRAPHICS"), "mem_freq": self._clock(fn, "NVML_CLOCK_MEM")}
        if self._power_levels:
            out["power_limit"] = self._power_limit_w()
        return out

    def _power_limit_w(self) -> int | None:
        try:
            return int(self._call("nvmlDeviceGetPowerManagementLimit")) // 1000
        except PlatformError:
            return None

    def knob_notes(self) -> dict[str, str]:
        notes = {"cudnn_benchmark": "software (torch.backends.cudnn.benchmark)", "batch": "software (batch size)"}
        if self.clock_method == "application":
            notes.update(gpu_freq="NVML application clocks", mem_freq="NVML application clocks")
        elif self.clock_method == "locked":
            notes.update(gpu_freq="NVML locked GPU clocks", mem_freq="NVML locked memory clocks")
        if self._power_levels:
            notes["power_limit"] = "NVML power management limit (W)"
        return notes

    def describe(self) -> dict[str, Any]:
        def opt(fn: str, *args: Any, system: bool = False) -> Any:
            try:
                return getattr(self._nv, fn)(*args) if system else self._call(fn, *args)
            except Exception:  # noqa: BLE001 - an optional field
                return None

        mem = opt("nvmlDeviceGetMemoryInfo")
        cuda = opt("nvmlSystemGetCudaDriverVersion", system=True)
        limit = opt("nvmlDeviceGetPowerManagementLimit")
        name = opt("nvmlDeviceGetName")
        return {
            "platform": self.name, "source": self.source, "index": self.index,
            "model": text(name) if name is not None else None,
            "driver": _opt_text(opt("nvmlSystemGetDriverVersion", system=True)),
            "nvml": _opt_text(opt("nvmlSystemGetNVMLVersion", system=True)),
            "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}" if isinstance(cuda, int) else None,
            "memory_total_bytes": int(mem.total) if mem is not None else None,
            "power_limit_w": limit / 1000.0 if isinstance(limit, (int, float)) else None,
            "clock_control": self.clock_method or "not settable",
            "os": _pyplatform.platform(), "python": _pyplatform.python_version(),
        }

    def memory(self) -> dict[str, int]:
        """Used, free and total GPU memory in bytes."""
        info = self._call("nvmlDeviceGetMemoryInfo")
        return {"used_bytes": int(info.used), "free_bytes": int(info.free), "total_bytes": int(info.total)}

    # ------------------------------------------------------------------------------------- applying
    def capture_state(self, knobs: Sequence[str]) -> dict[str, Any]:
        state: dict[str, Any]
        clocks = [k for k in knobs if k in ("gpu_freq", "mem_freq")]
        if not clocks:
            state = {"method": "none"}
        elif self.clock_method == "application":
            cur = self.current_values()
            if cur["gpu_freq"] is None or cur["mem_freq"] is None:
                raise PlatformError(f"cannot read the application clocks of GPU {self.index}")
            state = {"method": "application", "gpu_mhz": cur["gpu_freq"] // _MHZ, "mem_mhz": cur["mem_freq"] // _MHZ}
        else:
            state = {"method": "locked", "knobs": clocks}
        if "power_limit" in knobs:
            state["power_limit_mw"] = int(self._call("nvmlDeviceGetPowerManagementLimit"))
        return state

    def apply_state(self, values: Mapping[str, Any]) -> None:
        values = dict(values)
        if "power_limit" in values:
            self._set_power_limit(int(values.pop("power_limit")) * 1000)
        if not values:
            return
        if self.clock_method == "application":
            cur = self.current_values()
            gpu = int(values.get("gpu_freq", cur["gpu_freq"])) // _MHZ
            mem = int(values.get("mem_freq", cur["mem_freq"])) // _MHZ
            allowed = self._gpu_levels.get(mem, ())
            if allowed and gpu not in allowed:
                raise PlatformError(f"GPU clock {gpu} MHz is not supported with memory clock {mem} MHz on GPU "
                                    f"{self.index}; supported: {', '.join(map(str, allowed))} MHz")
            self._set_application(mem, gpu)
        elif self.clock_method == "locked":
            if "gpu_freq" in values:
                mhz = int(values["gpu_freq"]) // _MHZ
                self._call("nvmlDeviceSetGpuLockedClocks", mhz, mhz)
            if "mem_freq" in values:
                mhz = int(values["mem_freq"]) // _MHZ
                self._call("nvmlDeviceSetMemoryLockedClocks", mhz, mhz)
        elif values:
            raise PlatformError(f"GPU {self.index} clocks are {self._missing.get('gpu_freq', 'not settable')}")

    def _set_application(self, mem: int, gpu: int) -> None:
        self._call("nvmlDeviceSetApplicationsClocks", mem, gpu)
        cur = self.current_values()
        got = (cur["mem_freq"], cur["gpu_freq"])
        if got != (mem * _MHZ, gpu * _MHZ):
            raise PlatformError(f"GPU {self.index} rejected application clocks {mem}/{gpu} MHz (memory/graphics): "
                                f"they read back {got[0] and got[0] // _MHZ}/{got[1] and got[1] // _MHZ} MHz")

    def _set_power_limit(self, mw: int) -> None:
        self._call("nvmlDeviceSetPowerManagementLimit", mw)
        got = int(self._call("nvmlDeviceGetPowerManagementLimit"))
        if got != mw:
            raise PlatformError(f"GPU {self.index} rejected power limit {mw / 1000:g} W: it reads back {got / 1000:g} W")

    def restore_state(self, state: Mapping[str, Any]) -> None:
        if "power_limit_mw" in state:
            self._set_power_limit(int(state["power_limit_mw"]))
        method = state.get("method")
        if method == "none":
            return
        if method == "application":
            self._set_application(int(state["mem_mhz"]), int(state["gpu_mhz"]))
        elif method == "locked":
            knobs = state.get("knobs", [])
            if "gpu_freq" in knobs:
                self._call("nvmlDeviceResetGpuLockedClocks")
            if "mem_freq" in knobs:
                self._call("nvmlDeviceResetMemoryLockedClocks")
        else:
            raise PlatformError(f"unknown NVML restore method {method!r}")

    def restore_init(self) -> dict[str, Any]:
        return {"index": self.index}

    def restore_key(self) -> str:
        return f"nvml-gpu{self.index}"


def _opt_text(v: Any) -> str | None:
    return None if v is None else text(v)
