"""Configuration-level models: predict a whole-network objective from the knobs of a configuration.

The Jetson TX1 design-space study fits a table of configurations and measured objectives with polynomial
regression and gradient boosting; :class:`ConfigModel` does that for any table and any of the models.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from profiling.encoding import Encoding

from ..errors import DataError, ModelError
from ..tables import check_columns
from ._common import require_state

__all__ = ["ConfigModel", "MODELS", "MIN_ROWS", "make_regressor", "cross_validated_predictions"]

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


class ConfigModel(RegressorMixin, BaseEstimator):
    """One regressor from a table's knob columns to one objective column.

    Follows scikit-learn's estimator contract: ``fit`` leaves the parameters as given and sets what it learns
    in attributes ending in ``_``. Two ways to call it: ``fit(table)`` takes the knob columns and the target
    column from one table; ``fit(X, y)`` takes the knobs (a DataFrame, or a numeric array whose columns are
    named ``x0, x1, ...``) and the objective separately.

    Parameters
    ----------
    model : {"polynomial", "gp", "gbr", "linear"}, default "polynomial"
    knobs : sequence of str
        Knob columns, encoded by the one knob encoding (:class:`profiling.encoding.Encoding`): numbers as
        numbers, booleans as 0/1 (true/false, on/off, yes/no, 1/0), others one-hot; a knob constant in the
        training rows is left out. Empty with ``fit(X, y)``: every column of ``X``.
    target : str
        Objective column (``fit(table)``); with ``fit(X, y)`` the name of ``y``, else "y".
    log_target : {"auto", True, False}, default "auto"
        "auto" models ``log(target)`` when every target value is positive (relative errors; runtimes).
    log_knobs : {"auto", True, False}, default "auto"
        Encode each numeric knob that is a scale (three or more distinct positive levels in the training
        rows: clocks, thread counts; :func:`profiling.encoding.log_scaled`) as its logarithm. "auto": for the
        GP only, whose inputs then follow the optimiser's surrogate (on the TX2 grids at 10 % training the
        GP's time MAPE goes from 3.61 % to 3.10 %, and time and energy improve on held-out tables; power is
        unchanged at 10-20 % training and worse at 5 %; docs/models-results.md); the polynomial keeps its
        NeuralPower features, gradient boosting does not change under a monotone encoding. True: for every
        model; False: for none.
    model_params : dict, optional
        Extra parameters of the regressor (e.g. ``{"n_restarts": 2}`` for the GP).
    random_state : int, default 0

    Attributes
    ----------
    knobs_ : list of str
        The knob columns used.
    target_ : str
    log_target_ : bool
    encoder_ : profiling.encoding.Encoding
    encoding_ : list of dict
        ``encoder_``'s encoded knobs, as persisted.
    feature_names_ : list of str
    regressor_ : estimator
    n_train_, n_features_in_ : int
    knob_ranges_ : dict
        ``{knob: (lowest, highest)}`` of each numeric knob in the training rows: ``predict`` warns of a
        configuration outside them (the prediction extrapolates). Empty for model files written before it.
    """

    def __init__(self, model: str = "polynomial", knobs: Sequence[str] = (), target: str = "",
                 log_target="auto", model_params: Mapping | None = None, random_state: int | None = 0,
                 log_knobs="auto"):
        self.model = model
        self.knobs = knobs
        self.target = target
        self.log_target = log_target
        self.log_knobs = log_knobs
        self.model_params = model_params
        self.random_state = random_state

    def _encode(self, df: pd.DataFrame, source: str) -> np.ndarray:
        return self.encoder_.transform(df, error=DataError, source=source)

    def fit(self, X, y=None, source: str = "table") -> "ConfigModel":
        """Fit on the rows of table ``X`` (or knobs ``X`` and objective ``y``).

        Checks columns, NaN, constant target and row count first.
        """
        if self.model not in MODELS:
            raise ModelError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        df, y_arr, knobs, target = self._training_data(X, y, source)
        if not knobs:
            raise DataError("a configuration model needs at least one knob column")
        if not target:
            raise DataError("a configuration model needs a target column")
        if target in knobs:
            raise DataError(f"{target!r} is both a knob and the target")
        if y_arr is None:
            check_columns(df, knobs=knobs, objectives=[target], source=source)
            y_arr = df[target].to_numpy(dtype=float)
        else:
            check_columns(df, knobs=knobs, source=source)
        need = MIN_ROWS[self.model]
        if len(y_arr) < need:
            raise DataError(f"{source}: n_samples = {len(y_arr)} rows are too few for the {self.model!r} model "
                            f"(it needs at least {need})")
        if np.ptp(y_arr) <= 1e-12 * max(1.0, float(np.abs(y_arr).max())):
            raise DataError(f"{source}: target {target!r} is constant ({y_arr[0]:g}); there is nothing to model")
        if self.log_target == "auto":
            log_target = bool(np.all(y_arr > 0))
        else:
            log_target = bool(self.log_target)
            if log_target and np.any(y_arr <= 0):
                raise DataError(f"{source}: target {target!r} has values <= 0; a log target is impossible")
        if not (isinstance(self.log_knobs, bool) or (isinstance(self.log_knobs, str) and self.log_knobs == "auto")):
            raise ModelError(f"log_knobs must be 'auto', True or False, got {self.log_knobs!r}")
        log = "auto" if self.log_knobs is True or (self.log_knobs == "auto" and self.model == "gp") else ()
        encoder = Encoding.learn(df, knobs, error=DataError, source=source, log=log)
        if not encoder.knobs:
            raise DataError(f"{source}: every knob is constant in the rows ({', '.join(knobs)}): nothing to model")
        self.knobs_, self.target_, self.log_target_, self.encoder_ = knobs, target, log_target, encoder
        self.encoding_ = encoder.to_list()
        self.feature_names_ = encoder.names
        Xe = self._encode(df, source)
        self.knob_ranges_ = {k.name: (float(np.min(Xe[:, i])), float(np.max(Xe[:, i])))
                             for i, k in _numeric_columns(encoder)}
        self.regressor_ = make_regressor(self.model, self.log_target_, self.model_params, self.random_state)
        if self.model == "linear" and self.log_target_:
            self.regressor_.fit(Xe, np.log(y_arr))
        else:
            self.regressor_.fit(Xe, y_arr)
        self.n_train_ = len(y_arr)
        if self.model == "polynomial" and not len(self.regressor_.coef_):
            warnings.warn(f"{source}: the polynomial selected no term of the knobs: it predicts {target} = "
                          f"{float(self.regressor_.predict(Xe[:1])[0]):.4g} for every configuration (cross-"
                          "validation found nothing the knobs explain)", UserWarning, stacklevel=2)
        return self

    def _training_data(self, X, y, source: str):
        """(table, y or None, knobs, target) of the two ways to call :meth:`fit`."""
        if y is None:
            if not isinstance(X, pd.DataFrame):
                raise DataError(f"{source}: fit(table) takes a DataFrame with the knob and target columns; "
                                "ConfigModel requires y to be passed, but the target y is None (fit(X, y))")
            self.n_features_in_ = len(list(self.knobs))
            return X, None, list(self.knobs), self.target
        if isinstance(X, pd.DataFrame):
            df = _named(X)
            self.n_features_in_ = df.shape[1]
        else:  # numbers, checked as scikit-learn checks them (sparse, complex, NaN/inf, shapes)
            X, y = validate_data(self, X, y, y_numeric=True, dtype="numeric")
            df = _as_frame(X)
        try:
            y_arr = np.asarray(y, dtype=float).ravel()
        except (TypeError, ValueError):
            raise DataError(f"{source}: the objective is not numeric") from None
        if len(y_arr) != len(df):
            raise DataError(f"{source}: {len(df)} knob rows but {len(y_arr)} objective values")
        if not np.all(np.isfinite(y_arr)):
            raise DataError(f"{source}: the objective has a missing or infinite value")
        knobs = list(self.knobs) or list(df.columns)
        target = self.target or str(getattr(y, "name", None) or "y")
        return df, y_arr, knobs, target

    # kept for model files and callers of the earlier API: the parameter, as fitted
    @property
    def has_std(self) -> bool:
        return self.model == "gp"

    def predict(self, X, return_std: bool = False, source: str = "table"):
        """Predicted target for each row of ``X`` (and its std where the model gives one, else NaN)."""
        if not hasattr(self, "regressor_"):
            raise _NotFitted("the configuration model is not fitted")
        if isinstance(X, pd.DataFrame):
            df = _named(X)
            check_columns(df, knobs=[k.name for k in self.encoder_.knobs], source=source)
        else:
            df = _as_frame(validate_data(self, X, reset=False, dtype="numeric"))
        Xe = self._encode(df, source)
        self._warn_outside(Xe)
        if self.model == "gp":
            mean, std = self.regressor_.predict(Xe, return_std=True)
        else:
            mean = self.regressor_.predict(Xe)
            if self.model == "linear" and self.log_target_:
                mean = np.exp(mean)
            std = np.full(len(mean), np.nan)
        return (mean, std) if return_std else mean

    def _warn_outside(self, Xe: np.ndarray) -> None:
        """Warn of the numeric knobs some of whose values lie outside the training rows' range (one line, the
        same for any rows outside: an optimiser predicting candidates step after step says it once)."""
        ranges = getattr(self, "knob_ranges_", None) or {}
        outside = []
        for i, k in _numeric_columns(self.encoder_):
            if k.name in ranges and len(Xe):
                lo, hi = ranges[k.name]
                span = 1e-9 * max(1.0, abs(lo), abs(hi))
                if np.any(Xe[:, i] < lo - span) or np.any(Xe[:, i] > hi + span):
                    a, b = (math.exp(lo), math.exp(hi)) if k.log else (lo, hi)
                    outside.append(f"{k.name} (trained on {a:.10g}..{b:.10g})")
        if outside:
            warnings.warn(f"{self.target_} model: {', '.join(outside)}: outside the training range, the prediction "
                          "extrapolates", stacklevel=3)

    # -- persistence
    def _get_state(self) -> dict:
        from .persistence import state_of

        if not hasattr(self, "regressor_"):
            raise _NotFitted("the configuration model is not fitted")
        state = {"model": self.model, "knobs": list(self.knobs_), "target": self.target_,
                 "log_target": self.log_target, "log_target_fitted": self.log_target_, "log_knobs": self.log_knobs,
                 "model_params": dict(self.model_params or {}), "random_state": self.random_state,
                 "encoding": self.encoder_.to_list(), "feature_names": self.feature_names_, "n_train": self.n_train_,
                 "regressor": state_of(self.regressor_)}
        if self.encoder_.constants:
            state["constants"] = self.encoder_.constants_list()
        if getattr(self, "knob_ranges_", None):
            state["knob_ranges"] = {k: list(v) for k, v in self.knob_ranges_.items()}
        return state

    @classmethod
    def _from_state(cls, state: dict) -> "ConfigModel":
        from .persistence import from_state

        require_state(state, ("model", "knobs", "target", "encoding", "regressor"), "config_model")
        m = cls(model=state["model"], knobs=list(state["knobs"]), target=state["target"],
                log_target=state.get("log_target", "auto"), model_params=state.get("model_params") or None,
                random_state=state.get("random_state", 0),
                # files written before the parameter had no log-scaled knobs
                log_knobs=state.get("log_knobs", False))
        m.knobs_, m.target_ = list(state["knobs"]), state["target"]
        m.log_target_ = bool(state.get("log_target_fitted", False))
        # files written before the one encoding hold every knob in "encoding" (constant ones too) and no
        # "constants": they load and predict as before
        m.encoder_ = Encoding.from_list(state["encoding"], state.get("constants", ()))
        m.encoding_ = m.encoder_.to_list()
        m.feature_names_ = list(state.get("feature_names", [])) or m.encoder_.names
        m.n_train_ = int(state.get("n_train", 0))
        m.regressor_ = from_state(state["regressor"])
        m.n_features_in_ = len(m.knobs_)
        m.knob_ranges_ = _ranges_of(state.get("knob_ranges", {}), m.encoder_)  # files before it: none
        return m

    def save(self, path) -> None:
        """Write the model as JSON (see :mod:`perfmodel.models.persistence`)."""
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path) -> "ConfigModel":
        from .persistence import load_model

        return load_model(path, kind="config_model")


class _NotFitted(ModelError, NotFittedError):
    """Used before ``fit``: a :class:`~perfmodel.errors.ModelError` that is also scikit-learn's
    ``NotFittedError``."""


def _numeric_columns(encoder: Encoding):
    """(feature column, encoded knob) of the numeric knobs: one feature each, on the model's scale."""
    col = 0
    for k in encoder.knobs:
        if k.kind == "number":
            yield col, k
        col += len(encoder.columns_of(k))


