"""Profile networks layer by layer (or whole) on a platform and store every measurement.

One pipeline for every platform: the platform (the local CPU, an NVIDIA GPU through NVML, a Jetson board
or a simulated Jetson tree) applies the hardware knobs of each configuration and restores them afterwards;
the executor (TensorFlow, one worker process per configuration, or PyTorch) applies the software knobs and
times the views; power comes from the platform's sensor (RAPL, NVML, INA3221) over windows of at least 10
sensor steps. Results go into a SQLite store as each job finishes, so an interrupted campaign resumes where
it stopped when run again with the same arguments.

Examples:
  perfmodel profile --network resnet50 --level layer --config threads=2,batch=1 --store runs/x.sqlite
  perfmodel profile --network mobilenetv2,tiny_cnn --level network --design lhs --samples 8 \\
      --knobs threads,batch,onednn --store runs/y.sqlite
  perfmodel profile --platform nvml --device cuda:0 --network resnet50 --level layer \\
      --config batch=8,cuda_graph=on --store runs/gpu.sqlite
  perfmodel profile --platform jetson --sysfs-root / --network mobilenetv2 --design factorial \\
      --knobs cpu_freq,gpu_freq --store runs/tx2.sqlite
  perfmodel profile --scheduler tcp://lab-host:8786 --platform jetson --network mobilenetv2 --design lhs \\
      --samples 40 --knobs cpu_freq,gpu_freq,emc_freq --store postgresql://lab@lab-host/perfmodel

With --scheduler, every job goes to a Dask worker of a board of the platform (started with
--resources "jetson=1"; one job per board at a time), which measures it and stores it in the shared store
itself; see docs/fleet.md.
"""

from __future__ import annotations

import argparse
import sys

from . import argtypes

