"""Measurement campaigns: networks x configurations, each job stored as soon as it is measured.

A campaign is resumable: a job (one network under one configuration at one level) already stored is not
measured again; a failed job is retried only when asked. Contention from other processes is recorded on
every measurement and can be waited out or refused.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, MeasurementError, PlatformError, RestoreError, SensorUnavailable
from .executors.base import Executor, ExecutorJob, JobResult, executor_from_name
from .executors.tf_executor import TfExecutor
from .executors.tf_worker import INPLACE_METHODS
from .measurement import PER_SAMPLE, POWER_OUTPUTS, VIEWS, MeasurementRow
from .platforms.base import Platform, platform_from_name
from .platforms.base import _check_no_pending as check_no_pending
from .platforms.cpu import CpuPlatform
from .reference import speed_reference
from .sensors.load import other_load_now, wait_for_quiet
from .sensors.window import PowerPlan, idle_power_w, plan_power
from .space import ConfigSpace, config_key, format_config
from .store import CampaignStore
from .timing import TimingPolicy

LEVEL_VIEWS = {"network": ("whole",), "layer": ("whole", "inplace", "isolated")}
CONTENTION_POLICIES = ("warn", "wait", "refuse")


def job_key(campaign: str, network: str, input_size: int | None, level: str, views: Sequence[str],
            config: Mapping[str, Any], inplace_method: str = "frozen", executor: str = "tensorflow") -> str:
    """Stable identity of a job, used to resume.

    The in-place method enters the key only where it changes the results: a job with the ``inplace`` view, not
    under ``xla=on``, timed by a method other than ``frozen`` (the method of every store made before the
    option existed, whose keys are thus unchanged). The executor enters it when it is not TensorFlow (the
    executor of every store made before there was another).
    """
    items: list[Any] = [campaign, network, input_size or 0, level, sorted(views), config_key(config)]
    if inplace_method != "frozen" and "inplace" in views and not bool(config.get("xla", False)):
        items.append({"inplace_method": inplace_method})
    if executor != "tensorflow":
        items.append({"executor": executor})
    text = json.dumps(items)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def stored_inplace_methods(store: CampaignStore, campaign: str) -> set[str]:
    """In-place methods of the campaign's stored in-place rows (rows without the mark are ``frozen``)."""
    return store.inplace_methods(campaign)


def resolve_inplace_method(store: CampaignStore, campaign: str, requested: str | None,
                           methods: Sequence[str] = INPLACE_METHODS) -> str:
    """The in-place method to use in ``campaign``: the requested one, else the one it was stored with, else live.

    A campaign keeps one method, so that its in-place units are comparable and a resumed campaign (re-run with
    the same arguments) skips its stored jobs; asking for another method than the stored one is refused.
    """
    if requested is not None and requested not in methods:
        raise ConfigError(f"unknown in-place method {requested!r}; choose {' or '.join(methods)}")
    stored = stored_inplace_methods(store, campaign)
    if requested is None:
        if len(stored) > 1:
            raise ConfigError(f"campaign {campaign!r} holds in-place rows of methods {', '.join(sorted(stored))}; "
                              f"choose one with --inplace-method")
        return next(iter(stored)) if stored else methods[0]
    if stored and stored != {requested}:
        raise ConfigError(f"campaign {campaign!r} was measured with in-place method {', '.join(sorted(stored))}, "
                          f"not {requested!r}; resume it with that method or choose another --campaign name")
    return requested


@dataclass(frozen=True)
class JobOutcome:
    """One job of a campaign run: the network, the configuration it ran under and its result."""

    network: str
    config: Mapping[str, Any]
    result: JobResult

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def rows(self) -> tuple[MeasurementRow, ...]:
        return self.result.rows


@dataclass
class CampaignSummary:
    """What a campaign run did."""

    measured: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    contended: int = 0
    failures: Counter = field(default_factory=Counter)
    results: list[JobOutcome] = field(default_factory=list)
    power: PowerPlan | None = None
    power_note: str = ""

    def lines(self) -> list[str]:
        out = [f"jobs measured: {self.measured}, already stored (skipped): {self.skipped}, failed: {self.failed}, "
               f"rows stored: {self.rows}, rows under contention: {self.contended}"]
        for reason, n in self.failures.most_common():
            out.append(f"  failed x{n}: {reason}")
        return out


