"""Measurement campaigns: networks x configurations, each job stored as soon as it is measured.

A campaign is resumable: a job (one network under one configuration at one level) already stored is not
measured again; a failed job is retried only when asked. Contention from other processes is recorded on
every measurement and can be waited out or refused.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, MeasurementError
from .executors.tf_executor import Job, run_job
from .executors.tf_worker import INPLACE_METHODS
from .networks import check_network
from .platforms.cpu import CpuPlatform
from .reference import speed_reference
from .sensors.load import other_load_now, wait_for_quiet
from .space import config_key, format_config
from .store import CampaignStore
from .timing import TimingPolicy

LEVEL_VIEWS = {"network": ("whole",), "layer": ("whole", "inplace", "isolated")}
VIEWS = ("whole", "inplace", "isolated")
CONTENTION_POLICIES = ("warn", "wait", "refuse")


def job_key(campaign: str, network: str, input_size: int | None, level: str, views: Sequence[str],
            config: Mapping[str, Any], inplace_method: str = "frozen") -> str:
    """Stable identity of a job, used to resume.

    The in-place method enters the key only where it changes the results: a job with the ``inplace`` view, not
    under ``xla=on``, timed by a method other than ``frozen`` (the method of every store made before the
    option existed, whose keys are thus unchanged).
    """
    items: list[Any] = [campaign, network, input_size or 0, level, sorted(views), config_key(config)]
    if inplace_method != "frozen" and "inplace" in views and not bool(config.get("xla", False)):
        items.append({"inplace_method": inplace_method})
    text = json.dumps(items)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def stored_inplace_methods(store: CampaignStore, campaign: str) -> set[str]:
    """In-place methods of the campaign's stored in-place rows (rows without the mark are ``frozen``)."""
    rows = store.conn.execute(
        "SELECT DISTINCT COALESCE(json_extract(m.extra, '$.inplace_method'), 'frozen') FROM measurements m "
        "JOIN jobs j USING (job_key) WHERE j.campaign=? AND m.view='inplace'", (campaign,)).fetchall()
    return {r[0] for r in rows}


def resolve_inplace_method(store: CampaignStore, campaign: str, requested: str | None) -> str:
    """The in-place method to use in ``campaign``: the requested one, else the one it was stored with, else live.

    A campaign keeps one method, so that its in-place units are comparable and a resumed campaign (re-run with
    the same arguments) skips its stored jobs; asking for another method than the stored one is refused.
    """
    if requested is not None and requested not in INPLACE_METHODS:
        raise ConfigError(f"unknown in-place method {requested!r}; choose {' or '.join(INPLACE_METHODS)}")
    stored = stored_inplace_methods(store, campaign)
    if requested is None:
        if len(stored) > 1:
            raise ConfigError(f"campaign {campaign!r} holds in-place rows of methods {', '.join(sorted(stored))}; "
                              f"choose one with --inplace-method")
        return next(iter(stored)) if stored else "live"
    if stored and stored != {requested}:
        raise ConfigError(f"campaign {campaign!r} was measured with in-place method {', '.join(sorted(stored))}, "
                          f"not {requested!r}; resume it with that method or choose another --campaign name")
    return requested


@dataclass
class CampaignSummary:
    """What a campaign run did."""

    measured: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    contended: int = 0
    failures: Counter = field(default_factory=Counter)
    results: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"jobs measured: {self.measured}, already stored (skipped): {self.skipped}, failed: {self.failed}, "
               f"rows stored: {self.rows}, rows under contention: {self.contended}"]
        for reason, n in self.failures.most_common():
            out.append(f"  failed x{n}: {reason}")
        return out


