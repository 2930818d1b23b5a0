"""Bad input at every CLI entry point: one-line error, exit status 2, no traceback, no user file changed.

Each case runs ``perfmodel.cli.main`` in-process in a folder of the user's files (good and bad tables,
model and spec files, stores, earlier outputs); the folder's file hashes and modification times are
compared before and after. Commands that do not exist yet are skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sqlite3
import zipfile

import pytest

import perfmodel.tables as tables
from perfmodel.cli import main
from profiling.store import CampaignStore

GOOD_CSV = "threads,batch,runtime_s,power_w\n" + "".join(
    f"{t},{b},{0.01 * t + 0.002 * b:.4f},{3 + t}\n" for t in (1, 2, 3, 4) for b in (1, 2, 4, 8))

BAD_TABLES = {
    "missing_column": "threads,batch,power_w\n1,1,3\n2,2,4\n",
    "wrong_type": "threads,batch,runtime_s,power_w\n1,1,fast,3\n2,2,0.1,4\n",
    "nan_objective": "threads,batch,runtime_s,power_w\n1,1,,3\n2,2,nan,4\n3,4,0.1,5\n",
    "inf_objective": "threads,batch,runtime_s,power_w\n1,1,inf,3\n2,2,0.1,4\n",
    "empty": b"",
    "blank_lines": "\n\n  \n",
    "header_only": "threads,batch,runtime_s,power_w\n",
    "duplicated_header": "threads,threads,runtime_s,power_w\n1,1,0.1,3\n",
    "non_utf8": "threads,batch,runtime_s,power_w\n1,1,0.1,3\n".encode() + "\xe9,1,0.1,3\n".encode("latin-1"),
    "binary": bytes(range(256)) * 8,
    "ragged": "threads,batch,runtime_s,power_w\n1,1,0.1,3,9,9\n2\n",
    "nan_knob": "threads,batch,runtime_s,power_w\n,1,0.1,3\n2,2,0.2,4\n",
    "huge": GOOD_CSV * 40,  # over the size limit lowered for this test
}

BAD_JSON = {
    "truncated": '{"format": "perfmodel-model", "version": 1, "kind": "spar',
    "wrong_version": json.dumps({"format": "perfmodel-model", "version": 999, "kind": "gp", "state": {}}),
    "wrong_kind": json.dumps({"format": "perfmodel-model", "version": 1, "kind": "os.system", "state": {}}),
    "other_format": json.dumps({"format": "perfmodel.NetworkSpec", "version": 1, "layers": []}),
    "list": "[1, 2, 3]",
    "deep": "[" * 50000 + "]" * 50000,
    "hostile": json.dumps({"format": "perfmodel-model", "version": 1, "kind": "sparse_polynomial",
                           "state": {"__class__": "os.system", "coef_": "rm -rf /", "powers_": [[1e308] * 3]}}),
    "binary": bytes(range(256)),
    "nan": '{"format": "perfmodel-model", "version": 1, "kind": "gp", "state": {"x": NaN}}',
    # the issue-21 hang: a gradient-boosting tree whose root is its own left child (left=[0, ...])
    "cyclic_tree": json.dumps({"format": "perfmodel-model", "version": 1, "kind": "config_model", "state": {
        "model": "gbr", "knobs": ["threads", "batch"], "target": "runtime_s",
        "encoding": [{"name": "threads", "kind": "number"}, {"name": "batch", "kind": "number"}],
        "regressor": {"kind": "gbr", "state": {
            "params": {"n_estimators": 1, "learning_rate": 0.1}, "n_features_in": 2, "init": 0.1,
            "trees": [{"feature": [0, -2, -2], "threshold": [2.0, -2.0, -2.0], "left": [0, -1, -1],
                       "right": [2, -1, -1], "value": [0.0, 0.1, 0.2]}]}}}}),
    "restore_unknown_init": json.dumps({"format": "perfmodel.RestoreState", "version": 1, "platform": "cpu",
                                        "state": {}, "init": {"bogus": 1}}),
}


def _write(path, data):
    if isinstance(data, bytes):
        with open(path, "wb") as fh:
            fh.write(data)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(data)
    return str(path)


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("user")
    f = {"good": _write(d / "good.csv", GOOD_CSV)}
    for name, data in BAD_TABLES.items():
        f[f"csv:{name}"] = _write(d / f"{name}.csv", data)
    for name, data in BAD_JSON.items():
        f[f"json:{name}"] = _write(d / f"{name}.json", data)
    f["keras:text"] = _write(d / "text.keras", "not a model")
    f["keras:zip"] = str(d / "junk.keras")
    with zipfile.ZipFile(f["keras:zip"], "w") as zf:
        zf.writestr("metadata.json", "{}")
    f["keras:zip_bad_config"] = str(d / "junk2.keras")
    with zipfile.ZipFile(f["keras:zip_bad_config"], "w") as zf:
        zf.writestr("config.json", "[[[")
    f["store:text"] = _write(d / "text.sqlite", "network,runtime_s\n")
    f["store:foreign"] = str(d / "foreign.sqlite")
    con = sqlite3.connect(f["store:foreign"])
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    f["store:good"] = str(d / "good.sqlite")
    with CampaignStore(f["store:good"]) as st:
        st.ensure_campaign("c", "cpu", "measured:cpu", "{}", {})
    con = sqlite3.connect(f["store:good"])
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    f["dir"] = str(d / "adir")
    os.makedirs(f["dir"])
    f["prev_json"] = _write(d / "previous.json", '{"earlier": "output"}')
    f["prev_csv"] = _write(d / "previous.csv", "earlier,output\n1,2\n")
    os.makedirs(d / "rep")
    _write(d / "rep" / "index.md", "earlier report")
    f["rep"] = str(d / "rep")
    f["missing"] = str(d / "no_such_file")
    f["new"] = str(d / "new_output")
    return d, f


# Gaps found in code this suite does not own (reported to the lead); xfail(strict=False) so a fix shows as XPASS.
KNOWN_GAPS: dict[str, str] = {
    # case id -> the defect, for a bad input known to escape as a traceback: the case runs as xfail (not strict)
    # until fixed. None now: the restore file whose 'init' named an unknown keyword (a TypeError) was the last.
}


def _cases():
    """(id, command, argv builder); the builder takes the files dict."""
    c = []

    def add(cid, cmd, build):
        marks = [pytest.mark.xfail(reason=KNOWN_GAPS[cid], strict=False)] if cid in KNOWN_GAPS else []
        c.append(pytest.param(cmd, build, id=cid, marks=marks))

    # profile: config strings, flags, networks, stores
    for i, cfg in enumerate(["threads=2,batch=x", "threads=99", "nosuch=1", "threads", "threads=1,threads=2",
                             "threads=", "=1", ",,", "batch=3", "xla=maybe", "threads=1e400", "threads=nan",
                             "threads=-1", "threads=1.5", "kmp_affinity=diagonal", "threads=2;batch=1"]):
        add(f"profile-config-{i}", "profile", lambda f, cfg=cfg: [
            "profile", "--network", "tiny_dense", "--level", "network", "--config", cfg, "--store", f["store:good"]])
    for flag, val in [("--input-size", "-3"), ("--input-size", "0"), ("--timeout", "-1"), ("--timeout", "nan"),
                      ("--memory-limit-gb", "0"), ("--max-repeats", "0"), ("--rel-ci", "-0.1"),
                      ("--contention-threshold", "-1"), ("--samples", "x"), ("--level", "chip"),
                      ("--on-contention", "ignore"), ("--views", "whole,bogus"), ("--views", ","),
                      ("--design", "grid")]:
        add(f"profile-flag{flag}={val}", "profile", lambda f, flag=flag, val=val: [
            "profile", "--network", "tiny_dense", "--level", "network", flag, val, "--store", f["new"]])
    add("profile-design-samples-0", "profile", lambda f: [
        "profile", "--network", "tiny_dense", "--design", "lhs", "--samples", "0", "--store", f["new"]])
    add("profile-factorial-cut", "profile", lambda f: [
        "profile", "--network", "tiny_dense", "--design", "factorial", "--knobs", "threads,batch", "--samples", "3",
        "--store", f["new"]])
    add("profile-design-knob", "profile", lambda f: [
        "profile", "--network", "tiny_dense", "--design", "lhs", "--knobs", "threads,nosuch", "--store", f["new"]])
    add("profile-two-bases-design", "profile", lambda f: [
        "profile", "--network", "tiny_dense", "--design", "lhs", "--config", "threads=1", "--config", "threads=2",
        "--store", f["new"]])
    for net in ["nosuch", ",", "tiny_dense,tiny_dense", "resnet5O"]:
        add(f"profile-network-{net}", "profile", lambda f, net=net: ["profile", "--network", net, "--store", f["new"]])
    for key in ["keras:text", "keras:zip", "keras:zip_bad_config", "json:truncated", "missing", "dir"]:
        add(f"profile-network-file-{key}", "profile", lambda f, key=key: [
            "profile", "--network", f[key] + (".keras" if key in ("missing", "dir") else ""), "--store", f["new"]])
    add("profile-no-store", "profile", lambda f: ["profile", "--network", "tiny_dense"])
    add("profile-no-network", "profile", lambda f: ["profile", "--store", f["new"]])
    for key in ["store:text", "store:foreign", "dir", "csv:binary"]:
        add(f"profile-store-{key}", "profile", lambda f, key=key: [
            "profile", "--network", "tiny_dense", "--level", "network", "--store", f[key]])
    add("profile-campaign-other-platform", "profile", lambda f: [
        "profile", "--network", "tiny_dense", "--level", "network", "--views", "whole,nosuch", "--store",
        f["store:good"]])
    # export
    for key in ["store:text", "store:foreign", "dir", "missing", "csv:empty", "json:deep"]:
        add(f"export-store-{key}", "export", lambda f, key=key: ["export", "--store", f[key], "-o", f["prev_csv"]])
    add("export-output-is-store", "export", lambda f: ["export", "--store", f["store:good"], "-o", f["store:good"]])
    add("export-output-dir", "export", lambda f: ["export", "--store", f["store:good"], "-o", f["dir"]])
    add("export-output-missing-folder", "export", lambda f: [
        "export", "--store", f["store:good"], "-o", os.path.join(f["missing"], "x.csv")])
    add("export-bad-view", "export", lambda f: ["export", "--store", f["store:good"], "-o", f["new"], "--view", "x"])
    # table readers
    for name in BAD_TABLES:
        if name == "nan_objective":
            continue  # report accepts NaN objectives (failed measurements); fit leaves such rows out, below
        add(f"fit-table-{name}", "fit", lambda f, name=name: [
            "fit", "--table", f[f"csv:{name}"], "--knobs", "threads,batch", "--target", "runtime_s",
            "-o", f["prev_json"]])
        add(f"report-table-{name}", "report", lambda f, name=name: [
            "report", "--table", f[f"csv:{name}"], "--knobs", "threads,batch", "--objectives", "runtime_s",
            "-o", f["rep"]])
        add(f"explore-table-{name}", "explore", lambda f, name=name: [
            "explore", "--table", f[f"csv:{name}"], "--knobs", "threads,batch", "--objectives", "runtime_s",
            "--budget", "4", "--quiet", "-o", f["prev_csv"]])
    for name in ("nan_objective",):  # one row left: too few to fit
        add(f"fit-table-{name}", "fit", lambda f, name=name: [
            "fit", "--table", f[f"csv:{name}"], "--knobs", "threads,batch", "--target", "runtime_s",
            "-o", f["prev_json"]])
    for key in ("dir", "missing"):
        add(f"fit-table-{key}", "fit", lambda f, key=key: [
            "fit", "--table", f[key], "--knobs", "threads,batch", "--target", "runtime_s", "-o", f["prev_json"]])
    for knobs, target in [("threads,nosuch", "runtime_s"), ("threads,threads", "runtime_s"),
                          ("threads,batch", "nosuch"), (",", "runtime_s"), ("threads,batch", "threads")]:
        add(f"fit-columns-{knobs}-{target}", "fit", lambda f, knobs=knobs, target=target: [
            "fit", "--table", f["good"], "--knobs", knobs, "--target", target, "-o", f["prev_json"]])
    add("fit-store-text", "fit", lambda f: ["fit", "--store", f["store:text"], "-o", f["prev_json"]])
    add("fit-output-missing-folder", "fit", lambda f: [
        "fit", "--table", f["good"], "--knobs", "threads,batch", "--target", "runtime_s",
        "-o", os.path.join(f["missing"], "m.json")])
    # model files
    for name in BAD_JSON:
        add(f"predict-model-{name}", "predict", lambda f, name=name: [
            "predict", "--model", f[f"json:{name}"], "--table", f["good"], "-o", f["prev_csv"]])
    for key in ("missing", "dir", "store:text", "csv:binary", "keras:zip"):
        add(f"predict-model-{key}", "predict", lambda f, key=key: [
            "predict", "--model", f[key], "--table", f["good"], "-o", f["prev_csv"]])
    # explore flags
    for flag, val in [("--budget", "-1"), ("--constraint", "power_w<<3"), ("--constraint", "nosuch<=1"),
                      ("--init", "-2"), ("--strategy", "magic"), ("--maximize", "nosuch")]:
        add(f"explore-flag{flag}={val}", "explore", lambda f, flag=flag, val=val: [
            "explore", "--table", f["good"], "--knobs", "threads,batch", "--objectives", "runtime_s", flag, val,
            "--quiet", "--budget" if flag != "--budget" else "--seed", "4" if flag != "--budget" else "0"])
    for key in ("store:text", "csv:binary", "dir", "store:foreign", "csv:empty"):
        add(f"explore-study-{key}", "explore", lambda f, key=key: [
            "explore", "--table", f["good"], "--knobs", "threads,batch", "--objectives", "runtime_s",
            "--study", f[key], "--resume", "--quiet", "--budget", "4"])
    add("explore-resume-missing", "explore", lambda f: [
        "explore", "--table", f["good"], "--knobs", "threads,batch", "--objectives", "runtime_s",
        "--study", f["missing"], "--resume", "--quiet", "--budget", "4"])
    # report flags and stores
    for flag, val in [("--degree", "x"), ("--degree", "-1"), ("--group-by", "nosuch"), ("--maximize", "nosuch")]:
        add(f"report-flag{flag}={val}", "report", lambda f, flag=flag, val=val: [
            "report", "--table", f["good"], "--knobs", "threads,batch", "--objectives", "runtime_s", flag, val,
            "-o", f["rep"]])
    for key in ("store:text", "store:foreign", "missing"):
        add(f"report-store-{key}", "report", lambda f, key=key: [
            "report", "--store", f[key], "--knobs", "threads,batch", "--objectives", "runtime_s", "-o", f["rep"]])
    # platform
    for key in ("json:truncated", "json:deep", "json:binary", "json:list", "missing", "dir",
                "json:restore_unknown_init"):
        add(f"platform-restore-{key}", "platform", lambda f, key=key: [
            "platform", "restore", "--restore-file", f[key]])
    add("platform-info-bad-root", "platform", lambda f: ["platform", "info", "--platform", "jetson",
                                                          "--sysfs-root", f["dir"]])
    # every numeric option of every command, from the parser: none takes a negative number or NaN (a negative
    # seed was a NumPy traceback after the work; --connect-timeout nan a KeyError in Dask; --max-degree -1 a
    # report whose every equation was "not computed")
    for words, option in numeric_options():
        for val in ("-1", "nan"):
            add(f"numeric-{'-'.join(words)}{option}={val}", words[0], lambda f, words=words, option=option, val=val:
                [*NUMERIC_BASE[words](f), option, val])
    return c


#: a run that would be valid but for the numeric option appended to it, per (sub)command
NUMERIC_BASE = {
    ("profile",): lambda f: ["profile", "--network", "tiny_dense", "--level", "network", "--store", f["new"]],
    ("fit",): lambda f: ["fit", "--table", f["good"], "--knobs", "threads,batch", "--target", "runtime_s",
                         "-o", f["prev_json"]],
    ("explore",): lambda f: ["explore", "--table", f["good"], "--knobs", "threads,batch", "--objectives",
                             "runtime_s", "--budget", "4", "--quiet", "-o", f["prev_csv"]],
    ("report",): lambda f: ["report", "--table", f["good"], "--knobs", "threads,batch", "--objectives", "runtime_s",
                            "-o", f["rep"]],
    ("shape",): lambda f: ["shape", "--depth", "10:11:6", "--width", "1/4:1/2:1/4", "--epochs", "1",
                           "-o", f["prev_json"]],
    ("tune",): lambda f: ["tune", "--iters", "1", "--n-init", "1", "--epochs", "1", "-o", f["prev_json"]],
    ("platform", "info"): lambda f: ["platform", "info", "--platform", "nvml"],
    ("platform", "restore"): lambda f: ["platform", "restore", "--platform", "nvml", "--restore-file", f["missing"]],
    ("fleet",): lambda f: ["fleet", "status", "--scheduler", "tcp://127.0.0.1:9"],
}


def numeric_options() -> list[tuple[tuple[str, ...], str]]:
    """(command words, option) of every option that takes a number, found in the CLI's parser."""
    import argparse

    from perfmodel.cli import build_parser
    from perfmodel.commands import argtypes

    numeric = {int, float, argtypes.seed, argtypes.positive_int, argtypes.positive_float, argtypes.nonnegative_float}
    found = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*words, name))
            elif action.option_strings and action.type in numeric:
                found.append((words, max(action.option_strings, key=len)))

    walk(build_parser(), ())
    return found


