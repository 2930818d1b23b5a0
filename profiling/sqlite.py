"""What every SQLite file of the project shares: the header check, the writer's lock file, the WAL connection.

Both the campaign store (:class:`profiling.store.CampaignStore`) and the optimiser's study file
(:mod:`perfmodel.optimisation.storage`) are SQLite databases written by one process at a time: the writer
holds an exclusive ``flock`` on ``<file>.lock`` while the file is open, readers take no lock (under write-ahead
logging they never block the writer), and a file that is not the expected kind is refused before anything is
written to it. Errors are raised as the caller's error type, in one line.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import time
from typing import IO, Any

SQLITE_MAGIC = b"SQLite format 3\x00"


def has_sqlite_header(path: str | os.PathLike, error: type[Exception], what: str = "file") -> bool:
    """True when ``path`` starts with SQLite's header, False when it is empty; ``error`` when it is
    something else or cannot be read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise error(f"cannot read {what} {os.fspath(path)!r}: {exc.strerror}") from None
    if head and head != SQLITE_MAGIC:
        raise error(f"{os.fspath(path)!r} is not a SQLite {what} (wrong file header)")
    return bool(head)


class FileLock:
    """An exclusive ``flock`` on ``<path>.lock``, held from :meth:`acquire` until :meth:`release`.

    ``busy`` is the message of the ``error`` raised when another process holds the lock past ``wait_s``
    (with ``param``, the argument that would let the caller wait: see :class:`profiling.errors.ProfilingError`).
    """

    def __init__(self, path: str | os.PathLike, *, error: type[Exception], busy: str, what: str = "file",
                 param: str | None = None):
        self.path = os.fspath(path) + ".lock"
        self.error, self.busy, self.what, self.param = error, busy, what, param
        self._fh: IO[Any] | None = None
        self.created = False  # whether acquire made the lock file (a refused file can then be left as found)

    def acquire(self, wait_s: float = 0.0) -> FileLock:
        self.created = not os.path.exists(self.path)
        try:
            fh = open(self.path, "a+")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise self.error(f"cannot lock {self.what} {self.path[:-5]!r}: {exc.strerror}") from None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fh = fh
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    fh.close()
                    raise self.error(f"cannot lock {self.what} {self.path[:-5]!r}: {exc.strerror}") from None
                if time.monotonic() >= deadline:
                    fh.close()
                    raise (self.error(self.busy, param=self.param) if self.param else self.error(self.busy)) from None
                time.sleep(0.2)

    @property
    def held(self) -> bool:
        return self._fh is not None

    def release(self, remove: bool = False) -> None:
        """Unlock; with ``remove``, also delete the lock file when :meth:`acquire` created it."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
        if remove and self.created:
            with contextlib.suppress(OSError):
                os.remove(self.path)


def connect(path: str | os.PathLike, *, readonly: bool = False, create: bool = True,
            timeout_s: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN``/``COMMIT``).

    ``readonly`` opens ``mode=ro``: nothing can be written. Otherwise read-write, the file created only when
    ``create``. Nothing is written on connecting: call :func:`use_wal` once the file is known to be ours.
    """
    absolute = os.path.abspath(os.fspath(path))
    mode = "ro" if readonly else ("rwc" if create else "rw")
    return sqlite3.connect(f"file:{absolute}?mode={mode}", uri=True, isolation_level=None, timeout=timeout_s)


def use_wal(conn: sqlite3.Connection) -> None:
    """Write-ahead logging (readers never block the writer) with ``synchronous=NORMAL`` (a commit survives a
    crash of the process; a power cut may lose the last commits, never corrupt the file)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
