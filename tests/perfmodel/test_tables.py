"""Which rows of a table are configurations (perfmodel.tables.configuration_rows), and the CLI using it."""

import warnings

import numpy as np
import pandas as pd
import pytest

from perfmodel.cli import main
from perfmodel.tables import configuration_rows
from profiling.errors import TableError


def export_like():
    """A profiler export: per network and configuration one whole row, two layer rows, and a failed job."""
    rows = []
    for net, scale in (("neta", 1.0), ("netb", 3.0)):
        for threads in (1, 2):
            for batch in (1, 4):
                t = scale * batch / threads
                rows.append({"network": net, "level": "network", "view": "whole", "status": "ok",
                             "threads": threads, "batch": batch, "runtime_s": t})
                for layer in ("conv1", "fc"):
                    rows.append({"network": net, "level": "layer", "view": "inplace", "status": "ok",
                                 "threads": threads, "batch": batch, "runtime_s": t / 4, "layer": layer})
        rows.append({"network": net, "level": "network", "view": "whole", "status": "failed",
                     "threads": 2, "batch": 8, "runtime_s": np.nan})
    return pd.DataFrame(rows)


def test_only_whole_network_rows_of_one_network_are_configurations():
    df = export_like()
    with pytest.warns(UserWarning, match="using its 4 successful whole-network rows of 13"):
        one = configuration_rows(df[df["network"] == "neta"], ["threads", "batch"], "t.csv")
    # batch / threads for neta: (1, 1) 1, (1, 4) 4, (2, 1) 0.5, (2, 4) 2
    assert sorted(one["runtime_s"]) == [0.5, 1.0, 2.0, 4.0] and set(one["level"]) == {"network"}
    with pytest.raises(TableError, match=r"'t.csv' holds 2 networks \(neta, netb\)"):
        configuration_rows(df, ["threads", "batch"], "t.csv")
    with pytest.warns(UserWarning, match="8 successful whole-network rows of 26"):
        both = configuration_rows(df, ["network", "threads", "batch"], "t.csv")    # network as a knob
    assert len(both) == 8
    # a plain table (no level/view column) is kept whole, without a word
    plain = df[df["level"] == "network"].drop(columns=["level", "view", "status", "layer"]).dropna()
    plain = plain[plain["network"] == "netb"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(configuration_rows(plain, ["threads", "batch"])) == 4
    with pytest.raises(TableError, match="no successful whole-network rows"):
        configuration_rows(df[df["level"] == "layer"], ["threads", "batch"], "t.csv")


def test_fit_on_a_profiler_export_models_the_networks_not_their_layers(tmp_path, capsys):
    df = export_like()
    df.to_csv(tmp_path / "all.csv", index=False)
    df[df["network"] == "netb"].to_csv(tmp_path / "b.csv", index=False)
    base = ["fit", "--knobs", "threads,batch", "--target", "runtime_s", "--model", "linear"]
    assert main([*base, "--table", str(tmp_path / "all.csv"), "-o", str(tmp_path / "m.json")]) == 2
    assert "holds 2 networks" in capsys.readouterr().err and not (tmp_path / "m.json").exists()
    # it used to fit on all 13 rows (layers, a failed job's NaN refused as a missing objective)
    with pytest.warns(UserWarning, match="using its 4 successful whole-network rows of 13"):
        assert main([*base, "--table", str(tmp_path / "b.csv"), "-o", str(tmp_path / "m.json")]) == 0
    assert "on 4 rows" in capsys.readouterr().out


def test_a_failed_job_without_knob_values_does_not_stop_a_search_of_the_others(tmp_path, capsys):
    # the H200 eager table's inceptionresnetv2 failed before its configuration was known (no batch): the knob
    # check refused the whole table ("knob column 'batch' is empty in row 24741") though the row is no configuration
    df = export_like()
    df = pd.concat([df, pd.DataFrame([{"network": "netc", "status": "failed"}])], ignore_index=True)
    df.to_csv(tmp_path / "all.csv", index=False)
    base = ["--table", str(tmp_path / "all.csv"), "--knobs", "network,threads,batch"]
    with pytest.warns(UserWarning, match="using its 8 successful whole-network rows of 27"):
        assert main(["explore", *base, "--objectives", "runtime_s", "--budget", "3", "--strategy", "random",
                     "--quiet"]) == 0
        assert main(["fit", *base, "--target", "runtime_s", "--model", "linear", "-o", str(tmp_path / "m.json")]) == 0
    assert "on 8 rows" in capsys.readouterr().out
    # a configuration without a knob value is still refused, and a knob that is no column before anything else
    df.loc[0, "batch"] = np.nan
    df.to_csv(tmp_path / "all.csv", index=False)
    with pytest.raises(TableError, match="knob column 'batch' is empty in row 1"):
        configuration_rows(df, ["network", "threads", "batch"], "t.csv")
    with pytest.raises(TableError, match="has no column 'cores'"):
        configuration_rows(df, ["threads", "cores"], "t.csv")


def test_per_sample_outputs_are_derived_from_an_export_as_a_live_search_measures_them(tmp_path, capsys):
    # a live explore measures runtime_per_sample_s (runtime_s / batch); a replayed export of the same runs
    # said "has no column 'runtime_per_sample_s'"
    from perfmodel.tables import with_per_sample

    df = export_like()
    df["energy_j"] = 2.0 * df["runtime_s"]
    got = with_per_sample(df, ["runtime_per_sample_s", "energy_per_sample_j", "power_w"])
    ok = df["status"] == "ok"
    np.testing.assert_allclose(got.loc[ok, "runtime_per_sample_s"], df.loc[ok, "runtime_s"] / df.loc[ok, "batch"])
    np.testing.assert_allclose(got.loc[ok, "energy_per_sample_j"], 2.0 * df.loc[ok, "runtime_s"] / df.loc[ok, "batch"])
    assert "power_w" not in got  # only the per-sample outputs are derived
    # a row without a batch (a failed job) has no value; a column the table has is kept as it is; no batch column,
    # nothing derived
    df.loc[0, "batch"] = np.nan
    assert np.isnan(with_per_sample(df, ["runtime_per_sample_s"]).loc[0, "runtime_per_sample_s"])
    kept = df.assign(runtime_per_sample_s=7.0)
    assert (with_per_sample(kept, ["runtime_per_sample_s"])["runtime_per_sample_s"] == 7.0).all()
    assert "runtime_per_sample_s" not in with_per_sample(df.drop(columns="batch"), ["runtime_per_sample_s"])
    from perfmodel.tables import check_columns

    with pytest.raises(TableError, match=r"^'t.csv' has no column 'runtime_per_sample_s', derived from runtime_s / "
                                         r"batch where a table has them; it has no batch column$"):
        check_columns(df.drop(columns="batch"), objectives=["runtime_per_sample_s"], source="t.csv")
    # the commands: a search, a model and a report of the time per sample on a profiler's export
    table = tmp_path / "b.csv"
    export_like()[lambda d: d["network"] == "netb"].to_csv(table, index=False)
    out = tmp_path / "run.csv"
    with pytest.warns(UserWarning, match="successful whole-network rows"):
        assert main(["explore", "--table", str(table), "--knobs", "threads,batch", "--objectives",
                     "runtime_s,runtime_per_sample_s", "--budget", "4", "--strategy", "random", "--quiet",
                     "-o", str(out)]) == 0
        run = pd.read_csv(out)
        # netb: runtime 3 * batch / threads, so 3 / threads per sample
        np.testing.assert_allclose(run["runtime_per_sample_s"], 3.0 / run["threads"])
        assert main(["fit", "--table", str(table), "--knobs", "threads,batch", "--target", "runtime_per_sample_s",
                     "--model", "linear", "-o", str(tmp_path / "m.json")]) == 0
    assert main(["report", "--table", str(table), "--knobs", "threads,batch", "--objectives",
                 "runtime_per_sample_s", "-o", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Equation for runtime_per_sample_s" in md
    # its front weighs the latency against it (it was drawn against itself)
    assert "Pareto-optimal in runtime_s against runtime_per_sample_s" in md
    assert "runtime_per_sample_s against runtime_per_sample_s" not in md


def test_one_hot_columns_are_read_back_as_knob_columns(tmp_path):
    # Unicorn's *_baseline.csv encode each option one-hot ("core_freq@345600", ...): no knob could be named
    from perfmodel.tables import read_table

    freq = [345600, 499200, 499200, 652800]
    policy = ["rr", "fifo", "rr", "rr"]
    rows = []
    for f, p in zip(freq, policy):
        row = {f"core_freq@{v}": int(v == f) for v in (345600, 499200, 652800)}
        row.update({f"scheduler.policy@{v}": int(v == p) for v in ("fifo", "rr")})
        row.update({"x@1": 1, "x@2": 1, "only@1": 1, "y@a": 0.5, "y@b": 0.5, "time": f / 1e5})
        rows.append(row)
    path = tmp_path / "hot.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"hot.csv: 2 group\(s\) of one-hot columns \(name@level\) read as knob "
                                         r"columns: core_freq, scheduler.policy$"):
        df = read_table(path, knobs=["core_freq", "scheduler.policy"])
    assert df["core_freq"].tolist() == freq and pd.api.types.is_numeric_dtype(df["core_freq"])
    assert df["scheduler.policy"].tolist() == policy
    assert list(df.columns[:2]) == ["core_freq", "scheduler.policy"]  # where the groups were
    # not one-hot (two 1s in a row, values other than 0 and 1, a single column): kept as they are
    assert {"x@1", "x@2", "only@1", "y@a", "y@b", "time"} <= set(df.columns)
    assert not any(c.startswith(("core_freq@", "scheduler.policy@")) for c in df.columns)
    # a table that has the column already keeps its one-hot columns too
    pd.DataFrame(rows).assign(core_freq=1).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="1 group"):
        assert "core_freq@345600" in read_table(path).columns


def test_unicorns_one_hot_baseline_is_searched_and_fitted_by_its_knob_names(tmp_path, capsys):
    import os

    table = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "unicorn", "data", "sampled", "TX2",
                         "Image", "TX2_Image_baseline.csv")
    raw = pd.read_csv(table)
    hot = raw[[c for c in raw.columns if c.startswith("core_freq@")]]
    expected = hot.idxmax(axis=1).str.split("@").str[1].astype(int)  # the level of each row's 1
    out = tmp_path / "run.csv"
    with pytest.warns(UserWarning, match="26 group"):
        assert main(["explore", "--table", table, "--knobs", "core_freq,num_cores,vm.swappiness", "--objectives",
                     "inference_time", "--budget", "5", "--strategy", "random", "--quiet", "-o", str(out)]) == 0
        assert main(["fit", "--table", table, "--knobs", "core_freq,num_cores", "--target", "inference_time",
                     "--model", "linear", "-o", str(tmp_path / "m.json")]) == 0
    run = pd.read_csv(out)
    assert set(run["core_freq"]) <= set(expected) and set(run["vm.swappiness"]) <= {10, 60, 100}
    assert f"on {len(raw)} rows" in capsys.readouterr().out


