"""Show what a platform offers, and put a machine back as it was after a crashed run.

  perfmodel platform info --platform jetson [--sysfs-root DIR] [--json]
  perfmodel platform info --platform nvml [--index N]
  perfmodel platform info --platform cpu
  perfmodel platform restore [--platform jetson --sysfs-root DIR] [--restore-file FILE]

'info' lists the knobs a campaign on the platform varies, as 'perfmodel profile --list-knobs' does: the
hardware knobs the platform detected, with their levels and current values, then the software knobs of the
executor (--executor; default: torch on nvml, tensorflow elsewhere); the knobs it knows but this machine
lacks (with the reason); and the power sensors with a reading.

'restore' applies a restore file written before a configuration was applied (the profiler removes it
after a clean restore, so one is left only after a crash). Without --restore-file it restores the
platform's default restore file, or, without --platform, every restore file in the restore folder
(~/.cache/perfmodel/restore or $PERFMODEL_RESTORE_DIR).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from profiling.errors import PlatformError, SensorUnavailable
from profiling.platforms.base import (Platform, default_restore_dir, platform_from_name, read_restore_file,
                                      restore_from_file)

HELP = "show a platform's knobs and sensors; restore a machine after a crashed run"
PLATFORMS = ("jetson", "nvml", "cpu")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="list detected knobs with levels and current values, and sensors")
    restore = sub.add_parser("restore", help="put back the state saved in a restore file")
    for p in (info, restore):
        p.add_argument("--platform", choices=PLATFORMS, default=None if p is restore else "cpu",
                       help="platform kind (default for info: cpu)")
        p.add_argument("--sysfs-root", metavar="DIR", help="root of sys/, proc/, etc/ for jetson (default /)")
        p.add_argument("--index", type=int, default=0, help="GPU index for nvml (default 0)")
    info.add_argument("--executor", choices=("tensorflow", "torch"),
                      help="whose software knobs to list (default: torch on nvml, tensorflow elsewhere)")
    info.add_argument("--json", action="store_true", help="print a JSON document instead of text")
    restore.add_argument("--restore-file", metavar="FILE", help="restore file to apply (default: see above)")


def _build(name: str, args: argparse.Namespace) -> Platform:
    if args.sysfs_root and name != "jetson":
        raise PlatformError("--sysfs-root applies to --platform jetson only")
    init: dict[str, Any] = {}
    if name == "jetson":
        init["sysfs_root"] = args.sysfs_root or "/"
    elif name == "nvml":
        init["index"] = args.index
    return platform_from_name(name, **init)


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        return _info(args)
    return _restore(args)


# ----------------------------------------------------------------------------------------- info
def platform_info(platform: Platform, executor: Any = None) -> dict[str, Any]:
    """Everything ``platform info`` shows, as a JSON-serialisable dict: with ``executor``, the knobs of a
    campaign's space (``executor.space(platform)``: the platform's hardware knobs, the executor's software
    knobs), else the platform's own space."""
    from profiling.campaign import knob_notes

    space = platform.space() if executor is None else executor.space(platform)
    current = platform.current_values()
    notes = platform.knob_notes() if executor is None else knob_notes(platform, executor)
    hw = set(platform.hardware_knobs())
    knobs = []
    for knob in space:
        how = notes.get(knob.name, "")
        if executor is not None and knob.name not in hw:
            how = f"{executor.name}: {how}" if how else executor.name
        knobs.append({"name": knob.name, "kind": knob.kind, "hardware": knob.name in hw,
                      "levels": list(knob.levels) if knob.levels is not None else None,
                      "default": knob.default_value, "current": current.get(knob.name), "how": how})
    sensors = []
    for sensor in platform.sensors():
        ok, why = sensor.availability()
        entry: dict[str, Any] = {"name": sensor.name, "available": ok, "why": why,
                                 "energy_counter": bool(sensor.has_energy_counter)}
        if ok:
            try:
                entry["power_w"] = sensor.read_power_w()
            except SensorUnavailable as exc:
                entry["power_w"] = None
                entry["why"] = str(exc)
            describe = getattr(sensor, "describe", None)
            if callable(describe):
                entry["rails"] = describe()
        sensors.append(entry)
    return {"platform": platform.name, "source": platform.source, "describe": platform.describe(),
            "executor": None if executor is None else executor.name, "knobs": knobs,
            "unavailable": platform.unavailable_knobs(), "sensors": sensors,
            "restore_file": str(platform.restore_path()) if hw else None}


