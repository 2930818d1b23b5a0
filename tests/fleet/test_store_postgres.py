"""The campaign store in PostgreSQL: the SQLite store's rules through a database URL, and many writers."""

from __future__ import annotations

import threading

import pytest

import profiling.stores.sql as sql_mod
from perfmodel.cli import main
from profiling.errors import StoreError
from profiling.store import CampaignStore, open_store
from profiling.stores.sql import SqlStore

ROWS = [{"view": "whole", "level": "network", "runtime_s": 0.002, "power_w": 3.5, "energy_j": 0.007},
        {"view": "isolated", "level": "layer", "layer": "conv", "unit": "conv", "layer_type": "conv2d",
         "runtime_s": 0.001, "converged": True, "inplace_method": "frozen"}]


def _put(store, key, status="ok", rows=ROWS, **kw):
    return store.put_job(job_key=key, campaign="c", network="tiny_dense", input_size=None, level="layer",
                         views=["whole", "isolated"], config={"batch": 1}, status=status, rows=rows if status == "ok"
                         else (), reason=None if status == "ok" else "crash: test", **kw)


def _fill(store, keys=("k1", "k2")):
    store.ensure_campaign("c", "cpu", "measured:cpu", "{}", {"host": "x"})
    for k in keys:
        _put(store, k)


def _psql_rows(url, sql):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_open_store_picks_the_backend_by_url(pg_url, tmp_path):
    with open_store(pg_url) as st:
        assert isinstance(st, SqlStore) and st.schema_version == sql_mod.SCHEMA_VERSION
    with open_store(str(tmp_path / "a.sqlite")) as st:
        assert isinstance(st, CampaignStore)
    with open_store(f"sqlite:///{tmp_path / 'b.sqlite'}") as st:
        assert isinstance(st, CampaignStore) and st.path == str(tmp_path / "b.sqlite")
    with pytest.raises(StoreError, match="unknown kind of URL"):
        open_store("mysql://u@h/db")


def test_same_rows_and_table_from_both_backends(pg_url, tmp_path):
    with open_store(pg_url) as pg, open_store(str(tmp_path / "s.sqlite")) as lite:
        for st in (pg, lite):
            _fill(st)
            assert _put(st, "k1") == 0  # stored once: a second write of an ok job stores nothing
            assert st.has_job("k1") == "ok" and st.has_job("nope") is None
            assert st.count() == 4
            assert st.inplace_methods("c") == set()
        a, b = pg.to_frame(), lite.to_frame()
    assert len(a) == 4
    drop = ["measured_at"]
    assert a.drop(columns=drop).equals(b.drop(columns=drop))
    assert list(a["power_w"].dropna()) == [3.5, 3.5] and set(a["inplace_method"].dropna()) == {"frozen"}


def test_failed_job_is_replaced_only_when_asked(pg_url):
    with open_store(pg_url) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        _put(st, "k", status="failed")
        assert _put(st, "k", replace_failed=False) == 0 and st.has_job("k") == "failed"
        assert len(st.to_frame()) == 1  # a failed job without rows shows as one failed row
        assert _put(st, "k") == 2 and st.has_job("k") == "ok"
        assert [j["job_key"] for j in st.jobs()] == ["k"]


def test_campaign_of_another_platform_is_refused(pg_url):
    with open_store(pg_url) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        with pytest.raises(StoreError, match="platform 'cpu', not 'jetson'"):
            st.ensure_campaign("c", "jetson", "simulated:jetson", "{}", {})


def test_readonly_open_writes_nothing(pg_url):
    with pytest.raises(StoreError, match="empty"):
        open_store(pg_url, readonly=True)
    assert _psql_rows(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname='public'") == [(0,)]
    with open_store(pg_url) as st:
        _fill(st)
    with open_store(pg_url, readonly=True) as st:
        assert st.count() == 4
        with pytest.raises(StoreError, match="read-only"):
            _put(st, "k3")
    assert _psql_rows(pg_url, "SELECT count(*) FROM jobs") == [(2,)]


def test_database_of_another_application_or_version_is_refused_untouched(pg_url):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE things (x int)")
    with pytest.raises(StoreError, match="another application"):
        open_store(pg_url)
    assert _psql_rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname='public'") == [("things",)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE things")
    with open_store(pg_url) as st:
        _fill(st)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema version 7, newer"):
        open_store(pg_url)
    assert _psql_rows(pg_url, "SELECT count(*) FROM measurements") == [(4,)]


