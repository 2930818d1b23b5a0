"""Reading JSON documents given either as text or as a file path, with one-line errors."""

from __future__ import annotations

import json
import os
from typing import Any


def load_json(text_or_path: str | os.PathLike, what: str, error: type[Exception]) -> Any:
    """Parse ``text_or_path`` (JSON text, or a path to a JSON file) or raise ``error`` naming ``what``."""
    text = os.fspath(text_or_path)
    if not text.lstrip().startswith(("{", "[")):
        try:
            with open(text, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or NUL in the path
            why = getattr(exc, "strerror", None) or (str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__)
            raise error(f"cannot read {what} {os.fspath(text_or_path)[:100]!r}: {why}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise error(f"{what} JSON is nested too deeply") from None
