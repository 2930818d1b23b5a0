"""Predict with a model saved by 'perfmodel fit'.

Configuration level: adds <target>_pred (and <target>_std for a GP) to every row of the table:

  perfmodel predict --model model.json --table new.csv -o pred.csv
  perfmodel predict --model model.json --config core_freq=1113600,gpu_freq=624750000,emc_freq=1331200000

Layer-wise: runtime_s, power_w, energy_j (and their std where the model gives one) of a network that may
never have been measured, for one or more configurations:

  perfmodel predict --model model.json --network MobileNetV2 --config threads=2,batch=1 --config threads=1,batch=1
  perfmodel predict --model h200.json --network datasets/h200-torch/specs/resnet50.json \\
                    --config batch=8,cuda_graph=on --config batch=8,cuda_graph=off

--network takes a keras.applications name, a .keras file or a NetworkSpec JSON file. A configuration or a
layer outside what the model was calibrated on is predicted with a warning naming the range (and a note in
the "notes" column); a knob the model was not trained on is an error.

Without -o the result is printed as CSV.
"""

from __future__ import annotations

import argparse

import pandas as pd

from profiling.atomic import STDOUT, write_csv
from profiling.encoding import parse_config as _parse

from ..errors import DataError, ModelError

HELP = "predict objectives of configurations (--table) or of a network (--network)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="JSON", help="model file written by 'perfmodel fit'")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--table", metavar="CSV", action="append",
                     help="configurations to predict (must hold the model's knobs; repeat to join tables)")
    src.add_argument("--network", metavar="NAME_OR_PATH",
                     help="keras.applications name, .keras file or NetworkSpec JSON file")
    parser.add_argument("--config", action="append", default=[], metavar="K=V,...",
                        help="configuration to predict (repeatable; each is one output row): of --network with a "
                             "layer-wise model, or alone with a configuration-level model (every one of its knobs)")
    parser.add_argument("--at-current-speed", action="store_true",
                        help="--network, for a model fitted with --reference: time the speed reference on this "
                             "machine now (under 0.1 s) and scale the predictions to it")
    parser.add_argument("-o", "--output", metavar="CSV", help="write the predictions here (default, or '-': stdout)")


def parse_config(text: str, knobs=None) -> dict:
    """``"threads=2,xla=true"`` -> ``{"threads": 2, "xla": True}``: the one configuration parser
    (:func:`profiling.encoding.parse_config`). Without ``knobs`` (the declared types) numbers and true/false are
    recognised and other words kept as text: the model reads them by its own encoding, so ``xla=on`` is true for
    a boolean knob and ``cuda_graph=on`` the level "on" of a categorical one.
    """
    return _parse(text, knobs, error=DataError, allow_empty=False)


def declared_knobs(model):
    """The knob types a model declares for parsing its configurations (its knob encoding), or None."""
    from ..features import KnobEncoder

    enc = getattr(model, "knobs_", None)
    return enc.encoder if isinstance(enc, KnobEncoder) else None


def write_frame(df: pd.DataFrame, path: str | None) -> None:
    write_csv(path or STDOUT, df, error=DataError, what="predictions file")


def _predict_rows(model, df: pd.DataFrame, source: str, output: str | None) -> int:
    """A configuration-level model's prediction (``<target>_pred``, and ``_std`` where it gives one) added to
    each row of ``df``, written to ``output``."""
    mean, std = model.predict(df, return_std=True, source=source)
    out = df.copy()
    out[f"{model.target_}_pred"] = mean
    if model.has_std:
        out[f"{model.target_}_std"] = std
    write_frame(out, output)
    if output and output != STDOUT:
        print(f"predicted {model.target_!r} for {len(out)} rows -> {output}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..models.persistence import load_model

    if args.table is not None:
        from ..tables import joined_name, read_joined

        if args.config:
            raise DataError("--table and --config both give the configurations to predict: give one of them")
        if args.at_current_speed:
            raise DataError("--at-current-speed goes with --network (a layer-wise model fitted with --reference)")
        model = load_model(args.model, kind="config_model")
        return _predict_rows(model, read_joined(args.table, knobs=model.knobs_), joined_name(args.table),
                             args.output)
    if args.network is None:  # configurations given one by one to a configuration-level model
        if not args.config:
            raise DataError("give --table (configurations), --config (a configuration-level model's knobs) or "
                            "--network with --config (a layer-wise model)")
        if args.at_current_speed:
            raise DataError("--at-current-speed goes with --network (a layer-wise model fitted with --reference)")
        model = load_model(args.model, kind=("config_model", "layerwise", "layerwise_tables"))
        from ..models.config_model import ConfigModel

        if not isinstance(model, ConfigModel):
            raise DataError(f"{args.model!r} is a layer-wise model: it predicts a network, give --network with "
                            "--config")
        rows = []
        for text in args.config:
            cfg = parse_config(text)
            unknown = [k for k in cfg if k not in model.knobs_]
            missing = [k for k in model.knobs_ if k not in cfg]
            if unknown or missing:
                what = f"names {unknown[0]!r}, not" if unknown else f"does not set {missing[0]!r},"
                raise DataError(f"--config {text!r} {what} one of the model's knobs ({', '.join(model.knobs_)})")
            rows.append(cfg)
        return _predict_rows(model, pd.DataFrame(rows, columns=model.knobs_), "--config", args.output)
    if not args.config:  # checked before the model and the network are read (a keras network takes seconds)
        raise ModelError("--network needs at least one --config (e.g. --config threads=2,batch=1)")
    model = load_model(args.model, kind=("layerwise", "layerwise_tables"))
    from ..models.network_input import load_spec

    spec = load_spec(args.network)
    configs = [parse_config(c, declared_knobs(model)) for c in args.config]
    if not hasattr(model, "reference"):  # a model fitted on tables (fit --layerwise --table)
        if args.at_current_speed:
            raise ModelError("--at-current-speed needs a model fitted with --store --reference")
        out = model.predict(spec, configs)
        write_frame(out, args.output)
        if args.output and args.output != STDOUT:
            print(f"predicted {len(out)} configuration(s) of {args.network} -> {args.output}")
        return 0
    reference_s = None
    if args.at_current_speed:
        if model.reference is None:
            raise ModelError("--at-current-speed needs a model fitted with --reference")
        from profiling.reference import reference_now

        reference_s = reference_now(model.reference)
    out = model.predict(spec, configs, reference_s=reference_s)
    write_frame(out, args.output)
    if args.output and args.output != STDOUT:
        print(f"predicted {len(out)} configuration(s) of {args.network} -> {args.output}")
    return 0