def _store_first(fn: Callable[..., CampaignSummary]) -> Callable[..., CampaignSummary]:
    """Accept the store-first form of earlier releases: ``run_campaign(store, networks=..., platform=..., runner=...)``.

    That form runs the TensorFlow executor (``runner`` standing in for its worker process) on ``platform``
    (default: the local CPU).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> CampaignSummary:
        if args and isinstance(args[0], CampaignStore):
            if len(args) > 1:
                raise TypeError("the store-first form of run_campaign takes keyword arguments only")
            platform = kwargs.pop("platform", None) or CpuPlatform()
            runner = kwargs.pop("runner", None)
            return fn(platform, TfExecutor(runner), store=args[0], **kwargs)
        if "runner" in kwargs:
            raise TypeError("runner= belongs to the store-first form; give a TfExecutor(runner) as executor")
        return fn(*args, **kwargs)

    return wrapper


def already_stored(store, key: str, retry_failed: bool, summary, progress, network: str, config) -> bool:
    """Whether the job ``key`` is skipped because the store holds it (ok, or failed and not retried); counted
    in ``summary`` and said through ``progress``. One rule for the local and the fleet campaign."""
    status = store.has_job(key)
    if status == "ok" or (status == "failed" and not retry_failed):
        summary.skipped += 1
        if progress:
            progress(f"{network} [{format_config(config)}]: already stored")
        return True
    return False


def level_views(level: str, views: Sequence[str] | None = None) -> tuple[str, ...]:
    """The views a job of ``level`` measures: ``views`` checked, or the level's default ones."""
    if level not in LEVEL_VIEWS:
        raise ConfigError(f"unknown level {level!r}; choose network or layer")
    views = tuple(views) if views else LEVEL_VIEWS[level]
    bad = [v for v in views if v not in VIEWS]
    if bad:
        raise ConfigError(f"unknown view {bad[0]!r}; choose from {', '.join(VIEWS)}")
    return views