def test_migration_runs_in_one_transaction(pg_url, monkeypatch):
    with open_store(pg_url) as st:
        _fill(st)
    new = sql_mod.SCHEMA_VERSION + 1
    monkeypatch.setattr(sql_mod, "SCHEMA_VERSION", new)
    monkeypatch.setattr(sql_mod, "MIGRATIONS", {new - 1: "ALTER TABLE jobs ADD COLUMN host TEXT; "
                                                          "UPDATE no_such_table SET x = 1"})
    with pytest.raises(StoreError):
        open_store(pg_url)
    cols = [r[0] for r in _psql_rows(pg_url, "SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name='jobs'")]
    assert "host" not in cols  # rolled back
    monkeypatch.setattr(sql_mod, "MIGRATIONS", {new - 1: "ALTER TABLE jobs ADD COLUMN host TEXT; "
                                                          "UPDATE jobs SET host = 'migrated'"})
    with pytest.raises(StoreError, match="open it for writing once"):
        open_store(pg_url, readonly=True)
    with open_store(pg_url) as st:
        assert st.schema_version == new
        assert [j["host"] for j in st.jobs()] == ["migrated", "migrated"]


def test_unreachable_database_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match="cannot connect to database") as exc:
        open_store(f"postgresql://nobody@127.0.0.1:{port}/db")
    assert "\n" not in str(exc.value) and exc.value.param == "store"


def test_concurrent_writers_store_each_job_once(pg_url):
    """Four threads (each its own store and connections) write the same 30 jobs: each job once, all rows."""
    with open_store(pg_url) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
    stored: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(order):
        try:
            with open_store(pg_url) as st:
                barrier.wait()
                for i in order:
                    stored.append(_put(st, f"k{i}"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    orders = [list(range(30)), list(reversed(range(30))), list(range(0, 30, 2)) + list(range(1, 30, 2)),
              list(range(30))]
    threads = [threading.Thread(target=writer, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(1 for n in stored if n) == 30 and sum(stored) == 60
    assert _psql_rows(pg_url, "SELECT count(*), count(DISTINCT job_key) FROM jobs") == [(30, 30)]
    assert _psql_rows(pg_url, "SELECT count(*), count(DISTINCT (job_key, view, unit)) FROM measurements") == [(60, 60)]


def test_cli_export_reads_a_database(pg_url, tmp_path, capsys):
    with open_store(pg_url) as st:
        _fill(st)
    out = tmp_path / "x.csv"
    assert main(["export", "--store", pg_url, "-o", str(out)]) == 0
    import pandas as pd

    df = pd.read_csv(out)
    assert len(df) == 4 and set(df["view"]) == {"whole", "isolated"}


def test_cli_bad_database_is_exit_2_one_line(pg_url, capsys):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE things (x int)")
    assert main(["export", "--store", pg_url, "-o", "-"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another application" in err and "--store" in err


def test_fit_and_report_read_a_database(pg_url):
    import importlib

    from perfmodel.models.layerwise import store_frame

    with open_store(pg_url) as st:
        _fill(st)
    table = store_frame(pg_url)
    assert len(table) == 4 and set(table["network"]) == {"tiny_dense"}
    report = importlib.import_module("perfmodel.commands.report")
    assert len(report._from_store(pg_url)) == 4


def test_clients_opening_an_empty_database_at_once_create_it_once(pg_url):
    errors, barrier = [], threading.Barrier(4)

    def opener():
        try:
            barrier.wait()
            with open_store(pg_url) as st:
                st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _psql_rows(pg_url, "SELECT key, count(*) FROM meta GROUP BY key ORDER BY key") == [
        ("created_at", 1), ("format", 1), ("schema_version", 1)]
    assert _psql_rows(pg_url, "SELECT count(*) FROM campaigns") == [(1,)]


def test_password_is_not_printed(tmp_path):
    with pytest.raises(StoreError) as exc:
        open_store("postgresql://lab:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(exc.value) and "***" in str(exc.value)


@pytest.mark.parametrize("url", ["postgresql://lab:s3cret@host:abc/db", "postgresql://host:54x/db"])
def test_a_malformed_database_url_is_one_line(url, capsys):
    with pytest.raises(StoreError, match="is not a valid database URL") as exc:
        open_store(url)
    assert "\n" not in str(exc.value) and "s3cret" not in str(exc.value) and exc.value.param == "store"
    assert main(["export", "--store", url, "-o", "x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a valid database URL" in err[0]
