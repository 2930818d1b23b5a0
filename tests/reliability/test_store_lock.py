"""Two processes cannot write one campaign store: the second gets a clear error, or waits when asked."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from perfmodel.cli import main
from profiling.errors import StoreError
from profiling.store import CampaignStore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from profiling.store import CampaignStore
    st = CampaignStore(sys.argv[1])
    print("LOCKED", flush=True)
    time.sleep(float(sys.argv[2]))
    st.close()
""")


def _hold(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=ROOT), str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "LOCKED"
    return proc


def _digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_second_writer_gets_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    holder = _hold(path, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="in use by another process"):
            CampaignStore(path)
        assert time.monotonic() - t0 < 5  # fails at once by default
        # Readers are never blocked by the writer.
        with CampaignStore(path, readonly=True) as ro:
            assert ro.jobs() == []
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_waits_when_asked(tmp_path):
    path = tmp_path / "s.sqlite"
    holder = _hold(path, 1.0)
    try:
        with CampaignStore(path, wait_s=30) as st:  # gets the lock once the holder closes
            assert st.jobs() == []
        assert holder.wait(timeout=10) == 0
    finally:
        holder.kill()
        holder.wait()


def test_wait_gives_up_after_its_time(tmp_path):
    path = tmp_path / "s.sqlite"
    holder = _hold(path, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="in use by another process") as info:
            CampaignStore(path, wait_s=0.6)
        assert info.value.param == "wait"  # the CLI names its option for it (--wait)
        assert time.monotonic() - t0 >= 0.5
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    path = tmp_path / "s.sqlite"
    holder = _hold(path, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with CampaignStore(path) as st:  # the kernel dropped the flock with the process
        assert st.count() == 0


def test_cli_on_locked_store_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    holder = _hold(path, 30)
    try:
        before = _digest(path)
        rc = main(["profile", "--network", "tiny_dense", "--level", "network", "--store", str(path)])
        err = capsys.readouterr().err
        assert rc == 2
        assert err.count("\n") == 1 and "in use by another process" in err and "Traceback" not in err
        assert _digest(path) == before
    finally:
        holder.kill()
        holder.wait()


def test_lock_file_does_not_block_in_process_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path):
        pass
    with CampaignStore(path) as st:  # the lock of a closed store is free again
        assert st.count() == 0
