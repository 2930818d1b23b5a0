"""The campaign store's schema, once, as SQLAlchemy Core tables: the SQLite file and the PostgreSQL database
are both made from these definitions (:func:`sqlite_ddl` gives the SQLite statements).

Schema version 2 (``meta.schema_version``): version 1 lacked ``campaigns.executor``. A job is identified by
its key (``jobs.job_key``, the primary key) and each of its rows by ``(job_key, view, unit)``: a writer that
finds the key taken stores nothing (insert-or-ignore), so concurrent writers never duplicate a job.
"""

from __future__ import annotations

from sqlalchemy import (Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text, UniqueConstraint,
                        text)

metadata = MetaData()

meta = Table("meta", metadata,
             Column("key", Text, primary_key=True),
             Column("value", Text, nullable=False))

campaigns = Table("campaigns", metadata,
                  Column("name", Text, primary_key=True),
                  Column("platform", Text, nullable=False),
                  Column("source", Text, nullable=False),
                  Column("created_at", Text, nullable=False),
                  Column("space", Text, nullable=False),
                  Column("machine", Text, nullable=False),
                  Column("executor", Text, nullable=False, server_default=text("'tensorflow'")))

specs = Table("specs", metadata,
              Column("network", Text, primary_key=True),
              Column("input_size", Integer, primary_key=True, server_default=text("0"), autoincrement=False),
              Column("spec", Text, nullable=False))

jobs = Table("jobs", metadata,
             Column("job_key", Text, primary_key=True),
             Column("campaign", Text, ForeignKey("campaigns.name"), nullable=False),
             Column("network", Text, nullable=False),
             Column("input_size", Integer, nullable=False, server_default=text("0")),
             Column("level", Text, nullable=False),
             Column("views", Text, nullable=False),
             Column("config", Text, nullable=False),
             Column("status", Text, nullable=False),
             Column("reason", Text),
             Column("note", Text),
             Column("power_sensor", Text),
             Column("versions", Text),
             Column("wall_s", Float),
             Column("finished_at", Text, nullable=False))

measurements = Table("measurements", metadata,
                     Column("id", Integer, primary_key=True, autoincrement=True),
                     Column("job_key", Text, ForeignKey("jobs.job_key"), nullable=False),
                     Column("view", Text, nullable=False),
                     Column("level", Text, nullable=False),
                     Column("layer", Text, nullable=False, server_default=text("''")),
                     Column("unit", Text, nullable=False, server_default=text("''")),
                     Column("layer_type", Text, nullable=False, server_default=text("''")),
                     Column("runtime_s", Float),
                     Column("runtime_s_mean", Float),
                     Column("runtime_s_std", Float),
                     Column("runtime_s_ci_low", Float),
                     Column("runtime_s_ci_high", Float),
                     Column("repeats", Integer),
                     Column("converged", Integer),
                     Column("overhead_s", Float),
                     Column("power_w", Float),
                     Column("energy_j", Float),
                     Column("status", Text, nullable=False),
                     Column("reason", Text),
                     Column("other_load", Float),
                     Column("contended", Integer),
                     Column("extra", Text),
                     Column("measured_at", Text, nullable=False),
                     UniqueConstraint("job_key", "view", "unit"))

Index("measurements_job", measurements.c.job_key)

TABLES = (meta, campaigns, specs, jobs, measurements)

#: Columns of ``measurements`` written from a :class:`~profiling.measurement.MeasurementRow`, in table order.
MEASUREMENT_COLUMNS = tuple(c.name for c in measurements.columns if c.name != "id")


def sqlite_ddl() -> list[str]:
    """The CREATE statements of the schema in SQLite's dialect (tables, then indexes)."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    out = [str(CreateTable(t).compile(dialect=dialect)).strip() for t in TABLES]
    out += [str(CreateIndex(ix).compile(dialect=dialect)).strip() for t in TABLES for ix in t.indexes]
    return out
