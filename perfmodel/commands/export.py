"""Export a campaign store as a CSV table: one row per measurement, units in column names.

Columns: see docs/measurement-table.md (runtime_s, power_w, energy_j, the knobs, layer features, ...).

Examples:
  perfmodel export --store runs/x.sqlite -o x.csv
  perfmodel export --store postgresql://lab@db.example:5432/perfmodel -o fleet.csv
"""

from __future__ import annotations

import argparse
import os

HELP = "export a campaign store to CSV (one row per measurement)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, metavar="PATH_OR_URL",
                   help="campaign store to read (never modified): a SQLite file or postgresql://user@host:port/db")
    p.add_argument("-o", "--output", required=True, metavar="CSV", help="CSV file to write ('-' for stdout)")
    p.add_argument("--level", choices=("network", "layer"), help="only rows of this level")
    p.add_argument("--view", choices=("whole", "inplace", "isolated"), help="only rows of this view")
    p.add_argument("--ok-only", action="store_true", help="drop failed measurements")


def run(args: argparse.Namespace) -> int:
    from profiling.atomic import STDOUT, write_csv
    from profiling.errors import ConfigError
    from profiling.store import is_store_url, open_store

    with open_store(args.store, readonly=True) as store:
        df = store.to_frame()
    stored = df
    if args.level:
        df = df[df["level"] == args.level]
    if args.view:
        df = df[df["view"] == args.view]
    if args.ok_only:
        df = df[df["status"] == "ok"]
    if df.empty and not stored.empty:  # an empty table would look like an empty store
        asked = ", ".join(f"{k} {v}" for k, v in (("level", args.level), ("view", args.view),
                                                   ("status", "ok" if args.ok_only else None)) if v)
        held = ", ".join(f"{n} {lv}/{vw}" for (lv, vw), n in stored.groupby(["level", "view"]).size().items())
        ok = int((stored["status"] == "ok").sum())
        raise ConfigError(f"no row of the store has {asked}: it holds {held} rows (level/view), {ok} of them ok")
    if args.output == STDOUT:
        write_csv(STDOUT, df)
        return 0
    if not is_store_url(args.store) and os.path.abspath(args.output) == os.path.abspath(args.store):
        raise ConfigError("the output file is the store itself; choose another -o path")
    if os.path.isdir(args.output):
        raise ConfigError(f"output {args.output!r} is a directory; give a CSV file path")
    # missing folder, no permission, disk full: one line, nothing half-written is left
    write_csv(args.output, df, error=ConfigError, what="output")
    print(f"{len(df)} rows -> {args.output}")
    return 0