@_store_first
def run_campaign(platform: Platform | None = None, executor: Executor | None = None, networks: Sequence[str] = (),
                 configs: Sequence[Mapping[str, Any]] = (), store: CampaignStore | None = None, *,
                 level: str = "layer", views: Sequence[str] | None = None, campaign: str = "default",
                 input_size: int | None = None, policy: TimingPolicy = TimingPolicy(), trace_runs: int = 20,
                 timeout_s: float = 900.0, memory_limit_gb: float | None = None, on_contention: str = "warn",
                 contention_threshold: float = 0.5, contention_wait_s: float = 300.0,
                 retry_failed: bool = False, inplace_method: str | None = None,
                 progress: Callable[[str], None] | None = None,
                 reference: Callable[[], dict[str, float]] | None = speed_reference,
                 shuffle: int | None = None, power: bool = True) -> CampaignSummary:
    """Measure every network under every configuration on ``platform`` with ``executor``; store each job.

    The one pipeline of every platform: for each job the platform applies the configuration's hardware
    knobs in its :meth:`~profiling.platforms.base.Platform.applied` context (restored afterwards, whatever
    happens), the executor applies the software knobs and times the views, and the rows go into the store
    in one transaction. Everything is validated before the first job: the configurations against the
    campaign's space (:meth:`Executor.space`: the platform's hardware knobs, then the executor's), the
    knobs the platform lacks, the views, the in-place method.

    Parameters
    ----------
    platform : Platform
        Where the work runs (default: the local CPU). It owns the power sensor.
    executor : Executor
        :class:`~profiling.executors.tf_executor.TfExecutor` (default) or
        :class:`~profiling.executors.torch_executor.TorchRunner`.
    networks : sequence of str
        keras.applications names, built-in names, ``.keras`` files or NetworkSpec ``.json`` files (torch).
    configs : sequence of mapping
        Configurations of the campaign's space. Hardware knobs a configuration does not name are left as the
        machine has them (and stored with the value read back).
    store : CampaignStore
        Open for writing.
    level : {"network", "layer"}
    views : sequence of {"whole", "inplace", "isolated"}, optional
        Defaults to all views for ``layer`` and ``whole`` for ``network``.
    inplace_method : str, optional
        How the ``inplace`` view is timed (TensorFlow: ``live`` or ``frozen``; PyTorch: ``events``).
        Default: the method the campaign was stored with, else the executor's first.
    on_contention : {"warn", "wait", "refuse"}
        With other processes using more than ``contention_threshold`` cores: flag the measurements, wait
        (up to ``contention_wait_s``) for quiet before each job, or refuse to measure (failed job).
    progress : callable, optional
        Called with a short text after each job (the CLI drives a progress bar with it).
    reference : callable, optional
        Timed just before each job; its values (default :func:`profiling.reference.speed_reference`) are
        stored in every row of the job. None: not recorded.
    shuffle : int, optional
        Measure the (network, configuration) jobs in an order shuffled with this seed.
    power : bool
        Measure power where the platform has a sensor (window of 10 measured sensor steps, idle baseline
        per job; :mod:`profiling.sensors.window`). False: power columns empty, with the note ``not asked``.
    """
    platform = platform if platform is not None else CpuPlatform()
    executor = executor if executor is not None else TfExecutor()
    if store is None:
        raise ConfigError("run_campaign needs a store (profiling.store.CampaignStore)")
    space = executor.space(platform)
    views = level_views(level, views)
    if on_contention not in CONTENTION_POLICIES:
        raise ConfigError(f"unknown contention policy {on_contention!r}; choose {', '.join(CONTENTION_POLICIES)}")
    nets = [executor.check_network(n) for n in networks]
    hardware = tuple(k for k in platform.hardware_knobs() if k in space)
    cfgs = [campaign_config(platform, executor, c, space) for c in configs]
    methods = executor.inplace_methods
    if inplace_method is not None and inplace_method not in methods:
        raise ConfigError(f"unknown in-place method {inplace_method!r} for the {executor.name} executor; "
                          f"choose {' or '.join(methods)}")
    if "inplace" in views:
        method = resolve_inplace_method(store, campaign, inplace_method, methods)
    else:
        method = inplace_method or methods[0]
    if any(k in c for c in cfgs for k in hardware):
        check_no_pending(platform.restore_path())  # a crashed run's state first, or every job would fail
    store.ensure_campaign(campaign, platform.name, platform.source, space.to_json(indent=None),
                          {**platform.describe(), "executor": executor.describe()}, executor=executor.name)
    summary = CampaignSummary()
    plan, sensor_name, sensor_note = _power_plan(platform, power)
    summary.power, summary.power_note = plan, sensor_note
    jobs = [(net, cfg) for net in nets for cfg in cfgs]
    if shuffle is not None:
        random.Random(shuffle).shuffle(jobs)
    for net, cfg in jobs:
        key = job_key(campaign, net, input_size, level, views, cfg, method, executor.name)
        if already_stored(store, key, retry_failed, summary, progress, net, cfg):
            continue
        result, stored_cfg, rows, n = measure_and_store(
            platform, executor, store, key=key, network=net, config=cfg, hardware=hardware, views=views,
            level=level, input_size=input_size, policy=policy, trace_runs=trace_runs, method=method, plan=plan,
            sensor_name=sensor_name, sensor_note=sensor_note, timeout_s=timeout_s, memory_limit_gb=memory_limit_gb,
            on_contention=on_contention, contention_threshold=contention_threshold,
            contention_wait_s=contention_wait_s, reference=reference, campaign=campaign)
        summary.contended += sum(int(r.contended) for r in rows)
        summary.rows += n
        summary.results.append(JobOutcome(_net_name(net), stored_cfg, result))
        if result.status == "ok":
            summary.measured += 1
        else:
            summary.failed += 1
            summary.failures[(result.reason or "unknown").split(":")[0]] += 1
        if progress:
            progress(f"{_net_name(net)} [{format_config(stored_cfg)}]: {result.status}")
    return summary


