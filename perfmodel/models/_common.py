"""Helpers shared by the estimators: input checks, scaling and the log target."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ModelError


def check_min_samples(name: str, n: int, minimum: int) -> None:
    if n < minimum:
        # "got 1 sample" is also the wording scikit-learn's estimator checks look for
        raise DataError(f"{name} needs at least {minimum} samples, got {n} sample{'s' if n != 1 else ''}")


def scale_params(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations; a constant column gets scale 1 (it carries no information)."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(mean)), scale, 1.0)
    return mean, scale


def unit_params(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column minima and ranges (``(X - min) / range`` is in [0, 1]); a constant column gets range 1."""
    low = X.min(axis=0)
    span = X.max(axis=0) - low
    span = np.where(span > 1e-12 * np.maximum(1.0, np.abs(low)), span, 1.0)
    return low, span


def forward_target(name: str, y: np.ndarray, log_target: bool) -> np.ndarray:
    if not log_target:
        return y
    if np.any(y <= 0):
        raise DataError(f"{name}: log_target needs a positive target, got a value {float(y.min()):g}")
    return np.log(y)


def inverse_target(z: np.ndarray, log_target: bool) -> np.ndarray:
    return np.exp(np.clip(z, -700, 700)) if log_target else z


def require_state(state: dict, keys: tuple[str, ...], kind: str) -> None:
    missing = [k for k in keys if k not in state]
    if missing:
        raise ModelError(f"corrupt {kind!r} model state: missing {', '.join(missing)}")


def configs_frame(configs):
    """Configurations to predict (a mapping, a sequence of mappings or a DataFrame) as a DataFrame; ``None``
    is one empty configuration."""
    from collections.abc import Mapping

    import pandas as pd

    if configs is None:
        return pd.DataFrame([{}])
    if isinstance(configs, pd.DataFrame):
        return configs.reset_index(drop=True)
    if isinstance(configs, Mapping):
        configs = [configs]
    configs = [dict(c) for c in configs]
    if not configs:
        raise DataError("no configuration to predict")
    return pd.DataFrame(configs)


def format_config(cfg) -> str:
    """``k=v,k=v`` in the order of ``cfg``."""
    return ",".join(f"{k}={v}" for k, v in cfg.items())