def run_campaign(store: CampaignStore, *, networks: Sequence[str], configs: Sequence[Mapping[str, Any]],
                 level: str = "layer", views: Sequence[str] | None = None, campaign: str = "default",
                 platform: CpuPlatform | None = None, input_size: int | None = None,
                 policy: TimingPolicy = TimingPolicy(), trace_runs: int = 20, timeout_s: float = 900.0,
                 memory_limit_gb: float | None = None, on_contention: str = "warn",
                 contention_threshold: float = 0.5, contention_wait_s: float = 300.0,
                 retry_failed: bool = False, inplace_method: str | None = None,
                 progress: Callable[[str], None] | None = None,
                 runner: Callable[..., dict[str, Any]] = run_job,
                 reference: Callable[[], dict[str, float]] | None = speed_reference,
                 shuffle: int | None = None) -> CampaignSummary:
    """Measure every network under every configuration and store each job as it finishes.

    Parameters
    ----------
    store : CampaignStore
        Open for writing.
    networks : sequence of str
        keras.applications names, built-in names or ``.keras`` paths.
    configs : sequence of mapping
        Configurations of the platform's space (validated here).
    level : {"network", "layer"}
    views : sequence of {"whole", "inplace", "isolated"}, optional
        Defaults to all views for ``layer`` and ``whole`` for ``network``.
    inplace_method : {"live", "frozen"}, optional
        How the ``inplace`` view is timed: ``live`` traces the compiled function of the ``whole`` view with the
        TF profiler; ``frozen`` traces the frozen, constant-folded graph (step stats). Default: the method the
        campaign was stored with, else ``live`` (see :func:`resolve_inplace_method`).
    on_contention : {"warn", "wait", "refuse"}
        With other processes using more than ``contention_threshold`` cores: flag the measurements, wait
        (up to ``contention_wait_s``) for quiet before each job, or refuse to measure (failed job).
    progress : callable, optional
        Called with a short text after each job (the CLI drives a progress bar with it).
    reference : callable, optional
        Timed just before each job; its values (default :func:`profiling.reference.speed_reference`:
        ``ref_compute_s``, ``ref_memory_s``) are stored in every row of the job, so that runtimes taken at
        different moments of a machine whose speed drifts can be compared. None: not recorded. (The TensorFlow
        worker adds ``ref_framework_s``, timed in the job's own process, whatever this is.)
    shuffle : int, optional
        Measure the (network, configuration) jobs in an order shuffled with this seed instead of network by
        network. On a machine whose speed drifts, the networks measured last would otherwise all be measured
        at the slowest (or fastest) speed, and models trained on some of them and tested on others would learn
        the drift as a difference between the networks. The order is the same for the same seed, so a resumed
        campaign continues where it stopped.
    """
    platform = platform or CpuPlatform()
    space = platform.space()
    if level not in LEVEL_VIEWS:
        raise ConfigError(f"unknown level {level!r}; choose network or layer")
    views = tuple(views) if views else LEVEL_VIEWS[level]
    bad = [v for v in views if v not in VIEWS]
    if bad:
        raise ConfigError(f"unknown view {bad[0]!r}; choose from {', '.join(VIEWS)}")
    if on_contention not in CONTENTION_POLICIES:
        raise ConfigError(f"unknown contention policy {on_contention!r}; choose {', '.join(CONTENTION_POLICIES)}")
    nets = [check_network(n) for n in networks]
    cfgs = [space.validate(c) for c in configs]
    sensor_name, sensor_note = platform.power_sensor_status()
    if inplace_method is not None and inplace_method not in INPLACE_METHODS:
        raise ConfigError(f"unknown in-place method {inplace_method!r}; choose {' or '.join(INPLACE_METHODS)}")
    method = resolve_inplace_method(store, campaign, inplace_method) if "inplace" in views else \
        (inplace_method or "live")
    store.ensure_campaign(campaign, platform.name, platform.source, space.to_json(indent=None), platform.describe())
    summary = CampaignSummary()
    jobs = [(net, cfg) for net in nets for cfg in cfgs]
    if shuffle is not None:
        random.Random(shuffle).shuffle(jobs)
    for net, cfg in jobs:
        key = job_key(campaign, net, input_size, level, views, cfg, method)
        status = store.has_job(key)
        if status == "ok" or (status == "failed" and not retry_failed):
            summary.skipped += 1
            if progress:
                progress(f"{net} [{format_config(cfg)}]: already stored")
            continue
        ref: dict[str, float] = {}
        load = other_load_now(0.3)
        if load > contention_threshold and on_contention == "wait":
            load = wait_for_quiet(contention_threshold, contention_wait_s)
        if load > contention_threshold and on_contention == "refuse":
            result = {"status": "failed",
                      "reason": f"contended: other processes used {load:.2f} cores (> {contention_threshold:g})"}
        else:
            job = Job(net, cfg, views, input_size, policy.__dict__, trace_runs, sensor_name, method)
            ref = reference() if reference is not None else {}
            result = runner(job, timeout_s=timeout_s, memory_limit_gb=memory_limit_gb)
        rows = result.get("rows", []) if result.get("status") == "ok" else []
        for r in rows:
            r.update(ref)
            r.setdefault("status", "ok")
            r["contended"] = r.get("other_load") is not None and r["other_load"] > contention_threshold
            summary.contended += int(r["contended"])
        note = "; ".join(x for x in (result.get("note"), sensor_note or None) if x) or None
        n = store.put_job(
            job_key=key, campaign=campaign, network=_net_name(net), input_size=input_size, level=level,
            views=views, config=cfg, status=result["status"], reason=result.get("reason"), note=note,
            power_sensor=sensor_name or sensor_note, versions=result.get("versions"),
            wall_s=result.get("wall_s"), rows=rows,
            spec_json=json.dumps(result["spec"]) if result.get("spec") else None)
        summary.rows += n
        result["network"], result["config"] = _net_name(net), cfg
        summary.results.append(result)
        if result["status"] == "ok":
            summary.measured += 1
        else:
            summary.failed += 1
            summary.failures[result.get("reason", "unknown").split(":")[0]] += 1
        if progress:
            progress(f"{_net_name(net)} [{format_config(cfg)}]: {result['status']}")
    return summary


