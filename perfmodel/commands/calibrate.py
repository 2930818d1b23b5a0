"""Profile a standard training set of networks on this machine and fit the layer-wise predictor.

  perfmodel calibrate --platform cpu --budget quick -o model.json

'quick' measures small networks, 12 sampled synthetic ones and 4 with large fully-connected layers (whole
network + in-place units, no isolated layers) under threads 1/2 and batch 1/4; 'full' adds keras.applications
networks, 48 synthetic networks, 12 with large fully-connected layers, 8 with large feature maps, and more
configurations. The jobs run in a shuffled order (a drift of the machine's speed falls on all networks
alike). The measurements go into a campaign store (default: the model path with .sqlite); a run that is
interrupted resumes where it stopped when started again with the same arguments. The model is then fitted
exactly as 'perfmodel fit --store'.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

from ..errors import DataError

HELP = "profile a training set of networks on this machine and fit the layer-wise model"

# Sampled synthetic networks (profiling.synthetic) cover kernels the named networks lack (other activations,
# shapes); on this CPU, adding 48 of them cut the leave-one-network-out error of unseen networks (docs/models.md).
# (quick: 4 of the fully-connected family too: the calibrated model then predicted unseen applications with
# 11.5 % MAPE instead of 12.5 % on 2026-12-02, benchmarks/bench_calibrate.py, docs/models.md)
SYNTHETIC_QUICK = [f"synthetic_{i}" for i in range(12)] + [f"synthetic_fc_{i}" for i in range(4)]
SYNTHETIC_FULL = [f"synthetic_{i}" for i in range(48)]
# the two other families (AlexNet / VGG heads, full-resolution convolutions): what the 48 lack, docs/models.md
SYNTHETIC_FULL += [f"synthetic_fc_{i}" for i in range(12)] + [f"synthetic_hires_{i}" for i in range(8)]

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
    parser.add_argument("--platform", default="cpu", choices=("cpu",), help="platform to calibrate (default: cpu)")
    parser.add_argument("--budget", choices=tuple(BUDGETS), default="quick",
                        help="quick (small networks, 4 configurations) or full (default: quick)")
    parser.add_argument("--model", default="gbr", choices=("polynomial", "gp", "gbr"),
                        help="layer regressor (default: gbr, the most accurate on unseen networks, docs/models.md)")
    parser.add_argument("--store", metavar="PATH", help="campaign store for the measurements (default: OUTPUT.sqlite)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-o", "--output", required=True, metavar="JSON", help="model file to write")


def profile(store_path: str, budget: str, show_progress: bool) -> None:
    """Run the calibration campaign into ``store_path`` (jobs already stored are skipped)."""
    try:
        from profiling.campaign import run_campaign
        from profiling.platforms.cpu import CpuPlatform
        from profiling.store import CampaignStore
    except ImportError:
        raise DataError("perfmodel calibrate is not available yet: it needs the profiler "
                        "(profiling.campaign.run_campaign)") from None
    from tqdm import tqdm

    plan = BUDGETS[budget]
    platform = CpuPlatform()
    base = platform.space().default()
    configs = [{**base, "threads": t, "batch": b} for t, b in itertools.product(plan["threads"], plan["batch"])]
    bar = tqdm(total=len(plan["networks"]) * len(configs), unit="job", desc=f"calibrate ({budget})",
               disable=not show_progress, file=sys.stderr)
    with CampaignStore(store_path) as store:
        summary = run_campaign(store, networks=plan["networks"], configs=configs, level="layer",
                               views=("whole", "inplace"), campaign=f"calibrate-{budget}", platform=platform,
                               progress=lambda text: (bar.set_postfix_str(text[-40:]), bar.update(1)),
                               # a drift of the machine's speed then falls on every network alike
                               shuffle=0)
    bar.close()
    for line in summary.lines():
        print(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..models.layerwise import LayerwisePredictor, store_frame
    from .fit import print_spread

    store_path = args.store or os.path.splitext(args.output)[0] + ".sqlite"
    profile(store_path, args.budget, show_progress=not args.no_progress and sys.stderr.isatty())
    model = LayerwisePredictor(model=args.model, random_state=0).fit(store_frame(store_path))
    model.save(args.output)
    print(f"calibrated layer-wise {args.model} model on {model.n_train_rows_} units of {len(model.networks_)} "
          f"networks ({store_path}) -> {args.output}")
    print_spread(model)
    return 0