def test_tables_of_one_input_size_each_are_joined_for_a_search_and_a_model(tmp_path, capsys):
    # explore took the last of two --table options without a word; fit refused a second
    for size, scale in (("200x200", 1.0), ("400x400", 3.0)):
        rows = [{"size": size, "a": a, "b": b, "time": scale * (1.0 + (a - 2) ** 2 + b)} for a in range(5)
                for b in range(3)]
        pd.DataFrame(rows).to_csv(tmp_path / f"{size}.csv", index=False)
    tables = ["--table", str(tmp_path / "200x200.csv"), "--table", str(tmp_path / "400x400.csv")]
    out = tmp_path / "run.csv"
    assert main(["explore", *tables, "--knobs", "size,a,b", "--objectives", "time", "--budget", "30",
                 "--strategy", "random", "-o", str(out)]) == 0
    run = pd.read_csv(out)
    assert len(run) == 30 and set(run["size"]) == {"200x200", "400x400"}  # every configuration of both
    assert (run["source"] == "replay:200x200.csv+400x400.csv").all()
    assert "best found 1, best in the table 1" in capsys.readouterr().out
    assert main(["fit", *tables, "--knobs", "size,a,b", "--target", "time", "--model", "gbr",
                 "-o", str(tmp_path / "m.json")]) == 0
    assert "on 30 rows" in capsys.readouterr().out
    # without the size among the knobs, each configuration's two rows are taken together: said so
    with pytest.warns(UserWarning, match=r": the rows differ in size \(200x200, 400x400\), which is not a knob: a "
                                         r"configuration's rows of each size are taken together; add size to the "
                                         r"knobs to tell them apart$"):
        assert main(["fit", *tables, "--knobs", "a,b", "--target", "time", "--model", "gbr",
                     "-o", str(tmp_path / "m.json")]) == 0
    # a column named in only one of them is missing in the other's rows: named as such
    pd.DataFrame(rows).drop(columns="size").to_csv(tmp_path / "400x400.csv", index=False)
    assert main(["explore", *tables, "--knobs", "size,a,b", "--objectives", "time", "--budget", "3", "--quiet"]) == 2
    assert "knob column 'size' is empty in row 16" in capsys.readouterr().err


