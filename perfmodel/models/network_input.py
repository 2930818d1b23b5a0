"""The network to predict: a keras.applications name, a ``.keras`` file or a NetworkSpec JSON file."""

from __future__ import annotations

import json
import os

from ..errors import DataError

__all__ = ["load_spec", "load_network_spec"]


def load_spec(name_or_path: str):
    """A NetworkSpec (with ``.features()``) for ``name_or_path``.

    A ``.json`` file must be a NetworkSpec (``{"format": "perfmodel.NetworkSpec", ...}``, as
    ``NetworkSpec.to_json`` writes and ``datasets/h200-torch/specs/`` holds); it is read without TensorFlow.
    Anything else goes to ``profiling.networks.load_network`` (keras.applications built with
    ``weights=None``, or a ``.keras`` file; these need TensorFlow).
    """
    text = os.fspath(name_or_path)
    if text.lower().endswith(".json"):
        from profiling.spec import NetworkSpec

        if not os.path.isfile(text):
            raise DataError(f"network spec file {text!r} does not exist")
        try:
            with open(text, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DataError(f"network spec file {text!r} is not JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != "perfmodel.NetworkSpec":
            raise DataError(f"{text!r} is not a NetworkSpec file (no \"format\": \"perfmodel.NetworkSpec\"; "
                            "write one with NetworkSpec.to_json)")
        from profiling.errors import SpecError

        try:
            return NetworkSpec.from_dict(doc)
        except (SpecError, KeyError, AttributeError) as exc:  # malformed content: one line naming the file
            what = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise DataError(f"network spec file {text!r} is not a valid NetworkSpec: {what}") from None
    return load_network_spec(text)


def load_network_spec(name_or_path: str):
    """``profiling.networks.load_network(name_or_path)``: the NetworkSpec of a keras.applications name or a
    ``.keras`` file (needs TensorFlow; :func:`load_spec` also reads NetworkSpec JSON files without it)."""
    from profiling.networks import load_network

    loaded = load_network(name_or_path)
    return loaded[1] if isinstance(loaded, tuple) else loaded  # (keras_model, NetworkSpec)
