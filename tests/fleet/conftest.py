"""Fixtures of the fleet tests: a PostgreSQL server for the session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import _postgres  # noqa: E402

_COUNTER = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    """URL of the maintenance database of a running PostgreSQL server (skip with the reason when none)."""
    url = os.environ.get("PERFMODEL_TEST_POSTGRES_URL")
    if url:
        _postgres.wait_ready(url)
        yield url
        return
    bindir = _postgres.find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine and PERFMODEL_TEST_POSTGRES_URL "
                    "unset: install Debian's postgresql package (.ci/run does)")
    server = _postgres.Server(bindir)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - reported as the skip reason
        server.stop()
        pytest.skip(f"could not start a PostgreSQL server from {bindir}: {exc}")
    try:
        _postgres.wait_ready(server.url())
        yield server.url()
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server):
    """A fresh, empty database for one test."""
    return _postgres.create_database(postgres_server, f"perfmodel_t{os.getpid()}_{next(_COUNTER)}")
