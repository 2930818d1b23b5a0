"""The std a prediction faces on a network never profiled: measured by leaving groups of networks out.

The networks with whole-network rows are split into seeded groups (:func:`network_folds`); the unit models are
fitted again without each group's networks and predict them as unseen networks. The relative errors of the
network-level prediction composed from those unit times are the spread that becomes every predicted std
(:class:`~perfmodel.models.layerwise.LayerwisePredictor`, :class:`~perfmodel.models.table_layerwise.
TableLayerwisePredictor`, :class:`~perfmodel.models.composition.NetworkPowerModel`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataError
from .composition import per_network_row

__all__ = ["network_folds", "unseen_unit_sums"]


def network_folds(names, k: int, random_state) -> list[np.ndarray]:
    """The distinct ``names`` in a seeded order, split into ``min(k, number of names)`` groups; none when that
    is fewer than two."""
    order = np.random.default_rng(random_state).permutation(sorted(set(map(str, names))))
    k = min(int(k), len(order))
    return np.array_split(order, k) if k >= 2 else []


def unseen_unit_sums(predictor, table: pd.DataFrame, nets: pd.DataFrame,
                     units: pd.DataFrame) -> tuple[np.ndarray | None, int]:
    """Each network row's sum of unit predictions by unit models fitted without its network, and the number
    of folds (for :class:`~perfmodel.models.layerwise.LayerwisePredictor`'s ``std_folds``).

    The networks of the rows are split into ``predictor.std_folds`` seeded groups; for each, a predictor of
    the same parameters (without network term, std folds or speed reference) is fitted on the table without
    that group's networks. (None, 0) with ``std_folds`` 0, fewer than two such networks, or when the rest of
    a fold's table is too small to fit on (with a warning saying so).
    """
    names = nets["network"].astype(str)
    folds = network_folds(names, predictor.std_folds, predictor.random_state)
    if not folds:
        return None, 0
    params = {**predictor.get_params(), "std_folds": 0, "network_term": False, "reference": None}
    out = np.full(len(nets), np.nan)
    said: list[str] = []
    for fold in folds:
        held = names.isin(fold).to_numpy()
        failed = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                sub = type(predictor)(**params).fit(table[~table["network"].astype(str).isin(fold)])
                mine = units[units["_net_row"].isin(np.flatnonzero(held))]
                t, _, _ = sub._predict_rows(mine)
            except DataError as exc:  # the other networks alone are too few to fit on
                failed = exc
        if failed is not None:
            warnings.warn(f"the std could not be measured on networks left out (without "
                          f"{', '.join(map(str, fold))}: {failed}); it is the spread on the training networks, "
                          "which understates the error on a new network", stacklevel=3)
            return None, 0
        said += [str(w.message) for w in caught if str(w.message) not in said]
        out[held] = per_network_row(mine, len(nets), t)[held]
    for text in said:  # the refits' own warnings (a group too small without some networks...), once each
        warnings.warn(f"while measuring the std on networks left out: {text}", stacklevel=3)
    return out, len(folds)
