"""How repeatable are this machine's measurements? The noise floor under the layer-wise models' targets.

Reads the shipped tables of datasets/cpu-keras-applications (SOURCE.txt says when each was measured) and
prints, with no measuring of its own:

1. units measured twice: the same in-place unit of the 12 networks on 2026-12-01 and 2026-12-02 (first
   sitting), after the median day factor: RMS relative difference per layer type and per size of conv unit;
2. whole networks measured twice: 2026-12-01 against 2026-12-02, and each 2026-12-02 sitting's repeat of 4
   networks against the same sitting's first measurement of them: ratios and the share within +-10 %;
3. drift within the second 2026-12-02 sitting against 2026-12-01 (every network measured on both days, by
   time of day), and how much of it the speed references (profiling/reference.py) follow: the spread of the
   ratios raw and divided by the reference, per smoothing window (``LayerwisePredictor(reference_window=)``);
4. the network-level term fitted in-sample on MEASURED units (whole ~ a*sum + b*n_units + c, with thread and
   batch interactions, relative least squares): the best any unit model could do with that term, in sample
   and leaving each network out;
5. the third 2026-12-02 sitting (``*-2026-12-02-fw``: every job in one shuffled order, and the framework
   reference ``ref_framework_s`` timed in each job's worker): its repeat of the 12 networks (whole networks,
   raw and divided by each of the three references, and units), and every network it shares with the second
   sitting.

    .venv/bin/python benchmarks/bench_repeatability.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "cpu-keras-applications"
KEY = ["network", "config"]


def _read(name: str) -> pd.DataFrame:
    t = pd.read_csv(DATA / f"{name}.csv.gz")
    return t[t["status"].astype(str).eq("ok")]


def _whole(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["view"].eq("whole")].set_index(KEY)


def _rms(x) -> float:
    return float(100 * np.sqrt(np.mean(np.square(x))))


def units_twice(first: str = "measurements-2026-12-01", second: str = "measurements-2026-12-02",
                title: str = "1. the same in-place unit on 2026-12-01 and 2026-12-02") -> None:
    a, b = _read(first), _read(second)
    ua = a[a["view"].eq("inplace")].set_index([*KEY, "unit"])
    ub = b[b["view"].eq("inplace")].set_index([*KEY, "unit"])
    j = pd.DataFrame({"a": ua["runtime_s"], "b": ub["runtime_s"], "type": ua["layer_type"]}).dropna()
    day = float(np.exp(np.median(np.log(j["b"] / j["a"]))))
    j["e"] = j["b"] / (j["a"] * day) - 1
    print(f"{title} (12 networks x 3 configurations), after the median factor {day:.3f}:\n")
    print("| layer type | units | RMS difference % |\n|---|---|---|")
    for lt, d in j.groupby("type"):
        if len(d) >= 30:
            print(f"| {lt} | {len(d)} | {_rms(d['e']):.1f} |")
    conv = j[j["type"].eq("conv2d")]
    bins = pd.cut(conv["a"], [0, 1e-4, 3e-4, 1e-3, 3e-3, 10], labels=["<0.1 ms", "0.1-0.3", "0.3-1", "1-3", ">3 ms"])
    print("\nconv2d by runtime: " + ", ".join(f"{k} {_rms(d['e']):.1f} % ({len(d)})"
                                               for k, d in conv.groupby(bins, observed=True)))


def whole_twice() -> None:
    print("\n2. whole networks measured twice (ratio second / first):\n")
    pairs = [("2026-12-01 -> 2026-12-02 first sitting, 12 networks", "measurements-2026-12-01",
              "measurements-2026-12-02"),
             ("2026-12-02 first sitting, repeat after 49 min", "measurements-2026-12-02", "repeat-2026-12-02"),
             ("2026-12-02 second sitting, repeat after 35 min", "measurements-2026-12-02-ref",
              "repeat-2026-12-02-ref")]
    print("| pair | n | median | range | within +-10 % of 1 | within +-10 % of the median |")
    print("|---|---|---|---|---|---|")
    for title, first, second in pairs:
        r = (_whole(_read(second))["runtime_s"] / _whole(_read(first))["runtime_s"]).dropna()
        m = float(r.median())
        print(f"| {title} | {len(r)} | {m:.3f} | {r.min():.2f}-{r.max():.2f} | "
              f"{int((np.abs(r - 1) <= 0.1).sum())}/{len(r)} | {int((np.abs(r / m - 1) <= 0.1).sum())}/{len(r)} |")
    first, rep = _whole(_read("measurements-2026-12-02-ref")), _whole(_read("repeat-2026-12-02-ref"))
    both = first.index.intersection(rep.index)
    for col in ("ref_compute_s", "ref_memory_s"):
        r = rep.loc[both, col] / first.loc[both, col]
        print(f"   second sitting's repeat: {col} ratio median {r.median():.3f} ({r.min():.2f}-{r.max():.2f})")


def _smoothed(w: pd.DataFrame, col: str, k: int) -> pd.Series:
    """Each job's reference as the median of the ``k`` jobs of the sitting closest in time."""
    w = w.sort_values("when")
    return w[col].rolling(k, center=True, min_periods=1).median().reindex(w.index)


