"""Diagnostic (issue 22t): does the surrogate use the source studies, step by step (bo-task vs bo-multi)?

Replays the ``bo-task`` (nearest smaller input size as one source task) and ``bo-multi`` (every smaller size,
each a source task placed by log pixels) runs of ``bench_optimisation.py`` for one grid and seed with
ask/tell, and prints at how many model steps each objective's surrogate kept the source data (the
leave-one-out check) and the learned correlation with the nearest source. Usage:

    PYTHONPATH=. python benchmarks/diag_multi_source.py --grid 800x800 --seeds 0,1
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench_optimisation import (DEFAULT_FILES, KNOBS, OBJECTIVES, _size_key, input_pixels,  # noqa: E402
                                multi_sources, replay, transfer_source)
from perfmodel.optimisation import Study, optimize  # noqa: E402
from perfmodel.optimisation.priors import source_from_results  # noqa: E402
from profiling.space import config_key  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", default="800x800")
    ap.add_argument("--seeds", default="0")
    args = ap.parse_args(argv)
    files = sorted(glob.glob(DEFAULT_FILES), key=_size_key)
    f = [g for g in files if args.grid in os.path.basename(g)][0]
    plat = {g: replay(g) for g in files}
    space = plat[f].space()
    table = plat[f].frame()
    lookup = {config_key(space.validate({k: r[k] for k in KNOBS})): {m: float(r[m]) for m in OBJECTIVES}
              for _, r in table.iterrows()}
    for seed in (int(s) for s in args.seeds.split(",")):
        src = {}
        for g in set(multi_sources(files, f)) | {transfer_source(files, f)}:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = optimize(plat[g], OBJECTIVES, budget=40, n_init=10, seed=seed).results()
            src[g] = source_from_results(res, space, OBJECTIVES)
        near = transfer_source(files, f)
        variants = {"bo-task": {"source_data": src[near]}}
        data, tasks = [], []
        for g in multi_sources(files, f):
            data += src[g]
            tasks += [float(np.log(input_pixels(g)))] * len(src[g])
        variants["bo-multi"] = {"source_data": data, "source_tasks": tasks, "task": float(np.log(input_pixels(f)))}
        for name, opts in variants.items():
            study = Study(space, OBJECTIVES, n_init=10, seed=seed, bo_options=opts)
            corr = {m: [] for m in OBJECTIVES}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(40):
                    t = study.ask()
                    if t.phase == "model":
                        for m, r in study.task_correlations().items():
                            corr[m].append(r)
                    study.tell(t, lookup[config_key(t.config)])
            parts = []
            for m in OBJECTIVES:
                v = np.array(corr[m])
                parts.append(f"{m}: source kept at {int((v > 0).sum())} of {len(v)} model steps, correlation "
                             f"when kept median {np.median(v[v > 0]) if (v > 0).any() else float('nan'):.2f}")
            print(f"{args.grid} seed {seed} {name}: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