HELP = "measure networks layer by layer on a platform (cpu, nvml GPU, jetson) into a campaign store"
PLATFORMS = ("cpu", "nvml", "jetson")
EXECUTORS = ("tensorflow", "torch")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", action="append", metavar="NAME_OR_PATH",
                   help="keras.applications name (resnet50, mobilenetv2, ...), a built-in (tiny_cnn, ...) or a "
                        ".keras file; repeat or separate with commas")
    p.add_argument("--list-networks", action="store_true", help="list the network names and exit")
    p.add_argument("--list-knobs", action="store_true",
                   help="list the knobs of the chosen platform and executor (hardware, then software) and exit")
    p.add_argument("--platform", choices=PLATFORMS, default="cpu", metavar="{cpu,nvml,jetson}",
                   help="where to measure: cpu (this machine), nvml (an NVIDIA GPU), jetson (a Jetson board or a "
                        "simulated tree given with --sysfs-root). Default: cpu")
    p.add_argument("--executor", choices=EXECUTORS, metavar="{tensorflow,torch}",
                   help="framework that runs the networks (default: torch on nvml, tensorflow on cpu and jetson)")
    p.add_argument("--device", metavar="DEV",
                   help="torch device: cpu, cuda or cuda:N (default: the nvml platform's GPU, cuda:0; else cpu)")
    p.add_argument("--sysfs-root", metavar="DIR",
                   help="jetson: root of sys/, proc/, etc/ (default /; a simulated tree labels every output "
                        "simulated:jetson)")
    p.add_argument("--no-power", action="store_true",
                   help="do not measure power (else: the platform's sensor, windows of >= 10 sensor steps)")
    p.add_argument("--store", metavar="PATH_OR_URL",
                   help="campaign store: a SQLite file (created if missing) or postgresql://user@host:port/db (the "
                        "database must exist; its tables are created on first use; many writers at once)")
    p.add_argument("--campaign", default="default", help="campaign name inside the store (default: default)")
    p.add_argument("--level", choices=("layer", "network"), default="layer",
                   help="layer: whole network + in-place + isolated layer views; network: whole network only")
    p.add_argument("--views", metavar="V1,V2", help="override the views: whole,inplace,isolated")
    p.add_argument("--inplace-method", choices=("live", "frozen", "events"),
                   help="how the in-place view is timed. tensorflow: live (the compiled function of the whole view, "
                        "traced with the TF profiler) or frozen (the frozen, constant-folded graph; the method of "
                        "campaigns stored before this option); torch: events (CUDA events between layers of one "
                        "pass). Default: the campaign's stored method, else live / events")
    p.add_argument("--config", action="append", metavar="K=V,...",
                   help="a configuration (missing knobs take defaults); repeat for several. With --design, "
                        "the base that the design varies")
    p.add_argument("--design", choices=("random", "factorial", "lhs", "sobol", "interval"),
                   help="generate configurations with an experimental design")
    p.add_argument("--samples", type=int, default=None,
                   help="number of configurations of a sampling design (default 8); a factorial design "
                        "measures the whole grid of --knobs")
    p.add_argument("--knobs", metavar="K1,K2", help="knobs the design varies (default: all)")
    p.add_argument("--where", action="append", default=[], metavar="EXPR",
                   help="the design keeps only configurations whose knobs satisfy EXPR (repeatable), e.g. "
                        "\"threads * batch <= 8\"; a knob not varied counts at its --config or default value")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the design (default 0)")
    p.add_argument("--input-size", type=int, metavar="PIXELS", help="input height/width (default: the network's)")
    p.add_argument("--quick", action="store_true", help="fewer repeats (5-30 per measurement, 5%% CI)")
    p.add_argument("--max-repeats", type=int, help="cap on timed repeats per measurement")
    p.add_argument("--rel-ci", type=float, help="stop when the 95%% CI of the median is within this fraction")
    p.add_argument("--timeout", type=float, default=900.0, metavar="SECONDS", help="per-job worker timeout")
    p.add_argument("--memory-limit-gb", type=float, help="kill a worker above this resident memory (recorded as oom)")
    p.add_argument("--on-contention", choices=("warn", "wait", "refuse"), default="warn",
                   help="when other processes load the CPU: flag rows (warn), wait for quiet, or refuse")
    p.add_argument("--contention-threshold", type=float, default=0.5, metavar="CORES",
                   help="load of other processes (in cores) above which a measurement is contended (0.5)")
    p.add_argument("--retry-failed", action="store_true", help="measure again the jobs stored as failed")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted campaign (what re-running always does: stored jobs are skipped)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a store locked by another process (default: fail at once)")
    p.add_argument("--shuffle", type=argtypes.seed, metavar="SEED",
                   help="measure the (network, configuration) jobs in an order shuffled with this seed, not network "
                        "by network: on a machine whose speed drifts, every network then sees the drift alike")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    fleet = p.add_argument_group("fleet (docs/fleet.md)")
    fleet.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the jobs on the boards of this Dask scheduler (tcp://host:8786, or a scheduler file); "
                            "each board's worker measures and stores its jobs. The store must be reachable from "
                            "every board (postgresql://...)")
    fleet.add_argument("--resource", metavar="NAME",
                       help="worker resource that marks the boards of the platform (default: the platform's name; "
                            "a worker started with --resources \"jetson-tx2=1\" is found with --resource jetson-tx2)")
    fleet.add_argument("--connect-timeout", type=argtypes.positive_float, default=10.0, metavar="SECONDS",
                       help="how long to wait for the scheduler (default 10)")


