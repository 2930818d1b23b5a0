"""Building the networks to profile: keras.applications by name, a user's saved model, or a built-in.

Built-ins: small hand-written networks (``tiny_*``) and sampled synthetic ones (``synthetic_<seed>``,
``synthetic_fc_<seed>``, ``synthetic_hires_<seed>``, :mod:`profiling.synthetic`) that cover kernels the
applications leave out.

Nothing is downloaded: applications are built with ``weights=None`` (runtime does not depend on weight
values) and saved models are loaded with ``safe_mode=True`` so loading never runs code from the file.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import zipfile
from collections.abc import Callable
from typing import Any

from . import synthetic
from .errors import SpecError
from .spec import NetworkSpec

# Canonical name -> keras.applications constructor name.
APPLICATIONS = {
    "resnet50": "ResNet50", "resnet101": "ResNet101", "resnet152": "ResNet152",
    "resnet50v2": "ResNet50V2", "resnet101v2": "ResNet101V2", "resnet152v2": "ResNet152V2",
    "vgg16": "VGG16", "vgg19": "VGG19",
    "mobilenet": "MobileNet", "mobilenetv2": "MobileNetV2",
    "mobilenetv3small": "MobileNetV3Small", "mobilenetv3large": "MobileNetV3Large",
    "densenet121": "DenseNet121", "densenet169": "DenseNet169", "densenet201": "DenseNet201",
    "inceptionv3": "InceptionV3", "inceptionresnetv2": "InceptionResNetV2", "xception": "Xception",
    "nasnetmobile": "NASNetMobile", "nasnetlarge": "NASNetLarge",
    "efficientnetb0": "EfficientNetB0", "efficientnetb1": "EfficientNetB1", "efficientnetb2": "EfficientNetB2",
    "efficientnetv2b0": "EfficientNetV2B0", "efficientnetv2b1": "EfficientNetV2B1",
}

# Small built-in networks: fast to profile in tests and demos.
BUILTINS = ("tiny_cnn", "tiny_mobilenet", "tiny_resnet", "tiny_dense")


def canonical_name(name: str) -> str:
    """``"MobileNet_V2"`` -> ``"mobilenetv2"``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def known_networks() -> list[str]:
    return sorted(BUILTINS) + sorted(APPLICATIONS) + [f"{p}<seed>" for p in synthetic.PREFIXES]


def is_model_path(name_or_path: str) -> bool:
    return name_or_path.endswith((".keras", ".h5", ".json")) or os.sep in name_or_path


def check_network(name_or_path: str) -> str:
    """Return the canonical network identifier, or raise :class:`SpecError` (without importing TensorFlow)."""
    if is_model_path(name_or_path):
        if not os.path.isfile(name_or_path):
            raise SpecError(f"model file {name_or_path!r} does not exist")
        if not name_or_path.endswith(".keras"):
            raise SpecError(f"model file {name_or_path!r} is not a .keras file (save it with model.save('x.keras'))")
        _check_keras_archive(name_or_path)
        return os.path.abspath(name_or_path)
    if name_or_path in BUILTINS or synthetic.is_synthetic(name_or_path):
        return name_or_path
    canon = canonical_name(name_or_path)
    if canon not in APPLICATIONS:
        close = difflib.get_close_matches(canon, known_networks(), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close[:3])}?" if close else "; see 'perfmodel profile --list-networks'"
        raise SpecError(f"unknown network {name_or_path!r}{hint}")
    return canon


