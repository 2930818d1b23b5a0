"""Fleet campaigns with real parts: a Dask scheduler and worker processes, each worker posing as a Jetson
board (its own simulated sysfs tree: ``simulated:jetson``), a PostgreSQL database as the shared store.

The measuring is a fake runner (``_fleet_fake.runner``, rows labelled ``fake``) so that the tests exercise
the fleet (scheduling, resources, lost workers, concurrent writers), not TensorFlow.
"""

from __future__ import annotations

import glob
import json
import os
import threading
import time

import pytest

pytest.importorskip("distributed")

import _fleet_fake  # noqa: E402
from perfmodel.cli import main  # noqa: E402
from profiling.executors.tf_executor import TfExecutor  # noqa: E402
from profiling.fleet.engine import board_status, run_fleet_campaign  # noqa: E402
from profiling.platforms.fake_jetson import build_fake_jetson, snapshot  # noqa: E402
from profiling.platforms.jetson import JetsonPlatform  # noqa: E402
from profiling.store import open_store  # noqa: E402

NETWORKS = ("tiny_cnn", "tiny_dense")


def _boards(tmp, n):
    trees, envs = [], []
    markers = os.path.join(tmp, "markers")
    os.makedirs(markers, exist_ok=True)
    for i in range(n):
        tree = build_fake_jetson(os.path.join(tmp, f"tree-{i}"), "tx1", 28)
        trees.append(tree)
        envs.append({"PERFMODEL_BOARD_PLATFORM": f"jetson:{tree}", "PERFMODEL_RESTORE_DIR": os.path.join(tmp, f"r{i}"),
                     "PERFMODEL_TEST_MARKERS": markers, "PERFMODEL_TEST_JOB_S": "0.1"})
    return trees, envs, markers


def _cpu_levels(tree):
    plat = JetsonPlatform(tree, restore_file=os.path.join(os.path.dirname(str(tree)), "probe-restore.json"))
    return list(plat.space()["cpu_freq"].values)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("fleet"))
    trees, envs, markers = _boards(tmp, 3)
    before = [snapshot(t) for t in trees]
    f = _fleet_fake.LocalFleet(tmp, 3, env=envs).start()
    f.trees, f.markers, f.before = trees, markers, before
    try:
        yield f
    finally:
        f.stop()


def _configs(tree, n=3):
    levels = _cpu_levels(tree)
    return [{"cpu_freq": levels[i % len(levels)], "batch": (1, 2, 4, 8, 16)[i]} for i in range(n)]