def _net_name(ident: str) -> str:
    import os

    return os.path.splitext(os.path.basename(ident))[0] if os.path.isabs(ident) else ident


def platform_space(platform: str = "cpu"):
    """The configuration space of a live platform by name (only ``cpu`` runs TensorFlow here)."""
    return _live_platform(platform).space()


def _live_platform(platform: str | CpuPlatform | None) -> CpuPlatform:
    if platform is None or platform == "cpu":
        return CpuPlatform()
    if isinstance(platform, CpuPlatform):
        return platform
    raise ConfigError(f"live measurements run on platform 'cpu' only, not {platform!r}")


def measure_network(network: str, config: Mapping[str, Any], *, platform: str | CpuPlatform | None = "cpu",
                    input_size: int | None = None, policy: TimingPolicy | None = None,
                    timeout_s: float = 600.0) -> dict[str, Any]:
    """Measure one network under one configuration (whole network) and return its objectives.

    Returns a dict with ``runtime_s`` and, when a power sensor exists, ``power_w`` and ``energy_j`` (absent
    otherwise: never invented), plus ``other_load``. Raises :class:`ConfigError` for a bad configuration and
    :class:`MeasurementError` with the worker's reason when the measurement fails.
    """
    plat = _live_platform(platform)
    cfg = plat.space().validate(config)
    ident = check_network(network)
    sensor_name, _ = plat.power_sensor_status()
    pol = policy or TimingPolicy.quick()
    result = run_job(Job(ident, cfg, ("whole",), input_size, pol.__dict__, 0, sensor_name), timeout_s=timeout_s)
    if result["status"] != "ok":
        raise MeasurementError(f"measuring {network} [{format_config(cfg)}] failed: {result.get('reason')}")
    row = result["rows"][0]
    out = {"runtime_s": row["runtime_s"], "other_load": row.get("other_load")}
    if row.get("power_w") is not None:
        out["power_w"], out["energy_j"] = row["power_w"], row["energy_j"]
    return out