def test_every_numeric_option_is_tried():
    commands = {words for words, _ in numeric_options()}
    assert commands <= set(NUMERIC_BASE), f"no base run for {sorted(commands - set(NUMERIC_BASE))}"
    assert len(numeric_options()) >= 40  # explore, profile, shape and tune have most


def _snapshot(root) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under ``root``; SQLite's own -wal/-shm side files are left out (a
    read-only reader of a WAL store needs them) - the store file itself is compared."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith(("-shm", "-wal")):
                continue
            p = os.path.join(dirpath, n)
            with open(p, "rb") as fh:
                out[p] = (hashlib.sha256(fh.read()).hexdigest(), os.stat(p).st_mtime_ns)
    return out


@pytest.mark.parametrize("command, build", _cases())
def test_bad_input_is_one_line_exit_2_and_changes_nothing(user_dir, command, build, capsys, monkeypatch):
    if importlib.util.find_spec(f"perfmodel.commands.{command}") is None:
        pytest.skip(f"perfmodel {command} does not exist yet")
    d, files = user_dir
    monkeypatch.chdir(d)
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", len(GOOD_CSV) * 20)
    argv = build(files)
    before = _snapshot(d)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, f"exit status {rc} for {argv}; stderr: {err[-300:]}"
    assert len(lines) == 1 and "error:" in lines[0], f"not a one-line error: {err[-500:]}"
    assert "Traceback" not in out + err
    after = _snapshot(d)
    assert after == before, f"files changed: {sorted(set(after.items()) ^ set(before.items()))[:3]}"


def test_debug_shows_the_traceback(user_dir, capsys):
    _, files = user_dir
    with pytest.raises(Exception) as info:
        main(["--debug", "profile", "--network", "tiny_dense", "--config", "threads=x", "--store", files["new"]])
    assert "threads" in str(info.value)
    assert not os.path.exists(files["new"])


def test_profile_resume_flag_is_accepted(user_dir, capsys):
    from perfmodel.cli import build_parser

    args = build_parser().parse_args(["profile", "--network", "tiny_dense", "--store", "x", "--resume"])
    assert args.resume is True


def count_cases() -> int:
    """Number of bad-input CLI cases (used by benchmarks/bench_reliability.py)."""
    return len(_cases())
