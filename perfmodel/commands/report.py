"""Write an analysis report of measurements: profile, prediction, Pareto front and interaction equations.

Reads a measurement table (--table data.csv, .csv.gz; repeatable), a campaign store (--store runs/x.sqlite)
or a search's own evaluations (--study run.sqlite alone) and writes, in the output folder:

  report.html     self-contained page (figures embedded) in three sections:
                  profile     per network and configuration: top layers, share by layer type, in-place vs
                              isolated vs whole (the gap between the sum of layers and the network), networks
                              compared (runtime vs FLOPs, energy per inference where measured), how runtime
                              and energy move with each knob
                  prediction  with --model: the layer-wise model's predictions of every network of the table
                              it did not train on, against the measurements; errors by layer type; coverage
                              of the predicted std; the knob ranges it was trained on
                  decision    Pareto front (runtime vs energy per sample, or vs power; with runtime only and a
                              batch knob, latency vs time per sample), the configurations on it, interaction
                              equations, transfer of optima and correlations across groups, study convergence
  report.md       the same in Markdown, figures in figures/*.png
  equations.json  per objective: degree, terms (coefficient, std error, p-value, CI), sympy expression
                  in the knob names (natural units by default) and fit metrics

A section that the data cannot feed (no per-layer rows, a model whose knobs the table lacks) says what it
could not compute; the rest is written. Knobs default to the keys of the table's config column that vary
(a table without one, as other tools write: every other column that varies, less the objectives, with a
warning naming them; --knobs says which); objectives to runtime_s, energy_j, power_w where measured.

Examples:
  perfmodel report --table out/measurements.csv --model out/layerwise-model.json -o out/report
  perfmodel report --table datasets/h200-torch/eager.csv.gz --table datasets/h200-torch/graph.csv.gz \\
      --knobs batch,cuda_graph --objectives runtime_s,energy_j -o out/report-h200
  perfmodel report --table datasets/flexibo-tx2/tx2_sampled_output_xception_200x200.csv \\
      --knobs core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq \\
      --objectives inference_time,power_consumption -o out/report
  perfmodel report --store runs/x.sqlite --knobs threads,batch --objectives runtime_s,energy_j \\
      --study out/study.csv -o out/report

--study takes the CSV that 'perfmodel explore -o' writes or the study file of 'explore --study' (read, never
written, even while the study runs). Alone, it is the data (a live search has no other table); the study file
gives the knobs and objectives, a CSV needs --knobs and --objectives:
  perfmodel report --study out/study.sqlite -o out/report-study
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import warnings

import pandas as pd

from . import argtypes
from ..errors import DataError, ReportError
from ..tables import joined_name, parse_names, read_joined, read_table, with_per_sample

HELP = "write an HTML/Markdown report with interaction equations and analyses"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--table", metavar="CSV", action="append",
                     help="measurement table (one row per measurement; .csv or .csv.gz); repeat to join tables")
    src.add_argument("--store", metavar="PATH_OR_URL",
                     help="campaign store written by 'perfmodel profile' (SQLite file or postgresql:// URL)")
    p.add_argument("--knobs", help="comma-separated knob columns (default: the keys of the config column that vary "
                                   "across the whole-network rows; without a config column, every other column "
                                   "that varies, less the objectives)")
    p.add_argument("--objectives", help="comma-separated objective columns, minimised (default: runtime_s, energy_j, "
                                        "power_w, those with values)")
    p.add_argument("--model", metavar="JSON", help="layer-wise model written by 'perfmodel fit' (adds the "
                                                   "prediction section)")
    p.add_argument("-o", "--out", default="out/report", help="output folder (default: out/report)")
    p.add_argument("--study", metavar="FILE", help="study: the CSV 'perfmodel explore -o' writes, or its study "
                                                   "file (--study) (adds convergence and study-vs-random comparison); "
                                                   "alone, a report of its evaluations (a live search's)")
    p.add_argument("--group-by", default="auto", metavar="COLS",
                   help="columns to compare across (e.g. network,size); 'auto' (default) takes network, size, "
                        "workload, platform... when present; 'none' for no grouping")
    p.add_argument("--degree", default="cv", help="polynomial degree, or 'cv' to choose it (default)")
    p.add_argument("--max-degree", type=argtypes.positive_int, default=3,
                   help="highest degree tried with --degree cv (default 3)")
    p.add_argument("--units", choices=("natural", "standardized"), default="natural",
                   help="units of the equations (default natural)")
    p.add_argument("--maximize", default="", metavar="COLS", help="objectives to maximise instead of minimise")
    p.add_argument("--title", help="report title")
    p.add_argument("--seed", type=argtypes.seed, default=0, help="seed of the cross-validation folds (default 0)")


def _degree(text: str):
    if text == "cv":
        return "cv"
    try:
        d = int(text)
    except ValueError:
        raise ReportError(f"--degree must be 'cv' or a positive integer, not {text!r}") from None
    if d < 1:
        raise ReportError(f"--degree must be 'cv' or a positive integer, not {text!r}")
    return d


def _from_store(path: str):
    if importlib.util.find_spec("profiling.store") is None:
        raise ReportError("--store needs the campaign store (profiling.store), which this installation lacks; "
                          "export the measurements with 'perfmodel export' and use --table")
    store_mod = importlib.import_module("profiling.store")
    store = store_mod.open_store(path, readonly=True)  # a report never creates or locks the user's store
    try:
        df = store.to_frame()
    finally:
        store.close()
    if df is None or df.empty:
        raise DataError(f"store {path!r} holds no measurement")
    return df.reset_index(drop=True)  # layer rows feed the profile section; the report keeps whole rows apart


def _label(where: str, df) -> str:
    """Where the data came from, with the table's own ``source`` values (replay/simulated must show)."""
    if "source" in df.columns:
        kinds = sorted({str(v) for v in df["source"].dropna().unique()})[:5]
        if kinds:
            return f"{where} ({', '.join(kinds)})"
    return where


