"""The fleet engine: a campaign's jobs as Dask tasks, each measured and stored by a board's worker.

The client (:func:`run_fleet_campaign`) checks everything before the first job leaves it: the scheduler
answers, some worker offers the platform's resource, the configurations are valid on a board of the fleet
(validated by one of them: a Jetson's frequency tables live on the Jetson), and the store opens with the
campaign recorded. It then submits one task per job not stored yet, with ``resources={resource: 1}``: a
board whose worker was started with ``--resources "jetson=1"`` runs one job at a time (two at once would
measure their contention). The Dask key of a task is derived from the job key, so a job is queued once.

On the board (:func:`run_on_board`), the worker builds its platform from ``$PERFMODEL_BOARD_PLATFORM``
(``jetson:/``, ``nvml:0``, ``cpu``; default: the campaign's platform name), looks the job up in the store
(stored already: nothing is measured; a worker lost after storing a job and before reporting it leaves the
job stored once), measures it through :func:`profiling.campaign.measure_and_store` and stores it itself,
with the board's identity (``board_name``, ``board_host`` in every row and in the job's versions). A job
whose worker is lost goes back to the queue (Dask reschedules it on another worker holding the resource).

Tasks travel with Dask's own serialisation (cloudpickle): that is transport between live processes. Nothing
is persisted but JSON and SQL rows.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, FleetError, ProfilingError
from ..timing import TimingPolicy

#: Environment variable naming a board's platform on its worker: ``jetson:/``, ``jetson:/path/to/tree``,
#: ``nvml:0``, ``cpu``.
BOARD_ENV = "PERFMODEL_BOARD_PLATFORM"
TASK_PREFIX = "perfmodel-job-"


@dataclass(frozen=True)
class FleetJob:
    """One job of a fleet campaign, as sent to a board (what :func:`profiling.campaign.run_campaign` takes,
    for one network under one configuration)."""

    key: str
    campaign: str
    network: str
    config: Mapping[str, Any]
    platform: str
    executor: Any  # an executor name, or an Executor object (sent as it is)
    store_url: str
    level: str = "layer"
    views: tuple[str, ...] = ("whole",)
    input_size: int | None = None
    policy: TimingPolicy = TimingPolicy()
    trace_runs: int = 20
    method: str = ""
    timeout_s: float = 900.0
    memory_limit_gb: float | None = None
    on_contention: str = "warn"
    contention_threshold: float = 0.5
    contention_wait_s: float = 300.0
    reference: bool = True
    power: bool = True
    retry_failed: bool = False
    store_wait_s: float = 120.0


def connect(scheduler: str, timeout_s: float = 10.0):
    """A Dask client of ``scheduler`` (``tcp://host:8786`` or a scheduler file); FleetError when it does not
    answer within ``timeout_s``."""
    from distributed import Client

    address = scheduler_address(scheduler)  # before a Client exists: one that fails to start hangs at exit
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        text = str(exc).strip().splitlines()
        raise FleetError(f"cannot reach the Dask scheduler {scheduler!r}: "
                         f"{text[0] if text else type(exc).__name__}", param="scheduler") from None


def scheduler_address(scheduler: str) -> str:
    """The address of ``scheduler`` (an address, or a scheduler file holding one), checked: FleetError (one
    line) for a file without an address, an unknown scheme or a missing port. A Dask ``Client`` that fails
    on such an address leaves a half-started client whose clean-up waits twice the time-out at exit and then
    prints a traceback."""
    import json

    from distributed.comm import get_address_host_port, parse_address

    text = str(scheduler)
    if os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise FleetError(f"scheduler file {text!r} is not a Dask scheduler file: {exc}",
                             param="scheduler") from None
        address = doc.get("address") if isinstance(doc, dict) else None
        if not isinstance(address, str) or not address:
            raise FleetError(f"scheduler file {text!r} holds no scheduler 'address' (the file 'dask scheduler "
                             "--scheduler-file' writes)", param="scheduler")
        where = f"scheduler file {text!r}: address {address!r}"
    else:
        address, where = text, f"scheduler address {text!r}"
    try:
        scheme, _ = parse_address(address)
        if scheme != "inproc":
            get_address_host_port(address)
    except (ValueError, TypeError) as exc:
        hint = " (and no scheduler file of that name)" if "://" not in text and text.lower().endswith(
            (".json", ".yaml", ".yml")) else ""
        raise FleetError(f"{where} is not usable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                         f"{hint}; give tcp://host:port or a scheduler file", param="scheduler") from None
    return address


def workers_offering(client, resource: str) -> dict[str, dict[str, Any]]:
    """Workers (address -> info) that hold ``resource``."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    return {addr: w for addr, w in info.get("workers", {}).items() if w.get("resources", {}).get(resource, 0) >= 1}


def _takes_n_workers(client) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------------------- on the board
_BOARD_LOCK = threading.Lock()
_COUNTS: Counter = Counter()


def _board_identity() -> dict[str, str]:
    try:
        from distributed import get_worker

        worker = get_worker()
        name = str(worker.name)
    except (ImportError, ValueError):
        name = socket.gethostname()
    return {"name": name, "host": socket.gethostname()}


@functools.lru_cache(maxsize=4)
def _board_platform(campaign_platform: str):
    from ..campaign import build_platform

    spec = os.environ.get(BOARD_ENV) or campaign_platform
    platform = build_platform(spec)
    if platform.name != campaign_platform.partition(":")[0]:
        raise FleetError(f"this board is a {platform.name} platform ({BOARD_ENV}={spec!r}), not "
                         f"{campaign_platform!r}")
    return platform


@functools.lru_cache(maxsize=4)
def _board_executor(platform_key: str, name: str):
    from ..campaign import build_executor

    return build_executor(name, _board_platform(platform_key))


_PLANS: dict[tuple[int, bool], tuple[Any, Any, str]] = {}
_STORES: dict[str, Any] = {}


def _power_plan(platform, power: bool):
    from ..campaign import _power_plan as plan_of

    key = (id(platform), power)
    if key not in _PLANS:
        _PLANS[key] = plan_of(platform, power)
    return _PLANS[key]


def _open(url: str, wait_s: float):
    """The store on a board: a database is kept open (many writers at once); a SQLite file (boards on one
    host only) is opened for each job, under its lock."""
    from ..store import is_store_url, open_store

    if is_store_url(url):
        if url not in _STORES:
            _STORES[url] = open_store(url)
        return _STORES[url], False
    return open_store(url, wait_s=wait_s), True


def board_check(platform: str, executor: Any, configs: Sequence[Mapping[str, Any]],
                networks: Sequence[str] = ()) -> dict[str, Any]:
    """On a board: its platform's label, space and description, ``configs`` validated there and ``networks``
    checked by its executor."""
    from ..campaign import campaign_config

    plat = _board_platform(platform)
    ex = executor if not (executor is None or isinstance(executor, str)) else _board_executor(platform, executor or "")
    space = ex.space(plat)
    try:
        cfgs = [campaign_config(plat, ex, c, space) for c in configs]
        for n in networks:
            ex.check_network(n)
    except ProfilingError as exc:
        return {"error": str(exc), "kind": type(exc).__name__}
    _, power_note = plat.power_sensor()
    return {"source": plat.source, "name": plat.name, "space": space.to_json(indent=None),
            "power_note": power_note,
            "machine": {**plat.describe(), "executor": ex.describe()}, "executor": ex.name,
            "inplace_methods": list(ex.inplace_methods), "configs": cfgs,
            "hardware": [k for k in plat.hardware_knobs() if k in space], "board": _board_identity()}


def run_on_board(job: FleetJob) -> dict[str, Any]:
    """Measure and store one job on this board (the task a fleet campaign sends)."""
    from ..campaign import campaign_config, measure_and_store
    from ..reference import speed_reference

    board = _board_identity()
    platform = _board_platform(job.platform)
    executor = job.executor if not (job.executor is None or isinstance(job.executor, str)) else _board_executor(
        job.platform, job.executor or "")
    store, close = _open(job.store_url, job.store_wait_s)
    try:
        status = store.has_job(job.key)
        if status == "ok" or (status == "failed" and not job.retry_failed):
            with _BOARD_LOCK:
                _COUNTS["skipped"] += 1
            return {"key": job.key, "status": "skipped", "stored": status, "rows": 0, "board": board,
                    "network": job.network, "config": dict(job.config)}
        space = executor.space(platform)
        cfg = campaign_config(platform, executor, job.config, space)
        hardware = tuple(k for k in platform.hardware_knobs() if k in space)
        plan, sensor_name, sensor_note = _power_plan(platform, job.power)
        t0 = time.monotonic()
        result, stored_cfg, rows, n = measure_and_store(
            platform, executor, store, key=job.key, network=job.network, config=cfg, hardware=hardware,
            views=tuple(job.views), level=job.level, input_size=job.input_size, policy=job.policy,
            trace_runs=job.trace_runs, method=job.method, plan=plan, sensor_name=sensor_name,
            sensor_note=sensor_note, timeout_s=job.timeout_s, memory_limit_gb=job.memory_limit_gb,
            on_contention=job.on_contention, contention_threshold=job.contention_threshold,
            contention_wait_s=job.contention_wait_s, reference=speed_reference if job.reference else None,
            campaign=job.campaign, board=board)
    finally:
        if close:
            store.close()
    with _BOARD_LOCK:
        _COUNTS["done" if result.status == "ok" else "failed"] += 1
    return {"key": job.key, "status": result.status, "reason": result.reason, "rows": n, "board": board,
            "network": job.network, "config": stored_cfg, "wall_s": time.monotonic() - t0,
            "contended": sum(int(r.contended) for r in rows), "result": result}


def board_counts() -> dict[str, Any]:
    """On a worker: the jobs this worker process has run since it started (done, failed, skipped)."""
    with _BOARD_LOCK:
        return {"counts": dict(_COUNTS), "platform": os.environ.get(BOARD_ENV, ""), **_board_identity()}


def _scheduler_queue(dask_scheduler=None) -> dict[str, Any]:
    """On the scheduler: perfmodel tasks by state, and the ones processing on each worker."""
    states: Counter = Counter()
    processing: Counter = Counter()
    for key, ts in dask_scheduler.tasks.items():
        if not str(key).startswith(TASK_PREFIX):
            continue
        states[ts.state] += 1
        if ts.state == "processing" and ts.processing_on is not None:
            processing[ts.processing_on.address] += 1
    return {"states": dict(states), "processing": dict(processing)}


def board_status(scheduler: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The fleet as the scheduler sees it: each board (worker) with its resources, platform and jobs run
    (done/failed/skipped, counted by its worker process) and running; jobs queued for no board yet."""
    client = connect(scheduler, timeout_s)
    try:
        info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
        workers = info.get("workers", {})
        counts = client.run(board_counts) if workers else {}
        queue = client.run_on_scheduler(_scheduler_queue)
    finally:
        client.close()
    boards = []
    for addr, w in sorted(workers.items(), key=lambda kv: str(kv[1].get("name"))):
        c = counts.get(addr, {})
        boards.append({"address": addr, "name": str(w.get("name", addr)), "host": c.get("host", w.get("host", "")),
                       "resources": dict(w.get("resources", {})), "platform": c.get("platform", ""),
                       "running": queue["processing"].get(addr, 0), **{k: c.get("counts", {}).get(k, 0)
                                                                       for k in ("done", "failed", "skipped")}})
    states = queue["states"]
    waiting = sum(v for k, v in states.items() if k in ("queued", "no-worker", "waiting", "released"))
    return {"scheduler": scheduler, "boards": boards, "queued": waiting, "running": states.get("processing", 0),
            "erred": states.get("erred", 0), "states": states}


# ------------------------------------------------------------------------------------------- on the client
@dataclass
class FleetCheck:
    """What a board of the fleet said about the campaign: the platform's label and space, the configurations
    validated there."""

    source: str
    space: str
    machine: dict[str, Any]
    executor: str
    inplace_methods: list[str]
    configs: list[dict[str, Any]]
    hardware: list[str]
    power_note: str = ""     # why the board measures no power ("absent: ..."), "" when it does


def check_fleet(client, platform: str, executor: Any, configs: Sequence[Mapping[str, Any]],
                resource: str | None = None, networks: Sequence[str] = ()) -> tuple[dict[str, dict[str, Any]],
                                                                                  FleetCheck]:
    """The workers offering the platform's resource, and the configurations validated on one of them."""
    resource = resource or platform.partition(":")[0]
    workers = workers_offering(client, resource)
    if not workers:
        info = client.scheduler_info()
        offered = sorted({r for w in info.get("workers", {}).values() for r in w.get("resources", {})})
        raise FleetError(f"no worker of the fleet offers the resource {resource!r} (offered: "
                         f"{', '.join(offered) or 'none'}); start a 'dask worker' with --resources \"{resource}=1\" "
                         "on a board of that platform", param="platform")
    addr = sorted(workers)[0]
    try:
        answer = client.run(board_check, platform, executor, [dict(c) for c in configs], list(networks),
                            workers=[addr])[addr]
    except ProfilingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the board's own failure, in one line
        text = str(exc).strip().splitlines()
        raise FleetError(f"board {workers[addr].get('name', addr)} could not check the campaign: "
                         f"{type(exc).__name__}: {text[0] if text else ''}") from None
    if "error" in answer:
        raise ConfigError(f"on board {workers[addr].get('name', addr)}: {answer['error']}")
    fields = {f.name for f in dataclasses.fields(FleetCheck)}
    return workers, FleetCheck(**{k: v for k, v in answer.items() if k in fields})


def run_fleet_campaign(scheduler: str | Any, platform: str, executor: Any, networks: Sequence[str],
                       configs: Sequence[Mapping[str, Any]], store_url: str, *, resource: str | None = None,
                       level: str = "layer", views: Sequence[str] | None = None, campaign: str = "default",
                       input_size: int | None = None, policy: TimingPolicy = TimingPolicy(), trace_runs: int = 20,
                       timeout_s: float = 900.0, memory_limit_gb: float | None = None, on_contention: str = "warn",
                       contention_threshold: float = 0.5, contention_wait_s: float = 300.0,
                       retry_failed: bool = False, inplace_method: str | None = None,
                       progress: Callable[[str], None] | None = None, reference: bool = True,
                       power: bool = True, connect_timeout_s: float = 10.0, store_wait_s: float = 120.0):
    """Run a campaign on the boards of a Dask scheduler; returns a
    :class:`~profiling.campaign.CampaignSummary` (its ``results`` also name each job's board).

    ``scheduler`` is an address (``tcp://host:8786``), a scheduler file, or a connected
    ``distributed.Client``. ``platform`` names the boards' platform (``jetson``, ``nvml``, ``cpu``) and, unless
    ``resource`` is given, the worker resource that marks them. ``executor`` is an executor name (built on each
    board) or an Executor object (sent to the boards as it is). ``store_url`` must be reachable from every board:
    a PostgreSQL URL, or a SQLite file when every worker runs on this host.

    Checked before anything is stored: the scheduler answers (:class:`FleetError`), a worker offers the resource
    (:class:`FleetError`), the configurations are valid on a board (:class:`ConfigError`), the store opens
    (:class:`StoreError`).
    """
    from distributed import as_completed

    from ..campaign import (CampaignSummary, JobOutcome, _net_name, already_stored, job_key, level_views,
                            resolve_inplace_method)
    from ..executors.base import JobResult
    from ..space import format_config
    from ..store import open_store

    views = level_views(level, views)
    own = isinstance(scheduler, str)
    client = connect(scheduler, connect_timeout_s) if own else scheduler
    try:
        resource = resource or platform.partition(":")[0]
        workers, check = check_fleet(client, platform, executor, configs, resource, networks)
        ex_name = check.executor
        with open_store(store_url, wait_s=store_wait_s) as store:
            if "inplace" in views:
                method = resolve_inplace_method(store, campaign, inplace_method, check.inplace_methods)
            else:
                method = inplace_method or (check.inplace_methods[0] if check.inplace_methods else "")
            store.ensure_campaign(campaign, platform.partition(":")[0], check.source, check.space,
                                  {**check.machine, "fleet": {"resource": resource, "boards": len(workers)}},
                                  executor=ex_name)
            summary = CampaignSummary()
            todo = []
            for net in networks:
                for cfg in check.configs:
                    key = job_key(campaign, net, input_size, level, views, cfg, method, ex_name)
                    if already_stored(store, key, retry_failed, summary, progress, net, cfg):
                        continue
                    todo.append(FleetJob(key, campaign, net, cfg, platform, executor, store_url, level, views,
                                         input_size, policy, trace_runs, method, timeout_s, memory_limit_gb,
                                         on_contention, contention_threshold, contention_wait_s, reference, power,
                                         retry_failed, store_wait_s))
        futures = {client.submit(run_on_board, job, key=f"{TASK_PREFIX}{job.key}", resources={resource: 1},
                                 pure=False): job for job in todo}
        for fut in as_completed(list(futures), loop=client.loop):
            job = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - a task that failed on every board it was sent to
                text = str(exc).strip().splitlines()
                out = {"status": "failed", "reason": f"fleet: {type(exc).__name__}: {text[0] if text else ''}",
                       "rows": 0, "board": {}, "network": job.network, "config": dict(job.config)}
                out["result"] = JobResult("failed", reason=out["reason"])
            if out["status"] == "skipped":
                summary.skipped += 1
                if progress:
                    progress(f"{job.network} [{format_config(job.config)}]: already stored")
                continue
            summary.rows += out["rows"]
            summary.contended += out.get("contended", 0)
            summary.results.append(JobOutcome(_net_name(job.network), out["config"], out["result"]))
            board = out.get("board", {}).get("name", "?")
            if out["status"] == "ok":
                summary.measured += 1
            else:
                summary.failed += 1
                summary.failures[(out.get("reason") or "unknown").split(":")[0]] += 1
            if progress:
                progress(f"{_net_name(job.network)} [{format_config(out['config'])}]: {out['status']} on {board}")
        summary.power_note = "measured on each board (its own sensor)" if power else "absent: power not asked"
        return summary
    finally:
        if own:
            client.close()


# ------------------------------------------------------------------------------ one measurement per board
def measure_on_board(network: str, config: Mapping[str, Any], platform: str, executor: Any,
                     input_size: int | None, timeout_s: float, power: bool) -> dict[str, Any]:
    """On a board: :func:`profiling.campaign.measure_network` on its platform (nothing stored), with the
    board's name and host."""
    from ..campaign import measure_network

    plat = _board_platform(platform)
    ex = executor if not (executor is None or isinstance(executor, str)) else _board_executor(platform,
                                                                                              executor or "")
    out = measure_network(network, config, platform=plat, executor=ex, input_size=input_size, timeout_s=timeout_s,
                          power=power)
    return {**out, "board": _board_identity()}


class FleetMeasurer:
    """Measure configurations of one network on the boards of a fleet, several at once.

    An evaluator for the optimiser (``space``, ``source``, ``evaluate(config)`` and
    ``evaluate_batch(configs)``): a batch of q configurations is measured on q boards at a time, one
    configuration per board (whole network, :func:`profiling.campaign.measure_network` on the board;
    nothing is stored). The space is the one a board of the fleet reports (its knob levels), restricted to
    ``knobs`` (default: every knob ``base`` does not fix).
    """

    def __init__(self, scheduler: str | Any, platform: str, network: str, knobs: Sequence[str] | None = None,
                 base: str = "", *, resource: str | None = None, executor: Any = None,
                 input_size: int | None = None, timeout_s: float = 600.0, power: bool = True,
                 connect_timeout_s: float = 10.0):
        from ..campaign import outputs_measured
        from ..space import ConfigSpace

        self.platform, self.network = platform.partition(":")[0], network
        self.resource = resource or self.platform
        self.executor, self.input_size, self.timeout_s, self.power = executor, input_size, timeout_s, power
        self._own = isinstance(scheduler, str)
        self.client = connect(scheduler, connect_timeout_s) if self._own else scheduler
        try:
            workers, check = check_fleet(self.client, self.platform, executor, [], self.resource, [network])
            full = ConfigSpace.from_json(check.space)
            self.base = full.parse_partial(base)
            varied = list(knobs) if knobs else [k.name for k in full if k.name not in self.base]
            self.space = full.subspace(varied)
        except BaseException:
            self.close()
            raise
        self.source, self.boards = check.source, len(workers)
        # what a board's measure_on_board returns (the board checked; the fleet's boards are of one platform)
        self.power_note = check.power_note
        self.outputs = outputs_measured(check.power_note)

    def evaluate_batch(self, configs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | ProfilingError]:
        """The outputs of each configuration, in order; a measurement that failed is its error (a
        :class:`~profiling.errors.ProfilingError`), not raised, so the others are kept."""
        futures = [self.client.submit(measure_on_board, self.network, {**self.base, **dict(c)}, self.platform,
                                      self.executor, self.input_size, self.timeout_s, self.power,
                                      resources={self.resource: 1}, pure=False) for c in configs]
        out: list[dict[str, Any] | ProfilingError] = []
        for fut in futures:
            try:
                result = dict(fut.result())
            except ProfilingError as exc:
                out.append(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - lost on every board it was sent to: one line
                text = str(exc).strip().splitlines()
                out.append(FleetError(f"{type(exc).__name__}: {text[0] if text else ''}"))
                continue
            result.pop("board", None)
            out.append(result)
        return out

    def evaluate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        result = self.evaluate_batch([config])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        if self._own and getattr(self, "client", None) is not None:
            self.client.close()
            self.client = None


__all__ = ["BOARD_ENV", "FleetError", "FleetJob", "FleetMeasurer", "board_status", "connect", "run_fleet_campaign",
           "run_on_board", "workers_offering"]
