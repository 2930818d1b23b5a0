"""Every option of every command says in --help what it does."""

import argparse

import pytest

from perfmodel.cli import COMMANDS, build_parser


def _command(name):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_a_help_text(name):
    silent = [a.option_strings[-1] for a in _command(name)._actions
              if a.option_strings and a.help != argparse.SUPPRESS and not (a.help or "").strip()]
    assert silent == [], f"perfmodel {name}: options without help: {silent}"


@pytest.mark.parametrize("name", COMMANDS)
def test_prose_of_help_fits_the_width_of_a_terminal(name, monkeypatch):
    """The description is written pre-wrapped (argparse keeps its lines): a prose line past 110 characters
    wraps in the middle of a word on an ordinary terminal. Example command lines may be longer."""
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps the options to the terminal's width
    text = _command(name).format_help()
    long = [line for line in text.splitlines()
            if len(line) > 110 and not line.lstrip().startswith(("perfmodel ", "PERFMODEL_"))]
    assert long == [], f"perfmodel {name} --help: prose lines over 110 characters: {long}"
