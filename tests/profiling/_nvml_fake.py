"""A stand-in ``pynvml`` module for tests (no GPU needed): the functions the code calls, with state."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from profiling.sensors.nvml import reset_nvml_state


class NVMLError(Exception):
    pass


def fake_pynvml(*, energy=True, app_clocks=True, restricted=False, init_error=None, count=1,
                ignore_set=False) -> types.ModuleType:
    """A module with the pynvml functions the code calls; clocks in MHz, power in mW, energy in mJ."""
    m = types.ModuleType("pynvml")
    st = SimpleNamespace(app=(1380, 877), energy_mj=1_000_000, calls=[], power_mw=71_500)
    mems = {877: (1380, 1290, 1200, 600), 405: (600, 300)}
    m.NVMLError = NVMLError
    m.NVML_CLOCK_GRAPHICS, m.NVML_CLOCK_MEM = 0, 2
    m.NVML_RESTRICTED_API_SET_APPLICATION_CLOCKS, m.NVML_FEATURE_DISABLED, m.NVML_FEATURE_ENABLED = 0, 0, 1
    m.state = st

    def init():
        if init_error:
            raise NVMLError(init_error)

    def handle(i):
        return f"h{i}"

    def not_supported(*a):
        raise NVMLError("Not Supported")

    def app_clock(h, which):
        if not app_clocks:
            raise NVMLError("Not Supported")
        return st.app[0] if which == 0 else st.app[1]

    def energy_fn(h):
        st.energy_mj += 2500  # 2.5 J between two reads
        return st.energy_mj

    def set_app(h, mem, gpu):
        st.calls.append(("set", mem, gpu))
        if not ignore_set:
            st.app = (gpu, mem)

    m.nvmlInit = init
    m.nvmlShutdown = lambda: None
    m.nvmlDeviceGetCount = lambda: count
    m.nvmlDeviceGetHandleByIndex = handle
    m.nvmlDeviceGetPowerUsage = lambda h: st.power_mw
    m.nvmlDeviceGetTotalEnergyConsumption = energy_fn if energy else not_supported
    m.nvmlDeviceGetApplicationsClock = app_clock
    m.nvmlDeviceGetClockInfo = lambda h, which: 1410 if which == 0 else 877
    m.nvmlDeviceGetAPIRestriction = lambda h, api: 1 if restricted else 0
    m.nvmlDeviceGetSupportedMemoryClocks = lambda h: list(mems)
    m.nvmlDeviceGetSupportedGraphicsClocks = lambda h, mem: list(mems[mem])
    m.nvmlDeviceSetApplicationsClocks = set_app
    m.nvmlDeviceGetName = lambda h: b"Simulated GPU"
    m.nvmlSystemGetDriverVersion = lambda: "550.54"
    m.nvmlSystemGetNVMLVersion = lambda: "12.550.54"
    m.nvmlSystemGetCudaDriverVersion = lambda: 12040
    m.nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(total=80 * 2**30, used=2**30, free=79 * 2**30)
    m.nvmlDeviceGetPowerManagementLimit = lambda h: 400_000
    m.nvmlDeviceSetGpuLockedClocks = lambda h, lo, hi: st.calls.append(("lock", lo, hi))
    m.nvmlDeviceResetGpuLockedClocks = lambda h: st.calls.append(("unlock",))
    return m


def add_power_limit(m, lo_mw: int = 100_000, hi_mw: int = 700_000, now_mw: int = 700_000):
    """Give the stand-in module a settable power limit (state.limit_mw)."""
    m.state.limit_mw = now_mw
    m.nvmlDeviceGetPowerManagementLimitConstraints = lambda h: (lo_mw, hi_mw)
    m.nvmlDeviceGetPowerManagementLimit = lambda h: m.state.limit_mw

    def set_limit(h, mw):
        m.state.calls.append(("limit", mw))
        m.state.limit_mw = mw

    m.nvmlDeviceSetPowerManagementLimit = set_limit
    return m


@pytest.fixture
def nvml(monkeypatch):
    def install(**kw):
        mod = fake_pynvml(**kw)
        monkeypatch.setitem(sys.modules, "pynvml", mod)
        reset_nvml_state()
        return mod

    yield install
    reset_nvml_state()
