"""Every relative link in the README and docs/ leads somewhere: the file exists and, where the link names a
section (``file.md#anchor`` or ``#anchor``), that file has a heading with that anchor.

Anchors are made as GitHub makes them (lower case, punctuation other than ``-`` and ``_`` dropped, spaces to
``-``, a repeated heading numbered ``-1``, ``-2``...), so moving or renaming a section without its links fails
here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _lines_outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its words
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _lines_outside_code(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = anchor(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def _links() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line in _lines_outside_code(doc.read_text(encoding="utf-8")):
            line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
            for target in _LINK.findall(line):
                if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                    continue
                found.append((str(doc.relative_to(ROOT)), target))
    return found


def test_anchors_follow_githubs_rule():
    assert anchor("Transfer across boards (Unicorn, TX2 -> Xavier)") == "transfer-across-boards-unicorn-tx2---xavier"
    assert anchor("A stated reference point (`--reference-point`; seventh session)") == (
        "a-stated-reference-point---reference-point-seventh-session")
    assert anchor("Issue #4's full run: 20 seeds, budgets to 80") == "issue-4s-full-run-20-seeds-budgets-to-80"


def test_repeated_headings_are_numbered(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("# T\n## History\ntext\n```\n## not a heading\n```\n## History\n", encoding="utf-8")
    assert anchors(doc) == {"t", "history", "history-1"}


def test_the_documents_have_section_links():
    assert any("#" in target for _, target in _links())


@pytest.mark.parametrize(("doc", "target"), _links())
def test_relative_link_resolves(doc, target):
    path_part, _, fragment = target.partition("#")
    source = ROOT / doc
    dest = (source.parent / path_part).resolve() if path_part else source
    assert dest.exists(), f"{doc} links to {target}: no file {path_part}"
    if fragment and dest.suffix == ".md":
        assert fragment in anchors(dest), f"{doc} links to {target}: {dest.name} has no such section"
