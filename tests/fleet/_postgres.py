"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl on a free local port, in a temporary folder.

``PERFMODEL_TEST_POSTGRES_URL`` (set by ``.ci/run``) names a server that is already running; otherwise the
server binaries are looked for (``pg_ctl`` on PATH, else Debian's ``/usr/lib/postgresql/<N>/bin``) and a
server is started for the test session and stopped at its end. PostgreSQL refuses to run as root: as root,
the cluster belongs to the unprivileged ``nobody`` user (through ``runuser``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def find_bin() -> str | None:
    """Folder of ``initdb`` and ``pg_ctl``, or None."""
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and shutil.which("initdb"):
        return os.path.dirname(pg_ctl)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only (trust authentication)."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.tmp = tempfile.mkdtemp(prefix="perfmodel-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.user = "nobody" if self.as_root else None
        self.dbuser = "perfmodel"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def start(self) -> Server:
        if self.as_root:
            os.chmod(self.tmp, 0o777)
        subprocess.run(self._cmd("initdb", "-D", self.data, "-U", self.dbuser, "--auth=trust", "-E", "UTF8",
                                 "--no-sync"), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.tmp} -c fsync=off -c max_connections=60"
        subprocess.run(self._cmd("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.tmp, "log"),
                                 "-w", "-t", "60", "start"), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.dbuser}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """A new, empty database on the server of ``admin_url``; returns its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(url).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
