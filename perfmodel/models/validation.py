"""Validation of model states read from JSON files (every kind of :data:`persistence.KINDS`).

A model file either loads into a model that predicts, or is refused with one :class:`ModelError` line naming
the field at fault. Checks happen in three steps, all called by :func:`persistence.from_state`:

1. :func:`check_json` - the whole state: finite numbers only (JSON files may hold ``NaN`` / ``Infinity``),
   integers that fit in 64 bits, bounded nesting;
2. :func:`check_state` - the state of one kind, before the model is built: types, shapes, index ranges,
   the regression trees acyclic (every child after its parent, as scikit-learn writes them), sizes bounded
   so that building the model cannot exhaust memory;
3. :func:`check_model` - the built model: nested models agree with their parent (feature counts, kinds),
   then one prediction on a probe input must succeed; any failure there is refused too.

Only the fields prediction reads are checked strictly; informational fields (fit scores, library versions)
are checked for type where read. Unknown extra fields are ignored (newer writers may add some).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ModelError
from ..monomials import DEGREE_RULES

__all__ = ["check_json", "check_state", "check_model", "MAX_FEATURES", "MAX_GP_POINTS", "MAX_NODES",
           "MAX_DEGREE"]

MAX_DEPTH = 64           # nesting of the JSON state (a layerwise file nests 6 deep)
MAX_FEATURES = 10_000    # input columns of one regressor
MAX_GP_POINTS = 10_000   # GP training points: the posterior holds an n x n matrix (800 MB at this size)
MAX_NODES = 5_000_000    # nodes of all trees of one gradient-boosting model together
MAX_DEGREE = 64          # exponent of one input in a polynomial term
_INT64 = 2**63 - 1

# the regressor kind each model name of ConfigModel / LayerwisePredictor is saved as
REGRESSOR_KIND = {"polynomial": "sparse_polynomial", "gp": "gp", "gbr": "gbr", "linear": "flops_linear"}


class _Invalid(Exception):
    """A field is invalid (turned into one ModelError line by :func:`check_state`)."""


# ------------------------------------------------------------------------------------------ generic
def check_json(value: Any, kind: str) -> None:
    """Finite numbers, 64-bit integers, bounded nesting, string keys: the whole state of a model file."""
    stack = [(value, "state", 0)]
    while stack:
        v, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelError(f"corrupt {kind!r} model state: nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, bool) or v is None or isinstance(v, str):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise ModelError(f"corrupt {kind!r} model state: {where} holds a non-finite number ({v})")
        elif isinstance(v, int):
            if abs(v) > _INT64:
                raise ModelError(f"corrupt {kind!r} model state: {where} holds an integer too large for 64 bits")
        elif isinstance(v, dict):
            stack.extend((x, f"{where}.{str(k)[:40]}", depth + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, where, depth + 1) for x in v)
        else:
            raise ModelError(f"corrupt {kind!r} model state: {where} holds a {type(v).__name__}")


def _field(d: Any, key: str, where: str) -> Any:
    if not isinstance(d, Mapping):
        raise _Invalid(f"{where or 'state'} is not an object")
    if key not in d:
        raise _Invalid(f"missing {_name(where, key)}")
    return d[key]


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _real(v: Any, name: str, *, lo: float | None = None, hi: float | None = None, positive: bool = False,
          none: bool = False) -> float | None:
    if v is None and none:
        return None
    if not _is_real(v):
        raise _Invalid(f"{name} must be a number, got {_short(v)}")
    f = float(v)
    if not math.isfinite(f):
        raise _Invalid(f"{name} must be finite, got {f}")
    if positive and not f > 0:
        raise _Invalid(f"{name} must be positive, got {f:g}")
    if lo is not None and f < lo:
        raise _Invalid(f"{name} must be at least {lo:g}, got {f:g}")
    if hi is not None and f > hi:
        raise _Invalid(f"{name} must be at most {hi:g}, got {f:g}")
    return f


def _int(v: Any, name: str, lo: int | None = None, hi: int | None = None, none: bool = False) -> int | None:
    if v is None and none:
        return None
    if isinstance(v, float) and v.is_integer():  # 3.0 from another JSON writer
        v = int(v)
    if not _is_int(v):
        raise _Invalid(f"{name} must be a whole number, got {_short(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _Invalid(f"{name} must be in {lo}..{hi}, got {v}" if hi is not None else
                       f"{name} must be at least {lo}, got {v}")
    return v


def _bool(v: Any, name: str) -> bool:
    if not isinstance(v, bool):
        raise _Invalid(f"{name} must be true or false, got {_short(v)}")
    return v


def _str(v: Any, name: str, choices=None, none: bool = False) -> str | None:
    if v is None and none:
        return None
    if not isinstance(v, str):
        raise _Invalid(f"{name} must be a string, got {_short(v)}")
    if choices is not None and v not in choices:
        raise _Invalid(f"{name} must be one of {', '.join(map(repr, choices))}, got {_short(v)}")
    return v


def _dict(v: Any, name: str, none: bool = False) -> dict | None:
    if v is None and none:
        return None
    if not isinstance(v, dict):
        raise _Invalid(f"{name} must be an object, got {_short(v)}")
    return v


def _list(v: Any, name: str, length: int | None = None, max_len: int | None = None) -> list:
    if not isinstance(v, list):
        raise _Invalid(f"{name} must be a list, got {_short(v)}")
    if length is not None and len(v) != length:
        raise _Invalid(f"{name} must hold {length} values, got {len(v)}")
    if max_len is not None and len(v) > max_len:
        raise _Invalid(f"{name} holds {len(v)} values, more than {max_len}")
    return v


def _strings(v: Any, name: str, length: int | None = None, unique: bool = False) -> list[str]:
    items = _list(v, name, length, MAX_FEATURES)
    for i, s in enumerate(items):
        _str(s, f"{name}[{i}]")
    if unique and len(set(items)) != len(items):
        raise _Invalid(f"{name} holds a name twice")
    return items


def _vector(v: Any, name: str, length: int | None = None, *, lo: float | None = None, positive: bool = False,
            nonzero: bool = False, integer: bool = False, max_len: int | None = None) -> np.ndarray:
    items = _list(v, name, length, max_len)
    if not all((_is_int(x) if integer else _is_real(x)) for x in items):
        bad = next(x for x in items if not (_is_int(x) if integer else _is_real(x)))
        raise _Invalid(f"{name} must hold {'whole numbers' if integer else 'numbers'}, got {_short(bad)}")
    a = np.asarray(items, dtype=np.int64 if integer else float).reshape(len(items))
    if not integer and not np.all(np.isfinite(a)):
        raise _Invalid(f"{name} holds a non-finite number")
    if positive and np.any(a <= 0):
        raise _Invalid(f"{name} must hold positive numbers")
    if nonzero and np.any(a == 0):
        raise _Invalid(f"{name} holds a zero (a divisor)")
    if lo is not None and np.any(a < lo):
        raise _Invalid(f"{name} holds a value below {lo:g}")
    return a


def _matrix(v: Any, name: str, cols: int, rows: int | None = None, *, integer: bool = False,
            max_rows: int | None = None) -> np.ndarray:
    items = _list(v, name, rows, max_rows)
    for i, r in enumerate(items):
        _vector(r, f"{name}[{i}]", cols, integer=integer)
    return np.asarray(items, dtype=np.int64 if integer else float).reshape(len(items), cols)


def _short(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return f"a{'n object' if isinstance(v, dict) else ' list'} of {len(v)}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _params(state: dict, kind: str, checks: dict[str, Any]) -> dict:
    """The constructor parameters: only known names, each value checked by ``checks[name](value, name)``."""
    params = _dict(_field(state, "params", ""), "params")
    for k, v in params.items():
        if k not in checks:
            raise _Invalid(f"params has an unknown parameter {str(k)[:40]!r}")
        checks[k](v, f"params.{k}")
    return params


def _n_features(state: dict) -> int:
    return _int(_field(state, "n_features_in", ""), "n_features_in", 1, MAX_FEATURES)


def _columns(v: Any, name: str, d: int) -> list[int]:
    cols = [int(c) for c in _vector(v, name, integer=True, lo=0, max_len=MAX_FEATURES)]
    outside = [c for c in cols if c >= d]
    if outside:
        raise _Invalid(f"{name} holds column {outside[0]}, outside the {d} input columns")
    return cols


def _any_int(v, name):
    return _int(v, name, none=True)


def _seed(v, name):
    return _int(v, name, 0, 2**32 - 1, none=True)


def _feature_names(state: dict, d: int) -> None:
    names = state.get("feature_names_in")
    if names:
        _strings(names, "feature_names_in", d)


# ------------------------------------------------------------------------------------ by kind
def _flops_linear(state: dict) -> None:
    d = _n_features(state)
    params = _params(state, "flops_linear", {"columns": lambda v, n: v is None or _columns(v, n, d),
                                             "fit_intercept": _bool, "relative": _bool})
    cols = list(range(d)) if params.get("columns", [0]) is None else _columns(params.get("columns", [0]),
                                                                                "params.columns", d)
    _vector(_field(state, "coef", ""), "coef", len(cols))
    _real(_field(state, "intercept", ""), "intercept")


def _gbr(state: dict) -> None:
    d = _n_features(state)
    _params(state, "gbr", {"n_estimators": lambda v, n: _int(v, n, 1), "learning_rate": _real,
                           "max_depth": _any_int, "subsample": _real, "log_target": _bool,
                           "random_state": _seed})
    _real(_field(state, "init", ""), "init")
    trees = _list(_field(state, "trees", ""), "trees", max_len=MAX_NODES)
    total = 0
    for i, t in enumerate(trees):
        where = f"trees[{i}]"
        _dict(t, where)
        left = _vector(_field(t, "left", where), f"{where}.left", integer=True, max_len=MAX_NODES)
        m = len(left)
        if m == 0:
            raise _Invalid(f"{where} has no nodes")
        total += m
        if total > MAX_NODES:
            raise _Invalid(f"the trees hold more than {MAX_NODES} nodes")
        right = _vector(_field(t, "right", where), f"{where}.right", m, integer=True)
        feat = _vector(_field(t, "feature", where), f"{where}.feature", m, integer=True)
        _vector(_field(t, "threshold", where), f"{where}.threshold", m)
        _vector(_field(t, "value", where), f"{where}.value", m)
        inner = left >= 0
        nodes = np.arange(m)
        if np.any(inner != (right >= 0)):
            raise _Invalid(f"{where}: node {int(np.flatnonzero(inner != (right >= 0))[0])} has one child only")
        if np.any((left < 0) & (left != -1)) or np.any((right < 0) & (right != -1)):
            raise _Invalid(f"{where}: a leaf's children must be -1")
        # children after their parent (scikit-learn's depth-first order): no cycle, every walk ends
        bad = inner & ((left <= nodes) | (right <= nodes) | (left >= m) | (right >= m))
        if np.any(bad):
            n = int(np.flatnonzero(bad)[0])
            raise _Invalid(f"{where}: node {n} has a child outside {n + 1}..{m - 1} "
                           f"(left={int(left[n])}, right={int(right[n])}): the tree would loop or index out of range")
        if np.any(inner & ((feat < 0) | (feat >= d))):
            n = int(np.flatnonzero(inner & ((feat < 0) | (feat >= d)))[0])
            raise _Invalid(f"{where}: node {n} splits on feature {int(feat[n])}, outside the {d} input columns")
    if "feature_importances" in state and state["feature_importances"] not in (None, []):
        _vector(state["feature_importances"], "feature_importances", d)


def _sparse_polynomial(state: dict) -> None:
    d = _n_features(state)

    def degrees(v, n):
        return _int(v, n, 1, MAX_DEGREE) if not isinstance(v, list) else \
            [_int(x, f"{n}[{i}]", 1, MAX_DEGREE) for i, x in enumerate(_list(v, n, max_len=MAX_DEGREE))]

    _params(state, "sparse_polynomial", {
        "degrees": degrees, "log_target": _bool, "linear_only": lambda v, n: _columns(v, n, d),
        "cv": lambda v, n: _int(v, n, 2), "n_alphas": lambda v, n: _int(v, n, 1),
        "max_iter": lambda v, n: _int(v, n, 1), "random_state": _seed,
        "clip_margin": lambda v, n: _real(v, n, lo=0.0, none=True),
        "degree_rule": lambda v, n: _str(v, n, choices=tuple(DEGREE_RULES)),
        "max_terms": lambda v, n: _int(v, n, 1, none=True)})
    _feature_names(state, d)
    _vector(_field(state, "x_mean", ""), "x_mean", d)
    _vector(_field(state, "x_scale", ""), "x_scale", d, nonzero=True)
    if "z_min" in state or "z_max" in state:
        lo = _vector(_field(state, "z_min", ""), "z_min", d)
        hi = _vector(_field(state, "z_max", ""), "z_max", d)
        if np.any(lo > hi):
            raise _Invalid("z_min is above z_max")
    powers = _field(state, "powers", "")
    coef = _vector(_field(state, "coef", ""), "coef", max_len=MAX_FEATURES * 100)
    p = _matrix(powers, "powers", d, len(coef), integer=True)
    if np.any(p < 0) or np.any(p > MAX_DEGREE):
        raise _Invalid(f"powers must be exponents in 0..{MAX_DEGREE}")
    _real(_field(state, "intercept", ""), "intercept")
    for key, check in (("degree", lambda v, n: _int(v, n, 0, MAX_DEGREE)), ("alpha", _real),
                       ("n_iter", lambda v, n: _int(v, n, 0))):
        if key in state:
            check(state[key], key)
    for k, v in _dict(state.get("cv_scores", {}), "cv_scores").items():
        if not str(k).lstrip("-").isdigit():
            raise _Invalid(f"cv_scores has a key {str(k)[:20]!r} that is not a degree")
        _real(v, f"cv_scores.{k}")


def _gp(state: dict) -> None:
    from .gp import KERNELS

    d = _n_features(state)
    _params(state, "gp", {"kernel": lambda v, n: _str(v, n, KERNELS), "ard": _bool, "log_target": _bool,
                          "n_restarts": lambda v, n: _int(v, n, 0), "max_iters": lambda v, n: _int(v, n, 0),
                          "noise_floor": lambda v, n: _real(v, n, lo=0.0), "random_state": _seed,
                          "max_points": lambda v, n: _int(v, n, 2, none=True), "input_warp": _bool})
    _feature_names(state, d)
    _vector(_field(state, "x_mean", ""), "x_mean", d)
    _vector(_field(state, "x_scale", ""), "x_scale", d, nonzero=True)
    _real(_field(state, "y_mean", ""), "y_mean")
    _real(_field(state, "y_scale", ""), "y_scale", positive=True)
    _real(_field(state, "variance", ""), "variance", positive=True)
    _vector(_field(state, "lengthscale", ""), "lengthscale", d, positive=True)
    _real(_field(state, "noise_variance", ""), "noise_variance", lo=0.0)
    if "log_marginal_likelihood" in state:
        _real(state["log_marginal_likelihood"], "log_marginal_likelihood", none=True)
    y = _vector(_field(state, "y_train", ""), "y_train", max_len=MAX_GP_POINTS)
    if len(y) == 0:
        raise _Invalid("y_train is empty")
    _matrix(_field(state, "X_train", ""), "X_train", d, len(y))
    _gp_parts(state, d)


def _gp_parts(state: dict, d: int) -> None:
    """The optional parts of a GP's state: the additive kernel's first-order terms and the input warp."""
    if state.get("add_variance") is not None:
        _vector(state["add_variance"], "add_variance", d, positive=True)
        _vector(_field(state, "add_lengthscale", ""), "add_lengthscale", d, positive=True)
    if state.get("warp_a") is None:
        return
    n = d
    if state.get("warp_dims") is not None:
        dims = _vector(state["warp_dims"], "warp_dims", integer=True, max_len=d)
        if np.any(dims < 0) or np.any(dims >= d) or len(set(dims.tolist())) != len(dims):
            raise _Invalid(f"warp_dims must hold distinct inputs in 0..{d - 1}")
        n = len(dims)
    _vector(state["warp_a"], "warp_a", n, positive=True)
    _vector(_field(state, "warp_b", ""), "warp_b", n, positive=True)
    if "warp_epsilon" in state:
        _real(state["warp_epsilon"], "warp_epsilon", positive=True)


def _roofline(state: dict) -> None:
    d = _n_features(state)
    _params(state, "roofline", {
        "peak_flops": lambda v, n: _real(v, n, positive=True, none=True),
        "bandwidth_bytes_s": lambda v, n: _real(v, n, positive=True, none=True),
        "flops_column": lambda v, n: _int(v, n, 0, d - 1), "bytes_columns": lambda v, n: _columns(v, n, d),
        "mode": lambda v, n: _str(v, n, ("sum", "max")), "calibrate": _bool,
        "threads": lambda v, n: _int(v, n, 1, none=True)})
    params = state["params"]
    for k in ("bytes_columns", "flops_column", "mode"):
        if k not in params:
            raise _Invalid(f"missing params.{k}")
    peaks = _dict(_field(state, "peaks", ""), "peaks")
    _real(_field(peaks, "peak_flops", "peaks"), "peaks.peak_flops", positive=True)
    _real(_field(peaks, "bandwidth_bytes_s", "peaks"), "peaks.bandwidth_bytes_s", positive=True)
    for k in ("scale", "offset"):
        if k in state:
            _real(state[k], k)


def _nested(doc: Any, name: str, kinds: tuple[str, ...]) -> dict:
    _dict(doc, name)
    kind = _field(doc, "kind", name)
    if kind not in kinds:
        raise _Invalid(f"{name} is a {_short(kind)} model; expected {' or '.join(map(repr, kinds))}")
    _dict(_field(doc, "state", name), f"{name}.state")
    return doc


def _encoding(items: Any, name: str, knobs: list[str] | None = None) -> int:
    """Checks a knob encoding (ConfigModel / KnobEncoder); returns the number of encoded columns."""
    width = 0
    for i, e in enumerate(_list(items, name, max_len=MAX_FEATURES)):
        where = f"{name}[{i}]"
        _dict(e, where)
        nm = _str(_field(e, "name", where), f"{where}.name")
        if knobs is not None and nm not in knobs:
            raise _Invalid(f"{where} encodes {nm[:40]!r}, which is not one of the knobs")
        kind = _str(_field(e, "kind", where), f"{where}.kind", ("number", "bool", "category"))
        if kind == "category":
            levels = _strings(_field(e, "levels", where), f"{where}.levels", unique=True)
            if not levels:
                raise _Invalid(f"{where}.levels is empty")
            width += len(levels)
        else:
            width += 1
    return width


def _constants(items: Any, name: str, knobs: list[str]) -> None:
    """Checks the knobs an encoding left out as constant (name, kind, the one value as text)."""
    for i, e in enumerate(_list(items, name, max_len=MAX_FEATURES)):
        where = f"{name}[{i}]"
        _dict(e, where)
        nm = _str(_field(e, "name", where), f"{where}.name")
        if nm not in knobs:
            raise _Invalid(f"{where} names {nm[:40]!r}, which is not one of the knobs")
        _str(_field(e, "kind", where), f"{where}.kind", ("number", "bool", "category"))
        _str(_field(e, "value", where), f"{where}.value")


def _config_model(state: dict) -> None:
    from .config_model import MODELS

    model = _str(_field(state, "model", ""), "model", MODELS)
    knobs = _strings(_field(state, "knobs", ""), "knobs", unique=True)
    if not knobs:
        raise _Invalid("knobs is empty")
    _str(_field(state, "target", ""), "target")
    lt = state.get("log_target", "auto")
    if lt != "auto" and not isinstance(lt, bool):
        raise _Invalid(f"log_target must be 'auto', true or false, got {_short(lt)}")
    if "log_target_fitted" in state:
        _bool(state["log_target_fitted"], "log_target_fitted")
    lk = state.get("log_knobs", False)
    if lk != "auto" and not isinstance(lk, bool):
        raise _Invalid(f"log_knobs must be 'auto', true or false, got {_short(lk)}")
    _dict(state.get("model_params") or {}, "model_params")
    _seed(state.get("random_state", 0), "random_state")
    width = _encoding(_field(state, "encoding", ""), "encoding", knobs)
    if width == 0:
        raise _Invalid("encoding is empty")
    _constants(state.get("constants", []), "constants", knobs)
    if state.get("feature_names"):
        _strings(state["feature_names"], "feature_names", width)
    _int(state.get("n_train", 0), "n_train", 0)
    reg = _nested(_field(state, "regressor", ""), "regressor", (REGRESSOR_KIND[model],))
    n_in = reg["state"].get("n_features_in")
    if n_in != width:
        raise _Invalid(f"the regressor takes {_short(n_in)} inputs, the knob encoding gives {width}")


def _layerwise(state: dict) -> None:
    params = _dict(_field(state, "params", ""), "params")
    model = _str(params.get("model", "polynomial"), "params.model", ("polynomial", "gp", "gbr"))
    for k in ("log_target", "log_features", "network_term", "network_batch"):
        if k in params:
            _bool(params[k], f"params.{k}")
    for k, lo in (("min_rows", 1), ("reference_window", 1), ("std_folds", 0)):
        if k in params:
            _int(params[k], f"params.{k}", lo)
    _str(params.get("view", "inplace"), "params.view")
    _str(params.get("base"), "params.base", ("roofline",), none=True)
    _str(params.get("reference"), "params.reference", none=True)
    _dict(params.get("model_params"), "params.model_params", none=True)
    _seed(params.get("random_state", 0), "params.random_state")
    _real(state.get("reference_s"), "reference_s", positive=True, none=True)
    _real(state.get("duplicate_s"), "duplicate_s", lo=0.0, none=True)
    if state.get("base_coef") is not None:
        _vector(state["base_coef"], "base_coef", 3, lo=0.0)
    known = _known_features()
    group_features = _dict(state.get("group_features", {}), "group_features")
    for g, names in group_features.items():
        for f in _strings(names, f"group_features.{g}"):
            if f not in known:
                raise _Invalid(f"group_features.{g} names an unknown feature {f[:40]!r}")
    for g, rng in _dict(state.get("ratio_range", {}), "ratio_range").items():
        a, b = _vector(rng, f"ratio_range.{g}", 2)
        if a > b:
            raise _Invalid(f"ratio_range.{g} is empty ({a:g} > {b:g})")
    knobs = _dict(_field(state, "knobs", ""), "knobs")
    names = _strings(_field(knobs, "knobs", "knobs"), "knobs.knobs", unique=True)
    _encoding(_field(knobs, "encoding", "knobs"), "knobs.encoding", names)
    _constants(knobs.get("constants", []), "knobs.constants", names)
    enc = {e["name"]: e["kind"] for e in knobs["encoding"]}
    for k, v in _dict(state.get("knob_defaults", {}), "knob_defaults").items():
        if not isinstance(v, (str, int, float, bool)):
            raise _Invalid(f"knob_defaults.{k} must be a number, string or boolean, got {_short(v)}")
        if enc.get(k) == "number" and not _is_real(v):
            raise _Invalid(f"knob_defaults.{k} must be a number (the knob is numeric), got {_short(v)}")
    for k, rng in _dict(state.get("knob_ranges", {}), "knob_ranges").items():
        a, b = _vector(rng, f"knob_ranges.{k}", 2)
        if a > b:
            raise _Invalid(f"knob_ranges.{k} is empty ({a:g} > {b:g})")
        if k != "batch" and enc.get(k) != "number":
            raise _Invalid(f"knob_ranges.{k} is not a numeric knob of the model")
    _layer_ranges(state.get("layer_ranges"), "layer_ranges")
    for k in ("has_power", "fuses"):
        if k in state:
            _bool(state[k], k)
    if "absorb" in state:
        _strings(state["absorb"], "absorb")
    kind = REGRESSOR_KIND[model]
    groups = group_features if "group_features" in state else None
    for g, doc in _dict(_field(state, "models", ""), "models").items():
        _nested(doc, f"models.{g}", (kind,))
        if groups is not None and g not in groups:
            raise _Invalid(f"models.{g} has no group_features entry")
    for g, doc in _dict(state.get("power_models", {}), "power_models").items():
        _nested(doc, f"power_models.{g}", (kind,))
        if groups is not None and g not in groups:
            raise _Invalid(f"power_models.{g} has no group_features entry")
    _nested(_field(state, "fallback", ""), "fallback", (kind,))
    if state.get("power_fallback"):
        _nested(state["power_fallback"], "power_fallback", (kind,))
    for k in ("train_rows", "knob_defaults"):
        _dict(state.get(k, {}), k)
    for k in ("skipped_types", "networks"):
        _strings(state.get(k, []), k)
    _int(state.get("n_train_rows", 0), "n_train_rows", 0)
    net = _dict(_field(state, "network_term", ""), "network_term")
    net_knobs = _strings(net.get("knobs", []), "network_term.knobs", unique=True)
    for k in net_knobs:
        if k != "log_batch" and enc.get(k) not in ("number", "bool"):  # log_batch: composition.LOG_BATCH
            raise _Invalid(f"network_term.knobs names {k[:40]!r}, not a numeric knob of the model")
    _vector(_field(net, "coef", "network_term"), "network_term.coef", 3 + 2 * len(net_knobs))
    _vector(net.get("knob_lo", []), "network_term.knob_lo", len(net_knobs))
    _vector(net.get("knob_span", []), "network_term.knob_span", len(net_knobs), nonzero=True)
    _real(net.get("rel_std", 0.0), "network_term.rel_std", lo=0.0)
    _int(net.get("std_folds", 0), "network_term.std_folds", 0)
    _int(net.get("n_rows", 0), "network_term.n_rows", 0)


def _layerwise_tables(state: dict) -> None:
    """:class:`~perfmodel.models.table_layerwise.TableLayerwisePredictor`: per mode, unit models (a nested
    ``layerwise`` state, checked when it is built), the runtime composition and the network power model."""
    params = _dict(_field(state, "params", ""), "params")
    for k in params:
        if k not in ("model", "view", "std_folds", "random_state"):
            raise _Invalid(f"params has an unknown parameter {str(k)[:40]!r}")
    _str(params.get("model", "polynomial"), "params.model", ("polynomial", "gp", "gbr"))
    _str(params.get("view"), "params.view", none=True)
    _int(params.get("std_folds", 0), "params.std_folds", 0)
    _seed(params.get("random_state", 0), "params.random_state")
    for k, values in _dict(_field(state, "knob_values", ""), "knob_values").items():
        for i, v in enumerate(_list(values, f"knob_values.{k}", max_len=MAX_FEATURES)):
            if not isinstance(v, (str, int, float, bool)) or (isinstance(v, float) and not math.isfinite(v)):
                raise _Invalid(f"knob_values.{k}[{i}] must be a finite number, string or boolean, got {_short(v)}")
    for k, rng in _dict(state.get("knob_ranges", {}), "knob_ranges").items():
        a, b = _vector(rng, f"knob_ranges.{k}", 2)
        if a > b:
            raise _Invalid(f"knob_ranges.{k} is empty ({a:g} > {b:g})")
    _strings(state.get("fit_notes", []), "fit_notes")
    modes = _dict(_field(state, "modes", ""), "modes")
    if not modes:
        raise _Invalid("modes is empty")
    for mode, st in modes.items():
        where = f"modes.{mode}"
        _dict(st, where)
        _nested(_field(st, "units", where), f"{where}.units", ("layerwise",))
        comp = _dict(_field(st, "composition", where), f"{where}.composition")
        _real(_field(comp, "scale", f"{where}.composition"), f"{where}.composition.scale")
        for k in ("replay_s", "gap_s", "offset_s"):
            _real(comp.get(k), f"{where}.composition.{k}", none=True)
        _layer_ranges(st.get("layer_ranges"), f"{where}.layer_ranges")
        if "rel_std" in st:
            _real(st["rel_std"], f"{where}.rel_std", lo=0.0, none=True)
        corr = _dict(st.get("correction"), f"{where}.correction", none=True)
        if corr is not None:  # NetworkCorrection: a ridge on network-level features
            c = f"{where}.correction"
            n = len(_list(_field(corr, "coef", c), f"{c}.coef", max_len=MAX_FEATURES))
            for k in ("mean", "scale", "coef"):
                _vector(_field(corr, k, c), f"{c}.{k}", n)
            _real(_field(corr, "intercept", c), f"{c}.intercept")
            lo, hi = _vector(_field(corr, "z_range", c), f"{c}.z_range", 2)
            if lo > hi:
                raise _Invalid(f"{c}.z_range is empty ({lo:g} > {hi:g})")
            for k in ("rel_std", "rel_std_without"):
                _real(_field(corr, k, c), f"{c}.{k}", lo=0.0)
            _int(_field(corr, "n_rows", c), f"{c}.n_rows", 0)
            if not isinstance(_field(corr, "used", c), bool):
                raise _Invalid(f"{c}.used must be true or false")
        power = _dict(st.get("power"), f"{where}.power", none=True)
        if power is not None:
            p = f"{where}.power"
            _str(_field(power, "model", p), f"{p}.model", ("polynomial", "gp", "gbr"))
            _int(_field(power, "folds", p), f"{p}.folds", 0)
            reg = _nested(_field(power, "regressor", p), f"{p}.regressor", tuple(set(REGRESSOR_KIND.values())))
            n = _int(_field(power, "n_features", p), f"{p}.n_features", 1, MAX_FEATURES)
            if reg["state"].get("n_features_in") != n:
                raise _Invalid(f"{p}.regressor takes {_short(reg['state'].get('n_features_in'))} inputs, not {n}")
            _real(power.get("rel_std"), f"{p}.rel_std", lo=0.0, none=True)
            if power.get("range") is not None:
                a, b = _vector(power["range"], f"{p}.range", 2)
                if a > b:
                    raise _Invalid(f"{p}.range is empty ({a:g} > {b:g})")
            _int(_field(power, "n_rows", p), f"{p}.n_rows", 0)


_KNOWN: list[set[str]] = []


def _layer_ranges(v: Any, name: str) -> None:
    """Per layer group, the trained [min, max] of each of ``perfmodel.features.RANGE_FEATURES`` (optional)."""
    from ..features import RANGE_FEATURES

    for g, rng in (_dict(v, name, none=True) or {}).items():
        rng = _dict(rng, f"{name}.{g}")
        for c in RANGE_FEATURES:
            a, b = _vector(_field(rng, c, f"{name}.{g}"), f"{name}.{g}.{c}", 2)
            if a > b:
                raise _Invalid(f"{name}.{g}.{c} is empty ({a:g} > {b:g})")


def _known_features() -> set[str]:
    """Names of the derived layer features (``perfmodel.features.layer_features``)."""
    if not _KNOWN:
        import pandas as pd

        from ..features import layer_features

        _KNOWN.append(set(layer_features(pd.DataFrame([{}])).columns))
    return _KNOWN[0]


_CHECKS = {"flops_linear": _flops_linear, "gbr": _gbr, "sparse_polynomial": _sparse_polynomial, "gp": _gp,
           "roofline": _roofline, "config_model": _config_model, "layerwise": _layerwise,
           "layerwise_tables": _layerwise_tables}


def check_state(kind: str, state: Any) -> None:
    """Refuse (one :class:`ModelError` line) a state of ``kind`` that could not build a predicting model."""
    if not isinstance(state, dict):
        raise ModelError(f"corrupt {kind!r} model state: not an object")
    check_json(state, kind)
    try:
        _CHECKS[kind](state)
    except _Invalid as exc:
        raise ModelError(f"corrupt {kind!r} model state: {exc}") from None


# ------------------------------------------------------------------------------------ built models
def check_model(kind: str, model: Any) -> None:
    """The built model's parts agree, and it predicts a probe input; otherwise one ModelError line."""
    try:
        if kind == "config_model":
            _probe_config_model(model)
        elif kind == "layerwise":
            _probe_layerwise(model)
        elif kind == "layerwise_tables":
            pass  # its parts (unit models, power regressor) were built through from_state and probed there
        else:
            _probe_regressor(model)
    except ModelError as exc:
        raise ModelError(f"corrupt {kind!r} model state: {exc}") from None
    except _Invalid as exc:
        raise ModelError(f"corrupt {kind!r} model state: {exc}") from None
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, np.linalg.LinAlgError,
            RecursionError) as exc:
        what = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise ModelError(f"the {kind!r} model does not predict ({type(exc).__name__}: {what})") from None


