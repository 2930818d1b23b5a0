"""Exceptions that users of :mod:`profiling` see.

Every error here carries a one-line message that names the problem; the CLI prints it and exits with
status 2.
"""


class ProfilingError(Exception):
    """Base class of every user-facing error raised by :mod:`profiling`.

    ``param`` names the argument at fault in the library's own terms (``"store"``, ``"model"``), or is None; a
    front end such as the CLI uses it to say which of its options that is, so library messages name no flags.
    """

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        self.param = param


class ConfigError(ProfilingError, ValueError):
    """A configuration, knob or configuration space is invalid."""


class SpecError(ProfilingError, ValueError):
    """A network specification or model file cannot be read or built."""


class StoreError(ProfilingError):
    """A campaign store cannot be opened, is locked, or has an unexpected schema."""


class PlatformError(ProfilingError):
    """A platform cannot apply or restore a configuration.

    ``restore_file`` is the restore file that holds the state to put back, when there is one to apply; a front
    end says how (the CLI: ``perfmodel platform restore --restore-file FILE``), so the message names no command.
    """

    def __init__(self, *args: object, param: str | None = None, restore_file: str | None = None) -> None:
        super().__init__(*args, param=param)
        self.restore_file = restore_file


class RestoreError(PlatformError):
    """A platform could not put back the state it found: the machine is not as it was (stop everything)."""


class SensorUnavailable(ProfilingError):
    """A sensor is absent or unreadable on this machine."""


class TableError(ProfilingError, ValueError):
    """A measurement table (CSV) is missing columns or holds invalid values."""


class MeasurementError(ProfilingError):
    """A measurement failed (worker crash, timeout, out of memory)."""


class FleetError(ProfilingError):
    """A fleet cannot run a campaign: the scheduler is unreachable, or no board offers the platform."""