def measure_and_store(platform: Platform, executor: Executor, store: Any, *, key: str, network: str,
                      config: Mapping[str, Any], hardware: tuple[str, ...], views: tuple[str, ...], level: str,
                      input_size: int | None, policy: TimingPolicy, trace_runs: int, method: str,
                      plan: PowerPlan | None, sensor_name: str | None, sensor_note: str, timeout_s: float,
                      memory_limit_gb: float | None, on_contention: str, contention_threshold: float,
                      contention_wait_s: float, reference: Callable[[], dict[str, float]] | None, campaign: str,
                      board: Mapping[str, str] | None = None,
                      ) -> tuple[JobResult, dict[str, Any], list[MeasurementRow], int]:
    """Measure one job of a campaign and store it (one transaction): the step every campaign repeats, run by
    :func:`run_campaign` here and by each board's worker in a fleet (:mod:`profiling.fleet`).

    ``config`` is validated already (:func:`campaign_config`). ``board`` (``name``, ``host``) marks every row
    and the job's environment with the machine that measured it. Returns the result (its rows as stored),
    the configuration as stored (hardware knobs not named: the values read back), the rows and the number of
    rows written (0 when the job was stored already, e.g. by another board).
    """
    ref: dict[str, float] = {}
    load = other_load_now(0.3)
    if load > contention_threshold and on_contention == "wait":
        load = wait_for_quiet(contention_threshold, contention_wait_s)
    stored_cfg = dict(config)
    if load > contention_threshold and on_contention == "refuse":
        result = JobResult("failed", reason=f"contended: other processes used {load:.2f} cores "
                                            f"(> {contention_threshold:g})")
    else:
        ref = reference() if reference is not None else {}
        result, stored_cfg = _run_job(platform, executor, network, config, hardware, views, level, input_size,
                                      policy, trace_runs, method, plan, timeout_s, memory_limit_gb)
    marks = {f"board_{k}": v for k, v in (board or {}).items()}
    rows = []
    for r in result.rows if result.status == "ok" else ():
        contended = r.other_load is not None and r.other_load > contention_threshold
        rows.append(r.replace(contended=contended, **ref, **marks))
    note = "; ".join(x for x in (result.note, sensor_note or None) if x) or None
    versions = dict(result.versions or {})
    versions.update(marks)
    n = store.put_job(
        job_key=key, campaign=campaign, network=_net_name(network), input_size=input_size, level=level,
        views=views, config=stored_cfg, status=result.status, reason=result.reason, note=note,
        power_sensor=sensor_name or sensor_note, versions=versions, wall_s=result.wall_s, rows=rows,
        spec_json=json.dumps(dict(result.spec)) if result.spec else None)
    return dataclasses.replace(result, rows=tuple(rows)), stored_cfg, rows, n


def campaign_config(platform: Platform, executor: Executor, config: Mapping[str, Any],
                    space: ConfigSpace | None = None) -> dict[str, Any]:
    """Validate ``config`` for a campaign of ``executor`` on ``platform`` (the one place configurations are checked).

    Knobs the platform knows but this machine lacks are refused with their reason (PlatformError), unknown
    knobs and values out of range with ConfigError, and the executor refuses what it cannot run here (a
    CUDA knob on a CPU device). Hardware knobs that ``config`` does not name are dropped: the platform leaves
    them as found.
    """
    space = space if space is not None else executor.space(platform)
    platform.validate_knobs(config)
    full = space.validate(config)
    hardware = set(platform.hardware_knobs())
    cfg = {k: v for k, v in full.items() if k not in hardware or k in config}
    executor.check_config(cfg)
    return cfg


def _power_plan(platform: Platform, power: bool) -> tuple[PowerPlan | None, str | None, str]:
    """The campaign's power plan (sensor step and window measured now), or None with the reason."""
    if not power:
        return None, None, "absent: power not asked"
    sensor, note = platform.power_sensor()
    if sensor is None:
        return None, None, note
    try:
        plan = plan_power(sensor, idle=False)
    except SensorUnavailable as exc:
        return None, None, f"absent: {exc}"
    return plan, sensor.name, ""


def _run_job(platform: Platform, executor: Executor, net: str, cfg: Mapping[str, Any], hardware: tuple[str, ...],
             views: tuple[str, ...], level: str, input_size: int | None, policy: TimingPolicy, trace_runs: int,
             method: str, plan: PowerPlan | None, timeout_s: float,
             memory_limit_gb: float | None) -> tuple[JobResult, dict[str, Any]]:
    """Apply the hardware knobs, measure the idle baseline under them, run the executor; restore."""
    hw_cfg = {k: v for k, v in cfg.items() if k in hardware}
    stored = dict(cfg)
    try:
        with platform.applied(hw_cfg) as applied:
            for k in hardware:  # knobs not named: the value the machine runs at
                if k not in stored and k in applied:
                    stored[k] = applied[k]
            job_plan = plan
            if plan is not None:
                job_plan = dataclasses.replace(plan, idle_power_w=idle_power(plan))
            job = ExecutorJob(net, stored, views, level, input_size, policy, trace_runs, method, job_plan, hardware)
            return executor.run(job, timeout_s=timeout_s, memory_limit_gb=memory_limit_gb), stored
    except RestoreError:
        raise  # the machine is not as it was: stop the campaign (the restore file says how to put it back)
    except PlatformError as exc:
        return JobResult("failed", reason=f"platform: {exc}"), stored