def _check_keras_archive(path: str) -> None:
    """Refuse a ``.keras`` file that is not a Keras archive without starting TensorFlow.

    A Keras 3 file is a zip holding ``config.json``; anything else would only fail later inside each worker.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RecursionError):
        config = None
    if not isinstance(config, dict):
        raise SpecError(f"cannot load model {path!r}: not a Keras model archive (a .keras zip with config.json)")


def build_model(name_or_path: str, input_size: int | None = None) -> Any:
    """Build (or load) the Keras model named ``name_or_path``."""
    ident = check_network(name_or_path)
    import keras

    if os.path.isabs(ident) and ident.endswith(".keras"):
        try:
            model = keras.saving.load_model(ident, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load is the user's file's problem
            msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise SpecError(f"cannot load model {name_or_path!r}: {msg}") from None
        if not isinstance(model, keras.Model):
            raise SpecError(f"{name_or_path!r} does not hold a Keras model")
        return model
    if ident in BUILTINS:
        return _BUILTIN_BUILDERS[ident](keras, input_size)
    if synthetic.is_synthetic(ident):
        return synthetic.build_synthetic(keras, ident, input_size)
    ctor = getattr(keras.applications, APPLICATIONS[ident])
    kwargs: dict[str, Any] = {"weights": None}
    if input_size is not None:
        kwargs["input_shape"] = (input_size, input_size, 3)
    try:
        model = ctor(**kwargs)
        if input_size is None and any(d is None for d in tuple(model.input_shape)[1:]):
            # Some applications (MobileNetV3) leave the size open; profile at the ImageNet default.
            model = ctor(weights=None, input_shape=(224, 224, 3))
        return model
    except ValueError as exc:
        raise SpecError(f"cannot build {ident} with input size {input_size}: {str(exc).splitlines()[0]}") from None


def load_network(name_or_path: str, input_size: int | None = None) -> tuple[Any, NetworkSpec]:
    """Return ``(keras_model, NetworkSpec)`` for a keras.applications name, a built-in or a ``.keras`` file."""
    model = build_model(name_or_path, input_size)
    ident = check_network(name_or_path)
    name = os.path.splitext(os.path.basename(ident))[0] if os.path.isabs(ident) else ident
    return model, NetworkSpec.from_keras(model, name=name)


# ---------------------------------------------------------------------------------------- builtins
def _tiny_cnn(keras: Any, size: int | None) -> Any:
    s = size or 32
    L = keras.layers
    x = inp = keras.Input((s, s, 3), name="input")
    x = L.Conv2D(16, 3, padding="same", use_bias=False, name="conv1")(x)
    x = L.BatchNormalization(name="bn1")(x)
    x = L.ReLU(name="relu1")(x)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, x, name="tiny_cnn")


def _tiny_mobilenet(keras: Any, size: int | None) -> Any:
    s = size or 32
    L = keras.layers
    x = inp = keras.Input((s, s, 3), name="input")
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(6.0, name="stem_relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw1")(x)
    x = L.BatchNormalization(name="dw1_bn")(x)
    x = L.ReLU(6.0, name="dw1_relu")(x)
    x = L.Conv2D(32, 1, use_bias=False, name="pw1")(x)
    x = L.BatchNormalization(name="pw1_bn")(x)
    x = L.SeparableConv2D(32, 3, padding="same", name="sep2")(x)
    x = L.AveragePooling2D(2, name="avg")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name="tiny_mobilenet")


def _tiny_resnet(keras: Any, size: int | None) -> Any:
    s = size or 32
    L = keras.layers
    x = inp = keras.Input((s, s, 3), name="input")
    x = L.Conv2D(16, 3, padding="same", name="stem")(x)
    for i in range(2):
        y = L.Conv2D(16, 3, padding="same", name=f"b{i}_conv1")(x)
        y = L.BatchNormalization(name=f"b{i}_bn1")(y)
        y = L.Activation("relu", name=f"b{i}_relu1")(y)
        y = L.Conv2D(16, 3, padding="same", name=f"b{i}_conv2")(y)
        x = L.Add(name=f"b{i}_add")([x, y])
        x = L.Activation("relu", name=f"b{i}_out")(x)
    x = L.Concatenate(name="cat")([x, L.MaxPooling2D(1, name="id_pool")(x)])
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name="tiny_resnet")


def _tiny_dense(keras: Any, size: int | None) -> Any:
    s = size or 64
    L = keras.layers
    x = inp = keras.Input((s,), name="input")
    x = L.Dense(128, activation="relu", name="fc1")(x)
    x = L.Dropout(0.1, name="drop")(x)
    x = L.Dense(10, name="fc2")(x)
    return keras.Model(inp, x, name="tiny_dense")


_BUILTIN_BUILDERS: dict[str, Callable[[Any, int | None], Any]] = {
    "tiny_cnn": _tiny_cnn, "tiny_mobilenet": _tiny_mobilenet, "tiny_resnet": _tiny_resnet, "tiny_dense": _tiny_dense,
}
