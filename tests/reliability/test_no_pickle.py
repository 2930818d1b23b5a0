"""No pickle anywhere in persistence; loading a model or spec never runs code from the file.

The package source (``perfmodel/`` and ``profiling/``) is scanned with :mod:`ast`, so comments and
docstrings that mention pickle do not count, but every import and call does.
"""

from __future__ import annotations

import ast
import functools
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("perfmodel", "profiling")
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "copyreg"}
UNSAFE_CALLS = {"read_pickle", "to_pickle", "enable_unsafe_deserialization"}


@functools.lru_cache(maxsize=1)
def _parsed():
    return tuple((path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
                 for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py")))


def _sources():
    yield from _parsed()


def _call_name(node: ast.Call) -> str:
    f = node.func
    parts = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    return ".".join(reversed(parts))


def test_sources_found():
    assert len(list(_sources())) > 20


def test_no_pickle_like_imports():
    bad = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            bad += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names if n in UNSAFE_MODULES]
    assert bad == []


def test_no_pickle_like_calls():
    bad = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            last = name.rsplit(".", 1)[-1]
            where = f"{path.relative_to(ROOT)}:{node.lineno} {name}"
            if last in UNSAFE_CALLS or name.split(".")[0] in UNSAFE_MODULES:
                bad.append(where)
            for kw in node.keywords:  # numpy / torch loaders that would unpickle
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    bad.append(f"{where} allow_pickle")
                if kw.arg == "weights_only" and not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
                    bad.append(f"{where} weights_only")
            if last == "load" and name.split(".")[0] == "torch" and not any(
                    kw.arg == "weights_only" for kw in node.keywords):
                bad.append(f"{where} without weights_only=True")
            if isinstance(node.func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
                bad.append(f"{where} evaluates code")
            if name in ("yaml.load", "yaml.unsafe_load"):
                bad.append(f"{where} unsafe YAML")
    assert bad == []


def test_every_keras_load_uses_safe_mode():
    calls = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node).endswith("load_model"):
                name = _call_name(node)
                if not any(k in name for k in ("keras", "saving", "models.")):
                    continue  # perfmodel's own JSON model loader
                safe = [kw for kw in node.keywords if kw.arg == "safe_mode"]
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", bool(safe) and isinstance(
                    safe[0].value, ast.Constant) and safe[0].value.value is True))
    assert calls, "no Keras load_model call found (the profiler loads .keras files)"
    assert [c for c, ok in calls if not ok] == []


def test_persisted_formats_are_json():
    """The writers of persisted files write JSON or SQLite, with a format and a version field."""
    from perfmodel.models import persistence
    from profiling import space, spec, store

    assert spec.SPEC_FORMAT and spec.SPEC_VERSION
    assert space.SPACE_FORMAT_VERSION
    assert store.STORE_FORMAT and store.SCHEMA_VERSION
    assert persistence.FORMAT and persistence.VERSION


@pytest.mark.slow
@pytest.mark.tf
def test_keras_file_with_code_is_refused(tmp_path):
    """A .keras file with a Lambda layer (Python code in the file) is refused by the profiler's loader."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from profiling.errors import SpecError
    from profiling.networks import build_model

    marker = tmp_path / "ran"
    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda x: x * 2)(inp)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(SpecError):
        build_model(str(path))
    assert not marker.exists()