def _rows(url, sql):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_campaign_runs_on_the_boards_and_each_job_is_stored_once(fleet, pg_url):
    configs = _configs(fleet.trees[0])
    before = set(glob.glob(os.path.join(fleet.markers, "start-*.json")))
    summary = run_fleet_campaign(fleet.file, "jetson", TfExecutor(_fleet_fake.runner), NETWORKS, configs, pg_url,
                                 level="network", campaign="a", reference=False, power=False)
    assert summary.measured == 6 and summary.failed == 0 and summary.rows == 6
    assert _rows(pg_url, "SELECT count(*), count(DISTINCT job_key) FROM jobs") == [(6, 6)]
    with open_store(pg_url, readonly=True) as st:
        df = st.to_frame()
    assert len(df) == 6 and set(df["source"]) == {"simulated:jetson"} and set(df["runner"]) == {"fake"}
    assert set(df["board_name"]) <= {"board-0", "board-1", "board-2"}
    assert sorted(set(df["cpu_freq"])) == sorted({c["cpu_freq"] for c in configs})
    jobs = _rows(pg_url, "SELECT versions FROM jobs")
    assert all(json.loads(v)["board_name"].startswith("board-") for (v,) in jobs)
    # while a job ran, its board ran at the job's cpu_freq (the board's platform applied it) ...
    started = [json.load(open(p)) for p in set(glob.glob(os.path.join(fleet.markers, "start-*.json"))) - before]
    cpu_of_batch = {c["batch"]: c["cpu_freq"] for c in configs}
    assert len(started) == 6
    assert all(m["setspeed"] == str(cpu_of_batch[m["config"]["batch"]] // 1000) for m in started)
    # ... and each board's tree is as it was afterwards: the platform restored every knob it applied
    assert [snapshot(t) for t in fleet.trees] == fleet.before
    # run again: every job is already stored, nothing is measured
    again = run_fleet_campaign(fleet.file, "jetson", TfExecutor(_fleet_fake.runner), NETWORKS, configs, pg_url,
                               level="network", campaign="a", reference=False, power=False)
    assert again.skipped == 6 and again.measured == 0
    assert _rows(pg_url, "SELECT count(*) FROM measurements") == [(6,)]


def test_two_clients_two_campaigns_one_database_no_lost_or_duplicated_rows(fleet, pg_url):
    configs = _configs(fleet.trees[0], 4)
    errors, summaries = [], {}

    def client(name, campaign):
        try:
            summaries[name] = run_fleet_campaign(fleet.file, "jetson", TfExecutor(_fleet_fake.runner), NETWORKS,
                                                 configs, pg_url, level="network", campaign=campaign,
                                                 reference=False, power=False)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    # two clients of two campaigns, and a third client of the first campaign at the same time
    started_before = len(glob.glob(os.path.join(fleet.markers, "start-*.json")))
    threads = [threading.Thread(target=client, args=(n, c)) for n, c in (("x", "b"), ("y", "c"), ("z", "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _rows(pg_url, "SELECT campaign, count(*), count(DISTINCT job_key) FROM jobs GROUP BY campaign "
                         "ORDER BY campaign") == [("b", 8, 8), ("c", 8, 8)]
    assert _rows(pg_url, "SELECT count(*), count(DISTINCT (job_key, view, unit)) FROM measurements") == [(16, 16)]
    # every job was measured once on the boards: campaign b's two clients shared its jobs (the same task
    # key on the scheduler, or found stored), each client accounts for all 8
    assert len(glob.glob(os.path.join(fleet.markers, "start-*.json"))) - started_before == 16
    assert all(s.measured + s.skipped == 8 and s.failed == 0 for s in summaries.values())


def test_fleet_status_lists_boards_with_their_resources_and_jobs(fleet, capsys):
    status = board_status(fleet.file)
    names = [b["name"] for b in status["boards"]]
    assert names == ["board-0", "board-1", "board-2"]
    assert all(b["resources"] == {"jetson": 1.0} for b in status["boards"])
    assert all(b["platform"].startswith("jetson:") for b in status["boards"])
    assert sum(b["done"] for b in status["boards"]) >= 6 and status["queued"] == 0
    assert main(["fleet", "status", "--scheduler", fleet.file]) == 0
    out = capsys.readouterr().out
    assert "board-0" in out and "jetson=1" in out and "queued: 0" in out


def test_cli_profile_on_the_fleet(fleet, pg_url, capsys):
    levels = _cpu_levels(fleet.trees[0])
    pytest.importorskip("torch")
    code = main(["profile", "--scheduler", fleet.file, "--platform", "jetson", "--executor", "torch",
                 "--network", "tiny_cnn", "--level", "network", "--config", f"cpu_freq={levels[0]},batch=1",
                 "--no-power", "--no-progress", "--quick", "--max-repeats", "5", "--store", pg_url,
                 "--campaign", "cli"])
    # a real measurement (the PyTorch executor, built on the board) under the board's cpu_freq
    out = capsys.readouterr().out
    assert code == 0 and "boards: 3" in out and "jobs measured: 1" in out
    assert _rows(pg_url, "SELECT count(*), min(status) FROM jobs WHERE campaign='cli'") == [(1, "ok")]
    with open_store(pg_url, readonly=True) as st:
        df = st.to_frame()
    assert list(df["executor"]) == ["torch"] and df["runtime_s"].iloc[0] > 0
    assert df["board_name"].iloc[0].startswith("board-") and df["cpu_freq"].iloc[0] == levels[0]


def test_bad_input_is_one_line_and_changes_nothing(fleet, pg_url, tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "s.sqlite"
    base = ["profile", "--platform", "jetson", "--network", "tiny_cnn", "--level", "network", "--no-progress"]
    # unreachable scheduler: nothing created
    assert main([*base, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2",
                 "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach the Dask scheduler" in err and "--scheduler" in err
    assert not store.exists()
    # a platform no worker offers
    assert main(["profile", "--platform", "nvml", "--network", "tiny_cnn", "--scheduler", fleet.file,
                 "--store", pg_url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no worker of the fleet offers the resource 'nvml'" in err
    assert "jetson" in err and "--platform" in err
    assert _rows(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname='public'") == [(0,)]
    # a database of another schema version: refused, its rows unchanged
    with open_store(pg_url) as st:
        st.ensure_campaign("old", "cpu", "measured:cpu", "{}", {})
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value='9' WHERE key='schema_version'")
    assert main([*base, "--scheduler", fleet.file, "--store", pg_url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "schema version 9" in err
    assert _rows(pg_url, "SELECT name FROM campaigns") == [("old",)]
    # an unreachable database
    assert main([*base, "--scheduler", fleet.file, "--store", f"postgresql://x@127.0.0.1:{port}/db"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot connect to database" in err
    # a configuration the boards do not offer
    assert main([*base, "--scheduler", fleet.file, "--config", "cpu_freq=1", "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cpu_freq" in err
    assert not store.exists()


def test_a_worker_killed_mid_job_its_job_is_measured_elsewhere_and_stored_once(tmp_path, pg_url):
    trees, envs, markers = _boards(str(tmp_path), 2)
    for env in envs:
        env["PERFMODEL_TEST_JOB_S"] = "2.0"
    fleet = _fleet_fake.LocalFleet(str(tmp_path), 2, env=envs).start()
    try:
        configs = _configs(trees[0], 2)
        out: dict = {}

        def client():
            try:
                out["summary"] = run_fleet_campaign(fleet.file, "jetson", TfExecutor(_fleet_fake.runner),
                                                    NETWORKS, configs, pg_url, level="network", campaign="k",
                                                    reference=False, power=False)
            except BaseException as exc:  # noqa: BLE001
                out["error"] = exc

        t = threading.Thread(target=client)
        t.start()
        deadline = time.monotonic() + 120
        while not glob.glob(os.path.join(markers, "start-*.json")):
            assert time.monotonic() < deadline, "no job started"
            time.sleep(0.05)
        first = sorted(glob.glob(os.path.join(markers, "start-*.json")), key=os.path.getmtime)[0]
        started = json.load(open(first))
        killed = fleet.kill_pid(started["pid"])  # mid-job: the fake measurement sleeps 2 s
        t.join(timeout=300)
        assert not t.is_alive() and "error" not in out, out.get("error")
        summary = out["summary"]
        assert summary.measured == 4 and summary.failed == 0
        assert _rows(pg_url, "SELECT count(*), count(DISTINCT job_key) FROM jobs") == [(4, 4)]
        assert _rows(pg_url, "SELECT count(*) FROM measurements") == [(4,)]
        survivor = {"board-0", "board-1"} - {killed}
        with open_store(pg_url, readonly=True) as st:
            df = st.to_frame()
        # the killed board stored nothing; its job was measured again by the other one
        assert set(df["board_name"]) == survivor
        job = df[(df["network"] == started["network"]) & (df["batch"] == started["config"]["batch"])]
        assert len(job) == 1
    finally:
        fleet.stop()


def test_explore_measures_a_batch_on_several_boards_at_once(fleet, tmp_path):
    from perfmodel.optimisation import optimize
    from profiling.fleet import FleetMeasurer

    before = set(glob.glob(os.path.join(fleet.markers, "start-*.json")))
    levels = _cpu_levels(fleet.trees[0])
    measurer = FleetMeasurer(fleet.file, "jetson", "tiny_cnn", ["cpu_freq", "batch"], "",
                             executor=TfExecutor(_fleet_fake.runner), power=False)
    try:
        assert measurer.boards == 3 and measurer.source == "simulated:jetson"
        assert list(measurer.space["cpu_freq"].values) == levels  # the space a board reported
        study = optimize(measurer, ["runtime_s"], budget=6, n_init=3, strategy="random", batch_size=3, seed=1)
    finally:
        measurer.close()
    results = study.results()
    assert len(results) == 6 and results["runtime_s"].notna().all()
    started = [json.load(open(p)) for p in set(glob.glob(os.path.join(fleet.markers, "start-*.json"))) - before]
    assert len(started) == 6
    assert len({s["pid"] for s in started}) >= 2  # the batch went to several boards
    # the fake runtime is 1 ms x batch: the outputs are those of the configurations asked
    assert all(abs(r["runtime_s"] - 1e-3 * r["batch"]) < 1e-12 for _, r in results.iterrows())


def test_explore_cli_with_an_unreachable_scheduler_is_one_line(capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["explore", "--scheduler", f"tcp://127.0.0.1:{port}", "--platform", "jetson", "--network",
                 "tiny_cnn", "--objectives", "runtime_s", "--batch-size", "2", "--budget", "4", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach the Dask scheduler" in err


def test_boards_on_this_host_can_share_a_sqlite_file(fleet, tmp_path):
    store = tmp_path / "fleet.sqlite"
    configs = _configs(fleet.trees[0], 3)
    summary = run_fleet_campaign(fleet.file, "jetson", TfExecutor(_fleet_fake.runner), NETWORKS, configs,
                                 str(store), level="network", campaign="lite", reference=False, power=False)
    assert summary.measured == 6
    with open_store(str(store), readonly=True) as st:
        df = st.to_frame()
        assert len(st.jobs()) == 6
    assert len(df) == 6 and df["board_name"].notna().all()


def test_fleet_status_of_an_unreachable_scheduler_is_one_line(capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["fleet", "status", "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach the Dask scheduler" in err and "--scheduler" in err


@pytest.mark.parametrize(("scheduler", "said"), [
    ("nofile.json", "scheduler address 'nofile.json' is not usable: missing port number"),
    ("{}", "holds no scheduler 'address'"),
    ("garbage", "is not a Dask scheduler file"),
    ("http://lab:8786", "unknown address scheme 'http'"),
    ("tcp://lab", "missing port number in address 'lab'"),
])
def test_a_scheduler_that_is_no_address_is_one_line_and_the_command_ends(tmp_path, scheduler, said):
    # these reached a Dask Client, whose failed start left a client that, at exit, waited twice the time-out
    # and then printed a traceback under the one-line error (a scheduler file without an address: a traceback)
    import subprocess
    import sys

    if scheduler in ("{}", "garbage"):
        (tmp_path / "sched.json").write_text(scheduler)
        scheduler = str(tmp_path / "sched.json")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-m", "perfmodel", "fleet", "status", "--scheduler", scheduler,
                           "--connect-timeout", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": root})
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("perfmodel: error: ") and said in err


def test_a_scheduler_file_gives_its_address(tmp_path):
    from profiling.fleet.engine import scheduler_address

    (tmp_path / "s.json").write_text(json.dumps({"type": "Scheduler", "address": "tcp://10.0.0.2:8786"}))
    assert scheduler_address(str(tmp_path / "s.json")) == "tcp://10.0.0.2:8786"
    assert scheduler_address("lab-host:8786") == "lab-host:8786"


@pytest.mark.parametrize("power,note", [("iio", ""), ("none", "absent: ")])
def test_a_board_says_whether_it_measures_power(tmp_path, power, note):
    """What `explore --scheduler` checks its objectives against (before any study): the board's power sensor."""
    from profiling.fleet.engine import board_check

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 32, power=power)
    answer = board_check(f"jetson:{root}", TfExecutor(_fleet_fake.runner), [], [])
    assert "error" not in answer, answer
    assert answer["power_note"].startswith(note) and (answer["power_note"] == "") == (power != "none")


def test_explore_refuses_an_objective_the_boards_do_not_measure():
    from perfmodel.commands.explore import check_measured
    from perfmodel.errors import OptimisationError

    no_power = ("runtime_s", "other_load")
    with pytest.raises(OptimisationError, match="energy_j cannot be measured on the jetson platform: its power "
                                                "sensor is absent: no rail"):
        check_measured(["runtime_s", "energy_j"], no_power, "absent: no rail", "jetson")
    with pytest.raises(OptimisationError, match="'fps' is not measured live; the jetson platform measures runtime_s"):
        check_measured(["fps"], no_power, "absent: no rail", "jetson")
    check_measured(["runtime_s", "energy_j"], ("runtime_s", "power_w", "energy_j", "other_load"), "", "jetson")
