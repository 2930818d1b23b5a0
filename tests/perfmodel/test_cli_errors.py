"""Library errors name what went wrong; the CLI adds the option a user typed (from the error's ``param``)."""

import pytest

from perfmodel import cli
from perfmodel.errors import ConfigError, ModelError
from perfmodel.tune import select_energy_source
from profiling.errors import StoreError


def test_the_library_error_names_no_flag_and_carries_the_parameter():
    with pytest.raises(ConfigError) as info:
        select_energy_source("predicted", None, {})
    assert "--" not in str(info.value) and info.value.param == "model"


def test_the_cli_adds_the_option_of_the_parameter(capsys):
    rc = cli.main(["tune", "--cost-source", "predicted", "--iters", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert err.endswith("needs a layer-wise model file (--model)")


@pytest.mark.parametrize(("exc", "suffix"), [
    (ModelError("bad", param="model"), " (--model)"),
    (StoreError("locked", param="cost_source"), " (--cost-source)"),  # the long spelling of the dest
    (ModelError("bad", param="no_such_option"), ""),
    (ModelError("bad"), ""),
    (ModelError("bad --model", param="model"), ""),  # already named: not twice
])
def test_option_of(exc, suffix):
    assert cli._option_of(cli.build_parser(), "tune", exc) == suffix


def test_each_distinct_warning_is_shown_once():
    # `predict --network N --config A --config B` said "layer type(s) dense unseen in training" once per
    # configuration: Python's once-per-place rule is reset whenever a library enters warnings.catch_warnings
    fmt = cli.format_each_once()
    own = cli.__file__
    assert fmt("dense unseen", UserWarning, own, 10) == "perfmodel: warning: dense unseen\n"
    assert fmt("dense unseen", UserWarning, own, 99) == ""
    assert fmt("batch=4 outside", UserWarning, own, 10) == "perfmodel: warning: batch=4 outside\n"
    assert fmt("dense unseen", RuntimeWarning, "/elsewhere/m.py", 3).startswith(
        "/elsewhere/m.py:3: RuntimeWarning: dense unseen")
    assert cli.format_each_once()("dense unseen", UserWarning, own, 10) != ""  # one memory per command run


def test_an_option_of_one_value_given_twice_is_refused(tmp_path, capsys):
    # argparse kept the last: 'explore --table a.csv ... --budget 40 --budget 4' ran 4 evaluations without a word,
    # and 'predict --model a.json --model b.json' predicted with b
    study = tmp_path / "s.sqlite"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["explore", "--table", "t.csv", "--knobs", "a", "--objectives", "time", "--budget", "40",
                  "--study", str(study), "--budget", "4"])
    assert exit_.value.code == 2 and not study.exists()
    assert capsys.readouterr().err == ("perfmodel explore: error: argument --budget: given twice; it takes one value "
                                       "(the options that may be repeated say so in --help) (see 'perfmodel "
                                       "explore --help')\n")
    with pytest.raises(SystemExit):
        cli.main(["predict", "--model", "a.json", "--model=b.json", "--config", "x=1"])
    assert "argument --model: given twice" in capsys.readouterr().err
    # the options that are repeated by design still are, and one given once is as before
    args = cli.build_parser().parse_args(["explore", "--table", "a.csv", "--table", "b.csv", "--prior", "p.json",
                                          "--prior", "q.json", "--where", "a<1", "--where", "b<1", "--budget", "5",
                                          "--objectives", "time"])
    assert args.table == ["a.csv", "b.csv"] and args.prior == ["p.json", "q.json"] and args.budget == 5
    assert args.where == ["a<1", "b<1"]
