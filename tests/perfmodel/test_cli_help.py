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