def drift(windows=(1, 5, 9, 15)) -> None:
    old = pd.concat([_read("measurements-2026-12-01"), _read("synthetic-2026-12-01")])
    new = pd.concat([_read(f"{n}-2026-12-02-ref") for n in ("measurements", "synthetic")])
    w = new[new["view"].eq("whole")].copy()
    w["when"] = pd.to_datetime(w["measured_at"], utc=True)
    w = w.sort_values("when").set_index(KEY)
    for col in ("ref_compute_s", "ref_memory_s"):
        for k in windows:
            w[f"{col}_{k}"] = _smoothed(w, col, k)
    r = (w["runtime_s"] / _whole(old)["runtime_s"]).dropna()
    d = w.loc[r.index].assign(r=r)
    print(f"\n3. second 2026-12-02 sitting against 2026-12-01, {len(d)} (network, configuration) pairs measured "
          "on both days, by time of day:\n")
    d["slot"] = d["when"].dt.floor("3min").dt.strftime("%H:%M")
    print("| from (UTC) | pairs | runtime ratio (median) | ref_compute_s ms | ref_memory_s ms |\n|---|---|---|---|---|")
    for slot, g in d.groupby("slot"):
        print(f"| {slot} | {len(g)} | {g['r'].median():.3f} | {1e3 * g['ref_compute_s'].median():.3f} | "
              f"{1e3 * g['ref_memory_s'].median():.3f} |")

    def spread(x):
        return _rms(x / np.median(x) - 1)

    print(f"\nspread of the ratios (RMS around their median): raw {spread(d['r']):.1f} %")
    for k in windows:
        c, m = spread(d["r"] / d[f"ref_compute_s_{k}"]), spread(d["r"] / d[f"ref_memory_s_{k}"])
        print(f"  divided by the reference, median of {k:2d} jobs: compute {c:.1f} %, memory {m:.1f} %")


def network_term_in_sample() -> None:
    print("\n4. network term fitted on the measured units, in sample and leaving each network out (the best a "
          "perfect unit model could do):\n")
    for name in ("measurements-2026-12-01", "measurements-2026-12-02", "measurements-2026-12-02-ref",
                 "measurements-2026-12-02-fw"):
        t = _read(name)
        u = t[t["view"].eq("inplace")].groupby(KEY)["runtime_s"].agg(["sum", "size"])
        d = _whole(t).join(u, how="inner")
        th2 = d["threads"].astype(float).gt(1).to_numpy()
        b4 = d["batch"].astype(float).gt(1).to_numpy()
        s, n = d["sum"].to_numpy(), d["size"].to_numpy(dtype=float)
        X = np.column_stack([s, n, np.ones(len(d)), s * th2, n * th2, s * b4, n * b4])
        y = d["runtime_s"].to_numpy()
        coef, *_ = np.linalg.lstsq(X / y[:, None], np.ones(len(y)), rcond=None)
        e = X @ coef / y - 1
        scale = np.sum(s / y) / np.sum((s / y) ** 2)
        e1 = scale * s / y - 1
        # the same term fitted on the other networks, for each network left out: the best a perfect unit model
        # could do on an unseen network
        loo = np.zeros(len(y))
        for net in d.index.get_level_values("network").unique():
            te = (d.index.get_level_values("network") == net)
            c, *_ = np.linalg.lstsq(X[~te] / y[~te, None], np.ones(int((~te).sum())), rcond=None)
            loo[te] = X[te] @ c / y[te] - 1
        print(f"   {name}: residual RMS {_rms(e):.1f} %, {int((np.abs(e) <= 0.1).sum())}/{len(e)} within +-10 % "
              f"(one scale only: {_rms(e1):.1f} %, {int((np.abs(e1) <= 0.1).sum())}/{len(e1)}); leaving each "
              f"network out: MAPE {100 * np.mean(np.abs(loo)):.1f} %, {int((np.abs(loo) <= 0.1).sum())}/{len(loo)} "
              "within +-10 %")