def run(args: argparse.Namespace) -> int:
    from perfmodel.tables import parse_names
    from profiling.campaign import build_executor, build_platform, campaign_config, run_campaign
    from profiling.errors import ConfigError
    from profiling.networks import known_networks
    from profiling.space import format_config
    from profiling.store import open_store

    if args.list_networks:
        print("\n".join(known_networks()))
        return 0
    if args.scheduler:
        return _run_fleet(args)
    platform = build_platform(args.platform, device=args.device if args.platform == "nvml" else None,
                              sysfs_root=args.sysfs_root)
    executor = build_executor(args.executor, platform, device=args.device)
    space = executor.space(platform)
    if args.list_knobs:
        _list_knobs(platform, executor, space)
        return 0
    if not args.network:
        raise ConfigError("--network is required (see --list-networks)")
    if not args.store:
        raise ConfigError("--store is required (a SQLite file, e.g. runs/x.sqlite, or a postgresql:// URL)")
    networks = [n for item in args.network for n in parse_names(item, "network")]
    for n in networks:
        executor.check_network(n)
    _check_numbers(args, ConfigError)
    configs = _configs(args, platform, space, fixed=executor.fixed_knobs())
    configs = [campaign_config(platform, executor, c, space) for c in configs]  # checked before the store opens
    policy, views = _policy_views(args)
    if args.inplace_method is not None and args.inplace_method not in executor.inplace_methods:
        raise ConfigError(f"--inplace-method {args.inplace_method} is not a method of the {executor.name} executor; "
                          f"choose {' or '.join(executor.inplace_methods)}")

    from tqdm import tqdm

    total = len(networks) * len(configs)
    bar = tqdm(total=total, unit="job", disable=args.no_progress or not sys.stderr.isatty(), file=sys.stderr)

    def progress(text: str) -> None:
        bar.set_postfix_str(text[-60:])
        bar.update(1)

    with open_store(args.store, wait_s=args.wait) as store:
        summary = run_campaign(platform, executor, networks, configs, store, level=args.level, views=views,
                               campaign=args.campaign, input_size=args.input_size, policy=policy,
                               trace_runs=10 if args.quick else 20, timeout_s=args.timeout,
                               memory_limit_gb=args.memory_limit_gb, on_contention=args.on_contention,
                               contention_threshold=args.contention_threshold, retry_failed=args.retry_failed,
                               inplace_method=args.inplace_method, progress=progress, shuffle=args.shuffle,
                               power=not args.no_power)
    bar.close()
    _print_table(summary, format_config)
    print(f"platform: {platform.name} ({platform.source}), executor: {executor.name}")
    if summary.power is None:
        print(f"power and energy: not measured, sensor {summary.power_note}")
    else:
        p = summary.power
        idle = "" if p.idle_power_w is None else f", idle {p.idle_power_w:.2f} W before the first job"
        print(f"power: {p.sensor.name}, step {p.step_s * 1e3:.1f} ms, window {p.window_s:.3f} s{idle}")
    for line in summary.lines():
        print(line)
    print(f"store: {mask_url(args.store)}")
    return 0


def _configs(args: argparse.Namespace, platform, space, fixed=()) -> list[dict]:
    """The campaign's configurations: the --config ones, or a design over --knobs from the first (default: every
    knob the base does not set, less the ``fixed`` ones the executor cannot vary here: the CUDA knobs of torch on
    a CPU). ``platform`` None: a fleet's (the space came from a board, which validates the knobs)."""
    from perfmodel.tables import parse_names
    from profiling.errors import ConfigError

    bases = [_parse_config(platform, space, c) for c in (args.config or [""])]
    if not args.design:
        given = [flag for flag, value in (("--samples", args.samples), ("--knobs", args.knobs),
                                           ("--where", args.where or None)) if value is not None]
        if given:  # measuring the one default configuration instead of the design asked for
            raise ConfigError(f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} the design of a campaign; "
                              "give --design (random, lhs, sobol, interval or factorial) as well, or leave "
                              f"{' and '.join(given)} out to measure the --config configurations")
        return bases
    if len(bases) > 1:
        raise ConfigError("give at most one --config with --design (it is the base the design varies)")
    knobs = parse_names(args.knobs, "knob") if args.knobs else [k.name for k in space
                                                                 if k.name not in bases[0] and k.name not in fixed]
    if platform is not None:
        platform.validate_knobs(dict.fromkeys(knobs))
    for k in knobs:
        space[k]
    try:
        # a knob not varied takes its --config value or its default, as every configuration of the design does
        sub = space.subspace(knobs).where(*args.where, fixed={**space.default(), **bases[0]})
    except ConfigError as exc:
        raise ConfigError(f"--where: {exc}") from None
    if args.samples is not None and args.samples < 1:
        raise ConfigError("--samples must be at least 1")
    if args.design == "factorial":
        grid = list(sub.grid())
        if args.samples is not None and args.samples < len(grid):
            # The first n of a grid in grid order vary the last knob alone: not a design anybody asks for.
            raise ConfigError(f"the factorial design over {','.join(knobs)} has {len(grid)} configurations and "
                              f"--samples {args.samples} would keep only the first ones in grid order; leave "
                              "--samples out, or sample fewer with --design lhs, sobol, random or interval")
        return [{**bases[0], **c} for c in grid]
    n = 8 if args.samples is None else args.samples
    return [{**bases[0], **c} for c in sub.sample(n, args.design, args.seed)]


