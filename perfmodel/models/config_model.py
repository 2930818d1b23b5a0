"""Configuration-level models: predict a whole-network objective from the knobs of a configuration.

The Jetson TX1 design-space study fits a table of configurations and measured objectives with polynomial
regression and gradient boosting; :class:`ConfigModel` does that for any table and any of the models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from ..tables import check_columns
from ._common import require_state

__all__ = ["ConfigModel", "MODELS", "MIN_ROWS", "make_regressor"]

MODELS = ("polynomial", "gp", "gbr", "linear")
# below these, cross-validation / boosting / a GP posterior says nothing useful
MIN_ROWS = {"polynomial": 6, "gp": 3, "gbr": 5, "linear": 3}


def make_regressor(model: str, log_target: bool, params: Mapping | None = None, random_state=0):
    """A fresh estimator of the named kind."""
    params = dict(params or {})
    if model == "polynomial":
        from .polynomial import SparsePolynomialRegressor

        return SparsePolynomialRegressor(log_target=log_target, random_state=random_state, **params)
    if model == "gp":
        from .gp import GPRegressor

        return GPRegressor(log_target=log_target, random_state=random_state, **params)
    if model == "gbr":
        from .baselines import GradientBoostingBaseline

        return GradientBoostingBaseline(log_target=log_target, random_state=random_state, **params)
    if model == "linear":
        from .baselines import FlopsLinearRegressor

        return FlopsLinearRegressor(columns=None, **params)
    raise ModelError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")


class ConfigModel:
    """One regressor from a table's knob columns to one objective column.

    Parameters
    ----------
    model : {"polynomial", "gp", "gbr", "linear"}, default "polynomial"
    knobs : sequence of str
        Knob columns; numeric columns are used as numbers, booleans as 0/1, others one-hot encoded.
    target : str
        Objective column.
    log_target : {"auto", True, False}, default "auto"
        "auto" models ``log(target)`` when every target value is positive (relative errors; runtimes).
    model_params : dict, optional
        Extra parameters of the regressor (e.g. ``{"n_restarts": 2}`` for the GP).
    random_state : int, default 0
    """

    def __init__(self, model: str = "polynomial", knobs: Sequence[str] = (), target: str = "",
                 log_target="auto", model_params: Mapping | None = None, random_state: int | None = 0):
        self.model = model
        self.knobs = knobs
        self.target = target
        self.log_target = log_target
        self.model_params = model_params
        self.random_state = random_state

    # -- encoding of knob values
    def _learn_encoding(self, df: pd.DataFrame) -> list[dict]:
        enc = []
        for k in self.knobs:
            col = df[k]
            if pd.api.types.is_bool_dtype(col):
                enc.append({"name": k, "kind": "bool"})
            elif pd.api.types.is_numeric_dtype(col):
                enc.append({"name": k, "kind": "number"})
            else:
                as_num = pd.to_numeric(col, errors="coerce")
                if as_num.notna().any():  # mostly numbers with a stray word: a typo, not a category
                    raise DataError(f"knob {k!r} is not numeric (e.g. {col[as_num.isna()].iloc[0]!r})")
                enc.append({"name": k, "kind": "category", "levels": sorted(map(str, col.unique()))})
        return enc

    def _encode(self, df: pd.DataFrame, source: str) -> tuple[np.ndarray, list[str]]:
        cols, names = [], []
        for e in self.encoding_:
            col = df[e["name"]]
            if e["kind"] == "category":
                values = col.astype(str)
                unknown = sorted(set(values) - set(e["levels"]))
                if unknown:
                    raise DataError(f"{source}: knob {e['name']!r} has the value {unknown[0]!r}, unseen when the "
                                    f"model was fitted (known: {', '.join(e['levels'])})")
                for lev in e["levels"]:
                    cols.append((values == lev).to_numpy(dtype=float))
                    names.append(f"{e['name']}={lev}")
                continue
            if e["kind"] == "bool" and not pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                mapped = col.astype(str).str.lower().map({"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0})
                if mapped.isna().any():
                    example = col[mapped.isna()].iloc[0]
                    raise DataError(f"{source}: knob {e['name']!r} is not boolean (e.g. {example!r})")
                col = mapped
            values = pd.to_numeric(col, errors="coerce")
            if values.isna().any():
                raise DataError(f"{source}: knob {e['name']!r} is not numeric (e.g. {col[values.isna()].iloc[0]!r})")
            cols.append(values.to_numpy(dtype=float))
            names.append(e["name"])
        return np.column_stack(cols), names

    def fit(self, df: pd.DataFrame, source: str = "table") -> "ConfigModel":
        """Fit on the rows of ``df`` (checks columns, NaN, constant target and row count first)."""
        if self.model not in MODELS:
            raise ModelError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        self.knobs = list(self.knobs)
        if not self.knobs:
            raise DataError("a configuration model needs at least one knob column")
        if not self.target:
            raise DataError("a configuration model needs a target column")
        if self.target in self.knobs:
            raise DataError(f"{self.target!r} is both a knob and the target")
        check_columns(df, knobs=self.knobs, objectives=[self.target], source=source)
        y = df[self.target].to_numpy(dtype=float)
        need = MIN_ROWS[self.model]
        if len(y) < need:
            raise DataError(f"{source}: {len(y)} rows are too few for the {self.model!r} model (needs at least {need})")
        if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
            raise DataError(f"{source}: target {self.target!r} is constant ({y[0]:g}); there is nothing to model")
        if self.log_target == "auto":
            self.log_target_ = bool(np.all(y > 0))
        else:
            self.log_target_ = bool(self.log_target)
            if self.log_target_ and np.any(y <= 0):
                raise DataError(f"{source}: target {self.target!r} has values <= 0; a log target is impossible")
        self.encoding_ = self._learn_encoding(df)
        X, self.feature_names_ = self._encode(df, source)
        self.regressor_ = make_regressor(self.model, self.log_target_, self.model_params, self.random_state)
        if self.model == "linear" and self.log_target_:
            self.regressor_.fit(X, np.log(y))
        else:
            self.regressor_.fit(X, y)
        self.n_train_ = len(y)
        return self

    def predict(self, df: pd.DataFrame, return_std: bool = False, source: str = "table"):
        """Predicted target for each row (and its std where the model gives one, else NaN)."""
        if not hasattr(self, "regressor_"):
            raise ModelError("the configuration model is not fitted")
        check_columns(df, knobs=list(self.knobs), source=source)
        X, _ = self._encode(df, source)
        if self.model == "gp":
            mean, std = self.regressor_.predict(X, return_std=True)
        else:
            mean = self.regressor_.predict(X)
            if self.model == "linear" and self.log_target_:
                mean = np.exp(mean)
            std = np.full(len(mean), np.nan)
        return (mean, std) if return_std else mean

    @property
    def has_std(self) -> bool:
        return self.model == "gp"

    # -- persistence
    def _get_state(self) -> dict:
        from .persistence import state_of

        if not hasattr(self, "regressor_"):
            raise ModelError("the configuration model is not fitted")
        return {"model": self.model, "knobs": list(self.knobs), "target": self.target,
                "log_target": self.log_target, "log_target_fitted": self.log_target_,
                "model_params": dict(self.model_params or {}), "random_state": self.random_state,
                "encoding": self.encoding_, "feature_names": self.feature_names_, "n_train": self.n_train_,
                "regressor": state_of(self.regressor_)}

    @classmethod
    def _from_state(cls, state: dict) -> "ConfigModel":
        from .persistence import from_state

        require_state(state, ("model", "knobs", "target", "encoding", "regressor"), "config_model")
        m = cls(model=state["model"], knobs=list(state["knobs"]), target=state["target"],
                log_target=state.get("log_target", "auto"), model_params=state.get("model_params") or None,
                random_state=state.get("random_state", 0))
        m.log_target_ = bool(state.get("log_target_fitted", False))
        m.encoding_ = list(state["encoding"])
        m.feature_names_ = list(state.get("feature_names", []))
        m.n_train_ = int(state.get("n_train", 0))
        m.regressor_ = from_state(state["regressor"])
        return m

    def save(self, path) -> None:
        """Write the model as JSON (see :mod:`perfmodel.models.persistence`)."""
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "ConfigModel":
        from .persistence import load_model

        return load_model(path, kind="config_model")
