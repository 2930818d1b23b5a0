"""Fallbacks leave a trace: a warning and a column or an attribute naming what was not read (issue 21)."""

from __future__ import annotations

import warnings

import pytest

from profiling.campaign import run_campaign
from profiling.spec import LayerSpec, NetworkSpec, _layer_attrs
from profiling.store import CampaignStore


def _spec():
    inp = LayerSpec("input", "input", "InputLayer", (), (8,))
    fc = LayerSpec("fc", "dense", "Dense", ((8,),), (4,), {"units": 4, "params": 36}, ("input",))
    return NetworkSpec("tiny_dense", (8,), (inp, fc)).to_dict()


def _run(tmp_path, layers):
    def runner(job, timeout_s, memory_limit_gb):
        rows = [{"view": "whole", "level": "network", "runtime_s": 1e-3, "repeats": 5}]
        rows += [{"view": "isolated", "level": "layer", "layer": n, "unit": n, "layer_type": "dense",
                  "runtime_s": 1e-4, "repeats": 5} for n in layers]
        return {"status": "ok", "rows": rows, "spec": _spec(), "versions": {}}

    store = CampaignStore(tmp_path / "s.sqlite")
    run_campaign(store, networks=["tiny_dense"], configs=[{"threads": 1}], level="layer",
                 views=("whole", "isolated"), runner=runner)
    return store


def test_export_of_a_row_the_spec_cannot_describe_warns_and_says_why_in_a_column(tmp_path):
    with _run(tmp_path, ["fc", "ghost"]) as store:
        with pytest.warns(UserWarning, match=r"1 measurement row\(s\) exported without layer features.*ghost"):
            df = store.to_frame()
    rows = df[df["level"] == "layer"].set_index("layer")
    assert "ghost" in rows.loc["ghost", "features_error"]  # the spec has no layer 'ghost'
    assert rows.loc["fc", "flops"] > 0 and rows.loc["fc", "features_error"] != rows.loc["fc", "features_error"]  # NaN
    assert rows.loc["fc", "duplicate_of"] == ""


def test_export_without_missing_features_is_silent_and_has_no_error_column(tmp_path):
    with _run(tmp_path, ["fc"]) as store:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            df = store.to_frame()
    assert "features_error" not in df.columns


class _Opaque:
    """A custom layer whose config and parameter count cannot be read."""

    name = "custom_1"

    def get_config(self):
        raise NotImplementedError("custom layer")

    def count_params(self):
        raise ValueError("not built")


class _Plain:
    name = "dense_1"

    def get_config(self):
        return {"units": 4, "activation": "relu"}

    def count_params(self):
        return 36


def test_a_layer_whose_config_or_params_cannot_be_read_is_marked_and_warned():
    with pytest.warns(UserWarning, match=r"layer 'custom_1' \(_Opaque\): could not read its config .* and params"):
        attrs = _layer_attrs(_Opaque())
    assert attrs["params"] == 0
    assert [s.split(" ")[0] for s in attrs["incomplete"]] == ["config", "params"]
    # the mark is kept in the spec (JSON round trip), so a table built from it can tell
    spec = NetworkSpec("n", (8,), (LayerSpec("input", "input", "InputLayer", (), (8,)),
                                   LayerSpec("custom_1", "other", "_Opaque", ((8,),), (8,), attrs, ("input",))))
    assert NetworkSpec.from_json(spec.to_json()).layer("custom_1").attrs["incomplete"] == attrs["incomplete"]


def test_a_readable_layer_is_not_marked():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attrs = _layer_attrs(_Plain())
    assert attrs == {"units": 4, "activation": "relu", "params": 36}
