"""PowerML: hyper-parameter search that weighs the hardware cost of training and inference
against accuracy:  cost = alpha * train_cost^2 + beta * infer_cost^2 - (1 - alpha - beta) * score,
costs normalised by the first iteration.

  perfmodel tune --kind dffr --alpha 0.5 --beta 0.05 --iters 10
  perfmodel tune --kind cnn --alpha 0.05 --beta 0.5 --cost-source proxy -o study.json

Networks are trained on scikit-learn's digits (default: digits 0 and 1, 100 + 100 images, like the seed's
mnist_small). Hardware cost ('--cost-source auto'): measured energy where a power sensor is readable, else
energy predicted by a layer-wise model file (--model), else PowerML's memory-access proxy from valgrind
cachegrind (cycles; run on a NumPy version of the network). The output names the source used.
"""

from __future__ import annotations

import argparse
import sys

from profiling.atomic import write_csv

from . import argtypes
from ..errors import ConfigError

HELP = "PowerML: hyper-parameter search with training/inference energy in the objective"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", default="dffr", choices=("dffr", "cnn"),
                        help="dense feed-forward rectangle or CNN (default: dffr)")
    parser.add_argument("--alpha", type=float, default=0.0, help="weight of training cost^2 (default 0)")
    parser.add_argument("--beta", type=float, default=0.0, help="weight of inference cost^2 (default 0)")
    parser.add_argument("--iters", type=argtypes.positive_int, default=10,
                        help="iterations (default 10, as in the seed)")
    parser.add_argument("--n-init", type=argtypes.positive_int, default=5,
                        help="random start-up iterations (default 5)")
    parser.add_argument("--strategy", default="tpe", choices=("tpe", "random", "bo"),
                        help="optimiser strategy (default: tpe, as in the seed)")
    parser.add_argument("--cost-source", default="auto", choices=("auto", "measured", "predicted", "proxy"),
                        help="where the hardware cost comes from (default: auto, see above)")
    parser.add_argument("--model", metavar="JSON", help="layer-wise predictor model file (predicted energy)")
    parser.add_argument("--config", default="", help="hardware configuration for --model, e.g. threads=2")
    parser.add_argument("--epochs", type=argtypes.positive_int, default=10,
                        help="training epochs of each network (default 10)")
    parser.add_argument("--classes", type=int, default=2, help="digit classes 0..N-1 (default 2)")
    parser.add_argument("--n-train", type=int, default=100, help="training images (default 100)")
    parser.add_argument("--n-test", type=int, default=100, help="test images, scored for accuracy (default 100)")
    parser.add_argument("--seed", type=argtypes.seed, default=0,
                        help="seed of the split, the weights and the optimiser (default 0)")
    parser.add_argument("-o", "--output", metavar="JSON", help="write every iteration as JSON")
    parser.add_argument("--csv", metavar="CSV", help="write every iteration as CSV ('-' for stdout)")


def run(args: argparse.Namespace) -> int:
    from ..tune import PredictedEnergy, check_weights, load_data, select_energy_source, tune
    from .shape import _config

    gamma = check_weights(args.alpha, args.beta)  # before anything slow
    data = load_data(args.n_train, args.n_test, args.classes, args.seed)
    energy = select_energy_source(args.cost_source, args.model, _config(args.config))
    if args.config and not isinstance(energy, PredictedEnergy):
        raise ConfigError(f"--config applies to --model predictions; the cost source here is {energy.source}, "
                          "which uses this machine as it is")
    print(f"cost source: {energy.source} [{energy.unit}]; gamma = {gamma:g}", file=sys.stderr)
    res = tune(args.kind, args.alpha, args.beta, args.iters, energy=energy, epochs=args.epochs,
               strategy=args.strategy, n_init=args.n_init, seed=args.seed, data=data,
               progress=sys.stderr.isatty())
    h = res.history
    knobs = [c for c in ("layers", "width", "filters", "kernel", "batch_size") if c in h.columns]
    print(h[["iteration", *knobs, "score", "train_cost", "infer_cost", "cost"]].to_string(
        index=False, float_format=lambda v: f"{v:.4f}"))
    b = res.best
    print(f"best (iteration {int(b['iteration'])}): " + ", ".join(f"{k}={int(b[k])}" for k in knobs)
          + f"; score {b['score']:.4f}, train cost {b['train_cost']:.3f}, inference cost {b['infer_cost']:.3f} "
          f"(normalised by iteration 1; source {res.source}), cost {b['cost']:.4f}")
    if args.output:
        res.to_json(args.output)
    if args.csv:
        write_csv(args.csv, h, error=ConfigError, what="CSV file")
    return 0
