"""The campaign store: every measurement in a SQLite file as soon as it is taken.

Crash safety: write-ahead logging, one transaction per job (a network under a configuration, with all its
layer rows), a schema version checked on open (a store of another schema is refused and left untouched),
and a lock file so that two processes cannot write one store at once. Re-running a campaign skips the jobs
already stored.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import StoreError
from .measurement import MeasurementRow
from .sqlite import FileLock, has_sqlite_header, use_wal
from .sqlite import connect as sqlite_connect

STORE_FORMAT = "perfmodel.campaign-store"
SCHEMA_VERSION = 2


def check_meta(meta: Mapping[str, str], where: str) -> int:
    """The schema version a campaign store's meta table declares (SQLite or database server), checked: a
    store of another format, an unreadable version or one newer than this library reads is refused."""
    if meta.get("format") != STORE_FORMAT:
        raise StoreError(f"{where} is not a campaign store (format {meta.get('format')!r})", param="store")
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise StoreError(f"store {where} has an invalid schema version") from None
    if version > SCHEMA_VERSION:
        raise StoreError(f"store {where} has schema version {version}, newer than this library reads "
                         f"({SCHEMA_VERSION}); upgrade perfmodel")
    return version

def _schema_statements() -> list[str]:
    """The CREATE statements of a new store: the one schema of :mod:`profiling.stores.schema` (shared with
    the PostgreSQL store), in SQLite's dialect."""
    from .stores.schema import sqlite_ddl

    return sqlite_ddl()

# version -> SQL that upgrades a store from that version to the next one.
MIGRATIONS: dict[int, str] = {
    # 2: the executor that measured a campaign (every campaign before it ran the TensorFlow worker)
    1: "ALTER TABLE campaigns ADD COLUMN executor TEXT NOT NULL DEFAULT 'tensorflow'",
}
# Older versions that a read-only open still reads as they are (what the newer version added has a default
# that the readers supply): a report or fit never needs write access to an old store.
READABLE_OLDER = {1}


