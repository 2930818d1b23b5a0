"""Every Python name the README and docs/ show a user resolves: modules import, attributes exist.

The names are read from the documents themselves (``from X import Y`` lines and dotted ``profiling.``/
``perfmodel.`` names), so a rename that forgets the docs fails here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FROM = re.compile(r"from\s+((?:profiling|perfmodel)(?:\.\w+)*)\s+import\s+([\w ,]+?)\s*(?:$|[`\n#)])", re.M)
_DOTTED = re.compile(r"(?<![\w/.])((?:profiling|perfmodel)(?:\.[A-Za-z_]\w*)+)(?![\w-])")  # not format ids


def _documented_names() -> list[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for module, imported in _FROM.findall(text):
            for name in imported.split(","):
                if name.strip():
                    names.add((doc.name, f"{module}.{name.strip()}"))
        for dotted in _DOTTED.findall(text):
            if dotted.endswith((".py", ".md", ".json", ".csv")):
                continue
            names.add((doc.name, dotted))
    return sorted(names)


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_documents_name_some_python_names():
    names = {name for _, name in _documented_names()}
    assert "profiling.NetworkSpec.from_keras" in names  # the README's entry point for specs


@pytest.mark.parametrize(("doc", "dotted"), _documented_names())
def test_documented_name_resolves(doc, dotted):
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{doc} names {dotted}, which does not resolve: {exc}")


def test_package_names_are_importable_from_the_package():
    import perfmodel
    import profiling

    for package in (profiling, perfmodel):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
    from profiling import CampaignStore, ConfigSpace, NetworkSpec  # noqa: F401  the README's spelling
