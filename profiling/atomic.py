"""Writing a file all at once: every file the project writes goes through :func:`atomic_write`.

The content goes to a temporary file in the destination's folder, is flushed to disk, then renamed over the
destination, so a reader (or a crash) sees the old file or the new one, never half of one; on failure the
temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import sys
from pathlib import Path
from typing import IO, Any, Callable

Content = str | bytes | Callable[[IO[Any]], object]


def atomic_write(path: str | os.PathLike, content: Content, *, error: type[Exception] = OSError,
                 what: str = "file", newline: str | None = None) -> Path:
    """Write ``content`` to ``path`` atomically and return the path.

    Parameters
    ----------
    content : str, bytes, or a callable taking the open file (e.g. ``df.to_csv``)
        Text is written as UTF-8; bytes as they are; a callable writes to a text-mode file.
    error : exception type
        Raised with one line (``cannot write <what> '<path>': <reason>``) when the folder is missing, not
        writable, or the disk is full.
    """
    _not_stdout(path, error, what)
    path = Path(path)
    if path.is_dir():
        raise error(f"cannot write {what} {os.fspath(path)!r}: it is a directory")
    tmp = os.path.join(path.parent.resolve(), f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:  # created with the usual permissions (0666 less the umask), as open() would
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise error(f"cannot write {what} {os.fspath(path)!r}: {exc.strerror or exc}") from None
    try:
        binary = isinstance(content, bytes)
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8",
                                                                         "newline": newline})) as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise error(f"cannot write {what} {os.fspath(path)!r}: {exc.strerror or exc}") from None
        raise
    return path


def check_writable(path: str | os.PathLike, *, error: type[Exception] = OSError, what: str = "file") -> None:
    """Raise ``error`` (one line) when :func:`atomic_write` could not write ``path``: a directory, or a folder
    that does not exist or cannot be written to. Nothing is created: a long job checks its output first."""
    _not_stdout(path, error, what)
    path = Path(path)
    if path.is_dir():
        raise error(f"cannot write {what} {os.fspath(path)!r}: it is a directory")
    folder = path.parent
    if not folder.is_dir():
        raise error(f"cannot write {what} {os.fspath(path)!r}: folder {os.fspath(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"cannot write {what} {os.fspath(path)!r}: folder {os.fspath(folder)!r} is not writable")


#: the name that stands for standard output, where a CSV table may go (``write_csv``); no other file does
STDOUT = "-"


def _not_stdout(path, error: type[Exception], what: str) -> None:
    if os.fspath(path) == STDOUT:
        raise error(f"cannot write {what} '-': standard output takes a CSV table only; name a file "
                    "('./-' for a file called '-')")


def write_json(path: str | os.PathLike, doc: Any, *, error: type[Exception] = OSError, what: str = "file",
               indent: int | None = 2) -> Path:
    """:func:`atomic_write` of ``doc`` as strict JSON (NaN and infinities refused) with a final newline."""
    return atomic_write(path, json.dumps(doc, indent=indent, allow_nan=False) + "\n", error=error, what=what)


def write_csv(path: str | os.PathLike, frame: Any, *, error: type[Exception] = OSError,
              what: str = "CSV file") -> Path | None:
    """:func:`atomic_write` of a pandas DataFrame as CSV (no index column); gzip-compressed when ``path`` ends in
    ``.gz``, as the project's readers (and pandas) expect of such a name; ``"-"`` (:data:`STDOUT`) prints it to
    standard output (and returns None)."""
    if os.fspath(path) == STDOUT:
        frame.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
        return None
    if os.fspath(path).lower().endswith(".gz"):
        # mtime 0: the same table gives the same bytes
        return atomic_write(path, gzip.compress(frame.to_csv(index=False).encode("utf-8"), mtime=0), error=error,
                            what=what)
    return atomic_write(path, lambda fh: frame.to_csv(fh, index=False), error=error, what=what, newline="")
