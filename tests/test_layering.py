"""The two layers stay apart, checked on every import statement of the source (top level or inside functions).

- ``profiling`` (specs, executors, platforms, sensors, store, space) never imports ``perfmodel``;
- the models, the optimiser and the interaction equations import no platform, executor or sensor: hardware is
  reached only by the commands and the measuring workloads (``perfmodel.tune``, ``perfmodel.shape.costs``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARDWARE = ("profiling.platforms", "profiling.executors", "profiling.sensors")
HARDWARE_FREE = ("perfmodel/models", "perfmodel/optimisation", "perfmodel/interactions", "perfmodel/reports")


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``; relative imports resolved against its package."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, module in imported_modules(path):
                if any(module == f or module.startswith(f + ".") for f in forbidden):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_profiling_never_imports_perfmodel():
    assert _violations(("profiling",), ("perfmodel",)) == []


def test_models_optimiser_and_equations_import_no_hardware_code():
    assert _violations(HARDWARE_FREE, HARDWARE) == []


@pytest.mark.parametrize(("source", "expected"), [
    ("import perfmodel.models\n", "perfmodel.models"),
    ("def f():\n    from perfmodel import cli\n", "perfmodel.cli"),
    ("from ..sensors import base\n", "profiling.sensors.base"),
])
def test_the_check_sees_every_kind_of_import(tmp_path, source, expected):
    # A file placed as profiling/platforms/x.py of another tree, so that relative imports resolve there.
    (tmp_path / "profiling" / "platforms").mkdir(parents=True)
    path = tmp_path / "profiling" / "platforms" / "x.py"
    path.write_text(source)
    assert expected in [module for _, module in imported_modules(path, root=tmp_path)]
