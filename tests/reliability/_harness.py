"""Kill loops shared by the reliability tests and ``benchmarks/bench_reliability.py``.

Two campaigns are killed with SIGKILL at random moments:

* the FAKE campaign (``_fake_campaign.py``: real store and ``run_campaign``, synthetic rows) - fast, used
  in the default test run;
* the REAL one: ``python -m perfmodel profile`` on tiny built-in networks (TensorFlow workers) - slow.

After every kill the store must open read-only and read-write, pass SQLite's integrity check, and hold
every job that was reported done with its complete set of rows exactly once. Finally the campaign is
resumed to completion and its set of measurements compared with an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from _fake_campaign import IN_TRANSACTION, PAUSE_POINTS, expected_rows  # noqa: E402

from profiling.store import CampaignStore  # noqa: E402


@dataclass
class KillStats:
    kills: int = 0
    kills_mid_run: int = 0          # kills that landed after the campaign started storing jobs
    kills_in_write: int = 0         # aimed kills that landed inside a job's store transaction (announced PAUSED)
    kills_after_commit: int = 0     # aimed kills between a job's COMMIT and its report
    partial_visible: int = 0        # jobs killed inside their transaction, yet found in the store afterwards
    committed_missing: int = 0      # jobs killed after their COMMIT, yet absent or incomplete afterwards
    reported_done: int = 0          # jobs reported done before a kill (summed over kills)
    jobs_lost: int = 0              # reported-done jobs missing from the store after a kill
    rows_bad: int = 0               # stored ok jobs whose rows are incomplete or duplicated
    open_failures: list[str] = field(default_factory=list)
    orphans: int = 0                # worker processes still alive 3 s after their campaign was killed
    final_equal: bool | None = None
    final_rows: int = 0
    rounds: int = 1                 # campaigns completed (real loop: a new store after each completion)

    @property
    def nothing_lost(self) -> bool:
        return (self.jobs_lost == 0 and self.rows_bad == 0 and not self.open_failures and self.orphans == 0
                and self.partial_visible == 0 and self.committed_missing == 0 and bool(self.final_equal))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def measurement_set(path: str) -> set[tuple]:
    """{(network, config, view, unit)} of the ok measurements in a store (opened read-only)."""
    with CampaignStore(path, readonly=True) as st:
        rows = st.conn.execute("SELECT j.network, j.config, m.view, m.unit FROM measurements m JOIN jobs j "
                               "USING (job_key) WHERE j.status='ok'").fetchall()
    return {(r[0], json.dumps(json.loads(r[1]), sort_keys=True), r[2], r[3]) for r in rows}


def check_store(path: str, reported: dict[str, int], stats: KillStats, expect=None) -> None:
    """Open ``path`` both ways and check integrity, reported jobs and row completeness."""
    try:
        with CampaignStore(path, readonly=True) as st:
            jobs = {r["job_key"]: r["status"] for r in st.jobs()}
            per_job = Counter(r[0] for r in st.conn.execute("SELECT job_key FROM measurements"))
            units = st.conn.execute("SELECT job_key, view, unit FROM measurements").fetchall()
        with CampaignStore(path) as st:  # read-write: takes the lock, checks the schema
            ok = st.conn.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                stats.open_failures.append(f"integrity_check: {ok}")
    except Exception as exc:  # noqa: BLE001 - any failure to open is what this test looks for
        stats.open_failures.append(f"{type(exc).__name__}: {exc}")
        return
    stats.jobs_lost += sum(1 for k in reported if jobs.get(k) != "ok")
    seen = Counter((k, v, u) for k, v, u in units)
    stats.rows_bad += sum(1 for n in seen.values() if n != 1)
    for key, status in jobs.items():
        if status != "ok":
            continue
        want = expect(key) if expect else reported.get(key)
        if want is not None and per_job.get(key, 0) != want:
            stats.rows_bad += 1


def _wait_orphans(children: list[psutil.Process], stats: KillStats, grace_s: float = 3.0) -> None:
    deadline = time.monotonic() + grace_s
    alive = list(children)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.1)
    stats.orphans += len(alive)
    for p in alive:  # never leave them behind, even when counted as a failure
        try:
            p.kill()
        except psutil.Error:
            pass


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# ------------------------------------------------------------------------------------------- fake
def fake_cmd(store: str, seed: int, networks: int, pause: tuple[int, str] | None = None) -> list[str]:
    cmd = [sys.executable, os.path.join(HERE, "_fake_campaign.py"), store, "--seed", str(seed),
           "--networks", str(networks)]
    if pause:
        cmd += ["--pause-at", str(pause[0]), "--pause-point", pause[1]]
    return cmd


def run_fake_to_end(store: str, networks: int, seed: int = 0) -> None:
    subprocess.run(fake_cmd(store, seed, networks), check=True, env=_env(), stdout=subprocess.DEVNULL,
                   timeout=300)


def fake_kill_loop(workdir: str, kills: int, *, networks: int = 4, max_delay_s: float = 0.6,
                   seed: int = 0) -> KillStats:
    """SIGKILL the fake campaign ``kills`` times at random moments, then resume and compare."""
    rng = random.Random(seed)
    store = os.path.join(workdir, "killed.sqlite")
    stats = KillStats()
    reported: dict[str, int] = {}
    for i in range(kills):
        proc = subprocess.Popen(fake_cmd(store, seed * 1000 + i, networks), env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        line = proc.stdout.readline()  # READY: the store is open and locked
        delay = rng.uniform(0.0, max_delay_s)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        done_here = 0
        for ln in (line + out).splitlines():
            if ln.startswith("DONE "):
                _, key, n = ln.split()
                reported[key] = int(n)
                done_here += 1
        stats.kills += 1
        stats.kills_mid_run += int(done_here > 0 and "FINISHED" not in out)
        stats.reported_done += done_here
        check_store(store, reported, stats, expect=lambda k: len(expected_rows(k)))
    run_fake_to_end(store, networks)  # resume to completion
    check_store(store, reported, stats, expect=lambda k: len(expected_rows(k)))
    ref = os.path.join(workdir, "reference.sqlite")
    run_fake_to_end(ref, networks)
    got, want = measurement_set(store), measurement_set(ref)
    stats.final_equal = got == want
    stats.final_rows = len(got)
    return stats


def aimed_fake_kill_loop(workdir: str, kills: int, *, networks: int = 4, seed: int = 0,
                         points: tuple[str, ...] = PAUSE_POINTS) -> KillStats:
    """SIGKILL the fake campaign ``kills`` times at AIMED points of a job's store write, then resume and compare.

    Kill ``i`` pauses the campaign at point ``points[i % len(points)]`` of the write of its 2nd to 5th job
    (``_fake_campaign.py --pause-at``) and kills it there, whatever the machine's speed or load: the
    campaign announces the point (``PAUSED``) and waits for the kill. Besides the checks of
    :func:`fake_kill_loop`: a job killed inside its transaction must be absent from the store, a job killed
    after its COMMIT present and complete.
    """
    rng = random.Random(seed)
    store = os.path.join(workdir, "killed.sqlite")
    stats = KillStats()
    reported: dict[str, int] = {}
    for i in range(kills):
        point = points[i % len(points)]
        proc = subprocess.Popen(fake_cmd(store, seed * 1000 + i, networks, (rng.randint(2, 5), point)), env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        watchdog = threading.Timer(600, proc.kill)  # never hang the test run, however slow the machine
        watchdog.start()
        paused, lines = None, []
        for line in proc.stdout:  # event-driven: no sleeps, no timing
            lines.append(line)
            if line.startswith("PAUSED "):
                paused = line.split()[1:3]
                break
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        watchdog.cancel()
        done_here = 0
        for ln in "".join(lines).splitlines() + out.splitlines():
            if ln.startswith("DONE "):
                _, key, n = ln.split()
                reported[key] = int(n)
                done_here += 1
        stats.kills += 1
        stats.kills_mid_run += int(done_here > 0 and paused is not None)
        stats.reported_done += done_here
        check_store(store, reported, stats, expect=lambda k: len(expected_rows(k)))
        if paused is None:
            continue  # the campaign finished before the aimed job (not expected with the job numbers above)
        where, key = paused
        with CampaignStore(store, readonly=True) as st:
            status = {r["job_key"]: r["status"] for r in st.jobs()}.get(key)
            n_rows = st.conn.execute("SELECT COUNT(*) FROM measurements WHERE job_key=?", (key,)).fetchone()[0]
        if where in IN_TRANSACTION:
            stats.kills_in_write += 1
            stats.partial_visible += int(status is not None or n_rows != 0)
        else:
            stats.kills_after_commit += 1
            stats.committed_missing += int(status != "ok" or n_rows != len(expected_rows(key)))
    run_fake_to_end(store, networks)  # resume to completion
    check_store(store, reported, stats, expect=lambda k: len(expected_rows(k)))
    ref = os.path.join(workdir, "reference.sqlite")
    run_fake_to_end(ref, networks)
    got, want = measurement_set(store), measurement_set(ref)
    stats.final_equal = got == want
    stats.final_rows = len(got)
    return stats


# ------------------------------------------------------------------------------------------- real
REAL_ARGS = ["--network", "tiny_dense,tiny_cnn", "--level", "network", "--quick", "--max-repeats", "5",
             "--timeout", "120", "--no-progress"]


def real_cmd(store: str, configs: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "perfmodel", "profile", *REAL_ARGS, "--store", store]
    for c in configs:
        cmd += ["--config", c]
    return cmd


def real_kill_loop(workdir: str, kills: int, configs: list[str], *, min_delay_s: float = 0.5,
                   seed: int = 0) -> KillStats:
    """SIGKILL ``perfmodel profile`` (real TensorFlow workers) ``kills`` times, resume and compare.

    An uninterrupted run is made first; its time per job sets the kill delays (uniform between
    ``min_delay_s`` and the CLI start plus two jobs), so kills land at random phases of the jobs. When a
    killed campaign has every job stored it is resumed (``--resume``), compared with the uninterrupted
    run, and a new round starts in a fresh store.
    """
    rng = random.Random(seed)
    stats = KillStats()
    ref = os.path.join(workdir, "reference.sqlite")
    t0 = time.monotonic()
    subprocess.run(real_cmd(ref, configs), env=_env(), check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                   timeout=1800)
    n_jobs = 2 * len(configs)
    per_job_s = (time.monotonic() - t0) / n_jobs
    want = measurement_set(ref)
    equal: list[bool] = []
    rnd = 0
    store = os.path.join(workdir, f"killed{rnd}.sqlite")
    seen_ok: dict[str, int] = {}
    for _ in range(kills):
        proc = subprocess.Popen(real_cmd(store, configs), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=ROOT)
        ps = psutil.Process(proc.pid)
        t_end = time.monotonic() + rng.uniform(min_delay_s, 3.0 + 2.0 * per_job_s)
        children: list[psutil.Process] = []
        while time.monotonic() < t_end and proc.poll() is None:
            try:
                children = ps.children(recursive=True) or children
            except psutil.Error:
                pass
            time.sleep(0.05)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _wait_orphans(children, stats)
        stats.kills += 1
        before = dict(seen_ok)
        # Reported done: every job found ok after an earlier kill must still be there, complete.
        check_store(store, before, stats, expect=lambda k: 1)
        if stats.open_failures:
            break
        with CampaignStore(store, readonly=True) as st:
            now_ok = {r["job_key"]: 1 for r in st.jobs() if r["status"] == "ok"}
        stats.reported_done += len(set(now_ok) - set(before))
        stats.kills_mid_run += int(not finished)
        seen_ok.update(now_ok)
        if len(now_ok) == n_jobs:  # this round is complete: resume is a no-op, compare, start afresh
            subprocess.run(real_cmd(store, configs) + ["--resume"], env=_env(), check=True,
                           stdout=subprocess.DEVNULL, cwd=ROOT, timeout=1800)
            equal.append(measurement_set(store) == want)
            rnd += 1
            store = os.path.join(workdir, f"killed{rnd}.sqlite")
            seen_ok = {}
    subprocess.run(real_cmd(store, configs) + ["--resume"], env=_env(), check=True, stdout=subprocess.DEVNULL,
                   cwd=ROOT, timeout=1800)
    check_store(store, seen_ok, stats, expect=lambda k: 1)
    got = measurement_set(store)
    equal.append(got == want)
    stats.final_equal = all(equal)
    stats.final_rows = len(got)
    stats.rounds = rnd + 1
    return stats


def sqlite_ok(path: str) -> bool:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
