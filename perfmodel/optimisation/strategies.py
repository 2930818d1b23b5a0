"""Search strategies behind one ask/tell interface, by name: ``bo`` (:mod:`.bo`), ``random`` (:mod:`.base`),
``tpe`` and ``nsga2`` (:mod:`.optuna_samplers`); :func:`make_strategy` builds one from a study's settings.
"""

from __future__ import annotations

from profiling.space import ConfigSpace

from ..errors import OptimisationError
from .base import N_INIT, N_INIT_UNGUIDED, RandomStrategy, SearchState, Strategy, initial_design_size
from .bo import (ACQUISITIONS, BO_HYPER_USES, BO_KERNELS, BO_OPTIONS, EHVI_UNITS, LOCAL_STEPS, MEANS,
                 PRIOR_DESIGNS, REFERENCES, BOStrategy, reference_point)
from .candidates import MAX_CANDIDATES
from .optuna_samplers import NSGA2Strategy, TPEStrategy

__all__ = ["ACQUISITIONS", "BO_HYPER_USES", "BO_KERNELS", "BO_OPTIONS", "EHVI_UNITS", "LOCAL_STEPS", "MAX_CANDIDATES",
           "MEANS", "N_INIT", "N_INIT_UNGUIDED", "PRIOR_DESIGNS", "REFERENCES", "STRATEGIES", "BOStrategy",
           "NSGA2Strategy", "RandomStrategy", "SearchState", "Strategy", "TPEStrategy", "initial_design_size",
           "make_strategy", "reference_point"]

STRATEGIES = {"bo": BOStrategy, "random": RandomStrategy, "tpe": TPEStrategy, "nsga2": NSGA2Strategy}


def make_strategy(name: str, space: ConfigSpace, **options) -> Strategy:
    """Build a strategy by name; ``options`` not used by it are ignored."""
    if name not in STRATEGIES:
        raise OptimisationError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "bo":
        keys = ("n_init", "acquisition", "prior_mean", "restarts", "max_iters", "log", *BO_OPTIONS)
    elif name in ("tpe", "nsga2"):
        keys = ("n_init",)
    else:
        keys = ()
    return STRATEGIES[name](space, **{k: v for k, v in options.items() if k in keys and v is not None})
