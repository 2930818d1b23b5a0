"""JSON persistence of fitted models (never pickle).

A model file is ``{"format": "perfmodel-model", "version": 1, "kind": ..., "libraries": {...}, "state": {...}}``.
``state`` holds only numbers, strings and lists (coefficients, hyper-parameters, training inputs of a GP),
never library objects, so a file loads with any version of numpy / scikit-learn / GPy: prediction after
loading is computed by :mod:`perfmodel` itself from those numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from importlib import import_module
from typing import Any

import numpy as np

from profiling.atomic import atomic_write

from ..errors import ModelError
from .validation import check_model, check_state

FORMAT = "perfmodel-model"
VERSION = 1

# kind -> "module:Class"; each class has ``_get_state() -> dict`` and classmethod ``_from_state(state)``.
KINDS = {
    "sparse_polynomial": "perfmodel.models.polynomial:SparsePolynomialRegressor",
    "gp": "perfmodel.models.gp:GPRegressor",
    "gbr": "perfmodel.models.baselines:GradientBoostingBaseline",
    "flops_linear": "perfmodel.models.baselines:FlopsLinearRegressor",
    "roofline": "perfmodel.models.roofline:RooflineRegressor",
    "config_model": "perfmodel.models.config_model:ConfigModel",
    "layerwise": "perfmodel.models.layerwise:LayerwisePredictor",
    "layerwise_tables": "perfmodel.models.table_layerwise:TableLayerwisePredictor",
}

__all__ = ["FORMAT", "VERSION", "KINDS", "save_model", "load_model", "to_jsonable", "state_of", "from_state",
           "library_versions"]


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model was fitted with (informational: loading does not need them)."""
    out = {}
    for name in ("numpy", "scipy", "sklearn", "GPy", "pandas"):
        try:
            out[name] = str(import_module(name).__version__)
        except Exception:  # noqa: BLE001 - optional library absent or broken: record nothing
            continue
    try:
        from importlib.metadata import version

        out["perfmodel"] = version("perfmodel")
    except Exception:  # noqa: BLE001 - running from a checkout
        out["perfmodel"] = "unknown"
    return out


def to_jsonable(obj: Any) -> Any:
    """numpy arrays / scalars -> lists / Python numbers, recursively; non-finite floats are refused."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        if not math.isfinite(v):
            raise ModelError("the model holds a non-finite number and cannot be saved")
        return v
    return obj


def _kind_of(model: Any) -> str:
    for kind, target in KINDS.items():
        mod, cls = target.split(":")
        if type(model).__module__ == mod and type(model).__name__ == cls:
            return kind
    raise ModelError(f"{type(model).__name__} cannot be saved as a perfmodel model")


def state_of(model: Any) -> dict:
    """``{"kind": ..., "state": ...}`` of a fitted model (used to nest models inside one file)."""
    return {"kind": _kind_of(model), "state": to_jsonable(model._get_state())}


def from_state(doc: dict) -> Any:
    """Inverse of :func:`state_of`."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if not isinstance(kind, str) or kind not in KINDS:
        raise ModelError(f"unknown model kind {kind!r}")
    mod, cls = KINDS[kind].split(":")
    # every state is validated before the model is built, and the built model must predict a probe input
    # (perfmodel.models.validation): a file loads into a working model or is refused with one line
    check_state(kind, doc.get("state"))
    try:
        model = getattr(import_module(mod), cls)._from_state(doc["state"])
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, ArithmeticError,
            np.linalg.LinAlgError) as exc:
        what = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise ModelError(f"corrupt {kind!r} model state ({type(exc).__name__}: {what})") from None
    check_model(kind, model)
    return model


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` as JSON to ``path`` atomically (a failed save leaves any existing file untouched)."""
    doc = {"format": FORMAT, "version": VERSION, **state_of(model),
           "libraries": library_versions(),
           "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    atomic_write(path, text, error=ModelError, what="model file")


def load_model(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None) -> Any:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : path-like
    kind : str or tuple of str, optional
        Accepted kind(s); another kind is a :class:`ModelError`.

    Raises
    ------
    ModelError
        Unreadable file, not a perfmodel model, another format version, or an unexpected kind.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ModelError(f"model file {path!r} does not exist") from None
    except IsADirectoryError:
        raise ModelError(f"model file {path!r} is a directory") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"model file {path!r} is not JSON (perfmodel model files are JSON)") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ModelError(f"model file {path!r} holds an unreadable value: {str(exc).splitlines()[0][:100]}") \
            from None
    except MemoryError:
        raise ModelError(f"model file {path!r} is too large to read") from None
    except RecursionError:
        raise ModelError(f"model file {path!r} is nested too deeply to be a perfmodel model") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path!r}: {exc.strerror}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{path!r} is not a perfmodel model file (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise ModelError(f"model file {path!r} has format version {doc.get('version')!r}; "
                         f"this perfmodel reads version {VERSION}")
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted and doc.get("kind") not in wanted:
        raise ModelError(f"model file {path!r} holds a {doc.get('kind')!r} model, "
                         f"expected {' or '.join(map(repr, wanted))}")
    try:
        return from_state(doc)
    except ModelError as exc:
        raise ModelError(f"model file {path!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError) as exc:
        # Hand-edited or damaged state: say so in one line instead of failing later in predict.
        what = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise ModelError(f"model file {path!r} has an invalid {doc.get('kind')!r} state: {what}") from None
