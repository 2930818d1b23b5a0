"""Shape_DNN: choose depth and width of a wide ResNet under size, latency, energy and accuracy
requirements, training only some shapes on scikit-learn's digits and predicting the accuracy of the rest.

  perfmodel shape --preset digits --max-size-kb 400 --goal accuracy
  perfmodel shape --depth 10:29:6 --width 1/4:5/4:1/4 --max-latency-ms 2 --min-accuracy 0.95 --goal latency
  perfmodel shape --preset digits --goal latency --model model.json --config threads=2

Ranges are MIN:MAX:STEP with MAX exclusive (as in Shape_DNN, Table 2; widths may be fractions such as 1/16).
Latency/energy come from a layer-wise model file (--model) when given, else from timing each network on
this CPU ('measured:cpu'); energy is absent without a model file or power sensor, so an energy constraint
or goal then fails with a clear message. The output names the cost source used.
"""

from __future__ import annotations

import argparse
import math
import sys

from profiling.atomic import write_csv

from . import argtypes
from ..errors import ConfigError

HELP = "Shape_DNN: tune depth and width of a wide ResNet under size/latency/energy/accuracy limits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("design space")
    g.add_argument("--preset", default=None,
                   help="design space: A, B, C, D1, D2 (Shape_DNN Table 2) or digits (default when no ranges)")
    g.add_argument("--depth", help="MIN:MAX:STEP (MAX exclusive), depths of the form 6n+4")
    g.add_argument("--width", help="MIN:MAX:STEP (MAX exclusive), fractions allowed")
    c = parser.add_argument_group("constraints and goal")
    c.add_argument("--max-size-kb", type=argtypes.positive_float, help="largest model size in KB (float32 parameters)")
    c.add_argument("--max-latency-ms", type=argtypes.positive_float, help="slowest inference latency per batch in ms")
    c.add_argument("--max-energy-j", type=argtypes.positive_float, help="most energy per batch in J (needs --model)")
    c.add_argument("--min-accuracy", type=float, help="lowest test accuracy, a fraction (e.g. 0.95)")
    c.add_argument("--goal", default="accuracy", choices=("accuracy", "latency", "energy", "size", "none"),
                   help="what to optimise (default: accuracy); 'none' lists every shape meeting the limits")
    m = parser.add_argument_group("strategy")
    m.add_argument("--modelling", default="standard", choices=("thorough", "standard", "optimistic"),
                   help="how many shapes to train: a half to a third (thorough), 40 %% to a quarter (standard, "
                        "default) or 30 %% to a fifth (optimistic), fewer in larger spaces")
    m.add_argument("--sampling", default="interval", choices=("interval", "random", "wider"),
                   help="which shapes to train: evenly spaced over width then depth (interval, default), at "
                        "random, or the shallowest of every width first (wider)")
    m.add_argument("--ridge", type=argtypes.nonnegative_float, default=1.0,
                   help="ridge penalty of the accuracy model on standardised features (default 1; 0 is the "
                        "seed's plain least squares, unstable with under ten trained shapes: docs/design.md)")
    t = parser.add_argument_group("training and costs")
    t.add_argument("--epochs", type=argtypes.positive_int, default=6, help="training epochs per shape (default 6)")
    t.add_argument("--image-size", type=int, default=8, help="digits image size, multiple of 8 (default 8)")
    t.add_argument("--batch-size", type=argtypes.positive_int, default=1,
                   help="batch size of latency/energy (default 1)")
    t.add_argument("--model", metavar="JSON", help="layer-wise predictor model file for latency/energy")
    t.add_argument("--config", default="", help="hardware configuration for --model, e.g. threads=2")
    t.add_argument("--seed", type=argtypes.seed, default=0,
                   help="seed of the training and of random sampling (default 0)")
    parser.add_argument("-o", "--output", metavar="JSON", help="write the full result (every shape) as JSON")
    parser.add_argument("--csv", metavar="CSV", help="write the per-shape table as CSV ('-' for stdout)")