def idle_power(plan: PowerPlan) -> float | None:
    """Idle power (W) over one window of ``plan``, nothing running in this process."""
    try:
        return idle_power_w(plan.sensor, plan.window_s)
    except SensorUnavailable:
        return None


def _net_name(ident: str) -> str:
    import os

    return os.path.splitext(os.path.basename(ident))[0] if os.path.isabs(ident) else ident


#: The executor a user of each platform expects when none is named.
DEFAULT_EXECUTOR = {"cpu": "tensorflow", "jetson": "tensorflow", "nvml": "torch"}


def build_platform(name: str, *, device: str | None = None, sysfs_root: str | None = None,
                   restore_file: str | None = None) -> Platform:
    """A live platform by name: ``cpu``, ``nvml`` (GPU of ``device`` ``cuda:N``, default 0) or ``jetson``
    (``sysfs_root``, default ``/``). ``name`` may carry its argument: ``jetson:DIR``, ``nvml:N``.

    Raises PlatformError for an unknown name, a GPU index NVML does not see, or a root that is not a
    Jetson tree; ConfigError for an option the platform does not take.
    """
    name, _, arg = str(name).partition(":")
    if name == "jetson" and arg:
        sysfs_root = sysfs_root or arg
    if name == "nvml" and arg:
        device = device or f"cuda:{arg}"
    if sysfs_root is not None and name != "jetson":
        raise ConfigError(f"a sysfs root applies to the jetson platform only, not {name!r}")
    if device is not None and name == "jetson":
        raise ConfigError("the jetson platform takes no device (its GPU is the board's)")
    init: dict[str, Any] = {}
    if name == "jetson":
        init["sysfs_root"] = sysfs_root or "/"
    elif name == "nvml":
        init["index"] = gpu_index(device)
    if restore_file is not None and name != "cpu":
        init["restore_file"] = restore_file
    return platform_from_name(name, **init)


def gpu_index(device: str | None) -> int:
    """The GPU index of ``cuda``, ``cuda:N`` or ``N`` (ConfigError otherwise)."""
    if device in (None, "", "cuda"):
        return 0
    text = str(device)
    tail = text[5:] if text.startswith("cuda:") else text
    if not tail.isdigit():
        raise ConfigError(f"device {device!r} is not a GPU; give cuda or cuda:N")
    return int(tail)


def knob_notes(platform: Platform, executor: Executor) -> dict[str, str]:
    """How each knob of a campaign's space is applied: a hardware knob by the platform, the others by the
    executor (a platform's note on a software knob it declares for itself does not apply in a campaign)."""
    hw = set(platform.hardware_knobs())
    plat, ex = platform.knob_notes(), executor.knob_notes()
    return {k.name: (plat if k.name in hw else ex).get(k.name, "") for k in executor.space(platform)}


def build_executor(name: str | None, platform: Platform, *, device: str | None = None) -> Executor:
    """The executor by name (default: the platform's usual one); torch runs on ``device`` (default: the
    platform's GPU on nvml, else the CPU)."""
    name = name or DEFAULT_EXECUTOR.get(platform.name, "tensorflow")
    if name == "torch":
        if device is None:
            device = f"cuda:{platform.index}" if platform.name == "nvml" else "cpu"  # type: ignore[attr-defined]
        return executor_from_name(name, device=device)
    if name == "tensorflow" and platform.name == "nvml":
        raise ConfigError("the tensorflow executor runs on this machine's CPU (tensorflow-cpu), not on the nvml "
                          "platform's GPU; use the torch executor there")
    if device not in (None, "cpu") and name == "tensorflow":
        raise ConfigError(f"the tensorflow executor runs on this machine's CPU; device {device!r} is for torch")
    return executor_from_name(name)


def platform_space(platform: str | Platform = "cpu", executor: str | Executor | None = None) -> ConfigSpace:
    """The configuration space of a live platform (by name or object) with its executor (default: the usual one)."""
    plat = _live_platform(platform)
    return _live_executor(plat, executor).space(plat)


