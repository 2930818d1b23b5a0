"""Fit a surrogate model and save it as JSON.

Configuration level (a table of configurations and measured objectives, e.g. datasets/flexibo-tx2):

  perfmodel fit --table data.csv --knobs core_freq,gpu_freq,emc_freq --target inference_time \\
                --model polynomial -o model.json

Layer-wise (a campaign store of the profiler; predicts unseen networks):

  perfmodel fit --store runs/x.sqlite -o model.json [--model polynomial|gp|gbr]

Layer-wise from exported measurement tables (several tables of one platform combine; gzipped CSV is fine):

  perfmodel fit --layerwise --table datasets/h200-torch/graph.csv.gz --table datasets/h200-torch/eager.csv.gz \\
                -o h200.json [--model polynomial|gp|gbr] [--view isolated|inplace]

Models: polynomial (sparse polynomial, degree 2-4 by cross-validation), gp (Gaussian process, gives a std),
gbr (gradient boosting), linear (configuration level only). The output file is written only on success.
"""

from __future__ import annotations

import argparse

from profiling.reference import REFERENCE_COLUMNS

from . import argtypes
from ..errors import DataError, ModelError
from ..tables import (check_columns, configuration_rows, joined_name, missing_values, parse_names, read_joined,
                      with_per_sample)

HELP = "fit a configuration-level or layer-wise model and save it as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", metavar="CSV", action="append",
                     help="table of configurations and measured objectives; with --layerwise an exported "
                          "measurement table (repeatable: the tables' rows are joined, of one platform)")
    src.add_argument("--store", metavar="PATH", help="campaign store of the profiler (layer-wise model)")
    parser.add_argument("--layerwise", action="store_true",
                        help="--table: fit the layer-wise model (per-layer rows -> network runtime, power, energy; "
                             "one set of models per cuda_graph mode when the tables have both)")
    parser.add_argument("--specs", metavar="DIR",
                        help="--layerwise --table: folder of NetworkSpec JSON files for networks whose layer "
                             "shapes the tables lack")
    parser.add_argument("--knobs", metavar="A,B,...", help="knob columns of --table")
    parser.add_argument("--target", metavar="COLUMN", help="objective column of --table to model")
    parser.add_argument("--model", default="polynomial", choices=("polynomial", "gp", "gbr", "linear"),
                        help="regressor (default: polynomial)")
    parser.add_argument("--log-target", choices=("auto", "yes", "no"), default="auto",
                        help="model log(target): auto = when every value is positive (default)")
    parser.add_argument("--log-knobs", choices=("auto", "yes", "no"), default=None,
                        help="configuration model (--table): encode each knob with three or more positive levels "
                             "(clock frequencies, threads) as its logarithm; auto = for --model gp only (default)")
    parser.add_argument("--input-warp", action="store_true",
                        help="configuration model with --model gp: learn a warping of each knob with three or more "
                             "levels (a response that changes faster over part of a knob's range, e.g. a power "
                             "step between two clocks; on the TX2 grids at 10 %% training power MAPE 3.9 %% "
                             "against 4.3 %%, see docs/models-results.md)")
    parser.add_argument("--view", default=None, choices=("inplace", "isolated"),
                        help="layer view to learn from (default with --store: inplace; with --layerwise --table: "
                             "isolated for cuda_graph=on, inplace otherwise)")
    parser.add_argument("--reference", metavar="COLUMN", choices=REFERENCE_COLUMNS,
                        help="--store: divide runtimes by this speed reference of their job (ref_compute_s, "
                             "ref_memory_s or ref_framework_s, recorded by campaigns since 2026-12-02), for a "
                             "machine whose speed drifts; predict then with --at-current-speed")
    parser.add_argument("--std-folds", type=int, default=None, metavar="N",
                        help="layer-wise models (--store, --layerwise): measure the predicted std on networks left "
                             "out of the unit models, in N groups (fitting takes N+1 times as long; default 4; "
                             "--store also takes 0: the spread on the training networks, which understates the "
                             "error on a new one)")
    parser.add_argument("--cv", type=argtypes.folds, default=None, metavar="K",
                        help="configuration model (--table): also estimate its error on configurations it was not "
                             "fitted on, each row predicted by a model fitted without its fold (K folds; fitting "
                             "takes K+1 times as long)")
    parser.add_argument("--seed", type=argtypes.seed, default=0, help="random seed (folds, restarts, boosting)")
    parser.add_argument("-o", "--output", required=True, metavar="JSON", help="model file to write")