def _space(args):
    from ..shape import PRESETS, ShapeSpace

    if args.depth or args.width:
        if not (args.depth and args.width):
            raise ConfigError("give both --depth and --width (MIN:MAX:STEP), or --preset")
        if args.preset:
            raise ConfigError("give either --preset or --depth/--width, not both")
        return ShapeSpace.parse(args.depth, args.width), 5e-4
    name = args.preset or "digits"
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def _config(text: str) -> dict:
    """``--config`` of a layer-wise model's predictions: the one configuration parser, untyped (the model
    reads each value by its own encoding)."""
    from profiling.encoding import parse_config

    return parse_config(text or "", error=ConfigError)


def run(args: argparse.Namespace) -> int:
    from ..shape import Constraints, DigitsTrainer, LayerwiseCosts, MeasuredCosts, shape_search

    space, l2 = _space(args)
    cons = Constraints(
        max_size_bytes=None if args.max_size_kb is None else args.max_size_kb * 1e3,
        max_latency_s=None if args.max_latency_ms is None else args.max_latency_ms / 1e3,
        max_energy_j=args.max_energy_j, min_accuracy=args.min_accuracy)
    goal = None if args.goal == "none" else args.goal
    if args.model:
        cfg = _config(args.config)
        cfg.setdefault("batch_size", args.batch_size)
        costs = LayerwiseCosts(args.model, cfg)
    else:
        if args.config:
            raise ConfigError("--config applies to --model predictions; measured costs use this machine as is")
        costs = MeasuredCosts(batch_size=args.batch_size)
        if goal == "energy" or args.max_energy_j is not None:
            raise ConfigError("--goal energy / --max-energy-j need energy, which this machine cannot measure "
                              f"({costs.energy_note}); give a layer-wise model file with --model")
    need_costs = goal in ("latency", "energy") or args.max_latency_ms or args.max_energy_j
    trainer = DigitsTrainer(epochs=args.epochs, image_size=args.image_size, l2=l2, seed=args.seed)
    print(f"design space: {len(space)} shapes, depths {list(space.depths)}, "
          f"widths {[str(w) for w in space.widths]}; cost source: {costs.source}", file=sys.stderr)
    res = shape_search(space, trainer, costs, constraints=cons, goal=goal, modelling=args.modelling,
                       sampling=args.sampling, ridge_alpha=args.ridge, input_shape=trainer.input_shape,
                       seed=args.seed, progress=sys.stderr.isatty(),
                       measure=MeasuredCosts(batch_size=args.batch_size) if args.model and goal else None)
    t = res.table
    ok = res.feasible
    print(f"cost source: {res.cost_source}" + ("" if need_costs else " (only for the chosen shape)")
          + (f"; {getattr(costs, 'energy_note', '')}" if getattr(costs, "energy_note", "") else ""))
    print(f"shapes: {res.n_space} in space, {res.n_exhaustive} meet size/latency/energy, "
          f"{len(ok)} meet every constraint (accuracy predicted)")
    print(f"trained: {res.n_trained} (exhaustive search: {res.n_exhaustive}); trainings avoided: "
          f"{res.trainings_avoided}; speed-up {res.speedup:.1f}x; training time {res.train_time_s:.1f} s")
    for n in res.notes:
        print(f"note: {n}")
    cols = ["depth", "width", "params", "size_bytes", "runtime_s", "energy_j", "predicted_accuracy",
            "trained_accuracy"]
    if res.chosen is not None:
        r = res.chosen_row()
        lat = "-" if r["runtime_s"] is None else f"{r['runtime_s'] * 1e3:.3f} ms ({res.cost_source})"
        en = "absent" if r["energy_j"] is None else f"{r['energy_j']:.4g} J"
        if r.get("measured_runtime_s") is not None:
            lat += f", measured {r['measured_runtime_s'] * 1e3:.3f} ms (measured:cpu)"
        print(f"chosen shape (goal {goal}): {res.chosen.label()}  params {r['params']}  "
              f"size {r['size_bytes'] / 1e3:.1f} KB  latency {lat}  energy {en}  "
              f"accuracy predicted {r['predicted_accuracy']:.4f} trained {r['trained_accuracy']:.4f}")
    else:
        view = ok[cols].sort_values("predicted_accuracy", ascending=False)
        print(view.to_string(index=False, float_format=lambda v: f"{v:.4g}" if math.isfinite(v) else "-"))
    if args.output:
        res.to_json(args.output)
    if args.csv:
        write_csv(args.csv, t.assign(cost_source=res.cost_source), error=ConfigError, what="CSV file")
    return 0
