"""SQLite storage of a study: every ask and every tell is committed as it happens (WAL journal).

Schema (``format`` = ``perfmodel.study``, ``version`` = 1):

``meta(key TEXT PRIMARY KEY, value TEXT)``
    JSON values: ``format``, ``version``, ``settings`` (space, objectives, directions, constraints,
    strategy, seed, ...), ``created``.
``trials(number INTEGER PRIMARY KEY, config TEXT, config_key TEXT, phase TEXT, state TEXT,
         outputs TEXT, error TEXT, asked_at REAL, told_at REAL)``
    ``state`` is ``asked`` (handed out, no result yet), ``complete`` or ``failed``.

One process at a time: a writer holds an exclusive ``flock`` on ``<file>.lock`` while the study is open, as
the campaign store (:class:`profiling.store.CampaignStore`) does for its file; a second process resuming the
same file is refused at once with one line, the file untouched.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

from profiling.sqlite import FileLock, has_sqlite_header, use_wal
from profiling.sqlite import connect as sqlite_connect

from ..errors import OptimisationError

STUDY_FORMAT = "perfmodel.study"
STUDY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    config TEXT NOT NULL,
    config_key TEXT NOT NULL,
    phase TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('asked', 'complete', 'failed')),
    outputs TEXT,
    error TEXT,
    asked_at REAL NOT NULL,
    told_at REAL
);
"""


def _lock(path: str) -> FileLock:
    """The writer's lock on ``path`` (:class:`profiling.sqlite.FileLock`, as the campaign store's), or
    OptimisationError at once."""
    return FileLock(path, error=OptimisationError, what="study file",
                    busy=f"study file {path!r} is in use by another process (another explore on it is running)"
                    ).acquire()


def _unlock(lock: FileLock | None) -> None:
    if lock is not None:
        lock.release()


class StudyStorage:
    """A study file. Use :meth:`create` for a new one and :meth:`open` to resume."""

    def __init__(self, path: str, conn: sqlite3.Connection, lock=None):
        self.path = path
        self._conn = conn
        self._lock = lock

    @classmethod
    def create(cls, path: str, settings: dict[str, Any]) -> StudyStorage:
        if os.path.exists(path):
            raise OptimisationError(f"study file {path!r} already exists; resume it or choose another path",
                                    param="resume")
        lock = _lock(path)
        if os.path.exists(path):  # created by another process between the check and the lock
            _unlock(lock)
            raise OptimisationError(f"study file {path!r} already exists; resume it or choose another path",
                                    param="resume")
        try:
            conn = sqlite_connect(path)
            use_wal(conn)
        except sqlite3.Error as exc:
            _unlock(lock)
            raise OptimisationError(f"cannot create study file {path!r}: {exc}") from None
        with conn:
            conn.execute("BEGIN")
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            for key, value in (("format", STUDY_FORMAT), ("version", STUDY_VERSION),
                               ("settings", settings), ("created", time.time())):
                conn.execute("INSERT INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return cls(path, conn, lock)

    @classmethod
    def open(cls, path: str) -> StudyStorage:
        if not os.path.isfile(path):
            raise OptimisationError(f"no study file {path!r} to resume")
        cls._check(path)
        lock = _lock(path)
        try:
            conn = sqlite_connect(path, create=False)
            use_wal(conn)
        except sqlite3.Error as exc:
            _unlock(lock)
            raise OptimisationError(f"cannot open study file {path!r}: {exc}") from None
        return cls(path, conn, lock)

    @classmethod
    def read(cls, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The settings and trials of a study file, read without a lock and without writing to it (a study
        still running in another process is read as far as it has committed)."""
        if not os.path.isfile(path):
            raise OptimisationError(f"no study file {path!r}")
        cls._check(path)
        try:
            conn = sqlite_connect(path, readonly=True)
        except sqlite3.Error as exc:
            raise OptimisationError(f"cannot read study file {path!r}: {exc}") from None
        reader = cls(path, conn)
        try:
            return reader.settings(), reader.trials()
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise OptimisationError(f"cannot read study file {path!r}: {exc}") from None
        finally:
            conn.close()

    @staticmethod
    def _check(path: str) -> None:
        # Checked read-only first: a file that is not ours must be left exactly as it was.
        try:
            ours = has_sqlite_header(path, OptimisationError, what="study file")
        except OptimisationError:
            ours = False
        if not ours:  # empty, or another kind of file
            raise OptimisationError(f"{path!r} is not a perfmodel study file")
        try:
            probe = sqlite_connect(path, readonly=True)
            try:
                rows = dict(probe.execute("SELECT key, value FROM meta").fetchall())
            finally:
                probe.close()
            fmt, version = json.loads(rows.get("format", "null")), json.loads(rows.get("version", "null"))
        except (sqlite3.Error, ValueError, TypeError):
            raise OptimisationError(f"{path!r} is not a perfmodel study file") from None
        if fmt != STUDY_FORMAT:
            raise OptimisationError(f"{path!r} is not a perfmodel study file")
        if version != STUDY_VERSION:
            raise OptimisationError(f"study file {path!r} has version {rows.get('version')}, "
                                    f"this library reads version {STUDY_VERSION}")

    def settings(self) -> dict[str, Any]:
        (value,) = self._conn.execute("SELECT value FROM meta WHERE key='settings'").fetchone()
        return json.loads(value)

    def trials(self) -> list[dict[str, Any]]:
        out = []
        for row in self._conn.execute(
                "SELECT number, config, config_key, phase, state, outputs, error, asked_at, told_at "
                "FROM trials ORDER BY number"):
            number, config, key, phase, state, outputs, error, asked_at, told_at = row
            out.append({"number": number, "config": json.loads(config), "config_key": key, "phase": phase,
                        "state": state, "outputs": None if outputs is None else json.loads(outputs),
                        "error": error, "asked_at": asked_at, "told_at": told_at})
        return out

    def record_ask(self, number: int, config: dict, key: str, phase: str) -> None:
        with self._conn:
            self._conn.execute("INSERT INTO trials (number, config, config_key, phase, state, asked_at) "
                               "VALUES (?, ?, ?, ?, 'asked', ?)",
                               (number, json.dumps(config), key, phase, time.time()))

    def record_tell(self, number: int, state: str, outputs: dict | None, error: str | None) -> None:
        with self._conn:
            cur = self._conn.execute(
                "UPDATE trials SET state=?, outputs=?, error=?, told_at=? WHERE number=? AND state='asked'",
                (state, None if outputs is None else json.dumps(outputs), error, time.time(), number))
            if cur.rowcount != 1:
                raise OptimisationError(f"trial {number} is not waiting for a result in {self.path!r}")

    def close(self) -> None:
        self._conn.close()
        _unlock(self._lock)
        self._lock = None
