"""Time `perfmodel calibrate --budget quick` on this machine and score its model on networks it never saw.

The issue's bound: `quick` finishes in under 15 minutes on 2 cores. The model it writes is then asked to predict
every whole-network row of a measurement table (default: the keras.applications table measured on
2026-12-01); networks of the calibration set are reported apart ("seen"). Compare only with a table measured
on the same day: this VM's speed changed by 1.3-1.5x between two days (docs/models-results.md).

    .venv/bin/python benchmarks/bench_calibrate.py [--table T.csv.gz] [--model gbr] [--store runs/cal.sqlite]

An existing --store is reused (jobs already in it are skipped), so a second run only re-fits and re-scores.

With ``--job-cost`` it does not calibrate: it says where a calibration job's time goes. It times a fresh Python
process importing TensorFlow (what every job pays: one TensorFlow worker per configuration), then one job of
each network of ``--cost-networks`` through the campaign pipeline with the whole view only and with whole +
in-place (calibrate's views), and from these estimates the time of ``calibrate --budget quick`` (its 84 jobs,
each synthetic network costed like the first of its family). Other processes on the machine inflate every
figure; the load average is printed beside them.

    .venv/bin/python benchmarks/bench_calibrate.py --job-cost

With ``--design-check`` it measures nothing: from the shipped CPU tables of one day (2026-12-02: synthetic,
fully-connected and application networks, each under threads=1/2 at batch 1 and threads=2 at batch 4) it fits
the calibration's model on quick's networks that the tables hold (synthetic_0..11, synthetic_fc_0..3,
mobilenetv2, mobilenetv3small; the toy networks are not in them) twice: with every synthetic network under
every configuration, and with each under two of the three (rotating, so every configuration keeps two thirds
of them), and scores both on the ten other applications (their in-place units as layer features). It says
what measuring fewer synthetic jobs costs in accuracy.

    .venv/bin/python benchmarks/bench_calibrate.py --design-check [--std-folds 4]

``--std-folds`` (design check only; default 0, as before) is the predictor's ``std_folds``: with 2 or more the
network term is fitted on the unit sums of networks left out (``stacked_term``, the default), as ``calibrate``
fits it; with 0 it is fitted on the training networks' own sums (the predictions of ``stacked_term=False``).

With ``--worker-reuse STORE`` it measures nothing: from a calibration store (the jobs in the order they
finished) it splits the jobs' wall times (``wall_s``: the worker's part of a job) into those that started a
TensorFlow worker and those measured by a worker kept from the job before (same network and process-level
settings, :func:`profiling.executors.tf_executor.process_key`), and says how many workers the run started.

    .venv/bin/python benchmarks/bench_calibrate.py --worker-reuse runs/cal.sqlite
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from bench_layerwise import _network_units  # noqa: E402

from perfmodel.models.layerwise import LayerwisePredictor  # noqa: E402

TABLE = os.path.join(os.path.dirname(__file__), "..", "datasets", "cpu-keras-applications",
                     "measurements-2026-12-01.csv.gz")


def score(model: LayerwisePredictor, table: pd.DataFrame, table_path: str) -> pd.DataFrame:
    """Relative error of the model (and in predicted std's, ``z``) on every whole-network row of ``table``."""
    whole = table[table["view"].eq("whole") & table["status"].astype(str).eq("ok")]
    knobs = [k for k in model.knobs_.knobs if k in whole.columns] + ["batch"]
    rows = []
    for net, g in whole.groupby("network"):
        feats = _network_units(table_path, table, net)
        cfgs = [{k: r[k] for k in knobs} for _, r in g.iterrows()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.predict(feats, cfgs)
        # z: the error in predicted std's (runtime_s_std)
        rows += [{"network": net, "seen": net in model.networks_, "config": c, "error": p / y - 1,
                  "z": abs(p - y) / s} for c, y, p, s in zip(g["config"], g["runtime_s"], out["runtime_s"],
                                                             out["runtime_s_std"])]
    return pd.DataFrame(rows)


def _tf_import_s() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
    return time.perf_counter() - t0


def job_cost(networks: list[str], config: dict) -> int:
    """Time a TensorFlow import and one job per network (see the module docstring); estimate quick's total."""
    from perfmodel.commands.calibrate import BUDGETS
    from profiling.campaign import build_executor, build_platform, run_campaign
    from profiling.store import CampaignStore

    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; other processes inflate every time below)")
    imports = [_tf_import_s() for _ in range(2)]
    print(f"fresh python + import tensorflow: {', '.join(f'{t:.1f}' for t in imports)} s")
    platform = build_platform("cpu")
    executor = build_executor(None, platform)
    cfg = {**executor.space(platform).default(), **config}
    cost = {}
    with tempfile.TemporaryDirectory(prefix="bench-jobcost-") as tmp, \
            CampaignStore(os.path.join(tmp, "c.sqlite")) as store:
        for net in networks:
            for views in (("whole",), ("whole", "inplace")):
                t0 = time.perf_counter()
                summary = run_campaign(platform, executor, [net], [cfg], store, level="layer", views=views,
                                       campaign="cost-" + "-".join(views))
                wall = time.perf_counter() - t0
                worker = summary.results[0].result.wall_s if summary.results else float("nan")
                cost[(net, views)] = wall
                print(f"{net:18s} views {'+'.join(views):14s}: {wall:5.1f} s (worker process {worker:5.1f} s)  "
                      f"load {os.getloadavg()[0]:.2f}")
    family = lambda n: ("synthetic_fc_" if n.startswith("synthetic_fc_") else  # noqa: E731
                        "synthetic_" if n.startswith("synthetic_") else n)
    per = {family(n): t for (n, v), t in cost.items() if v == ("whole", "inplace")}
    plan = BUDGETS["quick"]
    n_cfg = len(plan["threads"]) * len(plan["batch"])
    missing = sorted({family(n) for n in plan["networks"]} - set(per))
    est = sum(per.get(family(n), float("nan")) for n in plan["networks"]) * n_cfg
    print(f"estimated calibrate --budget quick: {len(plan['networks']) * n_cfg} jobs, {est:.0f} s "
          f"({est / 60:.1f} min) at this load" + (f"; not costed: {', '.join(missing)}" if missing else ""))
    return 0


def design_check(model_name: str, std_folds: int = 0) -> int:
    """Fewer synthetic jobs: what they cost in accuracy (see the module docstring)."""
    from perfmodel.commands.calibrate import BUDGETS

    d = os.path.join(os.path.dirname(__file__), "..", "datasets", "cpu-keras-applications")
    parts = [pd.read_csv(os.path.join(d, f), low_memory=False) for f in
             ("synthetic-2026-12-02.csv.gz", "synthetic-fc-2026-12-02.csv.gz", "measurements-2026-12-02-fw.csv.gz")]
    table = pd.concat(parts, ignore_index=True)
    table = table[table["status"].astype(str).eq("ok")]
    quick = [n for n in BUDGETS["quick"]["networks"] if n in set(table["network"])]
    apps = sorted(set(parts[2]["network"]) - set(quick))
    cfgs = sorted(table["config"].unique())
    synth = [n for n in quick if n.startswith("synthetic")]
    keys = list(zip(table["network"], table["config"]))

    def keep(k: int) -> pd.DataFrame:  # each synthetic network under k of the configurations, rotating
        kept = {(n, cfgs[(i + j) % len(cfgs)]) for i, n in enumerate(synth) for j in range(k)}
        ok = [net not in synth or (net, c) in kept for net, c in keys]
        return table[table["network"].isin(quick) & pd.Series(ok, index=table.index)]

    print(f"training networks ({len(quick)}): {', '.join(quick)}; scored on {', '.join(apps)}")
    for k in range(len(cfgs), 0, -1):
        label, train = f"synthetic networks under {k} of {len(cfgs)} configurations", keep(k)
        n_jobs = train.drop_duplicates(["network", "config"]).shape[0]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LayerwisePredictor(model=model_name, random_state=0, std_folds=std_folds).fit(train)
        fit_s = time.perf_counter() - t0
        errs = []
        for net in apps:
            rows = table[table["network"].eq(net)]
            units = rows[rows["view"].eq("inplace")]
            units = units[units["config"].eq(units["config"].iloc[0])]
            whole = rows[rows["view"].eq("whole")]
            knobs = [k for k in m.knobs_.knobs if k in whole.columns] + ["batch"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = m.predict(units.drop(columns=["runtime_s"]), [{k: r[k] for k in knobs}
                                                                    for _, r in whole.iterrows()])
            errs += list(out["runtime_s"].to_numpy() / whole["runtime_s"].to_numpy() - 1)
        e = pd.Series(errs).abs()
        print(f"{label:45s}: {n_jobs} jobs, fit {fit_s:.0f} s; {len(e)} pairs, MAPE {100 * e.mean():.1f} %, "
              f"within +-10 % {100 * (e <= 0.1).mean():.0f} %, bias {100 * pd.Series(errs).median():+.1f} %")
    return 0


def worker_reuse(store_path: str) -> int:
    import json

    import numpy as np

    from profiling.executors.tf_executor import PROCESS_KNOBS
    from profiling.store import open_store

    with open_store(store_path, readonly=True) as store:
        jobs = [j for j in store.jobs() if str(j["campaign"]).startswith("calibrate")]
    started, kept, prev = [], [], None
    for j in jobs:
        cfg = json.loads(j["config"])
        key = (j["network"], tuple(str(cfg.get(k)) for k in PROCESS_KNOBS))
        if j["wall_s"] is not None:
            (kept if key == prev else started).append(float(j["wall_s"]))
        prev = key
    for name, w in (("started a worker", started), ("kept worker", kept)):
        if w:
            print(f"{name}: {len(w)} jobs, wall median {np.median(w):.1f} s, mean {np.mean(w):.1f} s, "
                  f"total {np.sum(w):.0f} s")
    print(f"{len(jobs)} jobs, {len(started)} worker starts")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", default=TABLE, help="whole-network rows to score (same day as the calibration)")
    ap.add_argument("--model", default="gbr", choices=("polynomial", "gp", "gbr"))
    ap.add_argument("--store", help="calibration store (default: a temporary one)")
    ap.add_argument("--job-cost", action="store_true", help="time the parts of calibration jobs instead")
    ap.add_argument("--std-folds", type=int, default=0, metavar="N",
                    help="--design-check: LayerwisePredictor(std_folds=N) (default 0; 4 fits as calibrate does)")
    ap.add_argument("--design-check", action="store_true",
                    help="score fewer synthetic jobs on the shipped tables instead (no measuring)")
    ap.add_argument("--cost-networks", default="tiny_cnn,tiny_mobilenet,tiny_resnet,mobilenetv3small,mobilenetv2,"
                    "synthetic_0,synthetic_fc_0", help="networks timed by --job-cost")
    ap.add_argument("--cost-config", default="threads=2,batch=4", help="configuration of the --job-cost jobs")
    ap.add_argument("--worker-reuse", metavar="STORE",
                    help="split a calibration store's job times by worker start / kept worker instead")
    args = ap.parse_args(argv)
    if args.worker_reuse:
        return worker_reuse(args.worker_reuse)
    if args.design_check:
        return design_check(args.model, args.std_folds)
    if args.job_cost:
        cfg = {k: int(v) for k, v in (kv.split("=") for kv in args.cost_config.split(","))}
        return job_cost(args.cost_networks.split(","), cfg)
    tmp = tempfile.mkdtemp(prefix="bench-calibrate-")
    store = args.store or os.path.join(tmp, "cal.sqlite")
    out = os.path.join(tmp, "cal.json")
    cmd = [sys.executable, "-m", "perfmodel", "calibrate", "--platform", "cpu", "--budget", "quick",
           "--model", args.model, "--no-progress", "--store", store, "-o", out]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, text=True, capture_output=True)
    wall = time.perf_counter() - t0
    lines = [x for x in (done.stdout + done.stderr).splitlines() if x.startswith(("jobs measured", "calibrated"))]
    print("\n".join(lines))
    if done.returncode != 0:
        print(f"calibrate failed (exit {done.returncode})")
        return 1
    print(f"perfmodel calibrate --budget quick: {wall:.0f} s wall ({wall / 60:.1f} min; bound 15 min)")
    res = score(LayerwisePredictor.load(out), pd.read_csv(args.table), args.table)
    for seen, d in res.groupby("seen"):
        e = d["error"].abs()
        print(f"{'seen' if seen else 'unseen'} networks: {d['network'].nunique()}, pairs {len(d)}, "
              f"MAPE {100 * e.mean():.1f} %, within +-10 % {100 * (e <= 0.10).mean():.0f} %; within one / two "
              f"predicted std's {100 * (d['z'] <= 1).mean():.0f} % / {100 * (d['z'] <= 2).mean():.0f} %")
    res["config"] = res["config"].map(lambda c: ",".join(kv for kv in str(c).split(",")
                                                         if kv.split("=")[0] in ("threads", "batch")))
    print((100 * res.pivot_table(index="network", columns="config", values="error")).round(1).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