MEASUREMENT_FIELDS = (
    "runtime_s", "runtime_s_mean", "runtime_s_std", "runtime_s_ci_low", "runtime_s_ci_high", "repeats",
    "converged", "overhead_s", "power_w", "energy_j", "other_load",
)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class CampaignStore:
    """A SQLite campaign store.

    Parameters
    ----------
    path : str
        File path. Created (with its folder) when ``readonly`` is false and it does not exist.
    readonly : bool
        Open for reading only (no lock is taken; readers never block a writer under WAL).
    wait_s : float
        How long a writer waits for another process's lock before giving up (0: fail at once).
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False, wait_s: float = 0.0):
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = FileLock(self.path, error=StoreError, what="store",
                              busy=f"store {self.path!r} is in use by another process (a waiting time lets this "
                                   "one wait for it)", param="wait")
        exists = os.path.exists(self.path)
        if os.path.isdir(self.path):
            raise StoreError(f"store {self.path!r} is a directory")
        if exists:
            has_sqlite_header(self.path, StoreError, what="store")
        elif readonly:
            raise StoreError(f"store {self.path!r} does not exist")
        if not readonly:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            self._lock.acquire(wait_s)
        try:
            self.conn = sqlite_connect(self.path, readonly=readonly)
        except sqlite3.Error as exc:
            self._lock.release()
            raise StoreError(f"cannot open store {self.path!r}: {exc}") from None
        self.conn.row_factory = sqlite3.Row
        try:
            self._check_or_create(exists)
        except sqlite3.DatabaseError as exc:
            self._refused()
            raise StoreError(f"store {self.path!r} is not a readable SQLite database: {exc}") from None
        except StoreError:
            self._refused()
            raise

    def _refused(self) -> None:
        # A refused file is left exactly as found: no lock file of ours beside it.
        self.close()
        self._lock.release(remove=True)

    # -- lifecycle
    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
            self.conn = None  # type: ignore[assignment]
        self._lock.release()

    def __enter__(self) -> CampaignStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_or_create(self, existed: bool) -> None:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            if self.readonly:
                raise StoreError(f"store {self.path!r} is empty (no perfmodel tables)")
            use_wal(self.conn)
            with self._tx():
                for stmt in _schema_statements():
                    self.conn.execute(stmt)
                self.conn.execute("INSERT INTO meta VALUES ('format', ?), ('schema_version', ?), ('created_at', ?)",
                                  (STORE_FORMAT, str(SCHEMA_VERSION), utc_now()))
            self.schema_version = SCHEMA_VERSION
            return
        if "meta" not in tables:
            raise StoreError(f"{self.path!r} is a SQLite file of another application (no perfmodel meta table); "
                             "choose another store path", param="store")
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        version = self.schema_version = check_meta(meta, repr(self.path))
        if version < SCHEMA_VERSION:
            if self.readonly and version in READABLE_OLDER and SCHEMA_VERSION == 2:
                return
            if self.readonly:
                raise StoreError(f"store {self.path!r} has schema version {version}; open it for writing once "
                                 "to migrate it")
            self._migrate(version)
        if not self.readonly:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")

    def _migrate(self, version: int) -> None:
        while version < SCHEMA_VERSION:
            if version not in MIGRATIONS:
                raise StoreError(f"no migration from store schema version {version}")
            with self._tx():
                for stmt in MIGRATIONS[version].strip().split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                version += 1
                self.conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
        self.schema_version = version

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        if self.readonly:
            raise StoreError(f"store {self.path!r} is open read-only")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- writing
    def ensure_campaign(self, name: str, platform: str, source: str, space_json: str, machine: Mapping[str, Any],
                        executor: str = "tensorflow") -> None:
        """Record a campaign, or check that an existing one ran on the same platform, source and executor."""
        with self._damaged():
            row = self.conn.execute("SELECT platform, source, executor FROM campaigns WHERE name=?",
                                    (name,)).fetchone()
        if row is not None:
            if row["platform"] != platform:
                raise StoreError(f"campaign {name!r} in {self.path!r} was run on platform {row['platform']!r}, "
                                 f"not {platform!r}; choose another campaign name")
            if row["source"] != source:
                raise StoreError(f"campaign {name!r} in {self.path!r} holds {row['source']!r} measurements, "
                                 f"not {source!r}; choose another campaign name")
            if row["executor"] != executor:
                raise StoreError(f"campaign {name!r} in {self.path!r} was measured with the {row['executor']} "
                                 f"executor, not {executor}; choose another campaign name")
            return
        with self._damaged(), self._tx():
            self.conn.execute("INSERT INTO campaigns (name, platform, source, created_at, space, machine, executor) "
                              "VALUES (?,?,?,?,?,?,?)",
                              (name, platform, source, utc_now(), space_json, json.dumps(machine, sort_keys=True),
                               executor))

    def has_job(self, job_key: str) -> str | None:
        """The stored status of a job (``ok``/``failed``), or None when it was never stored."""
        with self._damaged():
            row = self.conn.execute("SELECT status FROM jobs WHERE job_key=?", (job_key,)).fetchone()
        return None if row is None else row["status"]

    def put_job(self, *, job_key: str, campaign: str, network: str, input_size: int | None, level: str,
                views: Sequence[str], config: Mapping[str, Any], status: str, reason: str | None = None,
                note: str | None = None, power_sensor: str | None = None, versions: Mapping[str, Any] | None = None,
                wall_s: float | None = None, rows: Sequence[MeasurementRow | Mapping[str, Any]] = (),
                spec_json: str | None = None, replace_failed: bool = True) -> int:
        """Store a finished job and its rows in one transaction; returns the number of rows stored.

        ``rows`` are :class:`~profiling.measurement.MeasurementRow` objects (mappings are converted, and so
        validated, before anything is written).
        """
        now = utc_now()
        rows = [MeasurementRow.from_dict(r) for r in rows]
        with self._damaged(), self._tx():
            old = self.conn.execute("SELECT status FROM jobs WHERE job_key=?", (job_key,)).fetchone()
            if old is not None:
                if old["status"] == "ok" or not replace_failed:
                    return 0
                self.conn.execute("DELETE FROM measurements WHERE job_key=?", (job_key,))
                self.conn.execute("DELETE FROM jobs WHERE job_key=?", (job_key,))
            if spec_json is not None:
                self.conn.execute("INSERT OR IGNORE INTO specs VALUES (?,?,?)", (network, input_size or 0, spec_json))
            self.conn.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_key, campaign, network, input_size or 0, level, json.dumps(list(views)),
                 json.dumps(dict(config)), status, reason, note, power_sensor,
                 json.dumps(dict(versions or {}), sort_keys=True), wall_s, now))
            for r in rows:
                extra = dict(r.extra)
                self.conn.execute(
                    "INSERT INTO measurements (job_key, view, level, layer, unit, layer_type, runtime_s, "
                    "runtime_s_mean, runtime_s_std, runtime_s_ci_low, runtime_s_ci_high, repeats, converged, "
                    "overhead_s, power_w, energy_j, status, reason, other_load, contended, extra, measured_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (job_key, r.view, r.level, r.layer, r.unit, r.layer_type,
                     *(None if getattr(r, f) is None else (int(getattr(r, f)) if f == "converged" else getattr(r, f))
                       for f in _TIMING_FIELDS),
                     r.status, r.reason, r.other_load, int(r.contended),
                     json.dumps(extra, sort_keys=True) if extra else None, now))
        return len(rows)

    # -- reading
    def campaigns(self) -> list[dict[str, Any]]:
        out = [dict(r) for r in self.conn.execute("SELECT * FROM campaigns ORDER BY created_at")]
        for c in out:  # a store of schema 1 read as it is: every campaign of it ran the TensorFlow worker
            c.setdefault("executor", "tensorflow")
        return out

    def jobs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM jobs ORDER BY finished_at, job_key")]

    def spec(self, network: str, input_size: int | None = None):
        from .spec import NetworkSpec

        row = self.conn.execute("SELECT spec FROM specs WHERE network=? AND input_size=?",
                                (network, input_size or 0)).fetchone()
        return None if row is None else NetworkSpec.from_json(row["spec"])

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0])

    def spec_rows(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT network, input_size, spec FROM specs").fetchall()

    def measurement_records(self) -> list[sqlite3.Row]:
        """Every measurement with its job's campaign, network, input size, configuration and sensor, by id."""
        return self.conn.execute(
            "SELECT m.*, j.campaign, j.network, j.input_size, j.config, j.power_sensor, j.status AS job_status "
            "FROM measurements m JOIN jobs j USING (job_key) ORDER BY m.id").fetchall()

    def failed_jobs_without_rows(self) -> list[sqlite3.Row]:
        """Jobs that failed as a whole (no measurement rows)."""
        return self.conn.execute("SELECT * FROM jobs WHERE status != 'ok' AND job_key NOT IN "
                                 "(SELECT DISTINCT job_key FROM measurements)").fetchall()

    def inplace_methods(self, campaign: str) -> set[str]:
        """In-place methods of the campaign's stored in-place rows (rows without the mark are ``frozen``)."""
        rows = self.conn.execute(
            "SELECT DISTINCT COALESCE(json_extract(m.extra, '$.inplace_method'), 'frozen') FROM measurements m "
            "JOIN jobs j USING (job_key) WHERE j.campaign=? AND m.view='inplace'", (campaign,)).fetchall()
        return {r[0] for r in rows}

    def to_frame(self):
        """All measurements as a DataFrame in the format of ``docs/measurement-table.md``."""
        from .export import measurements_frame

        with self._damaged():
            return measurements_frame(self)

    @contextlib.contextmanager
    def _damaged(self) -> Iterator[None]:
        # A page damaged on disk shows only when read: a one-line StoreError, not a sqlite3 traceback.
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path!r} is damaged: {exc}") from None


