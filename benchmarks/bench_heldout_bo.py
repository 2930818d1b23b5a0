"""The no-prior optimiser on tables no default was chosen on: bench_optimisation's replay of the held-out tables.

The defaults of ``perfmodel explore`` (the bo strategy's kernels, design, inputs and acquisition) were chosen on
the four TX2 Xception grids and checked on the fifth TX2 table. This runs the same benchmark, unchanged, on the
held-out tables of ``bench_config_models.py --heldout`` that carry time and energy:

* ``tx2-nlp-debug``: Unicorn's TX2 NLP debug measurements (1438 rows, 463 distinct configurations of the six
  DVFS knobs and three kernel settings, each measured about three times: the replay takes each configuration's
  mean);
* ``xavier-image``: Unicorn's sampled Xavier Image table (266 configurations of 26 hardware and kernel knobs).

Objectives: inference time and total energy, both minimised; the score is bench_optimisation's (hypervolume
ratio to the table's true front, reference point its nadir + 10 % of its range). Knob names that are not
identifiers (``scheduler.policy``) become identifiers (``scheduler_policy``, ``profiling.space.identifier_for``); the
table is written, so renamed, to a temporary file for the replay. Every other flag goes to
bench_optimisation.py::

    PYTHONPATH=. python benchmarks/bench_heldout_bo.py --table tx2-nlp-debug --seeds 0-19 --budgets 10,20,40 \\
        --strategies bo,random,tpe --tpe-cap 40 --single-budget 0 --raw nlp_raw.csv

``--write-table DIR`` only writes the renamed table and prints the flags that give it to the other benchmarks
that take ``--files``, ``--knobs`` and ``--objectives``, e.g. the surrogate's outlook and fit::

    PYTHONPATH=. python benchmarks/bench_front_outlook.py --seeds 0-9 \\
        $(PYTHONPATH=. python benchmarks/bench_heldout_bo.py --table tx2-nlp-debug --write-table /tmp)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_config_models  # noqa: E402
from profiling.space import identifier_for  # noqa: E402

OBJECTIVES = ["inference_time", "total_energy_consumption"]
TABLES = ("tx2-nlp-debug", "xavier-image")


def write_table(name: str, directory: str) -> tuple[str, list[str]]:
    """The held-out table ``name`` written to ``directory`` with identifier knob names: (path, knobs)."""
    df, knobs, targets = bench_config_models.heldout_table(name)
    if set(OBJECTIVES) - set(targets):
        raise ValueError(f"held-out table {name!r} has no {sorted(set(OBJECTIVES) - set(targets))[0]!r}")
    renamed = {k: identifier_for(k) for k in knobs}
    if len(set(renamed.values())) < len(renamed):
        raise ValueError(f"held-out table {name!r}: two knob names become the same identifier")
    path = os.path.join(directory, f"heldout_{name}.csv")
    df[knobs + OBJECTIVES].rename(columns=renamed).to_csv(path, index=False)
    return path, [renamed[k] for k in knobs]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--table", choices=TABLES, default="tx2-nlp-debug", help="the held-out table to replay")
    ap.add_argument("--write-table", metavar="DIR",
                    help="only write the table, renamed, to DIR and print the flags that name it for the other "
                         "benchmarks (--files, --knobs, --objectives)")
    args, rest = ap.parse_known_args(argv)
    if args.write_table:
        if not os.path.isdir(args.write_table):
            ap.error(f"--write-table: {args.write_table!r} is not a folder")
        path, knobs = write_table(args.table, args.write_table)
        print(f"--files {path} --knobs {','.join(knobs)} --objectives {','.join(OBJECTIVES)}")
        return 0
    if any(a.startswith(("--files", "--knobs", "--objectives", "--grids", "--boards")) for a in rest):
        ap.error("--files, --knobs, --objectives, --grids and --boards are set by --table")
    import bench_optimisation

    with tempfile.TemporaryDirectory() as tmp:
        path, knobs = write_table(args.table, tmp)
        return bench_optimisation.main(["--files", path, "--knobs", ",".join(knobs),
                                        "--objectives", ",".join(OBJECTIVES), *rest])


if __name__ == "__main__":
    raise SystemExit(main())
