"""The campaign store in a PostgreSQL database, through SQLAlchemy Core: many writers at once.

The same tables as the SQLite file (:mod:`profiling.stores.schema`), the same ``meta`` rows (format, schema
version) and the same rules as :class:`profiling.store.CampaignStore`: a job is written in one transaction
with all its rows, a job already stored ``ok`` is never written again, a ``failed`` one is replaced only when
asked. What the SQLite file gets from its lock file (one writer), the database gets from its constraints: the
job key is the primary key, a job row is inserted with ``ON CONFLICT DO NOTHING`` after the old one (if any) is
locked with ``SELECT ... FOR UPDATE``, so two boards storing the same job (a job re-run after its worker was
lost) leave exactly one copy, and writers of different jobs never wait for each other. Creating and migrating
the schema hold a transaction-level advisory lock, so two clients opening a new database at once create it
once.

A database that is not empty and has no perfmodel ``meta`` table, holds another format, or a newer schema
version, is refused untouched (one-line :class:`~profiling.errors.StoreError`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import StoreError
from ..measurement import MeasurementRow
from ..store import SCHEMA_VERSION, STORE_FORMAT, check_meta
from . import schema

#: version -> PostgreSQL statements that upgrade a database of that version to the next one. PostgreSQL
#: stores began at version 2, so none exists yet; the mechanism is that of the SQLite file.
MIGRATIONS: dict[int, str] = {}
_LOCK_ID = 0x70657266  # advisory lock held while the schema is created or migrated ("perf")
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_database_url(text: str) -> bool:
    """True when ``text`` names a PostgreSQL database (``postgresql://user@host:port/db``)."""
    head = str(text).split("://", 1)[0].lower() if "://" in str(text) else ""
    return head in SCHEMES


def mask_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for messages and printed summaries)."""
    if not is_database_url(url):
        return str(url)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "postgresql://(unparsable URL)"


def _engine_url(url: str) -> str:
    # psycopg 3 is the driver (SQLAlchemy's default for postgresql:// is psycopg2, which is not installed)
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


class SqlStore:
    """A campaign store in a PostgreSQL database.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/database``. The database must exist; its tables are
        created on the first open for writing.
    readonly : bool
        Open for reading only: the session is read-only (``default_transaction_read_only``), nothing is created.
    connect_timeout_s : float
        How long to wait for the server before giving up (an unreachable server: StoreError).
    """

    def __init__(self, url: str, readonly: bool = False, wait_s: float = 0.0, connect_timeout_s: float = 10.0):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        self.readonly = readonly
        try:
            parsed = make_url(_engine_url(url))
        except (ArgumentError, ValueError):             # ValueError: e.g. a port that is not a number
            raise StoreError(f"store URL {mask_url(url)} is not a valid database URL "
                             "(postgresql://user@host:port/database)", param="store") from None
        self.path = parsed.render_as_string(hide_password=True).replace("postgresql+psycopg://", "postgresql://")
        self.url = url
        options = "-c default_transaction_read_only=on" if readonly else ""
        connect_args: dict[str, Any] = {"connect_timeout": max(1, int(round(connect_timeout_s)))}
        if options:
            connect_args["options"] = options
        self.engine = create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot connect to database {self.path}: {_first_line(exc)}", param="store") from None
        try:
            self._check_or_create()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"database {self.path} could not be opened as a campaign store: {_first_line(exc)}",
                             param="store") from None
        except StoreError:
            self.engine.dispose()
            raise

    # -- lifecycle
    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()
            self.engine = None  # type: ignore[assignment]

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        if self.readonly:
            raise StoreError(f"store {self.path} is open read-only")
        with self._errors(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self._errors(), self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        try:
            yield
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database {self.path}: {_first_line(exc)}") from None

    def _tables(self, conn) -> set[str]:
        rows = conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    def _check_or_create(self) -> None:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            tables = self._tables(conn)
            if tables and "meta" not in tables:
                raise StoreError(f"database {self.path} holds tables of another application (no perfmodel meta "
                                 "table); choose another database", param="store")
            if not tables:
                if self.readonly:
                    raise StoreError(f"store {self.path} is empty (no perfmodel tables)")
                self._create()
                return
            meta = dict(conn.execute(select(schema.meta.c.key, schema.meta.c.value)).all())
        version = check_meta(meta, str(self.path))
        self.schema_version = version
        if version < SCHEMA_VERSION:
            if self.readonly:
                raise StoreError(f"store {self.path} has schema version {version}; open it for writing once to "
                                 "migrate it")
            self._migrate()

    def _create(self) -> None:
        from sqlalchemy import insert

        from ..store import utc_now

        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
            tables = self._tables(conn)
            if not tables:  # else another client created it while this one waited for the lock
                schema.metadata.create_all(conn)
                conn.execute(insert(schema.meta), [{"key": "format", "value": STORE_FORMAT},
                                                   {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                                                   {"key": "created_at", "value": utc_now()}])
        self._check_or_create_existing()

    def _check_or_create_existing(self) -> None:
        from sqlalchemy import select

        with self.engine.connect() as conn:
            if "meta" not in self._tables(conn):
                raise StoreError(f"database {self.path} holds tables of another application (no perfmodel meta "
                                 "table); choose another database", param="store")
            meta = dict(conn.execute(select(schema.meta.c.key, schema.meta.c.value)).all())
        self.schema_version = check_meta(meta, str(self.path))
        if self.schema_version < SCHEMA_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        from sqlalchemy import select, update

        with self.engine.begin() as conn:  # one transaction: a failed step leaves the database as it was
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
            version = int(conn.execute(select(schema.meta.c.value).where(
                schema.meta.c.key == "schema_version")).scalar_one())
            while version < SCHEMA_VERSION:
                if version not in MIGRATIONS:
                    raise StoreError(f"no migration from store schema version {version}")
                for stmt in MIGRATIONS[version].strip().split(";"):
                    if stmt.strip():
                        conn.exec_driver_sql(stmt)
                version += 1
                conn.execute(update(schema.meta).where(schema.meta.c.key == "schema_version").values(
                    value=str(version)))
        self.schema_version = version

    # -- writing
    def ensure_campaign(self, name: str, platform: str, source: str, space_json: str, machine: Mapping[str, Any],
                        executor: str = "tensorflow") -> None:
        """Record a campaign, or check that an existing one ran on the same platform, source and executor."""
        from sqlalchemy import select
        from sqlalchemy.dialects.postgresql import insert

        from ..store import utc_now

        c = schema.campaigns
        if not self.readonly:
            with self._tx() as conn:
                conn.execute(insert(c).values(name=name, platform=platform, source=source, created_at=utc_now(),
                                              space=space_json, machine=json.dumps(machine, sort_keys=True),
                                              executor=executor).on_conflict_do_nothing(index_elements=["name"]))
        with self._read() as conn:
            row = conn.execute(select(c.c.platform, c.c.source, c.c.executor).where(c.c.name == name)).first()
        if row is None:
            raise StoreError(f"store {self.path} is open read-only")
        if row.platform != platform:
            raise StoreError(f"campaign {name!r} in {self.path} was run on platform {row.platform!r}, not "
                             f"{platform!r}; choose another campaign name")
        if row.source != source:
            raise StoreError(f"campaign {name!r} in {self.path} holds {row.source!r} measurements, not {source!r}; "
                             "choose another campaign name")
        if row.executor != executor:
            raise StoreError(f"campaign {name!r} in {self.path} was measured with the {row.executor} executor, "
                             f"not {executor}; choose another campaign name")

    def has_job(self, job_key: str) -> str | None:
        """The stored status of a job (``ok``/``failed``), or None when it was never stored."""
        from sqlalchemy import select

        with self._read() as conn:
            return conn.execute(select(schema.jobs.c.status).where(schema.jobs.c.job_key == job_key)).scalar()

    def put_job(self, *, job_key: str, campaign: str, network: str, input_size: int | None, level: str,
                views: Sequence[str], config: Mapping[str, Any], status: str, reason: str | None = None,
                note: str | None = None, power_sensor: str | None = None, versions: Mapping[str, Any] | None = None,
                wall_s: float | None = None, rows: Sequence[MeasurementRow | Mapping[str, Any]] = (),
                spec_json: str | None = None, replace_failed: bool = True) -> int:
        """Store a finished job and its rows in one transaction; returns the number of rows stored (0 when
        the job was stored already, by this writer or another)."""
        from sqlalchemy import delete, select
        from sqlalchemy.dialects.postgresql import insert

        from ..store import utc_now

        now = utc_now()
        rows = [MeasurementRow.from_dict(r) for r in rows]
        j, m = schema.jobs, schema.measurements
        with self._tx() as conn:
            old = conn.execute(select(j.c.status).where(j.c.job_key == job_key).with_for_update()).scalar()
            if old is not None:
                if old == "ok" or not replace_failed:
                    return 0
                conn.execute(delete(m).where(m.c.job_key == job_key))
                conn.execute(delete(j).where(j.c.job_key == job_key))
            if spec_json is not None:
                conn.execute(insert(schema.specs).values(network=network, input_size=input_size or 0,
                                                         spec=spec_json).on_conflict_do_nothing())
            done = conn.execute(insert(j).values(
                job_key=job_key, campaign=campaign, network=network, input_size=input_size or 0, level=level,
                views=json.dumps(list(views)), config=json.dumps(dict(config)), status=status, reason=reason,
                note=note, power_sensor=power_sensor, versions=json.dumps(dict(versions or {}), sort_keys=True),
                wall_s=wall_s, finished_at=now).on_conflict_do_nothing(index_elements=["job_key"])
                .returning(j.c.job_key)).scalar()
            if done is None:
                return 0  # another writer stored this job while this one measured it
            if rows:
                conn.execute(m.insert(), [measurement_values(r, job_key, now) for r in rows])
        return len(rows)

    # -- reading
    def _all(self, query, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import text

        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(text(query) if isinstance(query, str) else query,
                                                           params or {})]

    def campaigns(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM campaigns ORDER BY created_at")

    def jobs(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM jobs ORDER BY finished_at, job_key")

    def spec(self, network: str, input_size: int | None = None):
        from ..spec import NetworkSpec

        rows = self._all("SELECT spec FROM specs WHERE network=:n AND input_size=:i",
                         {"n": network, "i": input_size or 0})
        return NetworkSpec.from_json(rows[0]["spec"]) if rows else None

    def count(self) -> int:
        return int(self._all("SELECT COUNT(*) AS n FROM measurements")[0]["n"])

    def spec_rows(self) -> list[dict[str, Any]]:
        return self._all("SELECT network, input_size, spec FROM specs")

    def measurement_records(self) -> list[dict[str, Any]]:
        """Every measurement with its job's campaign, network, input size, configuration and sensor, by id."""
        return self._all("SELECT m.*, j.campaign, j.network, j.input_size, j.config, j.power_sensor, "
                         "j.status AS job_status FROM measurements m JOIN jobs j USING (job_key) ORDER BY m.id")

    def failed_jobs_without_rows(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM jobs j WHERE j.status != 'ok' AND NOT EXISTS "
                         "(SELECT 1 FROM measurements m WHERE m.job_key = j.job_key) ORDER BY finished_at, job_key")

    def inplace_methods(self, campaign: str) -> set[str]:
        rows = self._all("SELECT DISTINCT COALESCE(CAST(m.extra AS json)->>'inplace_method', 'frozen') AS method "
                         "FROM measurements m JOIN jobs j USING (job_key) WHERE j.campaign=:c AND m.view='inplace'",
                         {"c": campaign})
        return {r["method"] for r in rows}

    def to_frame(self):
        """All measurements as a DataFrame in the format of ``docs/measurement-table.md``."""
        from ..export import measurements_frame

        return measurements_frame(self)


def measurement_values(r: MeasurementRow, job_key: str, now: str) -> dict[str, Any]:
    """The ``measurements`` columns of one row (``extra`` as JSON, booleans as 0/1)."""
    extra = dict(r.extra)
    out: dict[str, Any] = {"job_key": job_key, "measured_at": now,
                           "extra": json.dumps(extra, sort_keys=True) if extra else None}
    for name in schema.MEASUREMENT_COLUMNS:
        if name in out:
            continue
        v = getattr(r, name)
        out[name] = None if v is None else (int(v) if name in ("converged", "contended") else v)
    return out