def _ranges_of(doc, encoder: Encoding) -> dict:
    """The ``knob_ranges`` of a model file, checked: a numeric knob of the model mapped to two finite numbers,
    the lower first."""
    if not isinstance(doc, dict):
        raise ModelError("corrupt 'config_model' model state: knob_ranges is not a mapping")
    numeric = {k.name for _, k in _numeric_columns(encoder)}
    out = {}
    for name, pair in doc.items():
        ok = (name in numeric and isinstance(pair, list) and len(pair) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pair)
              and pair[0] <= pair[1])
        if not ok:
            raise ModelError(f"corrupt 'config_model' model state: knob_ranges[{str(name)[:40]!r}] is not a "
                             "numeric knob's [lowest, highest]")
        out[name] = (float(pair[0]), float(pair[1]))
    return out


def cross_validated_predictions(model: ConfigModel, table: pd.DataFrame, folds: int = 5,
                                source: str = "table") -> np.ndarray:
    """Each row of ``table`` predicted by a copy of ``model`` (unfitted, :func:`sklearn.base.clone`) fitted on
    the rows of the other folds (:class:`sklearn.model_selection.KFold`, shuffled with the model's
    ``random_state``): an estimate of its error on configurations it was not fitted on.

    The fold models' warnings are not shown (they speak of models that are not kept); a fold whose rows hold a
    level of a named knob that the other folds lack is a :class:`DataError`.
    """
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    n = len(table)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or not 2 <= folds <= n:
        raise DataError(f"{source}: cross-validation takes 2 to {n} folds (one per row at most), got {folds!r}")
    need = MIN_ROWS.get(model.model, 1)
    if n - math.ceil(n / folds) < need:
        raise DataError(f"{source}: {n} rows in {folds} folds leave {n - math.ceil(n / folds)} rows to fit each "
                        f"fold's {model.model!r} model (it needs at least {need})")
    pred = np.empty(n)
    split = KFold(n_splits=int(folds), shuffle=True, random_state=model.random_state)
    for i, (train, test) in enumerate(split.split(table)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fold = clone(model).fit(table.iloc[train], source=f"{source} (fold {i + 1} of {folds})")
            pred[test] = fold.predict(table.iloc[test], source=f"{source} (fold {i + 1} of {folds})")
    return pred


def _named(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its column names as text (a frame built from an array has integer names)."""
    return X if all(isinstance(c, str) for c in X.columns) else X.set_axis([str(c) for c in X.columns], axis=1)


def _as_frame(X: np.ndarray) -> pd.DataFrame:
    """A checked 2-D array of knob values as a table with columns ``x0, x1, ...``."""
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
