"""Look at a fleet of boards: the Dask workers of a scheduler, their platforms and the jobs they ran.

  perfmodel fleet status --scheduler tcp://lab-host:8786 [--json]

Each board is a 'dask worker' started with a resource naming its platform (--resources "jetson=1");
'perfmodel profile --scheduler ...' sends it jobs. For each board: its name, host, resources, the platform
its worker measures (PERFMODEL_BOARD_PLATFORM), the jobs it has done, failed and found already stored since
its worker started, and the one it is running; then the jobs queued for no board yet. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import json

from . import argtypes

HELP = "show the boards of a Dask fleet (platforms, resources, jobs done/running/queued)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("status",), help="status: the boards and their jobs")
    p.add_argument("--scheduler", required=True, metavar="ADDRESS",
                   help="the Dask scheduler (tcp://host:8786, or a scheduler file)")
    p.add_argument("--connect-timeout", type=argtypes.positive_float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the scheduler (default 10)")
    p.add_argument("--json", action="store_true", help="print a JSON document instead of text")


def run(args: argparse.Namespace) -> int:
    from profiling.fleet.engine import board_status

    status = board_status(args.scheduler, args.connect_timeout)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    boards = status["boards"]
    print(f"scheduler: {status['scheduler']}, boards: {len(boards)}")
    if boards:
        head = f"{'board':<16} {'host':<16} {'resources':<20} {'platform':<24} {'done':>5} {'failed':>6} " \
               f"{'stored':>6} {'running':>7}"
        print(head)
        print("-" * len(head))
    for b in boards:
        res = ",".join(f"{k}={v:g}" for k, v in sorted(b["resources"].items())) or "-"
        print(f"{b['name']:<16} {b['host']:<16} {res:<20} {b['platform'] or '(campaign platform)':<24} "
              f"{b['done']:>5} {b['failed']:>6} {b['skipped']:>6} {b['running']:>7}")
    print(f"jobs running: {status['running']}, queued: {status['queued']}, erred: {status['erred']}")
    return 0
