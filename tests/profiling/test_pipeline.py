"""One measurement pipeline for every platform: campaigns through each platform and executor on this machine.

cpu + torch and nvml (stand-in pynvml) + torch run PyTorch on this CPU; cpu + tensorflow and a simulated
Jetson tree + tensorflow start TensorFlow workers (marked ``tf``, one small job each). Every campaign is
interrupted and resumed, exported, and compared column for column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import sys

import pandas as pd
import pytest
from _nvml_fake import fake_pynvml, nvml  # noqa: F401  (nvml: the fixture)

from perfmodel.cli import main
from profiling.campaign import build_executor, build_platform, campaign_config, job_key, run_campaign
from profiling.errors import ConfigError, PlatformError, SpecError
from profiling.executors.base import ExecutorJob
from profiling.executors.tf_executor import TfExecutor
from profiling.measurement import MeasurementRow
from profiling.platforms.cpu import CpuPlatform
from profiling.platforms.fake_jetson import build_fake_jetson, set_rail_power, snapshot
from profiling.platforms.jetson import JetsonPlatform
from profiling.sensors.nvml import reset_nvml_state
from profiling.store import CampaignStore
from profiling.timing import TimingPolicy

QUICK = TimingPolicy(warmup=1, min_repeats=3, max_repeats=5, max_time_s=0.5, rel_ci=0.5)
SPEC = "datasets/h200-torch/specs/tiny_cnn.json"  # a NetworkSpec file: the torch executor needs no Keras for it


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


class Interrupt:
    """Progress callback that raises KeyboardInterrupt after ``n`` jobs (a Ctrl-C between two jobs)."""

    def __init__(self, n: int):
        self.n, self.seen = n, 0

    def __call__(self, text: str) -> None:
        self.seen += 1
        if self.seen >= self.n:
            raise KeyboardInterrupt


def _digest(path) -> str:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _interrupted_then_resumed(path, platform, executor, networks, configs, **kw):
    """Run, stop after the first job, run again: the second run skips it and measures the rest."""
    with CampaignStore(path) as store:
        with pytest.raises(KeyboardInterrupt):
            run_campaign(platform, executor, networks, configs, store, progress=Interrupt(1), reference=None, **kw)
        assert len(store.jobs()) == 1
    with CampaignStore(path) as store:
        summary = run_campaign(platform, executor, networks, configs, store, reference=None, **kw)
        frame = store.to_frame()
    assert summary.skipped == 1 and summary.measured == len(networks) * len(configs) - 1 and summary.failed == 0
    return summary, frame


# ------------------------------------------------------------------------------------------ cpu + torch
def test_cpu_torch_campaign_resumes_and_stores_every_view(tmp_path, torch):
    runner = build_executor("torch", CpuPlatform())
    summary, df = _interrupted_then_resumed(tmp_path / "s.sqlite", CpuPlatform(), runner, [SPEC],
                                            [{"batch": 1}, {"batch": 2, "dtype": "bfloat16"}], level="layer",
                                            policy=QUICK, trace_runs=3)
    assert set(df["source"]) == {"measured:cpu"} and set(df["executor"]) == {"torch"}
    assert set(df["view"]) == {"whole", "isolated", "inplace"}
    layers = [la["name"] for la in json.load(open(SPEC))["layers"] if la["type"] != "input"]
    for view in ("isolated", "inplace"):
        for batch in (1, 2):
            got = df[(df["view"] == view) & (df["batch"] == batch)]["layer"].tolist()
            assert got == layers  # every layer, in network order, under each configuration
    assert (df["runtime_s"] > 0).all()
    assert set(df[df["view"] == "inplace"]["inplace_method"]) == {"events"}
    assert df["power_w"].isna().all()  # no sensor readable here: empty, never invented
    assert set(df["dtype"]) == {"float32", "bfloat16"}
    assert df["flops"].notna().all()  # the spec was stored: features in the table


def test_cpu_torch_job_keys_differ_from_tensorflow_keys():
    cfg = {"batch": 1}
    assert job_key("c", "n", None, "network", ("whole",), cfg) == job_key("c", "n", None, "network", ("whole",), cfg,
                                                                          "frozen", "tensorflow")
    assert job_key("c", "n", None, "network", ("whole",), cfg, executor="torch") != job_key(
        "c", "n", None, "network", ("whole",), cfg)


def test_a_campaign_keeps_its_executor(tmp_path, torch):
    with CampaignStore(tmp_path / "s.sqlite") as store:
        run_campaign(CpuPlatform(), build_executor("torch", CpuPlatform()), [SPEC], [{"batch": 1}], store,
                     level="network", policy=QUICK, reference=None)
        before = store.count()
        with pytest.raises(Exception, match="torch executor, not tensorflow"):
            run_campaign(CpuPlatform(), TfExecutor(lambda *a, **k: {"status": "ok", "rows": []}), ["tiny_dense"],
                         [{"threads": 1}], store, level="network", reference=None)
        assert store.count() == before


# ------------------------------------------------------------------------------- nvml (stand-in) + torch
def test_nvml_campaign_applies_clocks_measures_power_windows_and_restores(tmp_path, torch, nvml):
    mod = nvml()
    from profiling.platforms.nvml import NvmlPlatform

    platform = NvmlPlatform(restore_file=tmp_path / "r.json")
    runner = build_executor("torch", platform, device="cpu")  # PyTorch on this CPU, NVML stand-in for the GPU
    assert {"gpu_freq", "mem_freq", "batch", "dtype", "cuda_graph", "tf32"} <= set(runner.space(platform).names)
    configs = [{"gpu_freq": 1200 * 10**6, "batch": 1}, {"batch": 2}]
    seen = []
    real_run = runner.run

    def spy(job, **kw):
        seen.append(mod.state.app)  # the clocks while the executor runs
        return real_run(job, **kw)

    runner.run = spy
    summary, df = _interrupted_then_resumed(tmp_path / "s.sqlite", platform, runner, [SPEC], configs,
                                            level="layer", views=("whole", "isolated"), policy=QUICK)
    assert seen[0] == (1200, 877) and seen[-1] == (1380, 877)  # applied for the first job only
    assert mod.state.app == (1380, 877) and not (tmp_path / "r.json").exists()  # restored, no restore file left
    assert set(df["source"]) == {"measured:nvml"} and set(df["executor"]) == {"torch"}
    # the configuration that did not name the clock is stored with the clock the GPU ran at
    assert sorted(df["gpu_freq"].unique()) == [1200 * 10**6, 1380 * 10**6]
    plan = summary.power
    assert plan is not None and plan.counter and plan.window_s >= 10 * plan.step_s
    assert (df["power_w"] > 0).all() and (df["energy_j"] > 0).all()
    assert (df["power_window_s"] >= plan.window_s).all() and (df["power_calls"] >= 3).all()
    assert df["idle_power_w"].notna().all()
    # energy per call is the window's energy over its calls: the stand-in counter adds 2.5 J per read
    assert (df["energy_j"] * df["power_calls"]).round(6).isin([2.5]).all()


def test_nvml_bad_gpu_index_and_missing_clocks(tmp_path, nvml, monkeypatch):
    nvml(count=1)
    with pytest.raises(PlatformError, match="no NVIDIA GPU with index 3"):
        build_platform("nvml", device="cuda:3")
    nvml(restricted=True)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    platform = build_platform("nvml")
    with pytest.raises(PlatformError, match="gpu_freq.*not settable"):
        campaign_config(platform, build_executor("torch", platform, device="cpu"), {"gpu_freq": 1200 * 10**6})


# --------------------------------------------------------------------------------------- bad input, CLI
def test_cli_bad_input_is_one_line_exit_2_and_leaves_the_store_unchanged(tmp_path, torch, nvml, capsys):
    nvml(count=1)
    store = tmp_path / "s.sqlite"
    base = ["profile", "--network", SPEC, "--store", str(store), "--no-progress", "--level", "network", "--quick"]
    assert main([*base, "--executor", "torch", "--no-power"]) == 0
    before = _digest(store)
    capsys.readouterr()
    fake = build_fake_jetson(tmp_path / "tx1", "tx1", 28, debugfs=False)  # no debugfs: gpu_freq, emc_freq missing
    cases = [
        (["--platform", "gpu"], "invalid choice: 'gpu'"),
        (["--executor", "jax"], "invalid choice: 'jax'"),
        (["--config", "gpu_freq=76800000"], "unknown knob 'gpu_freq'"),
        (["--platform", "jetson", "--sysfs-root", str(fake), "--config", "gpu_freq=76800000"],
         "knob 'gpu_freq' is not available on this jetson platform"),
        (["--platform", "nvml", "--device", "cuda:3"], "no NVIDIA GPU with index 3"),
        (["--platform", "jetson", "--sysfs-root", str(tmp_path)], "not a Jetson board"),
        (["--config", "cuda_graph=on"], "cuda_graph=on needs a CUDA device"),
        (["--device", "cuda:0"], "no CUDA GPU"),
        (["--executor", "tensorflow"], "is not a .keras file"),  # a spec file needs the torch executor
        (["--sysfs-root", str(fake)], "sysfs root applies to the jetson platform only"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exc:  # argparse errors exit; library errors return 2
            raise SystemExit(main([*base, *extra, *([] if "--executor" in extra else ["--executor", "torch"])]))
        err = capsys.readouterr().err.strip()
        assert exc.value.code == 2, extra
        assert message in err and len(err.splitlines()) == 1, (extra, err)
    assert _digest(store) == before


def test_cli_list_knobs_names_platform_and_executor_knobs(tmp_path, capsys):
    fake = build_fake_jetson(tmp_path / "tx2", "tx2", 32)
    assert main(["profile", "--platform", "jetson", "--sysfs-root", str(fake), "--list-knobs"]) == 0
    out = capsys.readouterr().out
    assert "platform jetson (simulated:jetson), executor tensorflow" in out
    for knob in ("cpu_freq", "gpu_freq", "emc_freq", "cores"):
        assert f"{knob}: " in out and "[hardware]" in out.split(f"{knob}: ")[1].splitlines()[0]
    assert "threads: integer" in out and "[software (tensorflow)]" in out
    assert main(["profile", "--executor", "torch", "--list-knobs"]) == 0
    out = capsys.readouterr().out
    assert "cuda_graph: boolean" in out and "dtype: categorical {float32, float16, bfloat16}" in out


# --------------------------------------------------------------------------------------- jetson layout
@pytest.mark.parametrize("board,path", [
    ("tx1", "sys/devices/platform/7000c400.i2c/i2c-1/1-0040/iio_device/in_power0_input"),
    ("tx2", "sys/devices/3160000.i2c/i2c-0/0-0040/iio_device/in_power0_input"),
])
def test_l4t28_iio_device_rails_are_found(tmp_path, board, path, capsys):
    root = build_fake_jetson(tmp_path / board, board, 28, power="iio_device")
    assert (root / path).is_file()
    platform = JetsonPlatform(root)
    rails = platform.describe()["power_rails"]
    assert "total" in rails and "iio" in rails["total"]
    set_rail_power(root, "VDD_IN", 6500)
    sensor, note = platform.power_sensor()
    assert note == "" and sensor.read_power_w()["total"] == pytest.approx(6.5)
    # the device path alone (no driver folder linking to it) is found too
    import shutil

    shutil.rmtree(root / "sys/bus")
    assert JetsonPlatform(root).describe()["power_rails"] == rails
    assert main(["platform", "info", "--platform", "jetson", "--sysfs-root", str(root)]) == 0
    assert "power_rails: {}" not in capsys.readouterr().out


def test_jetson_interrupted_inside_a_job_restores_the_tree(tmp_path, torch):
    root = build_fake_jetson(tmp_path / "tree", "tx2", 28, power="iio_device")
    before = snapshot(root)
    platform = build_platform("jetson", sysfs_root=str(root), restore_file=str(tmp_path / "r.json"))
    runner = build_executor("torch", platform)
    space = runner.space(platform)
    cfg = {"cpu_freq": space["cpu_freq"].levels[0], "gpu_freq": space["gpu_freq"].levels[0],
           "emc_freq": space["emc_freq"].levels[0], "cores": 1}
    written = {}

    def run(job, **kw):
        written["cpu"] = (root / "sys/devices/system/cpu/cpufreq/policy0/scaling_setspeed").read_text().strip()
        raise KeyboardInterrupt

    runner.run = run
    with CampaignStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(KeyboardInterrupt):
            run_campaign(platform, runner, [SPEC], [cfg], store, level="network", policy=QUICK, reference=None)
        assert store.jobs() == []
    assert written["cpu"] == str(space["cpu_freq"].levels[0] // 1000)  # the knob was written while the job ran
    assert snapshot(root) == before and not (tmp_path / "r.json").exists()


# ------------------------------------------------------------------------------------- the row type
def test_measurement_row_is_validated_once_when_built():
    row = MeasurementRow.from_dict({"view": "whole", "level": "network", "runtime_s": 0.002, "repeats": 5,
                                    "power_window_s": 0.5, "sensor_error": None})
    assert row.runtime_s == 0.002 and row.extra == {"power_window_s": 0.5}
    assert row.replace(contended=True, ref_compute_s=1e-3).to_dict()["ref_compute_s"] == 1e-3
    with pytest.raises(ConfigError, match="unknown view"):
        MeasurementRow(view="sideways")
    with pytest.raises(ConfigError, match="runtime_s must be a finite number"):
        MeasurementRow(view="whole", runtime_s=float("nan"))
    with pytest.raises(ConfigError, match="is a column"):
        MeasurementRow(view="whole", extra={"power_w": 1.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.runtime_s = 1.0


def test_executor_job_keeps_hardware_knobs_from_the_executor():
    job = ExecutorJob("tiny_cnn", {"cpu_freq": 1, "cores": 2, "threads": 1}, hardware=("cpu_freq", "cores"))
    assert job.software_config() == {"threads": 1}


# ----------------------------------------------------------------------------------- store schema 1
def test_schema_1_store_reads_as_tensorflow_and_migrates(tmp_path):
    path = tmp_path / "old.sqlite"
    with CampaignStore(path) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
        st.put_job(job_key="k", campaign="c", network="tiny_dense", input_size=None, level="network",
                   views=["whole"], config={"batch": 1}, status="ok", rows=[{"view": "whole", "level": "network",
                                                                              "runtime_s": 0.001}])
    con = sqlite3.connect(path)  # make it a store of schema 1 (no executor column)
    con.execute("ALTER TABLE campaigns DROP COLUMN executor")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    with CampaignStore(path, readonly=True) as st:  # readable as it is
        df = st.to_frame()
    assert df["executor"].tolist() == ["tensorflow"] and df["runtime_s"].tolist() == [0.001]
    with CampaignStore(path) as st:  # a write open migrates
        assert st.schema_version == 2 and st.campaigns()[0]["executor"] == "tensorflow"


# ---------------------------------------------------------------------- TensorFlow (starts workers)
@pytest.mark.tf
def test_cpu_tensorflow_and_torch_rows_differ_only_by_source_and_executor(tmp_path, torch):
    cpu = CpuPlatform()
    # 3000 calls: long enough (> 50 ms even at 20 us a call) for the load monitor to give a reading in both
    # executors, on a fast machine too (tiny_cnn takes 0.26 ms a call in PyTorch here; 100 calls were too few)
    policy = TimingPolicy(warmup=1, min_repeats=3000, max_repeats=3000, max_time_s=60, rel_ci=0.0)
    with CampaignStore(tmp_path / "s.sqlite") as store:
        run_campaign(cpu, build_executor("tensorflow", cpu), ["tiny_cnn"], [{"threads": 1, "batch": 1}], store,
                     level="network", campaign="tf", policy=policy, reference=None)
        run_campaign(cpu, build_executor("torch", cpu), ["tiny_cnn"], [{"threads": 1, "batch": 1}], store,
                     level="network", campaign="torch", policy=policy, reference=None)
        df = store.to_frame()
    assert set(df["status"]) == {"ok"} and len(df) == 2
    tf_row, torch_row = (df[df["executor"] == e].iloc[0] for e in ("tensorflow", "torch"))
    knobs = {"threads", "inter_op_threads", "cores", "batch", "xla", "onednn", "omp_num_threads", "kmp_blocktime",
             "kmp_affinity", "dtype", "cudnn_benchmark", "tf32", "cuda_graph", "config"}
    framework_extras = {"ref_framework_s", "cuda_graph", "device"}  # what each executor adds in extra
    same = [c for c in df.columns if c not in knobs | framework_extras | {"campaign", "executor", "measured_at"}]
    assert {"runtime_s", "repeats", "converged", "other_load", "flops", "source", "view"} <= set(same)
    for col in same:  # the measurement columns are filled alike (values differ; which are filled does not)
        assert pd.isna(tf_row[col]) == pd.isna(torch_row[col]), col
    assert tf_row["flops"] == torch_row["flops"] and tf_row["network"] == torch_row["network"] == "tiny_cnn"


@pytest.mark.tf
def test_jetson_tree_tensorflow_campaign_end_to_end(tmp_path):
    root = build_fake_jetson(tmp_path / "tree", "tx1", 28, power="iio_device")
    before = snapshot(root)
    platform = build_platform("jetson", sysfs_root=str(root), restore_file=str(tmp_path / "r.json"))
    executor = build_executor(None, platform)
    assert executor.name == "tensorflow"
    space = executor.space(platform)
    configs = [{"cpu_freq": space["cpu_freq"].levels[i], "gpu_freq": space["gpu_freq"].levels[i],
                "emc_freq": space["emc_freq"].levels[i], "cores": c, "threads": 1} for i, c in ((0, 1), (-1, 4))]
    seen = {}
    real_run = executor.run

    def spy(job, **kw):  # what the platform wrote while the worker measured
        seen[job.config["cores"]] = (root / "sys/devices/system/cpu/cpu3/online").read_text().strip()
        return real_run(job, **kw)

    executor.run = spy
    summary, df = _interrupted_then_resumed(tmp_path / "s.sqlite", platform, executor, ["tiny_dense"], configs,
                                            level="layer", views=("whole", "isolated"), policy=QUICK)
    assert seen == {1: "0", 4: "1"}
    assert snapshot(root) == before and not (tmp_path / "r.json").exists()
    assert set(df["source"]) == {"simulated:jetson"} and set(df["executor"]) == {"tensorflow"}
    assert set(df["status"]) == {"ok"} and (df["runtime_s"] > 0).all()
    assert sorted(df["cores"].unique()) == [1, 4]
    assert df["power_w"].round(3).eq(4.8).all()  # the simulated VDD_IN rail (total), fixed at 4800 mW
    assert (df["power_window_s"] >= summary.power.window_s).all() and df["idle_power_w"].round(3).eq(4.8).all()
    assert (df["power_steps"] >= 10).all() and (df["power_calls"] >= 3).all()  # the same power columns as torch


def test_calibrate_and_explore_on_gpu_platforms_refuse_missing_hardware_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML on this machine
    reset_nvml_state()
    out = tmp_path / "gpu-model.json"
    assert main(["calibrate", "--platform", "nvml", "--no-progress", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "NVML not available" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no store, no model
    assert main(["explore", "--platform", f"jetson:{tmp_path}", "--network", "tiny_cnn",
                 "--objectives", "runtime_s", "--budget", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a Jetson board" in err and len(err.splitlines()) == 1


def test_explore_labels_a_simulated_jetson_and_spaces_its_knobs(tmp_path):
    from profiling.campaign import platform_source, platform_space

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 32)
    assert platform_source(f"jetson:{root}") == "simulated:jetson"
    space = platform_space(f"jetson:{root}")
    assert {"cpu_freq", "gpu_freq", "emc_freq", "cores", "threads", "batch"} <= set(space.names)


def test_live_outputs_name_power_and_energy_only_where_a_sensor_measures_them(tmp_path):
    from profiling.campaign import live_outputs
    from profiling.platforms.cpu import CpuPlatform

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 32)       # a simulated INA3221
    assert live_outputs(f"jetson:{root}") == (("runtime_s", "runtime_per_sample_s", "power_w", "energy_j",
                                                "energy_per_sample_j", "other_load"), "")
    (tmp_path / "powercap").mkdir()                             # a CPU without RAPL domains
    measured, why = live_outputs(CpuPlatform(powercap_root=str(tmp_path / "powercap")))
    assert measured == ("runtime_s", "runtime_per_sample_s", "other_load")
    assert why.startswith("absent: ") and "RAPL" in why


def test_a_live_measurement_gives_time_and_energy_per_sample(tmp_path, torch):
    # a search over the batch size minimises the time of one sample; the time of one call favours batch 1
    from profiling.campaign import live_outputs, measure_network

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 32)       # a simulated INA3221: power and energy
    out = measure_network(SPEC, {"batch": 4, "cores": 1}, platform=f"jetson:{root}", executor="torch",
                          policy=QUICK, timeout_s=120)
    assert set(out) == set(live_outputs(f"jetson:{root}")[0])
    assert out["runtime_s"] > 0 and out["runtime_per_sample_s"] == pytest.approx(out["runtime_s"] / 4)
    assert out["energy_j"] > 0 and out["energy_per_sample_j"] == pytest.approx(out["energy_j"] / 4)


def test_check_live_network_asks_the_platforms_executor(tmp_path, torch):
    from profiling.campaign import check_live_network

    assert check_live_network(SPEC, "cpu", executor="torch") == os.path.abspath(SPEC)
    with pytest.raises(SpecError, match="is not a .keras file"):  # the CPU's usual executor is TensorFlow
        check_live_network(SPEC, "cpu")
    with pytest.raises(SpecError, match="does not exist"):
        check_live_network(str(tmp_path / "gone.json"), "cpu", executor="torch")


def test_a_pending_restore_file_stops_a_campaign_before_anything_is_stored(tmp_path, torch):
    root = build_fake_jetson(tmp_path / "tree", "tx1", 32)
    restore = tmp_path / "r.json"
    restore.write_text("{}")
    platform = build_platform("jetson", sysfs_root=str(root), restore_file=str(restore))
    runner = build_executor("torch", platform)
    with CampaignStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(PlatformError, match="restore file from an earlier or concurrent run"):
            run_campaign(platform, runner, [SPEC], [{"cores": 1}], store, level="network", reference=None)
        assert store.jobs() == [] and store.campaigns() == []


def test_cli_jetson_tree_torch_campaign_exports_the_same_columns_as_the_cpu(tmp_path, torch, capsys):
    import pandas as pd

    root = build_fake_jetson(tmp_path / "tx2", "tx2", 28, power="iio_device")
    before = snapshot(root)
    space = build_executor("torch", JetsonPlatform(root)).space(JetsonPlatform(root))
    lo, hi = space["cpu_freq"].levels[0], space["cpu_freq"].levels[-1]
    common = ["profile", "--network", SPEC, "--level", "network", "--quick", "--no-progress", "--executor", "torch"]
    jet, cpu = tmp_path / "jetson.sqlite", tmp_path / "cpu.sqlite"
    assert main([*common, "--platform", "jetson", "--sysfs-root", str(root), "--store", str(jet),
                 "--config", f"cpu_freq={lo},cores=1", "--config", f"cpu_freq={hi},cores=6"]) == 0
    out = capsys.readouterr().out
    assert "platform: jetson (simulated:jetson), executor: torch" in out and "power: ina3221" in out
    assert snapshot(root) == before
    assert main([*common, "--store", str(cpu), "--config", "batch=1"]) == 0
    for store in (jet, cpu):
        assert main(["export", "--store", str(store), "-o", str(store.with_suffix(".csv"))]) == 0
    a, b = pd.read_csv(jet.with_suffix(".csv")), pd.read_csv(cpu.with_suffix(".csv"))
    # what the jetson adds: its hardware knobs (those not named stored as read back) and the power window
    extra = {"cpu_freq", "cores", "gpu_freq", "emc_freq", "power_window_s", "power_calls", "power_steps",
             "idle_power_w"}
    assert extra <= set(a.columns) and set(a.columns) - extra == set(b.columns)
    assert a["gpu_freq"].notna().all() and a["emc_freq"].notna().all()
    assert set(a["source"]) == {"simulated:jetson"} and set(b["source"]) == {"measured:cpu"}
    assert sorted(a["cpu_freq"]) == [lo, hi] and a["power_w"].round(3).eq(3.9).all()