def test_the_keys_of_a_config_column_become_knob_columns(tmp_path, capsys):
    # the random-CNN check tables hold network, config ("threads=1,batch=1") and times: 'report' said "the table
    # has no config column" and found no knob; 'explore --knobs threads,batch' had no such columns
    from perfmodel.tables import config_columns, read_table

    rows = [{"network": "n", "config": f"threads={t},batch={b}", "runtime_s": b / t, "pred_runtime_s": b / t * 1.1}
            for t in (1, 2) for b in (1, 4, 8)]
    path = tmp_path / "checks.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    df = read_table(path, knobs=["threads", "batch"])
    assert df["threads"].tolist() == [1, 1, 1, 2, 2, 2] and df["batch"].tolist() == [1, 4, 8] * 2
    assert pd.api.types.is_integer_dtype(df["batch"])
    # a key some rows lack is empty there; a column of the key's name is kept; a config that does not parse adds none
    mixed = pd.DataFrame({"config": ["xla=on,threads=2", "threads=1", None]})
    got = config_columns(mixed)
    assert got["xla"].tolist()[0] == "on" and got["xla"].isna().tolist()[1:] == [True, True]
    kept = pd.DataFrame({"config": ["threads=2"], "threads": [7]})
    assert config_columns(kept)["threads"].tolist() == [7]
    assert list(config_columns(pd.DataFrame({"config": ["fast"]})).columns) == ["config"]
    assert main(["report", "--table", str(path), "--degree", "1", "-o", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Knob threads from 1 to 2: runtime_s x0.5" in md and "Knob batch from 1 to 8: runtime_s x8" in md


def test_a_table_on_standard_input(tmp_path, capsys, monkeypatch):
    # 'perfmodel export -o - | perfmodel report --table -' said "cannot read table '-'"
    import io

    rows = [{"a": a, "b": b, "time": 1.0 + (a - 2) ** 2 + b} for a in range(5) for b in range(3)]
    text = pd.DataFrame(rows).to_csv(index=False).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text)))
    out = tmp_path / "run.csv"
    assert main(["explore", "--table", "-", "--knobs", "a,b", "--objectives", "time", "--budget", "15",
                 "--strategy", "random", "--quiet", "-o", str(out)]) == 0
    run = pd.read_csv(out)
    assert len(run) == 15 and (run["source"] == "replay:stdin").all() and run["time"].min() == 1.0
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["fit", "--table", "-", "--knobs", "a", "--target", "time", "-o", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err == "perfmodel: error: table '-' is empty\n"


@pytest.mark.parametrize(("content", "said"), [
    ('{"format": "perfmodel-model", "version": 1, "kind": "config_model", "state": {}}', " (a perfmodel-model file)"),
    ('[{"threads": 1}]', ""),
])
def test_a_json_file_given_as_a_table_is_named_as_such(tmp_path, content, said):
    # it was read as CSV: "has the column '0' twice", or "has no column 'a'; columns: {"
    from perfmodel.tables import read_table

    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(TableError, match=rf"^table '{path}' is a JSON document{said}, not a CSV table$".replace(
            "(", r"\(").replace(")", r"\)")):
        read_table(path)


def test_a_csv_whose_first_header_begins_with_a_bracket_is_still_a_table(tmp_path):
    from perfmodel.tables import read_table

    path = tmp_path / "t.csv"
    path.write_text("[ms],b\n1,2\n3,4\n")
    assert list(read_table(path).columns) == ["[ms]", "b"]