def _probe_regressor(model: Any) -> None:
    X = np.zeros((1, int(model.n_features_in_)))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        y = np.asarray(model.predict(X), dtype=float)
    if y.shape != (1,):
        raise _Invalid(f"predicts {y.shape} values for one row")


def _probe_config_model(model: Any) -> None:
    import pandas as pd

    width = sum(len(e["levels"]) if e["kind"] == "category" else 1 for e in model.encoding_)
    if int(model.regressor_.n_features_in_) != width:
        raise _Invalid(f"the regressor takes {model.regressor_.n_features_in_} inputs, the encoding gives {width}")
    row = {e["name"]: (e["levels"][0] if e["kind"] == "category" else
                       (False if e["kind"] == "bool" else 1.0 if e.get("log") else 0.0))  # a log takes positives
           for e in model.encoding_}
    row.update({c.name: c.levels[0] for c in model.encoder_.constants})  # knobs constant in training
    for k in model.knobs_:
        row.setdefault(k, 0.0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        model.predict(pd.DataFrame([row]))


def _probe_layerwise(model: Any) -> None:
    from ..features import GENERIC_FEATURES, SPECIAL_FEATURES
    from profiling.simulated import random_network

    n_knobs = len(model.knobs_.names)
    for g, m in model.models_.items():
        want = len(model.group_features_[g]) + len(SPECIAL_FEATURES) + n_knobs
        if int(m.n_features_in_) != want:
            raise _Invalid(f"models.{g} takes {m.n_features_in_} inputs, its group's features are {want}")
    for g, m in model.power_models_.items():
        if g not in model.group_features_:
            raise _Invalid(f"power_models.{g} has no group_features entry")
        want = len(model.group_features_[g]) + len(SPECIAL_FEATURES) + n_knobs
        if int(m.n_features_in_) != want:
            raise _Invalid(f"power_models.{g} takes {m.n_features_in_} inputs, its group's features are {want}")
    want = len(GENERIC_FEATURES) + len(SPECIAL_FEATURES) + n_knobs
    for name, m in (("fallback", model.fallback_), ("power_fallback", model.power_fallback_)):
        if m is not None and int(m.n_features_in_) != want:
            raise _Invalid(f"{name} takes {m.n_features_in_} inputs, the generic features are {want}")
    missing = [e["name"] for e in model.knobs_.encoding if e["name"] not in model.knob_defaults_]
    if missing:
        raise _Invalid(f"knob {missing[0][:40]!r} has no default value")
    probe = random_network(np.random.default_rng(0), "probe", n_blocks=3, hw=8)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = model.predict(probe, configs={e["name"]: model.knob_defaults_[e["name"]]
                                            for e in model.knobs_.encoding})
    if len(out) != 1:
        raise _Invalid("predicts no row for a probe network")
