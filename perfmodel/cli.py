"""The ``perfmodel`` command line.

The CLI only parses arguments and reports errors; each subcommand lives in its own module of
:mod:`perfmodel.commands` (``HELP``, ``add_arguments(parser)``, ``run(args) -> int``) and calls the library.
"""

from __future__ import annotations

import argparse
import importlib
import linecache
import os
import sys
import warnings

from .errors import USER_ERRORS

# the two packages whose warnings speak to the user (a range extrapolated, rows skipped, ...)
_OWN = tuple(os.path.dirname(os.path.abspath(p)) + os.sep
             for p in (__file__, importlib.import_module("profiling").__file__))

# Order shown in --help.
COMMANDS = ("profile", "export", "calibrate", "fit", "predict", "explore", "report", "platform", "fleet", "shape",
            "tune")


class _StoreOnce(argparse._StoreAction):
    """An option of one value: given twice, an error (argparse keeps the last without a word, so a second
    ``--model`` or ``--study`` would silently replace the first)."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault("_given", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given twice; it takes one value (the options that may be repeated "
                                               "say so in --help)")
        given.add(self.dest)
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)      # add_argument without an action: one value
        self.register("action", "store", _StoreOnce)

    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perfmodel",
        description="Measure, predict and optimise the runtime, power and energy of CNN inference.",
        epilog="Run 'perfmodel COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"perfmodel.commands.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=(mod.__doc__ or mod.HELP).strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors")
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _option_of(parser: argparse.ArgumentParser, command: str, exc: Exception) -> str:
    """`` (--flag)`` for the option of ``command`` whose destination is the error's ``param``, else ``""``."""
    param = getattr(exc, "param", None)
    if not param:
        return ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            for option in action.choices[command]._actions:
                if option.dest == param and option.option_strings:
                    flag = max(option.option_strings, key=len)  # the long spelling
                    return "" if flag in str(exc) else f" ({flag})"
    return ""


def _metavar(parser: argparse.ArgumentParser, command: str, dest: str) -> str | None:
    """The metavar (``CSV``, ``JSON``) of ``command``'s option with destination ``dest``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            for option in action.choices[command]._actions:
                if option.dest == dest:
                    return option.metavar
    return None


def _restore_hint(exc: Exception) -> str:
    """How to apply the restore file a platform error names (the library's message names no command)."""
    path = getattr(exc, "restore_file", None)
    return f"; run 'perfmodel platform restore --restore-file {path}'" if path else ""


def format_warning(message, category, filename, lineno, line=None, *, debug: bool = False) -> str:
    """One line, like the errors, for the project's own UserWarnings; Python's format for anything else.

    Python's format is written out here rather than taken from ``warnings.formatwarning``, which a library
    may have replaced (GPy does on import; :func:`perfmodel.models.gp_core.import_gpy` puts the format back).
    """
    if not debug and issubclass(category, UserWarning) and os.path.abspath(filename).startswith(_OWN):
        return f"perfmodel: warning: {message}\n"
    text = f"{filename}:{lineno}: {category.__name__}: {message}\n"
    source = line if line is not None else linecache.getline(filename, lineno)
    return text + (f"  {source.strip()}\n" if source and source.strip() else "")


def format_each_once(debug: bool = False):
    """:func:`format_warning` that gives each distinct warning (category and message) once and "" (nothing
    shown) after: a model may warn the same at every configuration it predicts, and Python's own once-per-place
    rule forgets what it showed whenever a library enters ``warnings.catch_warnings``."""
    seen = set()

    def fmt(message, category, filename, lineno, line=None):
        key = (category, str(message))
        if key in seen:
            return ""
        seen.add(key)
        return format_warning(message, category, filename, lineno, line, debug=debug)

    return fmt


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """An output file that could not be written is an error before the command runs, not after an hour of
    measuring (a write that fails at the end leaves the files there as they were, but the run's result is
    lost). ``-`` is standard output for an option that writes a CSV table, an error for any other."""
    from profiling.atomic import STDOUT, check_writable

    from .errors import PerfmodelError

    for dest, flag in (("output", "--output"), ("csv", "--csv")):
        path = getattr(args, dest, None)
        if path == STDOUT and _metavar(parser, args.command, dest) == "CSV":
            continue
        if isinstance(path, str) and path:
            check_writable(path, error=PerfmodelError, what=f"{flag} file")
            for src, given in _inputs(args):
                # by inode, or by name for a file the command may create (a study, a store)
                same = (os.path.samefile(path, given) if os.path.exists(path) and os.path.exists(given)
                        else src in ("--study", "--store") and os.path.realpath(path) == os.path.realpath(given))
                if same:
                    raise PerfmodelError(f"{flag} {path!r} is also the command's {src} and would be "
                                         "overwritten; write the result elsewhere")


#: destinations of the options that name files a command reads (``model`` is a file for predict, report,
#: shape and tune, a kind of model for fit; a kind is no file and never matches)
_INPUT_DESTS = ("table", "store", "study", "source", "prior", "constraint_model", "model", "network", "specs")


def _inputs(args: argparse.Namespace):
    for dest in _INPUT_DESTS:
        value = getattr(args, dest, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                yield f"--{dest.replace('_', '-')}", item


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("perfmodel")
    except Exception:  # noqa: BLE001 - not installed: running from a checkout
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter is not for users
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        _check_outputs(parser, args)
        with warnings.catch_warnings():
            if not args.debug:
                warnings.formatwarning = format_each_once()
            return int(args._run(args) or 0)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"perfmodel: error: {exc}{_option_of(parser, args.command, exc)}{_restore_hint(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("perfmodel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (`perfmodel export -o - | head`): stop quietly, as a shell tool does;
        # stdout pointed at /dev/null so that Python's own flush at exit does not fail again
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # stdout is not a file descriptor (captured)
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
