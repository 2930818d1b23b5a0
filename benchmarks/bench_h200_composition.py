"""How well can graph-mode network runtime be composed from MEASURED per-layer graph replays? (H200 tables)

The ceiling of any model that predicts each layer's isolated CUDA-graph replay and composes them: here the
layers are not predicted but taken as measured (``graph.csv.gz``, view ``isolated``), and the composition
:class:`perfmodel.models.composition.RuntimeComposition` (``scale * sum max(t - replay, gap) + offset``) is
fitted on the other networks' whole-network graph rows and tested on the held-out network (leave one network
out over the 15 networks with graph replays; whole-network runtime = median over sittings). Also the same with
each job's replay floor removed first (every layer's time minus the fastest layer of its network and batch,
plus 10 us), since the fixed cost of one replay differed between jobs (about 10 or 16 us).

  PYTHONPATH=. python benchmarks/bench_h200_composition.py        # seconds
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from perfmodel.features import group_of
from perfmodel.models.composition import RuntimeComposition

GRAPH, EAGER = "datasets/h200-torch/graph.csv.gz", "datasets/h200-torch/eager.csv.gz"


def main() -> int:
    g = pd.read_csv(GRAPH, low_memory=False)
    e = pd.read_csv(EAGER, low_memory=False)
    w = pd.concat([g, e])
    w = w[w["level"].eq("network") & w["cuda_graph"].eq("on") & w["status"].eq("ok")]
    whole = w.groupby(["network", "batch"])["runtime_s"].median()
    lay = g[g["level"].eq("layer") & g["layer_type"].map(group_of).notna()]
    keys, raw, floored = [], [], []
    for (net, b), r in lay.groupby(["network", "batch"]):
        t = r["runtime_s"].to_numpy(dtype=float)
        keys.append((net, b))
        raw.append(t)
        floored.append(t - t.min() + 10e-6)
    y = np.array([whole[k] for k in keys])
    nets = np.array([k[0] for k in keys])
    batch = np.array([k[1] for k in keys])
    for label, units in (("measured replays", raw), ("replays, job floor removed", floored)):
        err = np.zeros(len(y))
        for net in sorted(set(nets)):
            tr = nets != net
            comp = RuntimeComposition().fit([units[i] for i in np.flatnonzero(tr)], y[tr])
            te = np.flatnonzero(~tr)
            err[te] = comp.predict([units[i] for i in te]) / y[te] - 1
        per_b = ", ".join(f"batch {b:g}: {100 * np.abs(err[batch == b]).mean():.1f} %" for b in sorted(set(batch)))
        print(f"{label:28s} LOO MAPE {100 * np.abs(err).mean():5.1f} %, within 10 %: "
              f"{100 * (np.abs(err) <= 0.1).mean():3.0f} % of {len(err)} pairs ({per_b})")
        ratio = np.array([u.sum() for u in raw]) / y
    print("sum of measured replays / whole: " + ", ".join(
        f"batch {b:g}: {ratio[batch == b].min():.2f}-{ratio[batch == b].max():.2f}" for b in sorted(set(batch))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
