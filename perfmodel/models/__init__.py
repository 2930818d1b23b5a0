"""Surrogate models of runtime, power and energy (scikit-learn estimators, JSON persistence).

- :class:`SparsePolynomialRegressor` (NeuralPower's per-layer model), :class:`GPRegressor` (GPy, with std)
- baselines: :class:`FlopsLinearRegressor`, :class:`GradientBoostingBaseline`, :class:`RooflineRegressor`
  (Paleo-style, peaks measured by :func:`profiling.reference.measure_peaks`; ``measure_peaks`` here is a
  deprecated alias of it, kept for one release)
- :class:`ConfigModel` (whole-network objective from knobs) and :class:`LayerwisePredictor` (network from layers);
  :class:`TableLayerwisePredictor` (the same learnt from exported tables, per execution mode, with power)
- :func:`save_model` / :func:`load_model`, error measures in :mod:`perfmodel.models.metrics`
"""

from .baselines import FlopsLinearRegressor, GradientBoostingBaseline
from .config_model import ConfigModel
from .gp import GPRegressor
from .layerwise import LayerwisePredictor
from .metrics import mape, rmspe, summary, within
from .persistence import load_model, save_model
from .polynomial import SparsePolynomialRegressor
from .roofline import RooflineRegressor, measure_peaks
from .table_layerwise import TableLayerwisePredictor

__all__ = ["SparsePolynomialRegressor", "GPRegressor", "FlopsLinearRegressor", "GradientBoostingBaseline",
           "RooflineRegressor", "measure_peaks", "ConfigModel", "LayerwisePredictor", "TableLayerwisePredictor", "save_model", "load_model",
           "mape", "rmspe", "within", "summary"]