def default_knobs(table: pd.DataFrame, objectives: list[str] = ()) -> list[str]:
    """The knob columns of ``table`` (keys of its config column) that take two or more values in its
    whole-network rows; without a config column, every other column that varies, less the ``objectives``
    (with a warning: such a guess may take an output for a knob). When no key of the config column varies
    (one configuration profiled), all its keys: the profile section needs none to vary, and the decision
    section says that it cannot fit an equation of knobs that do not move."""
    from ..analysis import whole_rows
    from ..features import config_keys, knob_columns

    whole = whole_rows(table)
    knobs = [k for k in knob_columns(whole) if k in whole.columns and whole[k].nunique() > 1 and k not in objectives]
    if not knobs:
        return [k for k in config_keys(whole) if k not in objectives]
    if not config_keys(whole):
        from ..interactions.design import MAX_CATEGORY_LEVELS
        from ..tables import GROUP_COLUMNS

        per_row = per_row_columns(whole, knobs)
        # names of many configurations (FlexiBO's config_name over several tables): a label, not a knob
        per_row.update({k: "a label" for k in knobs if k not in per_row and not pd.api.types.is_numeric_dtype(
            whole[k]) and whole[k].nunique() > MAX_CATEGORY_LEVELS})
        # a knob is set in every configuration: a column empty in some rows holds a reading that was not taken
        gaps = [k for k in knobs if k not in per_row and whole[k].isna().any()]
        groups = [k for k in knobs if k in GROUP_COLUMNS and k not in per_row and k not in gaps]
        knobs = [k for k in knobs if k not in per_row and k not in gaps and k not in groups]
        left_out = f"; left out, a different value in most rows: {', '.join(f'{k} ({v})' for k, v in per_row.items())}" \
            if per_row else ""
        if gaps:
            left_out += f"; left out, empty in some rows: {', '.join(gaps)}"
        if groups:
            left_out += f"; compared as groups, not knobs: {', '.join(groups)}"
        warnings.warn(f"the table has no config column: its knobs are taken to be every other column that varies "
                      f"({', '.join(knobs) or 'none'}){left_out}; name them with --knobs", stacklevel=2)
    return knobs


#: A column with a different value in more than this share of the rows (and in more than MIN_PER_ROW rows) is
#: taken for a measurement or a label, not a knob: a knob is set to a few levels that rows repeat.
PER_ROW_SHARE = 0.5
MIN_PER_ROW = 10


def per_row_columns(table: pd.DataFrame, columns) -> dict[str, str]:
    """``{column: "a measurement" or "a label"}`` of the ``columns`` of ``table`` that take a different value in
    most rows (:data:`PER_ROW_SHARE`): numbers measured per row (another objective, such as the power beside
    the time) or names of each configuration (``config_name``); neither is a knob an equation can hold."""
    out = {}
    for c in columns:
        values = table[c].dropna()
        if values.nunique() > max(PER_ROW_SHARE * len(values), MIN_PER_ROW):
            numeric = pd.to_numeric(values, errors="coerce").notna().all()
            out[c] = "a measurement" if numeric else "a label"
    return out


def default_objectives(table: pd.DataFrame) -> list[str]:
    from ..analysis import whole_rows

    whole = whole_rows(table)
    return [o for o in ("runtime_s", "energy_j", "power_w") if o in whole.columns
            and pd.to_numeric(whole[o], errors="coerce").notna().any()]


