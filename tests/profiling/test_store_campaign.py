import sqlite3

import pytest

from profiling.campaign import run_campaign
from profiling.errors import ConfigError, StoreError
from profiling.platforms.cpu import CpuPlatform
from profiling.spec import LayerSpec, NetworkSpec
from profiling.store import CampaignStore


def _spec():
    inp = LayerSpec("input", "input", "InputLayer", (), (8,))
    fc = LayerSpec("fc", "dense", "Dense", ((8,),), (4,), {"units": 4, "params": 36})
    return NetworkSpec("tiny_dense", (8,), (inp, fc)).to_dict()


class FakeRunner:
    """Stands in for the TensorFlow worker: deterministic rows, optional failures (test only)."""

    def __init__(self, fail_networks=()):
        self.calls = []
        self.fail = set(fail_networks)

    def __call__(self, job, timeout_s, memory_limit_gb):
        self.calls.append((job.network, dict(job.config)))
        if job.network in self.fail:
            return {"status": "failed", "reason": "timeout: worker ran longer than 1 s"}
        t = 0.001 * job.config["threads"]
        rows = [{"view": "whole", "level": "network", "runtime_s": t, "repeats": 5, "other_load": 0.0}]
        if "isolated" in job.views:
            rows.append({"view": "isolated", "level": "layer", "layer": "fc", "unit": "fc", "layer_type": "dense",
                         "runtime_s": t / 2, "repeats": 5, "other_load": 0.9, "overhead_s": 1e-4})
        return {"status": "ok", "rows": rows, "spec": _spec(), "versions": {"tensorflow": "fake"}}


def _run(store, runner, **kw):
    args = dict(networks=["tiny_dense"], configs=[{"threads": 1}, {"threads": 2}], level="layer",
                views=("whole", "isolated"), runner=runner)
    args.update(kw)
    return run_campaign(store, **args)


def test_campaign_stores_rows_and_resumes_without_remeasuring(tmp_path):
    path = tmp_path / "s.sqlite"
    runner = FakeRunner()
    with CampaignStore(path) as store:
        summary = _run(store, runner)
        assert summary.measured == 2 and summary.rows == 4
        assert summary.contended == 2  # the isolated rows report 0.9 cores of other load
    with CampaignStore(path) as store:
        summary = _run(store, runner)
        assert summary.skipped == 2 and summary.measured == 0
        assert store.count() == 4
    assert len(runner.calls) == 2


def test_failed_jobs_are_recorded_and_retried_only_on_request(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as store:
        summary = _run(store, FakeRunner(fail_networks={"tiny_dense"}))
        assert summary.failed == 2 and summary.failures["timeout"] == 2
        assert {j["status"] for j in store.jobs()} == {"failed"}
        again = _run(store, FakeRunner())
        assert again.skipped == 2
        retried = _run(store, FakeRunner(), retry_failed=True)
        assert retried.measured == 2
        assert {j["status"] for j in store.jobs()} == {"ok"}


def test_export_frame_has_units_knobs_and_features(tmp_path):
    with CampaignStore(tmp_path / "s.sqlite") as store:
        _run(store, FakeRunner())
        df = store.to_frame()
    assert {"runtime_s", "power_w", "energy_j", "threads", "batch", "flops", "source"} <= set(df.columns)
    assert set(df["source"]) == {"measured:cpu"}
    iso = df[df["view"] == "isolated"].iloc[0]
    assert iso["flops"] == 2 * 8 * 4 and iso["layer_type"] == "dense"
    assert df["power_w"].isna().all()  # no sensor here: empty, never invented


def test_export_marks_layers_that_repeat_an_earlier_computation(tmp_path):
    def pool(name):
        return LayerSpec(name, "avg_pool", "AveragePooling2D", ((4, 4, 2),), (4, 4, 2),
                         {"pool_size": [3, 3], "strides": [1, 1], "padding": "same", "params": 0}, ("input",))

    inp = LayerSpec("input", "input", "InputLayer", (), (4, 4, 2))
    # a built-in name for the campaign; the fake worker returns its own spec, as a real one returns the model's
    spec = NetworkSpec("tiny_dense", (4, 4, 2), (inp, pool("left"), pool("right"))).to_dict()

    def runner(job, timeout_s, memory_limit_gb):
        rows = [{"view": "whole", "level": "network", "runtime_s": 1e-4, "repeats": 5}]
        rows += [{"view": "inplace", "level": "layer", "layer": n, "unit": n, "layer_type": "avg_pool",
                  "runtime_s": t, "repeats": 5} for n, t in (("left", 3e-5), ("right", 4e-6))]
        return {"status": "ok", "rows": rows, "spec": spec, "versions": {}}

    with CampaignStore(tmp_path / "s.sqlite") as store:
        run_campaign(store, networks=["tiny_dense"], configs=[{"threads": 1}], level="layer",
                     views=("whole", "inplace"), runner=runner)
        df = store.to_frame()
    layers = df[df["level"] == "layer"].set_index("layer")
    assert layers.loc["right", "duplicate_of"] == "left" and layers.loc["left", "duplicate_of"] == ""


def test_store_of_another_application_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another application"):
        CampaignStore(path)
    assert path.read_bytes() == before


def test_non_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(StoreError, match="not a SQLite store"):
        CampaignStore(path)
    assert path.read_text() == "hello"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    CampaignStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema version 99"):
        CampaignStore(path, readonly=True)


def test_second_writer_gets_a_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path):
        with pytest.raises(StoreError, match="in use by another process"):
            CampaignStore(path)
        reader = CampaignStore(path, readonly=True)
        reader.close()