def _policy_views(args: argparse.Namespace):
    from dataclasses import replace

    from perfmodel.tables import parse_names
    from profiling.errors import ConfigError
    from profiling.measurement import VIEWS
    from profiling.timing import TimingPolicy

    policy = TimingPolicy.quick() if args.quick else TimingPolicy()
    if args.max_repeats:
        policy = replace(policy, max_repeats=args.max_repeats, min_repeats=min(policy.min_repeats, args.max_repeats))
    if args.rel_ci:
        policy = replace(policy, rel_ci=args.rel_ci)
    views = parse_names(args.views, "view") if args.views else None
    for v in views or ():
        if v not in VIEWS:  # checked before the store is created
            raise ConfigError(f"unknown view {v!r}; choose from {', '.join(VIEWS)}")
    return policy, views


def _run_fleet(args: argparse.Namespace) -> int:
    """The campaign on the boards of a Dask scheduler (profiling.fleet)."""
    from perfmodel.tables import parse_names
    from profiling.errors import ConfigError
    from profiling.fleet.engine import check_fleet, connect, run_fleet_campaign
    from profiling.space import ConfigSpace, format_config

    for flag, value in (("--sysfs-root", args.sysfs_root), ("--device", args.device)):
        if value is not None:
            raise ConfigError(f"{flag} is set on each board, not here: with --scheduler a board's worker names its "
                              "platform in PERFMODEL_BOARD_PLATFORM (docs/fleet.md)")
    if not args.list_knobs and not args.network:
        raise ConfigError("--network is required (see --list-networks)")
    if not args.list_knobs and not args.store:
        raise ConfigError("--store is required (with --scheduler: a postgresql:// URL every board reaches)")
    _check_numbers(args, ConfigError)
    networks = [n for item in args.network or [] for n in parse_names(item, "network")]
    policy, views = _policy_views(args)
    client = connect(args.scheduler, args.connect_timeout)
    try:
        workers, check = check_fleet(client, args.platform, args.executor, [], args.resource, networks)
        space = ConfigSpace.from_json(check.space)
        if args.list_knobs:
            print(f"platform {args.platform} ({check.source}), executor {check.executor}, {len(workers)} board(s)")
            for k in space:
                tag = "hardware" if k.name in check.hardware else f"software ({check.executor})"
                print(f"{k.describe()}  [{tag}]")
            return 0
        configs = _configs(args, None, space)
        summary = run_fleet_campaign(
            client, args.platform, args.executor, networks, configs, args.store, resource=args.resource,
            level=args.level, views=views, campaign=args.campaign, input_size=args.input_size, policy=policy,
            trace_runs=10 if args.quick else 20, timeout_s=args.timeout, memory_limit_gb=args.memory_limit_gb,
            on_contention=args.on_contention, contention_threshold=args.contention_threshold,
            retry_failed=args.retry_failed, inplace_method=args.inplace_method,
            progress=None if args.no_progress else (lambda text: print(text, file=sys.stderr, flush=True)),
            power=not args.no_power, store_wait_s=max(args.wait, 120.0))
    finally:
        client.close()
    _print_table(summary, format_config)
    print(f"platform: {args.platform} ({check.source}), executor: {check.executor}, boards: {len(workers)}")
    for line in summary.lines():
        print(line)
    print(f"store: {mask_url(args.store)}")
    return 0


