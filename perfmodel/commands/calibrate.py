"""Profile a standard training set of networks on this machine and fit the layer-wise predictor.

  perfmodel calibrate --platform cpu --budget quick -o model.json
  perfmodel calibrate --platform nvml --device cuda:0 --budget quick -o gpu-model.json

On nvml the PyTorch executor runs the same networks on the GPU under batch 1/8 (quick) or 1/8/32/64
(full), captured as CUDA graphs (cuda_graph=on, cudnn_benchmark=on: how inference is deployed on a GPU,
and the mode whose layers compose cleanly).

'quick' measures small networks, 12 sampled synthetic ones and 4 with large fully-connected layers (whole
network + in-place units, no isolated layers) under threads 1/2 and batch 1/4 (on the CPU each synthetic
network under 3 of these 4 configurations, a different one left out in turn: 68 jobs instead of 84); 'full'
adds keras.applications networks, 48 synthetic networks, 12 with large fully-connected layers, 8 with large
feature maps, and more configurations. On the CPU one TensorFlow worker measures a network's batches under one
thread setting one after another (starting a worker, not timing, is most of a small job: 42 worker starts for
quick instead of 68); these groups run in a shuffled order (a drift of the machine's speed falls on all
networks alike). The measurements go into a campaign store (default: the model path with .sqlite; a SQLite
path or a database URL, as for 'perfmodel profile'); a run that is interrupted resumes where it stopped when
started again with the same arguments. The model is then fitted exactly as 'perfmodel fit --store'.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys

from ..errors import DataError

HELP = "profile a training set of networks on this machine and fit the layer-wise model"

# Sampled synthetic networks (profiling.synthetic) cover kernels the named networks lack (other activations,
# shapes); on this CPU, adding 48 of them cut the leave-one-network-out error of unseen networks (docs/models-results.md).
# (quick: 4 of the fully-connected family too: the calibrated model then predicted unseen applications with
# 11.5 % MAPE instead of 12.5 % on 2026-12-02, benchmarks/bench_calibrate.py, docs/models-results.md)
SYNTHETIC_QUICK = [f"synthetic_{i}" for i in range(12)] + [f"synthetic_fc_{i}" for i in range(4)]
SYNTHETIC_FULL = [f"synthetic_{i}" for i in range(48)]
# the two other families (AlexNet / VGG heads, full-resolution convolutions): what the 48 lack, docs/models-results.md
SYNTHETIC_FULL += [f"synthetic_fc_{i}" for i in range(12)] + [f"synthetic_hires_{i}" for i in range(8)]

# GPU (nvml + torch): the same networks; the knobs are batch sizes, graphs on (see the module doc)
GPU_BATCHES = {"quick": [1, 8], "full": [1, 8, 32, 64]}

BUDGETS = {
    # aimed at < 15 minutes on 2 cores: small networks, two views, 4 configurations
    "quick": {"networks": ["tiny_cnn", "tiny_mobilenet", "tiny_resnet", "mobilenetv3small", "mobilenetv2",
                           *SYNTHETIC_QUICK],
              "threads": [1, 2], "batch": [1, 4]},
    "full": {"networks": ["tiny_cnn", "tiny_mobilenet", "tiny_resnet", "mobilenetv3small", "mobilenetv2",
                          "mobilenet", "efficientnetb0", "densenet121", "resnet50", "nasnetmobile", *SYNTHETIC_FULL],
             "threads": [1, 2], "batch": [1, 2, 4, 8]},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", default="cpu", choices=("cpu", "nvml"),
                        help="platform to calibrate: cpu (TensorFlow) or nvml (an NVIDIA GPU, PyTorch). Default: cpu")
    parser.add_argument("--device", metavar="DEV", help="nvml: the GPU, cuda or cuda:N (default cuda:0)")
    parser.add_argument("--budget", choices=tuple(BUDGETS), default="quick",
                        help="quick (small networks, 4 configurations) or full (default: quick)")
    parser.add_argument("--model", default="gbr", choices=("polynomial", "gp", "gbr"),
                        help="layer regressor (default: gbr, the most accurate on unseen networks, docs/models.md)")
    parser.add_argument("--store", metavar="PATH|URL",
                        help="campaign store for the measurements: a SQLite file or a database URL "
                             "(postgresql://user@host:port/db) (default: OUTPUT.sqlite)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-o", "--output", required=True, metavar="JSON", help="model file to write")


def plan_configs(platform, executor, budget: str) -> list[dict]:
    """The calibration configurations of ``budget`` on ``platform`` (validated by the campaign)."""
    plan = BUDGETS[budget]
    if platform.name == "nvml":
        return [{"batch": b, "cuda_graph": True, "cudnn_benchmark": True} for b in GPU_BATCHES[budget]]
    base = executor.space(platform).default()
    return [{**base, "threads": t, "batch": b} for t, b in itertools.product(plan["threads"], plan["batch"])]


def plan_jobs(networks: list[str], configs: list[dict], thin: bool) -> list[tuple[str, dict]]:
    """The (network, configuration) jobs of a calibration, in the order they run: the jobs of one network
    that differ only in per-call knobs (batch) follow each other, so that one TensorFlow worker measures them
    (:func:`profiling.executors.tf_executor.process_key`); these groups are shuffled with seed 0 (a drift of
    the machine's speed then falls on every network alike).

    ``thin``: each sampled synthetic network runs under all configurations but one, a different one for each
    network in turn (with 4 configurations: 3 of 4, every configuration keeping three quarters of them); the
    named networks, which teach the network term, run under all. Measured on the shipped CPU tables
    (``benchmarks/bench_calibrate.py --design-check``, docs/models-results.md): synthetic networks under 2 of 3
    configurations predict unseen applications as well as under all 3, under 1 of 3 worse.
    """
    from profiling.executors.tf_executor import PROCESS_KNOBS

    synth = [n for n in networks if n.startswith("synthetic")]
    groups: dict[tuple, list[tuple[str, dict]]] = {}
    for net in networks:
        skip = synth.index(net) % len(configs) if thin and net in synth and len(configs) > 2 else None
        for j, cfg in enumerate(configs):
            if j != skip:
                key = (net, tuple(str(cfg.get(k)) for k in PROCESS_KNOBS))
                groups.setdefault(key, []).append((net, cfg))
    order = list(groups.values())
    random.Random(0).shuffle(order)
    return [job for group in order for job in group]


def profile(store_path: str, budget: str, show_progress: bool, platform_name: str = "cpu",
            device: str | None = None) -> None:
    """Run the calibration campaign into ``store_path`` (jobs already stored are skipped)."""
    from profiling.campaign import CampaignSummary, build_executor, build_platform, run_campaign
    from profiling.executors.tf_executor import TfExecutor
    from profiling.store import open_store
    from tqdm import tqdm

    plan = BUDGETS[budget]
    platform = build_platform(platform_name, device=device)
    executor = build_executor(None, platform, device=device)
    if isinstance(executor, TfExecutor):  # one worker for a network's batches under one thread setting
        executor = TfExecutor(reuse_workers=True)
    configs = plan_configs(platform, executor, budget)
    campaign = f"calibrate-{budget}" if platform.name == "cpu" else f"calibrate-{platform.name}-{budget}"
    # a TensorFlow worker's start costs about 5 s of CPU before it measures anything: fewer jobs, fewer starts
    jobs = plan_jobs(plan["networks"], configs, thin=platform.name == "cpu")
    bar = tqdm(total=len(jobs), unit="job", desc=f"calibrate ({budget})", disable=not show_progress,
               file=sys.stderr)
    total = CampaignSummary()
    with open_store(store_path) as store, _closing(executor):
        for net, cfg in jobs:  # one job a call: the campaign runs them in this plan's order
            got = run_campaign(platform, executor, [net], [cfg], store, level="layer", views=("whole", "inplace"),
                               campaign=campaign,
                               progress=lambda text: (bar.set_postfix_str(text[-40:]), bar.update(1)))
            for k in ("measured", "skipped", "failed", "rows", "contended"):
                setattr(total, k, getattr(total, k) + getattr(got, k))
            total.failures.update(got.failures)
    bar.close()
    for line in total.lines():
        print(line, file=sys.stderr)
    session = getattr(executor, "session", None)
    if session is not None:
        print(f"TensorFlow workers started: {session.starts} for {total.measured + total.failed} jobs",
              file=sys.stderr)


class _closing:
    """Close an executor that keeps a worker (TfExecutor(reuse_workers=True)) whatever happens."""

    def __init__(self, executor) -> None:
        self.executor = executor

    def __enter__(self):
        return self.executor

    def __exit__(self, *exc) -> None:
        close = getattr(self.executor, "close", None)
        if close is not None:
            close()


def run(args: argparse.Namespace) -> int:
    from ..models.layerwise import LayerwisePredictor
    from ..models.tables_input import store_frame
    from .fit import print_spread

    store_path = args.store or os.path.splitext(args.output)[0] + ".sqlite"
    if args.device is not None and args.platform != "nvml":
        raise DataError("--device applies to --platform nvml only")
    show = not args.no_progress and sys.stderr.isatty()
    if args.platform == "cpu":
        profile(store_path, args.budget, show_progress=show)
    else:
        profile(store_path, args.budget, show_progress=show, platform_name=args.platform, device=args.device)
    model = LayerwisePredictor(model=args.model, random_state=0).fit(store_frame(store_path))
    model.save(args.output)
    print(f"calibrated layer-wise {args.model} model on {model.n_train_rows_} units of {len(model.networks_)} "
          f"networks ({store_path}) -> {args.output}")
    print_spread(model)
    return 0