def run(args: argparse.Namespace) -> int:
    from ..reports import write_report

    model = None
    if args.model:
        from ..models.layerwise import LayerwisePredictor

        model = LayerwisePredictor.load(args.model)  # an unreadable model is bad input: one line, exit 2
    study_defaults, study_alone = {}, not (args.table or args.store) and bool(args.study)
    if args.table:
        table = read_joined(args.table, allow_nan_objectives=True)
        source = _label(joined_name(args.table), table)
    elif args.store:
        table = _from_store(args.store)
        source = _label(f"store:{args.store}", table)
    elif study_alone:  # the evaluations of a search (a live one has no other table): knobs and objectives its own
        table, study_defaults = _study_alone(args)
        source = _label(f"study:{args.study}", table)
    else:
        raise ReportError("give --table, --store or --study (the data to report on)")
    if study_defaults and not args.objectives:
        args.objectives = ",".join(study_defaults["objectives"])
        args.maximize = args.maximize or ",".join(o for o, mx in zip(study_defaults["objectives"],
                                                                   study_defaults["maximize"]) if mx)
    if study_defaults and not args.knobs:
        args.knobs = ",".join(study_defaults["knobs"])
    objectives = parse_names(args.objectives, "objective") if args.objectives else default_objectives(table)
    if not objectives:
        from ..analysis import whole_rows
        from ..features import knob_columns

        whole = whole_rows(table)
        measured = [c for c, what in per_row_columns(whole, [c for c in knob_columns(whole) if c in whole.columns])
                    .items() if what == "a measurement"]
        hint = f" (columns measured per row: {', '.join(measured[:6])})" if measured else ""
        raise ReportError(f"the data have none of runtime_s, energy_j, power_w; name the objectives with "
                          f"--objectives{hint}")
    table = with_per_sample(table, objectives)  # as explore measures them live
    knobs = parse_names(args.knobs, "knob") if args.knobs else default_knobs(table, objectives)
    if not knobs:
        raise ReportError("no knob varies across the data's whole-network rows; name the knobs with --knobs")
    maximize_names = parse_names(args.maximize, "objective") if args.maximize else []
    unknown = [m for m in maximize_names if m not in objectives]
    if unknown:
        raise ReportError(f"--maximize names {unknown[0]!r}, which is not one of --objectives")
    degree = _degree(args.degree)
    study = _read_study(args.study, knobs, table if study_alone else None) if args.study else None
    if args.group_by == "auto":
        group_by = "auto"
    elif args.group_by.lower() == "none":
        group_by = None
    else:
        group_by = parse_names(args.group_by, "group column")
        missing = [g for g in group_by if g not in table.columns]
        if missing:
            raise ReportError(f"--group-by names {missing[0]!r}, which is not a column of the data")
    paths = write_report(table, knobs, objectives, args.out, study=study, group_by=group_by, degree=degree,
                         units=args.units, max_degree=args.max_degree,
                         maximize=[o in maximize_names for o in objectives], title=args.title, source=source,
                         seed=args.seed, model=model, model_label=args.model or "model",
                         progress=_progress_printer())
    print(f"report written: {paths['html']}")
    print(f"                {paths['markdown']}")
    print(f"                {paths['equations']}")
    return 0


def _progress_printer():
    """Steps of a long report on stderr when a person watches it (a terminal); nothing in a pipe or a log."""
    if not sys.stderr.isatty():
        return None
    return lambda text: print(f"perfmodel report: {text}", file=sys.stderr, flush=True)


def _study_alone(args: argparse.Namespace):
    """``(evaluations, {knobs, objectives, maximize})`` of the study ``--study`` names, for a report of it alone:
    a study file knows its knobs and objectives, a CSV of one needs them named."""
    if not os.path.isfile(args.study):
        raise ReportError(f"study file {args.study!r} does not exist" if not os.path.exists(args.study)
                          else f"study file {args.study!r} is not a file")
    if not _is_study_file(args.study):
        if not (args.knobs and args.objectives):
            raise ReportError("a report of a study's CSV alone needs --knobs and --objectives (its study file, "
                              "explore --study, knows them)")
        return read_table(args.study, allow_nan_objectives=True), {}
    from ..optimisation import load_study

    study = load_study(args.study)
    return study.results(), {"knobs": list(study.space.names), "objectives": list(study.objectives),
                             "maximize": list(study.maximize)}


def _is_study_file(path: str) -> bool:
    """Whether ``path`` is SQLite (a study file, or another SQLite file that load_study refuses), not a CSV."""
    from profiling.sqlite import has_sqlite_header

    try:
        return has_sqlite_header(path, OSError, what="study file")
    except OSError:
        return False                          # not SQLite, or unreadable: read_table says what is wrong with it


def _read_study(path: str, knobs: list[str], evaluations: pd.DataFrame | None = None) -> pd.DataFrame:
    """A study's evaluations: from its SQLite study file (read, never written) or the CSV explore wrote
    (``evaluations``, where they were read already), with the ``knobs`` checked."""
    from ..tables import check_columns

    if evaluations is None and not _is_study_file(path):
        return read_table(path, knobs=knobs, allow_nan_objectives=True)
    if evaluations is None:
        from ..optimisation import load_study

        evaluations = load_study(path).results()
    check_columns(evaluations, knobs=knobs, allow_nan_objectives=True, source=path)
    return evaluations
