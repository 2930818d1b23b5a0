"""Model-guided search of configuration spaces: ask/tell studies, GP Bayesian optimisation, baselines.

>>> from perfmodel.optimisation import optimize
>>> study = optimize(platform, ["inference_time", "power_consumption"], budget=40, n_init=10)  # doctest: +SKIP
>>> study.front()  # doctest: +SKIP

See :mod:`perfmodel.optimisation.study` for the evaluator interface.
"""

from .constraints import OutputConstraint, parse_constraints
from .strategies import STRATEGIES
from .study import Study, Trial, load_study, optimize

__all__ = ["optimize", "load_study", "Study", "Trial", "OutputConstraint", "parse_constraints", "STRATEGIES"]
