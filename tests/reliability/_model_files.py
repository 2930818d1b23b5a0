"""Small fitted models of every kind saved by :mod:`perfmodel.models.persistence`, for the hostile-file tests.

``model_files(folder)`` fits one model of each kind on simulated data (seconds) and saves it as JSON;
``predict_file(path)`` loads a file and predicts with it, as ``perfmodel predict`` would. Shared by
``test_hostile_model_files.py`` and ``benchmarks/fuzz_hostile_inputs.py``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name -> kind saved in the file
FILES = {"flops_linear": "flops_linear", "gbr": "gbr", "sparse_polynomial": "sparse_polynomial", "gp": "gp",
         "gp_additive_warp": "gp",
         "roofline": "roofline", "config_model": "config_model", "config_model_gbr": "config_model",
         "layerwise": "layerwise", "layerwise_gbr": "layerwise"}


def _xy(n: int = 40, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 10, (n, d))
    y = 1e-3 * (1 + X[:, 0] + 0.5 * X[:, 1] ** 1.5) * rng.lognormal(0, 0.02, n)
    return X, y


def fit_models() -> dict:
    """One fitted model per entry of :data:`FILES`."""
    from perfmodel.models import (ConfigModel, FlopsLinearRegressor, GPRegressor, GradientBoostingBaseline,
                                  LayerwisePredictor, RooflineRegressor, SparsePolynomialRegressor)
    from profiling.simulated import synthetic_table

    X, y = _xy()
    table = pd.DataFrame({"threads": np.tile([1, 2, 4, 8], 5), "batch": np.repeat([1, 2, 4, 8, 16], 4),
                          "mode": np.tile(["a", "b"], 10)})
    table["runtime_s"] = 1e-3 * table["batch"] / table["threads"] ** 0.7 * (1.2 + (table["mode"] == "b"))
    lw_table = synthetic_table(n_networks=4, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "flops_linear": FlopsLinearRegressor(columns=(0, 2)).fit(X, y),
            "gbr": GradientBoostingBaseline(n_estimators=20, max_depth=3, log_target=True).fit(X, y),
            "sparse_polynomial": SparsePolynomialRegressor(degrees=(2,), log_target=True, linear_only=(2,),
                                                           clip_margin=0.25).fit(X, y),
            "gp": GPRegressor(n_restarts=1, max_iters=50, log_target=True).fit(X[:15], y[:15]),
            # the optional parts of a GP's state: first-order terms, a warp of two inputs of three (one two-level)
            "gp_additive_warp": GPRegressor(kernel="additive", input_warp=True, n_restarts=1, max_iters=30,
                                            log_target=True).fit(np.column_stack([X[:15, :2], X[:15, 2] > 5]),
                                                                 y[:15]),
            "roofline": RooflineRegressor(peak_flops=1e11, bandwidth_bytes_s=1e10, bytes_columns=(1, 2),
                                          calibrate=True).fit(X, y),
            "config_model": ConfigModel("polynomial", knobs=["threads", "batch", "mode"], target="runtime_s",
                                        model_params={"degrees": (2,)}).fit(table),
            "config_model_gbr": ConfigModel("gbr", knobs=["threads", "batch", "mode"], target="runtime_s",
                                            model_params={"n_estimators": 10}).fit(table),
            "layerwise": LayerwisePredictor(std_folds=0, min_rows=4).fit(lw_table),
            "layerwise_gbr": LayerwisePredictor(model="gbr", std_folds=0, min_rows=4,
                                                model_params={"n_estimators": 10}).fit(lw_table),
        }


def model_files(folder: str) -> dict[str, str]:
    """Fit and save every model (once per folder); name -> path."""
    from perfmodel.models import save_model

    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, f"{name}.json") for name in FILES}
    if not all(os.path.exists(p) for p in paths.values()):
        for name, model in fit_models().items():
            save_model(model, paths[name])
    return paths


_PROBES: dict = {}


def probe_inputs(kind: str, n_features: int | None = None):
    """The input ``predict_file`` predicts (what a user would pass)."""
    if kind == "layerwise":
        if "net" not in _PROBES:
            from profiling.simulated import random_network

            _PROBES["net"] = random_network(np.random.default_rng(7), "user_net", n_blocks=5, hw=32)
        return _PROBES["net"]
    if kind == "config_model":
        return pd.DataFrame({"threads": [1, 3, 16], "batch": [1, 5, 64], "mode": ["a", "b", "a"]})
    return np.random.default_rng(1).uniform(0, 20, (5, n_features or 1))


def predict_file(path: str):
    """Load ``path`` and predict with it (any user error propagates)."""
    from perfmodel.models import load_model

    model = load_model(path)
    kind = type(model).__name__
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if kind == "LayerwisePredictor":
            return model.predict(probe_inputs("layerwise"), configs=[{"threads": 1, "batch": 1},
                                                                        {"threads": 2, "batch": 2}])
        if kind == "ConfigModel":
            return model.predict(probe_inputs("config_model"))
        return model.predict(probe_inputs("regressor", int(model.n_features_in_)))
