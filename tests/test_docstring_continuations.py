"""A module docstring's example command keeps its line breaks.

A shell continuation (a line ending in one backslash) inside an ordinary triple-quoted string is Python's line
continuation: the next line is joined on and the command reads as one long line in ``--help`` (argparse
descriptions are the modules' docstrings). Such a line must end in an escaped backslash, or the docstring be raw.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("perfmodel/**/*.py"), *ROOT.glob("profiling/**/*.py"), *ROOT.glob("benchmarks/*.py")])


def joined_lines(path: Path) -> list[int]:
    """Line numbers in ``path``'s module docstring that end in one unescaped backslash (and so join the next)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    if not (tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)
            and isinstance(tree.body[0].value.value, str)):
        return []
    node = tree.body[0].value
    lines = source.splitlines()[node.lineno - 1:node.end_lineno]
    if lines[0].lstrip()[:1].lower() == "r":  # a raw string keeps its backslashes
        return []
    out = []
    for offset, line in enumerate(lines[:-1]):
        tail = len(line) - len(line.rstrip("\\"))
        if tail % 2 == 1:
            out.append(node.lineno + offset)
    return out


def test_the_check_finds_a_joined_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Usage:\n\n  tool --a 1 \\\n       --b 2\n"""\n', encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text('"""Usage:\n\n  tool --a 1 \\\\\n       --b 2\n"""\n', encoding="utf-8")
    raw = tmp_path / "raw.py"
    raw.write_text('r"""Usage:\n\n  tool --a 1 \\\n       --b 2\n"""\n', encoding="utf-8")
    assert joined_lines(bad) == [3]
    assert joined_lines(good) == [] and joined_lines(raw) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_docstring_keeps_its_continuation_lines(path):
    assert joined_lines(path) == [], f"{path.relative_to(ROOT)}: a line ending in one backslash joins the next"
