"""profiling: describe networks, measure them on a platform, and keep the measurements.

Specs (:class:`NetworkSpec`), the configuration space (:class:`ConfigSpace` and its knobs), designs
(:func:`sample`), platforms (:class:`CpuPlatform`, :class:`JetsonPlatform`, :class:`NvmlPlatform`,
:class:`ReplayPlatform`), executors, sensors, the timing loop and the campaign store. This package never imports
:mod:`perfmodel`.

Light to import: the names are resolved on first use, so ``from profiling import NetworkSpec`` starts neither
TensorFlow nor PyTorch.
"""

from importlib import import_module

from .errors import (ConfigError, MeasurementError, PlatformError, ProfilingError, RestoreError, SensorUnavailable,
                     SpecError, StoreError, TableError)

# name -> module that defines it, imported on first use.
_LAZY = {
    "NetworkSpec": "profiling.spec",
    "LayerSpec": "profiling.spec",
    "ConfigSpace": "profiling.space",
    "Constraint": "profiling.space",
    "Knob": "profiling.space",
    "Integer": "profiling.space",
    "Ordinal": "profiling.space",
    "Continuous": "profiling.space",
    "Categorical": "profiling.space",
    "Boolean": "profiling.space",
    "config_key": "profiling.space",
    "format_config": "profiling.space",
    "Encoding": "profiling.encoding",
    "EncodedKnob": "profiling.encoding",
    "parse_config": "profiling.encoding",
    "parse_bool": "profiling.encoding",
    "synthetic_table": "profiling.simulated",
    "sample": "profiling.designs",
    "TimingPolicy": "profiling.timing",
    "TimingResult": "profiling.timing",
    "time_callable": "profiling.timing",
    "timing_loop": "profiling.timing",
    "measure_peaks": "profiling.reference",
    "CampaignStore": "profiling.store",
    "open_store": "profiling.store",
    "run_campaign": "profiling.campaign",
    "CampaignSummary": "profiling.campaign",
    "build_platform": "profiling.campaign",
    "build_executor": "profiling.campaign",
    "measure_network": "profiling.campaign",
    "MeasurementRow": "profiling.measurement",
    "Executor": "profiling.executors.base",
    "TfExecutor": "profiling.executors.tf_executor",
    "TorchRunner": "profiling.executors.torch_runner",
    "measurements_frame": "profiling.export",
    "load_network": "profiling.networks",
    "known_networks": "profiling.networks",
    "Platform": "profiling.platforms.base",
    "platform_from_name": "profiling.platforms.base",
    "restore_from_file": "profiling.platforms.base",
    "CpuPlatform": "profiling.platforms.cpu",
    "JetsonPlatform": "profiling.platforms.jetson",
    "NvmlPlatform": "profiling.platforms.nvml",
    "ReplayPlatform": "profiling.platforms.replay",
    "build_fake_jetson": "profiling.platforms.fake_jetson",
    "TorchExecutor": "profiling.executors.torch_executor",
}

__all__ = ["ProfilingError", "ConfigError", "SpecError", "StoreError", "PlatformError", "SensorUnavailable",
           "TableError", "MeasurementError", "RestoreError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'profiling' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
