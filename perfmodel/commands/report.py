"""Write an analysis report of measurements: equations, Pareto front, transfer of optima, correlations.

Reads a measurement table (--table data.csv) or a campaign store (--store runs/x.sqlite) and writes, in
the output folder:

  report.html     self-contained page (figures embedded): Pareto front, objective vs each knob,
                  interaction heat map, predicted vs measured, study convergence (with --study)
  report.md       the same in Markdown, figures in figures/*.png
  equations.json  per objective: degree, terms (coefficient, std error, p-value, CI), sympy expression
                  in the knob names (natural units by default) and fit metrics

Examples:
  perfmodel report --table datasets/flexibo-tx2/tx2_sampled_output_xception_200x200.csv \\
      --knobs core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq \\
      --objectives inference_time,power_consumption -o out/report
  perfmodel report --store runs/x.sqlite --knobs threads,batch --objectives runtime_s,energy_j \\
      --study out/study.csv -o out/report
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from ..errors import DataError, ReportError
from ..tables import parse_names, read_table

HELP = "write an HTML/Markdown report with interaction equations and analyses"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", metavar="CSV", help="measurement table (one row per measurement)")
    src.add_argument("--store", metavar="SQLITE", help="campaign store written by 'perfmodel profile'")
    p.add_argument("--knobs", required=True, help="comma-separated knob columns")
    p.add_argument("--objectives", required=True, help="comma-separated objective columns (minimised)")
    p.add_argument("-o", "--out", default="out/report", help="output folder (default: out/report)")
    p.add_argument("--study", metavar="CSV", help="study written by 'perfmodel explore -o' (adds convergence and "
                                                  "study-vs-random comparison)")
    p.add_argument("--group-by", default="auto", metavar="COLS",
                   help="columns to compare across (e.g. network,size); 'auto' (default) takes network, size, "
                        "workload, platform... when present; 'none' for no grouping")
    p.add_argument("--degree", default="cv", help="polynomial degree, or 'cv' to choose it (default)")
    p.add_argument("--max-degree", type=int, default=3, help="highest degree tried with --degree cv (default 3)")
    p.add_argument("--units", choices=("natural", "standardized"), default="natural",
                   help="units of the equations (default natural)")
    p.add_argument("--maximize", default="", metavar="COLS", help="objectives to maximise instead of minimise")
    p.add_argument("--title", help="report title")
    p.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds (default 0)")


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
    store = store_mod.CampaignStore(path, readonly=True)  # a report never creates or locks the user's store
    try:
        df = store.to_frame()
    finally:
        store.close()
    if "level" in df.columns and (df["level"] == "network").any():
        df = df[df["level"] == "network"]  # whole-network rows; layer rows would double count
    if "status" in df.columns:
        df = df[df["status"].astype(str) == "ok"]
    if df.empty:
        raise DataError(f"store {path!r} holds no successful whole-network measurement")
    return df.reset_index(drop=True)


def _label(where: str, df) -> str:
    """Where the data came from, with the table's own ``source`` values (replay/simulated must show)."""
    if "source" in df.columns:
        kinds = sorted({str(v) for v in df["source"].dropna().unique()})[:5]
        if kinds:
            return f"{where} ({', '.join(kinds)})"
    return where


def run(args: argparse.Namespace) -> int:
    from ..reports import write_report

    knobs = parse_names(args.knobs, "knob")
    objectives = parse_names(args.objectives, "objective")
    maximize_names = parse_names(args.maximize, "objective") if args.maximize else []
    unknown = [m for m in maximize_names if m not in objectives]
    if unknown:
        raise ReportError(f"--maximize names {unknown[0]!r}, which is not one of --objectives")
    degree = _degree(args.degree)
    if args.table:
        table = read_table(args.table, knobs=knobs, objectives=objectives, allow_nan_objectives=True)
        source = _label(args.table, table)
    else:
        table = _from_store(args.store)
        source = _label(f"store:{args.store}", table)
    study = read_table(args.study, knobs=knobs, allow_nan_objectives=True) if args.study else None
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
                         seed=args.seed)
    print(f"report written: {paths['html']}")
    print(f"                {paths['markdown']}")
    print(f"                {paths['equations']}")
    return 0
