"""perfmodel: measure, predict and optimise CNN inference runtime, power and energy.

Light to import: heavy parts (TensorFlow, GPy) load only when the names that need them are used.
"""

from importlib import import_module

from profiling.designs import sample
from profiling.space import Boolean, Categorical, ConfigSpace, Constraint, Continuous, Integer, Ordinal

from .errors import DataError, ModelError, OptimisationError, PerfmodelError, ReportError

# name -> module that defines it, imported on first use.
_LAZY = {
    "NetworkSpec": "profiling.spec",
    "LayerSpec": "profiling.spec",
    "SparsePolynomialRegressor": "perfmodel.models.polynomial",
    "GPRegressor": "perfmodel.models.gp",
    "LayerwisePredictor": "perfmodel.models.layerwise",
    "ConfigModel": "perfmodel.models.config_model",
    "optimize": "perfmodel.optimisation",
    "Study": "perfmodel.optimisation",
    "ReplayPlatform": "profiling.platforms.replay",
    "interactions": "perfmodel.interactions",
    "fit_equation": "perfmodel.interactions",
    "InteractionModel": "perfmodel.interactions",
    "write_report": "perfmodel.reports",
    "shape_search": "perfmodel.shape",
    "ShapeSpace": "perfmodel.shape",
    "JetsonPlatform": "profiling.platforms.jetson",
    "NvmlPlatform": "profiling.platforms.nvml",
    "TorchExecutor": "profiling.executors.torch_executor",
}

__all__ = [
    "Boolean", "Categorical", "ConfigSpace", "Constraint", "Continuous", "Integer", "Ordinal", "sample",
    "PerfmodelError", "ModelError", "DataError", "OptimisationError", "ReportError", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        mod = import_module(_LAZY[name])
        return mod if name == "interactions" else getattr(mod, name)
    raise AttributeError(f"module 'perfmodel' has no attribute {name!r}")
