"""Dump the interaction equations' design (variables, dropped knobs, encoded matrix) of every table that
benchmarks/bench_interactions.py fits, to compare two checkouts: identical designs give identical equations.

    # in each checkout (e.g. before and after a change of the knob encoding):
    PYTHONPATH=. .venv/bin/python benchmarks/check_encoding_designs.py /tmp/designs_new.json
    PYTHONPATH=<old checkout> .venv/bin/python <old checkout>/benchmarks/check_encoding_designs.py /tmp/designs_old.json
    .venv/bin/python benchmarks/check_encoding_designs.py --compare /tmp/designs_old.json /tmp/designs_new.json

(An old checkout without this script: copy it there; it only uses ``encode_knobs`` and the benchmark's ``to_ghz``.)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def dump(path: str) -> int:
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from bench_interactions import TX2_KNOBS, to_ghz

    from perfmodel.interactions.design import encode_knobs

    res = {}

    def one(name, df, knobs):
        try:
            e = encode_knobs(df, knobs)
            res[name] = {"vars": e.variables, "dropped": e.dropped, "matrix": e.transform(df).to_numpy().round(12).tolist()}
        except Exception as exc:  # noqa: BLE001  (recorded: a refusal is part of the design)
            res[name] = {"error": str(exc)}

    for f in sorted(glob.glob(os.path.join(ROOT, "datasets/flexibo-tx2/*.csv"))):
        one(os.path.basename(f), to_ghz(pd.read_csv(f, index_col=0)), TX2_KNOBS)
    dbg = to_ghz(pd.read_csv(os.path.join(ROOT, "datasets/unicorn/data/measurement/debug/single/TX2/NLP/data.csv")))
    one("unicorn debug TX2 NLP", dbg, TX2_KNOBS + ["scheduler.policy", "vm.swappiness", "vm.vfs_cache_pressure"])
    for f in sorted(glob.glob(os.path.join(ROOT, "datasets/unicorn/data/sampled/Xavier/Image/Xavier_Image_sampled.csv"))
                    + glob.glob(os.path.join(ROOT, "datasets/unicorn/data/initial/single/*/*/*_initial.csv"))):
        d = to_ghz(pd.read_csv(f))
        one(os.path.relpath(f, ROOT), d, [c for c in d.columns if c not in ("inference_time", "total_energy_consumption")])
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(res, fh)
    print(f"{len(res)} tables -> {path}")
    return 0


def compare(a_path: str, b_path: str) -> int:
    with open(a_path, encoding="utf-8") as fh:
        a = json.load(fh)
    with open(b_path, encoding="utf-8") as fh:
        b = json.load(fh)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    print(f"{len(set(a) & set(b)) - len([k for k in diff if k in a and k in b])} of {len(set(a) | set(b))} "
          f"tables have identical designs" + (f"; different: {', '.join(diff)}" if diff else ""))
    return 1 if diff else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="write the designs of this checkout here (JSON)")
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="compare two dumps")
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if not args.out:
        ap.error("give an output file or --compare OLD NEW")
    sys.exit(dump(args.out))
