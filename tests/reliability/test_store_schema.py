"""Schema versions and migrations of the campaign store; foreign and damaged files are refused untouched."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

import profiling.store as store_mod
from perfmodel.cli import main
from profiling.errors import StoreError
from profiling.store import CampaignStore


def _digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _make_store(path, jobs=2):
    with CampaignStore(path) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        for i in range(jobs):
            st.put_job(job_key=f"k{i}", campaign="c", network="tiny_dense", input_size=None, level="network",
                       views=["whole"], config={"batch": i + 1}, status="ok",
                       rows=[{"view": "whole", "level": "network", "runtime_s": 0.001 * (i + 1)}])
    # Fold the WAL into the main file so a byte digest covers the whole store.
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _set_version(path, version):
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def test_new_store_has_version_wal_and_format(tmp_path):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    con = sqlite3.connect(path)
    meta = dict(con.execute("SELECT key, value FROM meta"))
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert meta["format"] == store_mod.STORE_FORMAT
    assert int(meta["schema_version"]) == store_mod.SCHEMA_VERSION


def test_migration_runs_and_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    new = store_mod.SCHEMA_VERSION + 1
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", new)
    monkeypatch.setattr(store_mod, "MIGRATIONS", {new - 1: "ALTER TABLE jobs ADD COLUMN host TEXT; "
                                                           "UPDATE jobs SET host = 'migrated'"})
    with pytest.raises(StoreError, match="open it for writing once"):
        CampaignStore(path, readonly=True)
    with CampaignStore(path) as st:
        assert [j["host"] for j in st.jobs()] == ["migrated", "migrated"]
        assert st.count() == 2
    with CampaignStore(path, readonly=True) as st:  # migrated once, readable from now on
        assert st.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(new)


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    before = _digest(path)
    new = store_mod.SCHEMA_VERSION + 1
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", new)
    monkeypatch.setattr(store_mod, "MIGRATIONS", {new - 1: "ALTER TABLE jobs ADD COLUMN host TEXT; "
                                                           "UPDATE no_such_table SET x = 1"})
    with pytest.raises(StoreError):
        CampaignStore(path)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", new - 1)
    with CampaignStore(path, readonly=True) as st:  # still the old schema, nothing half-applied
        assert "host" not in st.jobs()[0]
        assert st.count() == 2
    assert before  # the file may be checkpointed but its content is the same store


def test_missing_migration_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", store_mod.SCHEMA_VERSION + 2)
    monkeypatch.setattr(store_mod, "MIGRATIONS", {})
    with pytest.raises(StoreError, match="no migration"):
        CampaignStore(path)


def test_newer_store_is_refused_untouched(tmp_path):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    _set_version(path, store_mod.SCHEMA_VERSION + 5)
    before = _digest(path)
    for readonly in (True, False):
        with pytest.raises(StoreError, match="newer than this library"):
            CampaignStore(path, readonly=readonly)
    assert _digest(path) == before


@pytest.mark.parametrize("kind", ["text", "foreign_sqlite", "other_format", "truncated", "damaged_page",
                                  "garbage_version"])
def test_foreign_or_damaged_files_are_refused_untouched(tmp_path, kind, capsys):
    path = tmp_path / "s.sqlite"
    if kind == "text":
        path.write_text("network,runtime_s\nresnet50,0.1\n")
    elif kind == "foreign_sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    elif kind == "other_format":
        _make_store(path)
        con = sqlite3.connect(path)
        con.execute("UPDATE meta SET value='someone.else' WHERE key='format'")
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    elif kind == "truncated":
        _make_store(path, jobs=200)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "damaged_page":
        _make_store(path, jobs=300)
        data = bytearray(path.read_bytes())
        pages = len(data) // 4096
        data[4096 * (pages - 2):4096 * (pages - 1)] = b"\xff" * 4096
        path.write_bytes(bytes(data))
    elif kind == "garbage_version":
        _make_store(path)
        _set_version(path, "two")
    before = _digest(path)
    for readonly in (True, False):
        try:
            with CampaignStore(path, readonly=readonly) as st:
                st.to_frame()  # a damaged page may only show when read
        except StoreError as exc:
            assert "\n" not in str(exc)
        else:
            assert kind in ("truncated", "damaged_page"), f"{kind} store was accepted"
    assert _digest(path) == before
    # The CLI: one line, exit 2, file unchanged.
    out = tmp_path / "out.csv"
    rc = main(["export", "--store", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    if kind not in ("truncated", "damaged_page") or rc != 0:
        assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert not out.exists()
    assert _digest(path) == before
    assert not os.path.exists(str(path) + "-wal") or os.path.getsize(str(path) + "-wal") == 0


def test_export_never_modifies_the_store(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    _make_store(path)
    before = (_digest(path), os.stat(path).st_mtime_ns)
    rc = main(["export", "--store", str(path), "-o", str(tmp_path / "x.csv")])
    assert rc == 0
    assert (_digest(path), os.stat(path).st_mtime_ns) == before
