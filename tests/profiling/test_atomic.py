import os

import pytest

from profiling.atomic import atomic_write, check_writable, write_json
from profiling.errors import StoreError


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_text_bytes_and_callables_are_written(tmp_path):
    atomic_write(tmp_path / "a.txt", "héllo\n")
    atomic_write(tmp_path / "b.bin", b"\x00\x01")
    atomic_write(tmp_path / "c.csv", lambda fh: fh.write("x,y\n1,2\n"))
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c.csv").read_text() == "x,y\n1,2\n"
    assert _leftovers(tmp_path) == []


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")

    def boom(fh):
        fh.write("half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_a_missing_folder_is_one_line_of_the_callers_error(tmp_path):
    with pytest.raises(StoreError) as info:
        atomic_write(tmp_path / "nope" / "x.json", "{}", error=StoreError, what="study file")
    message = str(info.value)
    assert "\n" not in message and "study file" in message and "nope" in message


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(StoreError, match="directory"):
        atomic_write(tmp_path, "{}", error=StoreError)


def test_new_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "p.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_json_is_strict(tmp_path):
    write_json(tmp_path / "ok.json", {"a": 1})
    assert (tmp_path / "ok.json").read_text() == '{\n  "a": 1\n}\n'
    with pytest.raises(ValueError):
        write_json(tmp_path / "nan.json", {"a": float("nan")})
    assert not (tmp_path / "nan.json").exists()
    assert _leftovers(tmp_path) == []


def test_csv_of_a_frame(tmp_path):
    import pandas as pd

    from profiling.atomic import write_csv

    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2], "b": ["x", "y,z"]}))
    assert (tmp_path / "t.csv").read_text() == 'a,b\n1,x\n2,"y,z"\n'
    assert _leftovers(tmp_path) == []


def test_csv_named_gz_is_compressed(tmp_path):
    # `perfmodel export -o x.csv.gz` wrote plain text under a gzip name, which every reader then failed to open
    import gzip

    import pandas as pd

    from profiling.atomic import write_csv

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y,z"]})
    write_csv(tmp_path / "t.csv.gz", frame)
    data = (tmp_path / "t.csv.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b" and gzip.decompress(data) == b'a,b\n1,x\n2,"y,z"\n'
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv.gz"), frame)
    write_csv(tmp_path / "again.csv.GZ", frame)  # the same bytes for the same table
    assert (tmp_path / "again.csv.GZ").read_bytes() == data
    assert _leftovers(tmp_path) == []


def test_check_writable_says_before_a_long_job_what_the_write_would_say(tmp_path):
    check_writable(tmp_path / "new.csv", error=StoreError)           # a new file in an existing folder
    assert list(tmp_path.iterdir()) == []                            # nothing created
    with pytest.raises(StoreError, match=r"folder '.*nodir' does not exist"):
        check_writable(tmp_path / "nodir" / "x.csv", error=StoreError, what="results file")
    with pytest.raises(StoreError, match="cannot write results file .*: it is a directory"):
        check_writable(tmp_path, error=StoreError, what="results file")
    assert not (tmp_path / "nodir").exists()