def _parse_config(platform, space, text: str) -> dict:
    """``k=v,...`` of the campaign's space; a knob the platform lacks is named with its reason."""
    from profiling.errors import ConfigError

    names = [part.partition("=")[0].strip() for part in (text or "").split(",") if part.strip()]
    if platform is not None:
        platform.validate_knobs(dict.fromkeys(names))
    try:
        return space.parse_partial(text)
    except ConfigError as exc:
        raise ConfigError(f"--config {text!r}: {exc}") from None


def _list_knobs(platform, executor, space) -> None:
    from profiling.campaign import knob_notes

    hw = set(platform.hardware_knobs())
    notes = knob_notes(platform, executor)
    print(f"platform {platform.name} ({platform.source}), executor {executor.name}")
    for k in space:
        tag = "hardware" if k.name in hw else f"software ({executor.name})"
        note = notes.get(k.name, "")
        print(f"{k.describe()}  [{tag}]" + (f"  {note}" if note else ""))
    for name, why in platform.unavailable_knobs().items():
        print(f"{name}: not available: {why}")


def _check_numbers(args: argparse.Namespace, error: type[Exception]) -> None:
    """Refuse nonsensical numbers before any worker starts (they would only fail every job)."""
    import math

    positive = {"--input-size": args.input_size, "--timeout": args.timeout, "--memory-limit-gb": args.memory_limit_gb,
                "--max-repeats": args.max_repeats, "--rel-ci": args.rel_ci}
    for flag, value in positive.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise error(f"{flag} must be a positive number, got {value:g}")
    if not (math.isfinite(args.contention_threshold) and args.contention_threshold >= 0):
        raise error(f"--contention-threshold must be a number >= 0, got {args.contention_threshold:g}")
    if not (math.isfinite(args.wait) and args.wait >= 0):
        raise error(f"--wait must be a number of seconds >= 0, got {args.wait:g}")


def mask_url(url: str) -> str:
    from profiling.stores.sql import mask_url as mask

    return mask(url)


def _print_table(summary, format_config) -> None:
    if not summary.results:
        return
    head = f"{'network':<18} {'whole ms':>9} {'in-place ms':>11} {'isolated ms':>11} {'units':>5} {'load':>5}  config"
    print(head)
    print("-" * len(head))
    for r in summary.results:
        cfg = format_config(r.config)
        if r.status != "ok":
            print(f"{r.network:<18} {'failed: ' + str(r.result.reason)[:60]}  {cfg}")
            continue
        rows = r.rows
        whole = [x for x in rows if x.view == "whole"]
        inpl = [x.runtime_s for x in rows if x.view == "inplace" and x.runtime_s is not None]
        iso = [x.runtime_s for x in rows if x.view == "isolated" and x.runtime_s is not None]
        w = f"{whole[0].runtime_s * 1e3:9.3f}" if whole and whole[0].runtime_s is not None else f"{'-':>9}"
        ip = f"{sum(inpl) * 1e3:11.3f}" if inpl else f"{'-':>11}"
        iz = f"{sum(iso) * 1e3:11.3f}" if iso else f"{'-':>11}"
        load = whole[0].other_load if whole else None
        flag = f"{load:5.2f}" if load is not None else f"{'-':>5}"
        print(f"{r.network:<18} {w} {ip} {iz} {len(inpl) or len(iso):>5} {flag}  {cfg}")