def _jobs(names: list[str]) -> pd.DataFrame:
    w = pd.concat([_whole(_read(n)) for n in names])
    return w.assign(when=pd.to_datetime(w["measured_at"], utc=True))


def _ratio_table(first: pd.DataFrame, second: pd.DataFrame, refs: list[str], title: str,
                 windows=(1, 9)) -> None:
    both = first.index.intersection(second.index)
    r = second.loc[both, "runtime_s"] / first.loc[both, "runtime_s"]
    print(f"\n{title}: {len(r)} pairs, runtime ratio median {r.median():.3f} ({r.min():.2f}-{r.max():.2f}), "
          f"{int((np.abs(r - 1) <= 0.1).sum())}/{len(r)} within +-10 % of 1\n")
    print("| divided by | jobs' reference window | ratio median | spread (RMS around the median) % | "
          "within +-10 % of the median |\n|---|---|---|---|---|")

    def line(name, k, x):
        m = float(np.median(x))
        print(f"| {name} | {k} | {m:.3f} | {_rms(x / m - 1):.1f} | {int((np.abs(x / m - 1) <= 0.1).sum())}/{len(x)} |")

    line("nothing (raw)", "-", r.to_numpy())
    for col in refs:
        for k in windows:
            a, b = _smoothed(first, col, k).loc[both], _smoothed(second, col, k).loc[both]
            line(col, k, (r / (b / a)).to_numpy())


def third_sitting() -> None:
    print("\n5. third 2026-12-02 sitting (one shuffled campaign; speed references timed with every job):")
    refs = ["ref_compute_s", "ref_memory_s", "ref_framework_s"]
    main = _jobs(["measurements-2026-12-02-fw", "synthetic-all-2026-12-02-fw"])
    rep = _jobs(["repeat-2026-12-02-fw"])
    # each job's reference smoothed over the sitting it belongs to (the repeat ran after the main campaign)
    _ratio_table(main, rep, refs, "12 networks x 3 configurations measured again at the end of the sitting")
    print()
    units_twice("measurements-2026-12-02-fw", "repeat-2026-12-02-fw",
                "the same in-place unit measured twice in the third sitting")
    second = _jobs([f"{n}-2026-12-02-ref" for n in ("measurements", "synthetic", "synthetic-fc", "synthetic-hires")])
    _ratio_table(second, main, refs[:2], "every (network, configuration) of the second sitting, measured again "
                 "in the third")
    w = main.sort_values("when")
    slot = w["when"].dt.floor("10min").dt.strftime("%H:%M")
    print("\nthe third sitting by time of day (medians of its jobs):\n")
    print("| from (UTC) | jobs | ref_compute_s ms | ref_memory_s ms | ref_framework_s ms |\n|---|---|---|---|---|")
    for t, g in w.groupby(slot):
        print(f"| {t} | {len(g)} | " + " | ".join(f"{1e3 * g[c].median():.3f}" for c in refs) + " |")


def main() -> int:
    units_twice()
    whole_twice()
    drift()
    network_term_in_sample()
    third_sitting()
    return 0


if __name__ == "__main__":
    sys.exit(main())
