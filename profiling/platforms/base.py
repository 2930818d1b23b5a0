"""The small interface every platform implements.

A platform declares its knobs (a :class:`~profiling.space.ConfigSpace`), its sensors, describes itself
into every measurement, and applies a configuration's hardware state in a context manager that always
restores what it found.

Restoring is guaranteed three ways for platforms that change machine state (``hardware_knobs()`` not
empty):

* the ``finally`` of :meth:`Platform.applied` (normal exit and exceptions);
* SIGINT/SIGTERM handlers installed while the context is open: the signal unwinds the block, the state
  is restored, then the signal is delivered again to the previous handler (so Ctrl-C still ends the run
  with ``KeyboardInterrupt`` and SIGTERM still terminates the process);
* a JSON *restore file* written before the first hardware write (``~/.cache/perfmodel/restore`` or
  ``$PERFMODEL_RESTORE_DIR``, or the platform's ``restore_file``); it is removed after a clean restore,
  so after a crash (SIGKILL, power loss of the host process) :func:`restore_from_file` or
  ``perfmodel platform restore`` puts the state back.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as _dt
import importlib
import inspect
import json
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..errors import ConfigError, PlatformError, RestoreError
from ..sensors.base import PowerSensor
from ..space import ConfigSpace

RESTORE_FORMAT = "perfmodel.RestoreState"
RESTORE_VERSION = 1

#: Platform name -> "module:Class" used to rebuild a platform from a restore file.
PLATFORM_CLASSES = {
    "jetson": "profiling.platforms.jetson:JetsonPlatform",
    "nvml": "profiling.platforms.nvml:NvmlPlatform",
    "cpu": "profiling.platforms.cpu:CpuPlatform",
}


def default_restore_dir() -> Path:
    """Folder of restore files: ``$PERFMODEL_RESTORE_DIR`` or ``~/.cache/perfmodel/restore``."""
    env = os.environ.get("PERFMODEL_RESTORE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "perfmodel" / "restore"


class Platform(abc.ABC):
    """A machine that runs inference under configurations.

    Attributes
    ----------
    name : str
        Short identifier used on the command line (``cpu``, ``jetson``, ``nvml``, ``replay``).
    simulated : bool
        True for sources that do not measure live hardware (replay of a table, fake sysfs trees);
        every output of such a platform carries the label :attr:`source`.
    restore_file : str or Path or None
        Where :meth:`applied` saves the state it found; None uses :meth:`restore_path`'s default.
    """

    name: str = "platform"
    simulated: bool = False
    restore_file: str | os.PathLike | None = None

    @property
    def source(self) -> str:
        """Label written into every measurement (``measured:<name>`` for live hardware)."""
        return f"{'simulated' if self.simulated else 'measured'}:{self.name}"

    def __repr__(self) -> str:
        """``<NvmlPlatform measured:nvml index=0>``: the kind, what its measurements are labelled and what
        rebuilds it (no machine is read)."""
        args = "".join(f" {k}={v!r}" for k, v in self.restore_init().items())
        return f"<{type(self).__name__} {self.source}{args}>"

    @abc.abstractmethod
    def space(self) -> ConfigSpace:
        """The knobs this platform accepts, with their levels."""

    def sensors(self) -> list[PowerSensor]:
        """Power sensors of this platform (possibly none)."""
        return []

    def power_sensor(self) -> tuple[PowerSensor | None, str]:
        """The sensor campaigns measure power with: the first readable one, or ``(None, "absent: why")``."""
        whys = []
        for sensor in self.sensors():
            ok, why = sensor.availability()
            if ok:
                return sensor, ""
            whys.append(f"{sensor.name}: {why}")
        return None, "absent: " + ("; ".join(whys) if whys else f"the {self.name} platform has no power sensor")

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Model, OS, driver and library versions, stored with every measurement."""

    # ------------------------------------------------------------------ hooks of hardware platforms
    def hardware_knobs(self) -> tuple[str, ...]:
        """Knobs whose application changes machine state (and must be restored). Default: none."""
        return ()

    def unavailable_knobs(self) -> dict[str, str]:
        """Knobs this kind of platform knows but this machine lacks: name -> why (shown by ``platform info``)."""
        return {}

    def current_values(self) -> dict[str, Any]:
        """Current value of each hardware knob as read from the machine (None where unreadable)."""
        return {}

    def knob_notes(self) -> dict[str, str]:
        """One-line note per knob on how it is applied (shown by ``platform info``)."""
        return {}

    def capture_state(self, knobs: Sequence[str]) -> dict[str, Any]:
        """JSON-serialisable state that :meth:`restore_state` puts back, for the given hardware knobs."""
        return {}

    def apply_state(self, values: Mapping[str, Any]) -> None:
        """Write the given hardware knob values (already validated). Raise :class:`PlatformError` on refusal."""
        if values:
            raise PlatformError(f"platform {self.name} cannot apply hardware knobs {sorted(values)}")

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Put back a state returned by :meth:`capture_state`."""

    def restore_init(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this platform (stored in the restore file)."""
        return {}

    def restore_key(self) -> str:
        """File stem of the default restore file (unique per controlled machine)."""
        return self.name

    def restore_path(self) -> Path:
        """Path of the restore file used by :meth:`applied`."""
        if self.restore_file is not None:
            return Path(self.restore_file)
        return default_restore_dir() / f"{self.restore_key()}.json"

    # ------------------------------------------------------------------------------------ applying
    def validate_knobs(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`PlatformError` for a knob this machine lacks (before the generic validation)."""
        if not isinstance(config, Mapping):
            return
        missing = self.unavailable_knobs()
        for name in config:
            if name in missing:
                raise PlatformError(f"knob {name!r} is not available on this {self.name} platform: {missing[name]}")

    @contextlib.contextmanager
    def applied(self, config: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Apply the hardware part of ``config`` and restore the previous state on exit.

        Software-only knobs are applied by the executor. Hardware knobs absent from ``config`` are left
        as found (the yielded configuration then holds their current value when it is a valid level).
        Yields the validated configuration.
        """
        self.validate_knobs(config)
        space = self.space()
        hw = [k for k in self.hardware_knobs() if k in space]
        given = [k for k in hw if k in config]
        if not given:
            cfg = space.validate(config)
            current = self.current_values() if hw else {}
            for k in hw:  # not applied: report what the machine runs at, not a default
                cur = _valid_or_none(space, k, current.get(k))
                if cur is None:
                    cfg.pop(k, None)
                else:
                    cfg[k] = cur
            yield cfg
            return
        current = self.current_values()
        filled = dict(config)
        unknown_current = []
        for k in hw:
            if k not in filled:
                cur = _valid_or_none(space, k, current.get(k))
                if cur is None:
                    unknown_current.append(k)
                else:
                    filled[k] = cur
        cfg = space.validate(filled)
        for k in unknown_current:
            cfg.pop(k, None)
        values = {k: cfg[k] for k in given}
        path = self.restore_path()
        _check_no_pending(path)
        state = self.capture_state(given)
        write_restore_file(path, self, state)
        guard = _SignalGuard()
        guard.install()
        body_error: BaseException | None = None
        try:
            self.apply_state(values)
            yield cfg
        except BaseException as exc:
            body_error = exc
            raise
        finally:
            guard.restoring = True
            try:
                self.restore_state(state)
            except BaseException as exc:
                guard.uninstall()
                after = f" after: {body_error}" if body_error is not None else ""
                raise RestoreError(f"{self.name}: restoring the previous state failed ({exc}){after}; the state is "
                                   f"kept in the restore file {path}", restore_file=str(path)) from exc
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            guard.uninstall()
            guard.redeliver()

    def restore_from_file(self, path: str | os.PathLike | None = None) -> bool:
        """Put back the state saved in ``path`` (default: :meth:`restore_path`); False when there is none."""
        path = Path(path) if path is not None else self.restore_path()
        if not path.exists():
            return False
        doc = read_restore_file(path)
        if doc["platform"] != self.name:
            raise PlatformError(f"restore file {path} is for platform {doc['platform']!r}, not {self.name!r}")
        self.restore_state(doc["state"])
        path.unlink()
        return True


def _valid_or_none(space: ConfigSpace, knob: str, value: Any) -> Any:
    if value is None:
        return None
    try:
        return space[knob].validate(value)
    except ConfigError:
        return None


# ---------------------------------------------------------------------------------- restore files
def write_restore_file(path: str | os.PathLike, platform: Platform, state: Mapping[str, Any]) -> Path:
    """Write the state found before applying (atomically: a crash never leaves half a file)."""
    path = Path(path)
    doc = {
        "format": RESTORE_FORMAT, "version": RESTORE_VERSION, "platform": platform.name,
        "init": platform.restore_init(), "pid": os.getpid(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "state": dict(state),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(doc, indent=2), error=PlatformError, what="restore file")
    except OSError as exc:
        raise PlatformError(f"cannot write restore file {path}: {exc.strerror or exc}") from None
    return path


def read_restore_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a restore file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlatformError(f"no restore file at {path}") from None
    except (OSError, ValueError) as exc:
        raise PlatformError(f"restore file {path} cannot be read: {str(exc).splitlines()[0][:120]}") from None
    except RecursionError:
        raise PlatformError(f"restore file {path} is nested too deeply to be a restore file") from None
    if not isinstance(doc, dict) or doc.get("format") != RESTORE_FORMAT:
        raise PlatformError(f"{path} is not a perfmodel restore file")
    if doc.get("version") != RESTORE_VERSION:
        raise PlatformError(f"restore file {path} has version {doc.get('version')!r}, expected {RESTORE_VERSION}")
    if not isinstance(doc.get("state"), dict) or not isinstance(doc.get("platform"), str):
        raise PlatformError(f"restore file {path} lacks its platform or state")
    doc.setdefault("init", {})
    if not isinstance(doc["init"], dict) or not all(isinstance(v, (str, int, float, bool, type(None)))
                                                     for v in doc["init"].values()):
        raise PlatformError(f"restore file {path} has an invalid 'init' entry")
    return doc


def platform_from_name(name: str, **init: Any) -> Platform:
    """Build a platform by its command-line name (``jetson``, ``nvml``, ``cpu``)."""
    target = PLATFORM_CLASSES.get(name)
    if target is None:
        raise PlatformError(f"unknown platform {name!r}; known: {', '.join(PLATFORM_CLASSES)}")
    mod_name, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError):
        raise PlatformError(f"platform {name!r} is not available in this installation ({target} missing)") from None
    try:
        inspect.signature(cls).bind(**init)
    except TypeError as exc:  # e.g. a restore file's 'init' naming an argument the platform does not take
        raise PlatformError(f"platform {name!r} cannot be built with {sorted(init)}: {exc}") from None
    return cls(**init)


def restore_from_file(path: str | os.PathLike, platform: Platform | None = None, **init: Any) -> Platform:
    """Put back the state saved in a restore file after a crash, then remove the file.

    Parameters
    ----------
    path : path-like
        The restore file.
    platform : Platform, optional
        The platform to restore with; by default it is rebuilt from the file (its name and ``init``).
    **init
        Overrides of the stored constructor arguments (e.g. ``sysfs_root``).

    Returns
    -------
    Platform
        The platform that restored the state.
    """
    doc = read_restore_file(path)
    if platform is None:
        platform = platform_from_name(doc["platform"], **{**doc["init"], **init})
    elif platform.name != doc["platform"]:
        raise PlatformError(f"restore file {path} is for platform {doc['platform']!r}, not {platform.name!r}")
    platform.restore_state(doc["state"])
    Path(path).unlink()
    return platform


def _check_no_pending(path: Path) -> None:
    if not path.exists():
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        who = f" (written by pid {doc.get('pid')} at {doc.get('created')})"
    except (OSError, ValueError):
        who = ""
    raise PlatformError(f"a restore file from an earlier or concurrent run exists at {path}{who}; restore it first "
                        "(or remove it if that run is live)", restore_file=str(path))


# ------------------------------------------------------------------------------------------ signals
class PlatformInterrupt(BaseException):
    """Raised by the signal handler inside :meth:`Platform.applied` so that its ``finally`` restores."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signal.Signals(signum).name}")
        self.signum = signum


class _SignalGuard:
    """SIGINT/SIGTERM handlers for the duration of ``applied`` (main thread only)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.pending: int | None = None
        self.restoring = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.pending is None:
            self.pending = signum
        if not self.restoring:  # during the restore the signal waits until the state is back
            raise PlatformInterrupt(signum)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python delivers signals to the main thread only; the restore file still protects
        for sig in self.SIGNALS:
            old = signal.getsignal(sig)
            if old is signal.SIG_IGN or old is None:
                continue
            self.previous[sig] = old
            signal.signal(sig, self._handler)

    def uninstall(self) -> None:
        for sig, old in self.previous.items():
            signal.signal(sig, old)
        self.previous = {}

    def redeliver(self) -> None:
        """Deliver the signal that interrupted the block to the previous handler (after the restore)."""
        if self.pending is None:
            return
        signum, self.pending = self.pending, None
        signal.raise_signal(signum)
        # The previous handler returned (a custom one): still end the interrupted block.
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)