def test_bad_configuration_is_rejected_before_anything_is_stored(tmp_path):
    path = tmp_path / "s.sqlite"
    with CampaignStore(path) as store:
        with pytest.raises(ConfigError, match="threads"):
            _run(store, FakeRunner(), configs=[{"threads": 999}])
        assert store.count() == 0 and store.jobs() == []


def test_cpu_space_has_the_issue_knobs():
    names = set(CpuPlatform().space().names)
    assert {"threads", "inter_op_threads", "cores", "batch", "xla", "onednn", "omp_num_threads",
            "kmp_blocktime", "kmp_affinity"} == names


def test_every_row_of_a_job_carries_the_speed_reference_timed_before_it(tmp_path):
    refs = iter([{"ref_compute_s": 1e-3, "ref_memory_s": 2e-3}, {"ref_compute_s": 1.5e-3, "ref_memory_s": 3e-3}])
    with CampaignStore(tmp_path / "s.sqlite") as store:
        _run(store, FakeRunner(), reference=lambda: next(refs))
        df = store.to_frame()
    by_threads = df.groupby("threads")[["ref_compute_s", "ref_memory_s"]].agg(["min", "max"])
    assert by_threads.loc[1].tolist() == [1e-3, 1e-3, 2e-3, 2e-3]  # both rows of the first job
    assert by_threads.loc[2].tolist() == [1.5e-3, 1.5e-3, 3e-3, 3e-3]
    with CampaignStore(tmp_path / "none.sqlite") as store:
        _run(store, FakeRunner(), reference=None)
        assert "ref_compute_s" not in store.to_frame().columns


def test_shuffled_campaign_measures_every_job_once_in_a_seeded_order_and_resumes(tmp_path):
    nets = [f"synthetic_{i}" for i in range(4)]  # valid names; the fake runner builds nothing
    configs = [{"threads": 1}, {"threads": 2}]
    given = [(n, t) for n in nets for t in (1, 2)]

    def order(runner):
        return [(n, c["threads"]) for n, c in runner.calls]

    plain, first, again = FakeRunner(), FakeRunner(), FakeRunner()
    with CampaignStore(tmp_path / "a.sqlite") as store:
        _run(store, plain, networks=nets, configs=configs)
    assert order(plain) == given  # network by network without the option
    with CampaignStore(tmp_path / "b.sqlite") as store:
        _run(store, first, networks=nets, configs=configs, shuffle=7)
    with CampaignStore(tmp_path / "c.sqlite") as store:
        _run(store, again, networks=nets, configs=configs, shuffle=7)
    assert sorted(order(first)) == given and order(first) != given
    assert order(again) == order(first)  # the seed fixes the order
    # a resumed shuffled campaign measures only what is missing
    resumed = FakeRunner()
    with CampaignStore(tmp_path / "b.sqlite") as store:
        summary = _run(store, resumed, networks=[*nets, "synthetic_4"], configs=configs, shuffle=7)
    assert summary.skipped == 8 and sorted(order(resumed)) == [("synthetic_4", 1), ("synthetic_4", 2)]