def check_live_network(network: str, platform: str | Platform = "cpu", executor: str | Executor | None = None) -> str:
    """The identifier under which :func:`measure_network` builds ``network`` on a live platform; raises
    :class:`SpecError` where that platform's executor cannot build it (before anything is measured)."""
    return _live_executor(_live_platform(platform), executor).check_network(network)


def live_outputs(platform: str | Platform = "cpu") -> tuple[tuple[str, ...], str]:
    """The outputs :func:`measure_network` returns on a live platform, and why ``power_w`` and ``energy_j`` are
    not among them (``""`` when they are): a search can refuse an objective no sensor measures before it
    measures anything."""
    _, note = _live_platform(platform).power_sensor()
    return outputs_measured(note), note


def outputs_measured(power_note: str) -> tuple[str, ...]:
    """What :func:`measure_network` returns where the platform's power sensor is as ``power_note`` says
    (``""``: readable; ``"absent: why"``: not)."""
    times = ("runtime_s", "runtime_per_sample_s")
    return (*times, "other_load") if power_note else (*times, *POWER_OUTPUTS, "other_load")


def platform_source(platform: str | Platform = "cpu") -> str:
    """The label of a live platform's measurements (``measured:nvml``, ``simulated:jetson``, ...)."""
    return _live_platform(platform).source


def _live_platform(platform: str | Platform | None) -> Platform:
    if platform is None:
        return CpuPlatform()
    if isinstance(platform, Platform):
        return platform
    return _named_platform(str(platform))


@functools.lru_cache(maxsize=8)
def _named_platform(name: str) -> Platform:
    """One platform object per name in this process (an explore run measures through it many times)."""
    return build_platform(name)


@functools.lru_cache(maxsize=8)
def _named_executor(platform: Platform, name: str | None) -> Executor:
    """The executor by name (None: the platform's usual one), kept per platform (the PyTorch executor caches the
    network specs it built)."""
    return build_executor(name, platform)


def _live_executor(platform: Platform, executor: str | Executor | None) -> Executor:
    if isinstance(executor, Executor):
        return executor
    return _named_executor(platform, executor)


def measure_network(network: str, config: Mapping[str, Any], *, platform: str | Platform | None = "cpu",
                    executor: str | Executor | None = None, input_size: int | None = None,
                    policy: TimingPolicy | None = None, timeout_s: float = 600.0,
                    power: bool = True) -> dict[str, Any]:
    """Measure one network under one configuration (whole network) and return its objectives.

    Goes through the campaign's pipeline (validation, the platform's ``applied``, the executor, the
    power window), without a store. Returns a dict with ``runtime_s`` (one call of the whole batch) and
    ``runtime_per_sample_s`` (divided by the configuration's ``batch``, 1 without one) and, when a power
    sensor exists, ``power_w``, ``energy_j`` and ``energy_per_sample_j`` (absent otherwise: never invented),
    plus ``other_load``. Raises
    :class:`ConfigError`/:class:`PlatformError` for a bad configuration and :class:`MeasurementError` with
    the executor's reason when the measurement fails.
    """
    plat = _live_platform(platform)
    ex = _live_executor(plat, executor)
    space = ex.space(plat)
    cfg = campaign_config(plat, ex, config, space)
    ident = ex.check_network(network)
    pol = policy or TimingPolicy.quick()
    plan, _, _ = _power_plan(plat, power)
    hardware = tuple(k for k in plat.hardware_knobs() if k in space)
    result, stored = _run_job(plat, ex, ident, cfg, hardware, ("whole",), "network", input_size, pol, 0,
                              ex.inplace_methods[0] if ex.inplace_methods else "", plan, timeout_s, None)
    if result.status != "ok" or not result.rows or result.rows[0].runtime_s is None:
        raise MeasurementError(f"measuring {network} [{format_config(stored)}] failed: {result.reason}")
    row = result.rows[0]
    batch = int(stored.get("batch", 1) or 1)
    # per sample: what a search over the batch size weighs (the time of one call alone favours batch 1)
    out = {"runtime_s": row.runtime_s, "other_load": row.other_load}
    if row.power_w is not None:
        out["power_w"], out["energy_j"] = row.power_w, row.energy_j
    out.update({name: out[per_call] / batch for name, per_call in PER_SAMPLE.items() if per_call in out})
    return out