# Stored in this order after layer_type; other_load has its own place later in the row.
_TIMING_FIELDS = tuple(f for f in MEASUREMENT_FIELDS if f != "other_load")


def open_store(url: str | os.PathLike, readonly: bool = False, wait_s: float = 0.0):
    """The campaign store that ``url`` names: a SQLite file (a path, or ``sqlite:///path``) as a
    :class:`CampaignStore`, or a PostgreSQL database (``postgresql://user@host:port/db``) as a
    :class:`profiling.stores.sql.SqlStore`. Both have the same schema, methods and resume rules.

    ``wait_s`` applies to a SQLite file (how long to wait for another writer's lock); a database takes many
    writers at once. Errors (unreachable server, a file or database of another kind or schema version) are
    one-line :class:`StoreError`.
    """
    text = os.fspath(url)
    if isinstance(text, str):
        from .stores.sql import SqlStore, is_database_url

        if is_database_url(text):
            return SqlStore(text, readonly=readonly)
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///"):]  # sqlite:///rel/path, sqlite:////abs/path
        elif "://" in text:
            raise StoreError(f"store {text!r}: unknown kind of URL; give a SQLite file path or "
                             "postgresql://user@host:port/database", param="store")
    return CampaignStore(text, readonly=readonly, wait_s=wait_s)


def is_store_url(url: str | os.PathLike) -> bool:
    """True when ``url`` names a database server rather than a file."""
    from .stores.sql import is_database_url

    return is_database_url(os.fspath(url))
