"""Exceptions that users of :mod:`perfmodel` see.

Each carries a one-line message naming the problem; the CLI prints it and exits with status 2.
Errors of the lower layer (:mod:`profiling.errors`) are user errors too.
"""

from profiling.errors import ConfigError, ProfilingError, SpecError, StoreError, TableError

__all__ = [
    "PerfmodelError", "ModelError", "DataError", "OptimisationError", "ReportError",
    "ConfigError", "ProfilingError", "SpecError", "StoreError", "TableError", "USER_ERRORS",
]


class PerfmodelError(Exception):
    """Base class of every user-facing error raised by :mod:`perfmodel`.

    ``param`` names the argument at fault in the library's own terms (``"model"``, ``"maximize"``), or is None;
    the CLI turns it into the option a user typed (see :func:`perfmodel.cli.main`).
    """

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        self.param = param


class ModelError(PerfmodelError, ValueError):
    """A model cannot be fitted, used, saved or loaded (wrong kind, wrong version, not fitted...)."""


class DataError(PerfmodelError, ValueError):
    """Training or evaluation data are unusable (too few rows, constant target, NaN...)."""


class OptimisationError(PerfmodelError):
    """A study or optimiser cannot proceed (empty feasible set, corrupt study file...)."""


class ReportError(PerfmodelError):
    """A report cannot be written."""


USER_ERRORS = (PerfmodelError, ProfilingError)
