"""The SQLite store's tables come from the one schema definition (profiling.stores.schema) and match the
DDL of stores made before it, which still open, read and take new jobs."""

from __future__ import annotations

import sqlite3

from profiling.store import SCHEMA_VERSION, STORE_FORMAT, CampaignStore, open_store
from profiling.stores import schema

# The DDL of schema version 2 as the store wrote it before the schema was defined once (2026-12-04).
HISTORICAL_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE campaigns (
    name TEXT PRIMARY KEY, platform TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL,
    space TEXT NOT NULL, machine TEXT NOT NULL, executor TEXT NOT NULL DEFAULT 'tensorflow'
);
CREATE TABLE specs (
    network TEXT NOT NULL, input_size INTEGER NOT NULL DEFAULT 0, spec TEXT NOT NULL,
    PRIMARY KEY (network, input_size)
);
CREATE TABLE jobs (
    job_key TEXT PRIMARY KEY, campaign TEXT NOT NULL REFERENCES campaigns(name), network TEXT NOT NULL,
    input_size INTEGER NOT NULL DEFAULT 0, level TEXT NOT NULL, views TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT, note TEXT, power_sensor TEXT, versions TEXT, wall_s REAL,
    finished_at TEXT NOT NULL
);
CREATE TABLE measurements (
    id INTEGER PRIMARY KEY, job_key TEXT NOT NULL REFERENCES jobs(job_key), view TEXT NOT NULL,
    level TEXT NOT NULL, layer TEXT NOT NULL DEFAULT '', unit TEXT NOT NULL DEFAULT '',
    layer_type TEXT NOT NULL DEFAULT '', runtime_s REAL, runtime_s_mean REAL, runtime_s_std REAL,
    runtime_s_ci_low REAL, runtime_s_ci_high REAL, repeats INTEGER, converged INTEGER, overhead_s REAL,
    power_w REAL, energy_j REAL, status TEXT NOT NULL, reason TEXT, other_load REAL, contended INTEGER,
    extra TEXT, measured_at TEXT NOT NULL,
    UNIQUE (job_key, view, unit)
);
CREATE INDEX measurements_job ON measurements(job_key);
"""

AFFINITY = {"TEXT": "TEXT", "INTEGER": "INTEGER", "REAL": "REAL", "FLOAT": "REAL"}


def _columns(con, table):
    # (name, affinity, notnull or primary key, default, pk position)
    return [(name, AFFINITY[typ], bool(notnull) or bool(pk), default, pk)
            for _, name, typ, notnull, default, pk in con.execute(f"PRAGMA table_info({table})")]


def _indexes(con, table):
    out = set()
    for _, name, unique, origin, _partial in con.execute(f"PRAGMA index_list({table})"):
        cols = tuple(r[2] for r in con.execute(f"PRAGMA index_info('{name}')"))
        out.add((bool(unique), origin, cols))
    return out


def test_new_store_tables_match_the_historical_ddl(tmp_path):
    old = sqlite3.connect(":memory:")
    old.executescript(HISTORICAL_DDL)
    with CampaignStore(tmp_path / "new.sqlite") as st:
        new = st.conn
        for t in (t.name for t in schema.TABLES):
            assert _columns(new, t) == _columns(old, t), t
            assert _indexes(new, t) == _indexes(old, t), t
        # id is the rowid (INTEGER PRIMARY KEY): ids grow with insertion, as the export orders by them
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        for k in ("b", "a"):
            st.put_job(job_key=k, campaign="c", network="n", input_size=None, level="network", views=["whole"],
                       config={}, status="ok", rows=[{"view": "whole", "level": "network", "runtime_s": 1.0}])
        assert [r[0] for r in new.execute("SELECT job_key FROM measurements ORDER BY id")] == ["b", "a"]
        assert new.execute("SELECT typeof(id) FROM measurements LIMIT 1").fetchone()[0] == "integer"


def test_a_store_made_with_the_historical_ddl_opens_reads_and_takes_jobs(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(HISTORICAL_DDL)
    con.execute("INSERT INTO meta VALUES ('format', ?), ('schema_version', ?), ('created_at', 'x')",
                (STORE_FORMAT, str(SCHEMA_VERSION)))
    con.execute("INSERT INTO campaigns VALUES ('c', 'cpu', 'measured:cpu', 'x', '{}', '{}', 'tensorflow')")
    con.execute("INSERT INTO jobs VALUES ('k0', 'c', 'n', 0, 'network', '[\"whole\"]', '{}', 'ok', NULL, NULL, "
                "NULL, '{}', 0.1, 'x')")
    con.execute("INSERT INTO measurements (job_key, view, level, runtime_s, status, measured_at) "
                "VALUES ('k0', 'whole', 'network', 0.5, 'ok', 'x')")
    con.commit()
    con.close()
    with open_store(str(path), readonly=True) as st:
        assert st.count() == 1 and list(st.to_frame()["runtime_s"]) == [0.5]
    with open_store(str(path)) as st:
        assert st.has_job("k0") == "ok"
        n = st.put_job(job_key="k1", campaign="c", network="n", input_size=None, level="network",
                       views=["whole"], config={}, status="ok",
                       rows=[{"view": "whole", "level": "network", "runtime_s": 0.25}])
        assert n == 1 and st.count() == 2
