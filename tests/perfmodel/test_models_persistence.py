"""Model files: JSON only, version and kind checked, loadable whatever library versions wrote them."""

import json
import pickle

import numpy as np
import pytest

from perfmodel.errors import ModelError
from perfmodel.models import FlopsLinearRegressor, load_model, save_model
from perfmodel.models.persistence import FORMAT, VERSION


@pytest.fixture
def saved(tmp_path):
    m = FlopsLinearRegressor(columns=None).fit(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
    path = tmp_path / "m.json"
    save_model(m, path)
    return path


def test_file_is_json_with_format_version_kind_and_libraries(saved):
    doc = json.loads(saved.read_text())
    assert doc["format"] == FORMAT and doc["version"] == VERSION and doc["kind"] == "flops_linear"
    assert "numpy" in doc["libraries"] and "sklearn" in doc["libraries"]


def test_loads_when_written_by_other_library_versions(saved):
    doc = json.loads(saved.read_text())
    doc["libraries"] = {"numpy": "1.0.0", "sklearn": "0.20", "GPy": "0.1"}
    saved.write_text(json.dumps(doc))
    assert load_model(saved).predict(np.array([[10.0]]))[0] == pytest.approx(20.0)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=VERSION + 1), "format version"),
    (lambda d: d.update(format="something-else"), "not a perfmodel model"),
    (lambda d: d.update(kind="teapot"), "unknown model kind"),
    (lambda d: d["state"].pop("coef"), "missing coef"),
])
def test_bad_files_give_one_line_errors(saved, mutate, message):
    doc = json.loads(saved.read_text())
    mutate(doc)
    saved.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=message) as err:
        load_model(saved)
    assert "\n" not in str(err.value)


def test_kind_mismatch_names_both_kinds(saved):
    with pytest.raises(ModelError, match="'flops_linear' model, expected 'config_model'"):
        load_model(saved, kind="config_model")


def test_pickle_and_missing_files_are_refused(tmp_path):
    p = tmp_path / "m.pkl"
    p.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelError, match="not JSON"):
        load_model(p)
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope.json")


def test_failed_save_leaves_existing_file_untouched(saved):
    before = saved.read_text()
    with pytest.raises(ModelError):
        save_model(object(), saved)
    assert saved.read_text() == before


def test_deeply_nested_or_malformed_state_is_a_model_error(saved, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50000 + "]" * 50000)
    with pytest.raises(ModelError, match="nested too deeply|not a perfmodel"):
        load_model(deep)
    doc = json.loads(saved.read_text())
    doc["state"] = "not a mapping"
    saved.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="corrupt"):
        load_model(saved)