def _fmt_value(name: str, v: Any) -> str:
    if v is None:
        return "unknown"
    if name.endswith("_freq") and isinstance(v, (int, float)):
        return f"{v / 1e6:g} MHz"
    return str(v)


def _fmt_levels(name: str, levels: list[Any] | None) -> str:
    if levels is None:
        return "continuous"
    if name.endswith("_freq"):
        return "{" + ", ".join(f"{v / 1e6:g}" for v in levels) + "} MHz"
    return "{" + ", ".join(map(str, levels)) + "}"


def _info(args: argparse.Namespace) -> int:
    from profiling.campaign import build_executor
    from profiling.errors import ProfilingError

    platform = _build(args.platform, args)
    try:
        executor = build_executor(args.executor, platform)
    except ProfilingError as exc:  # the usual executor cannot run here (torch without CUDA beside an NVML GPU)
        if args.executor:
            raise
        executor, why = None, str(exc)
    doc = platform_info(platform, executor)
    if executor is None:
        doc["executor_unavailable"] = why
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return 0
    print(f"platform: {doc['platform']} ({doc['source']})")
    for key, value in doc["describe"].items():
        if key in ("platform", "source"):
            continue
        shown = json.dumps(value, default=str) if isinstance(value, (dict, list)) else value
        print(f"  {key}: {shown}")
    print("knobs:" if doc["executor"] else f"knobs (the platform's own; its executor is unavailable here: "
                                             f"{doc['executor_unavailable']}):")
    for k in doc["knobs"]:
        tag = "hardware" if k["hardware"] else "software"
        cur = f"current {_fmt_value(k['name'], k['current'])}" if k["hardware"] else \
            f"default {_fmt_value(k['name'], k['default'])}"
        print(f"  {k['name']} ({tag}, {k['kind']}, {len(k['levels'] or [])} levels): "
              f"{_fmt_levels(k['name'], k['levels'])}; {cur}" + (f"; {k['how']}" if k["how"] else ""))
    for name, why in doc["unavailable"].items():
        print(f"  {name}: not available: {why}")
    print("sensors:")
    if not doc["sensors"]:
        print("  none")
    for s in doc["sensors"]:
        if not s["available"]:
            print(f"  {s['name']}: not available: {s['why']}")
            continue
        reading = s.get("power_w")
        shown = ", ".join(f"{r}={w:.3f} W" for r, w in reading.items()) if reading else f"no reading ({s['why']})"
        kind = "energy counter + power" if s["energy_counter"] else "power"
        print(f"  {s['name']} ({kind}): {shown}")
        for rail, where in (s.get("rails") or {}).items():
            print(f"    {rail}: {where}")
    if doc["restore_file"]:
        print(f"restore file (while a configuration is applied): {doc['restore_file']}")
    return 0


# -------------------------------------------------------------------------------------- restore
def _restore(args: argparse.Namespace) -> int:
    if args.restore_file:
        doc = read_restore_file(args.restore_file)
        if args.platform and args.platform != doc["platform"]:
            raise PlatformError(f"restore file {args.restore_file} is for platform {doc['platform']!r}, "
                                f"not {args.platform!r}")
        init = {"sysfs_root": args.sysfs_root} if args.sysfs_root else {}
        platform = restore_from_file(args.restore_file, **init)
        print(f"restored {platform.name} ({platform.source}) from {args.restore_file}")
        return 0
    if args.platform:
        platform = _build(args.platform, args)
        path = platform.restore_path()
        if platform.restore_from_file(path):
            print(f"restored {platform.name} ({platform.source}) from {path}")
        else:
            print(f"nothing to restore: no restore file at {path}")
        return 0
    folder = default_restore_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        print(f"nothing to restore: no restore file in {folder}")
        return 0
    for path in files:
        platform = restore_from_file(path)
        print(f"restored {platform.name} ({platform.source}) from {path}")
    return 0
