"""NVIDIA GPU power and energy through NVML (the ``nvidia-ml-py`` package, module ``pynvml``).

``pynvml`` is imported only when a sensor or platform is used, so the CPU path never needs it. On GPUs
that have it (Volta and later) the total-energy counter is used (``has_energy_counter``); older GPUs
are sampled for instantaneous board power. Absent package, absent driver or an index without a GPU make
:meth:`NvmlSensor.availability` say why; nothing is estimated in their place.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from ..errors import SensorUnavailable
from .base import PowerSensor

_lock = threading.Lock()
_state: dict[str, Any] = {"initialised": False}


def load_pynvml() -> Any:
    """The ``pynvml`` module with NVML initialised, or raise :class:`SensorUnavailable` saying why."""
    try:
        import pynvml
    except ImportError:
        raise SensorUnavailable("NVML not available: the nvidia-ml-py package is not installed "
                                "(pip install 'perfmodel[torch]')") from None
    with _lock:
        if not _state["initialised"]:
            try:
                pynvml.nvmlInit()
            except Exception as exc:  # noqa: BLE001 - pynvml.NVMLError and library load errors
                raise SensorUnavailable(f"NVML not available: {nvml_message(exc)}") from None
            _state["initialised"] = True
            atexit.register(_shutdown, pynvml)
    return pynvml


def _shutdown(pynvml: Any) -> None:
    with _lock:
        if _state["initialised"]:
            try:
                pynvml.nvmlShutdown()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
            _state["initialised"] = False


def reset_nvml_state() -> None:
    """Forget the initialisation (tests replace the ``pynvml`` module)."""
    with _lock:
        _state["initialised"] = False


def nvml_message(exc: BaseException) -> str:
    """One-line text of an NVML error (the driver library's message where it has one)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def text(value: Any) -> str:
    """NVML strings are ``bytes`` in old bindings and ``str`` in new ones."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def device_handle(index: int) -> tuple[Any, Any]:
    """``(pynvml, handle)`` of GPU ``index`` or raise :class:`SensorUnavailable`."""
    nv = load_pynvml()
    try:
        count = nv.nvmlDeviceGetCount()
    except Exception as exc:  # noqa: BLE001
        raise SensorUnavailable(f"NVML cannot count GPUs: {nvml_message(exc)}") from None
    if not 0 <= index < count:
        raise SensorUnavailable(f"no NVIDIA GPU with index {index} (NVML sees {count})")
    try:
        return nv, nv.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:  # noqa: BLE001
        raise SensorUnavailable(f"NVML cannot open GPU {index}: {nvml_message(exc)}") from None


class NvmlSensor(PowerSensor):
    """Board power (W) of one NVIDIA GPU, with its total-energy counter where the GPU has one.

    Parameters
    ----------
    index : int
        NVML device index.
    use_energy_counter : bool
        Use ``nvmlDeviceGetTotalEnergyConsumption`` when supported (exact integral, no sampling error).
    """

    name = "nvml"

    def __init__(self, index: int = 0, use_energy_counter: bool = True):
        self.index = int(index)
        self.use_energy_counter = use_energy_counter
        self.has_energy_counter = False
        self.rail = f"gpu{self.index}"

    def availability(self) -> tuple[bool, str]:
        try:
            nv, h = device_handle(self.index)
        except SensorUnavailable as exc:
            return False, str(exc)
        try:
            nv.nvmlDeviceGetPowerUsage(h)
        except Exception as exc:  # noqa: BLE001
            return False, f"GPU {self.index} does not report power: {nvml_message(exc)}"
        if self.use_energy_counter:
            try:
                nv.nvmlDeviceGetTotalEnergyConsumption(h)
                self.has_energy_counter = True
            except Exception:  # noqa: BLE001 - pre-Volta GPUs: sample power instead
                self.has_energy_counter = False
        return True, ""

    def read_power_w(self) -> dict[str, float]:
        nv, h = device_handle(self.index)
        try:
            return {self.rail: nv.nvmlDeviceGetPowerUsage(h) / 1000.0}  # mW
        except Exception as exc:  # noqa: BLE001
            raise SensorUnavailable(f"GPU {self.index} power reading failed: {nvml_message(exc)}") from None

    def read_energy_j(self) -> dict[str, float]:
        nv, h = device_handle(self.index)
        try:
            return {self.rail: nv.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0}  # mJ
        except Exception as exc:  # noqa: BLE001
            raise SensorUnavailable(f"GPU {self.index} has no energy counter: {nvml_message(exc)}") from None

    def energy_wrap_j(self) -> dict[str, float]:
        return {self.rail: float(2**64) / 1000.0}
