"""Numeric options a run cannot use are refused while parsing: one line naming the option, exit status 2, before
anything is trained, measured or written (a negative seed used to end in a NumPy traceback after the work)."""

import argparse

import pytest

from perfmodel import cli
from perfmodel.commands import argtypes


def _options(dests):
    """(command, option) of every subcommand's option whose destination is in ``dests``."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = []
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest in dests and action.option_strings:
                found.append((name, max(action.option_strings, key=len)))
    return found


SEEDS = _options({"seed", "shuffle"})


def test_every_command_with_a_seed_is_covered():
    assert {c for c, _ in SEEDS} >= {"explore", "fit", "profile", "report", "shape", "tune"}


@pytest.mark.parametrize(("command", "option"), SEEDS)
@pytest.mark.parametrize("value", ["-1", "4294967296", "1.5"])
def test_a_seed_numpy_cannot_take_is_refused_while_parsing(command, option, value, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, option, value])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert f"argument {option}: a seed is a whole number from 0 to 4294967295" in err


@pytest.mark.parametrize(("command", "option", "value"), [
    ("fleet", "--connect-timeout", "nan"),       # was a KeyError traceback from Dask's time parser
    ("fleet", "--connect-timeout", "inf"),
    ("fleet", "--connect-timeout", "-1"),        # was "could not convert string to float: '1-1.0'"
    ("profile", "--connect-timeout", "0"),
    ("shape", "--batch-size", "0"),              # was measured: the latency of an empty batch
    ("shape", "--ridge", "-1"),                  # was a traceback after every shape of the model was trained
    ("shape", "--ridge", "nan"),
    ("shape", "--max-size-kb", "-1"),            # was "max_size_bytes must be a positive number, got -1000.0"
    ("shape", "--max-latency-ms", "inf"),
    ("shape", "--max-energy-j", "0"),
    ("shape", "--epochs", "0"),
    ("tune", "--iters", "0"),
    ("tune", "--epochs", "-2"),
    ("fit", "--cv", "1"),                        # one fold has no rows left to fit on
])
def test_numbers_out_of_range_are_refused_naming_the_option(command, option, value, capsys):
    argv = [command, "status", option, value] if command == "fleet" else [command, option, value]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert f"argument {option}: expected a" in err and repr(value) in err


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("4294967295", 4294967295), ("17", 17)])
def test_seed_takes_the_whole_range(text, value):
    assert argtypes.seed(text) == value


@pytest.mark.parametrize(("convert", "text", "value"), [
    (argtypes.positive_float, "1e-3", 1e-3), (argtypes.positive_float, "12", 12.0),
    (argtypes.nonnegative_float, "0", 0.0), (argtypes.nonnegative_float, "2.5", 2.5),
    (argtypes.positive_int, "1", 1), (argtypes.positive_int, "40", 40),
    (argtypes.folds, "2", 2), (argtypes.folds, "10", 10),
])
def test_values_in_range_pass(convert, text, value):
    assert convert(text) == value


@pytest.mark.parametrize(("convert", "text"), [
    (argtypes.positive_float, "0"), (argtypes.positive_float, "-inf"), (argtypes.positive_float, "x"),
    (argtypes.nonnegative_float, "-0.1"), (argtypes.nonnegative_float, "nan"),
    (argtypes.positive_int, "0"), (argtypes.positive_int, "2.0"),
    (argtypes.folds, "1"), (argtypes.folds, "-5"), (argtypes.folds, "five"),
])
def test_values_out_of_range_fail(convert, text):
    with pytest.raises(argparse.ArgumentTypeError):
        convert(text)