def run(args: argparse.Namespace) -> int:
    log_target = {"auto": "auto", "yes": True, "no": False}[args.log_target]
    if args.reference and args.store is None:
        raise DataError("--reference is for --store (the layer-wise model)")
    if args.log_knobs is not None and (args.layerwise or args.table is None):
        raise DataError("--log-knobs is for a configuration-level model (--table without --layerwise)")
    if args.input_warp and (args.layerwise or args.table is None or args.model != "gp"):
        raise DataError("--input-warp is for a configuration-level GP (--table with --model gp)")
    if args.cv is not None and (args.layerwise or args.table is None):
        raise DataError("--cv is for a configuration-level model (--table without --layerwise); a layer-wise "
                        "model measures its spread with --std-folds")
    if args.std_folds is not None and args.table is not None and not args.layerwise:
        raise DataError("--std-folds is for a layer-wise model (--store, or --layerwise --table)")
    std_folds = 4 if args.std_folds is None else args.std_folds
    if args.layerwise:
        if args.table is None:
            raise DataError("--layerwise goes with --table (a campaign store is layer-wise already)")
        return _fit_tables(args, std_folds)
    if args.table is not None:
        tables, args.table = list(args.table), joined_name(args.table)  # the files, and how messages name them
        if not args.knobs or not args.target:
            raise DataError("--table needs --knobs and --target")
        from ..models.config_model import ConfigModel

        knobs = parse_names(args.knobs, "knob")
        target = parse_names(args.target, "target")
        if len(target) != 1:
            raise DataError("--target takes one column (fit one model per objective)")
        df = with_per_sample(configuration_rows(read_joined(tables), knobs, args.table), target)
        df = _rows_with(df, target[0], knobs, args.table)
        log_knobs = {None: "auto", "auto": "auto", "yes": True, "no": False}[args.log_knobs]
        model = ConfigModel(model=args.model, knobs=knobs, target=target[0], log_target=log_target,
                            log_knobs=log_knobs, random_state=args.seed,
                            model_params={"input_warp": True} if args.input_warp else None).fit(df, source=args.table)
        if args.cv is not None:  # before the save: bad folds write nothing
            from ..models.config_model import cross_validated_predictions
            from ..models.metrics import mape, within

            try:
                pred = cross_validated_predictions(model, df, args.cv, source=args.table)
            except DataError as exc:
                raise DataError(f"--cv {args.cv}: {exc}") from None
        model.save(args.output)
        print(f"fitted {args.model} model of {target[0]!r} on {len(df)} rows -> {args.output}")
        if args.cv is not None:
            import numpy as np

            truth = df[target[0]].to_numpy(dtype=float)
            if np.all(truth != 0):
                print(f"{args.cv}-fold cross-validation (each row predicted by the model fitted without its fold): "
                      f"MAPE {mape(truth, pred):.2f} %, {100 * within(truth, pred):.0f} % of rows within +-10 %")
            else:
                rmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
                print(f"{args.cv}-fold cross-validation (each row predicted by the model fitted without its fold): "
                      f"RMSE {rmse:.4g} (the target has zeros: no relative error)")
        return 0
    if args.model == "linear":
        raise ModelError("--model linear is for --table only; use polynomial, gp or gbr with --store")
    from ..models.layerwise import LayerwisePredictor
    from ..models.tables_input import store_frame

    table = store_frame(args.store)
    model = LayerwisePredictor(model=args.model, view=args.view or "inplace", log_target=log_target is not False,
                               random_state=args.seed, reference=args.reference, std_folds=std_folds).fit(table)
    model.save(args.output)
    print(f"fitted layer-wise {args.model} model on {model.n_train_rows_} layer rows of "
          f"{len(model.networks_)} networks -> {args.output}")
    print_spread(model)
    return 0


def _rows_with(df, target: str, knobs, source: str):
    """The rows of ``df`` where ``target`` was measured: a row without it (a sensor read at some settings only,
    as the H200 tables' power at batch 64) is left out with a warning, never filled in."""
    import warnings

    check_columns(df, objectives=[target], source=source, allow_nan_objectives=True)
    missing, first = missing_values(df, target, knobs)
    if missing.all():
        raise DataError(f"{source!r}: {target} has no value in any of its {len(df)} rows")
    if missing.any():
        warnings.warn(f"{source}: {target} is missing in {int(missing.sum())} of {len(df)} rows (first: {first}); "
                      f"the model is fitted on the {int((~missing).sum())} that have it", UserWarning, stacklevel=2)
        df = df[~missing].reset_index(drop=True)
    return df


def _fit_tables(args: argparse.Namespace, std_folds: int) -> int:
    if args.model == "linear":
        raise ModelError("--model linear is for configuration-level tables; use polynomial, gp or gbr")
    if args.knobs or args.target or args.reference:
        raise DataError("--knobs, --target and --reference do not go with --layerwise (knobs come from the "
                        "tables' config column)")
    from ..models.table_layerwise import TableLayerwisePredictor
    from ..models.tables_input import read_tables

    specs = None
    if args.specs:
        specs = _read_specs(args.specs)
    table = read_tables(args.table)
    model = TableLayerwisePredictor(model=args.model, view=args.view, std_folds=std_folds,
                                    random_state=args.seed).fit(table, specs)
    model.save(args.output)
    print(f"fitted layer-wise {args.model} model on {len(args.table)} table(s) -> {args.output}")
    for line in model.summary():
        print(line)
    return 0


def _read_specs(folder: str) -> dict:
    import glob
    import os

    from ..models.network_input import load_spec

    if not os.path.isdir(folder):
        raise DataError(f"--specs {folder!r} is not a folder")
    specs = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        spec = load_spec(path)
        specs[spec.name] = spec
    if not specs:
        raise DataError(f"--specs {folder!r} holds no NetworkSpec JSON files")
    return specs


def print_spread(model) -> None:
    """Say how wide a fitted layer-wise model's network-level std is, and what it was measured on."""
    if model.n_network_rows_:
        how = f"on networks left out of the unit models ({model.net_std_folds_} folds)" if model.net_std_folds_ \
            else "on the training networks"
        print(f"network-level spread (relative std) {how}: {100 * model.net_rel_std_:.1f} %")
