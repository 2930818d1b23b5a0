"""Calling a Keras model and its layers inside the TensorFlow worker."""

from __future__ import annotations

from typing import Any

__all__ = ["materialise", "has_layer", "takes_training"]


def materialise(out: Any) -> Any:
    """The output tensor(s) as numpy arrays: the call's work is done when this returns."""
    if isinstance(out, (list, tuple)):
        return [o.numpy() for o in out]
    return out.numpy()


def has_layer(model: Any, name: str) -> bool:
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def takes_training(layer: Any) -> bool:
    return type(layer).__name__ in ("BatchNormalization", "Dropout", "SpatialDropout2D")
