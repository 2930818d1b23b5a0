"""Diagnosis of plain-BO runs that fall short of the true front (issue 22, no prior).

For each (grid, seed): replays the ``bo`` study step by step (ask/tell) and reports, after 40 evaluations,
which part of the true front is missed (hypervolume lost, split by where it lies along the front: the
low-power end, the middle, the low-time end), and for each model step the GP's fitted noise variance
(standardised scale) per objective, whether the step landed on the true front, and its normalised distance
to the nearest earlier evaluation in objective space.

    PYTHONPATH=. python benchmarks/diag_bo_front.py --runs 400x400:12,200x200:16 [--bo-options k=v,...]

``--levels KNOB`` (no replay): for each grid, how each objective changes between neighbouring levels of KNOB
with the other knobs held (median log change, share of pairs falling or rising by more than 2 %).

``--ends`` (no replay): for each grid, the true front's best point in each objective, its exclusive share of
the front's hypervolume and its lead over the table's next configuration in that objective.

Any replayed table (``--file`` with ``--knobs``/``--objectives``, as the benchmark's ``--files``): ``--runs`` is
then a comma list of seeds, e.g. the fifth TX2 table:

    PYTHONPATH=. python benchmarks/diag_bo_front.py --file datasets/flexibo-tx2/it_ec_te_obj.csv \\
        --knobs core1_status,core2_status,core3_status,core_freq,gpu_freq,emc_freq \\
        --objectives inference_time,energy_consumption --runs 4 --probe 10,15,20

``--probe K,...``: before the (K+1)-th evaluation, the observed front, the reference point the acquisition
uses (in the objectives' units), and for each true-front configuration not yet evaluated its predicted mean
and standard deviation (log scale, as modelled) against the truth and its rank by the acquisition among the
remaining configurations; and the acquisition's top 5 with their true values.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import bench_optimisation as bench  # noqa: E402
from bench_optimisation import grid_file, parse_bo_options, replay, true_front  # noqa: E402
from perfmodel.optimisation.study import Study  # noqa: E402
from perfmodel.pareto import hypervolume, pareto_front  # noqa: E402


def lost_by_region(F_true, F_found, ref, n_bins=3):
    """Hypervolume of the true front not covered by the found one, split into n_bins equal ranges of the
    first objective (time) over the true front's span, as fractions of the true hypervolume."""
    xs = np.linspace(F_true[:, 0].min(), ref[0], 4001)
    mid = 0.5 * (xs[1:] + xs[:-1])
    w = np.diff(xs)

    def height(F):  # for each x: ref1 - min power among points with time <= x
        h = np.zeros_like(mid)
        for i, x in enumerate(mid):
            sel = F[F[:, 0] <= x]
            h[i] = ref[1] - sel[:, 1].min() if len(sel) else 0.0
        return np.clip(h, 0, None)

    gap = (height(F_true) - height(F_found)).clip(0) * w
    hv = hypervolume(F_true, ref)
    edges = np.linspace(F_true[:, 0].min(), F_true[:, 0].max(), n_bins + 1)
    edges[-1] = ref[0]
    return [float(gap[(mid >= edges[b]) & (mid < edges[b + 1])].sum() / hv) for b in range(n_bins)]


def _cfg_text(config) -> str:
    flags = [c for c in bench.KNOBS if str(config[c]) in ("0", "1", "True", "False")]
    rest = [c for c in bench.KNOBS if c not in flags]
    def num(v):  # clocks in MHz (the TX2 tables give CPU clocks in kHz, the others in Hz)
        v = float(v)
        return f"{v / 1e6:.0f}" if abs(v) >= 1e7 else f"{v / 1e3:.0f}" if abs(v) >= 1e4 else f"{v:g}"
    return "".join(str(int(config[c])) for c in flags) + " " + " ".join(num(config[c]) for c in rest)


def probe(study, strat, F_table, keys_table, table, front_keys, k):
    """What the model believes before evaluation k+1 (see the module docstring)."""
    from profiling.space import config_key
    state = study._state()
    configs, X = strat._cands.remaining(state)
    seen = {}
    orig = strat._reference

    def capture(*a, **kw):
        r = orig(*a, **kw)
        seen.setdefault("ref", r)
        return r
    strat._reference = capture
    try:
        acq = strat.acquisition_values(state, configs, X)
    finally:
        strat._reference = orig
    order = np.argsort(-acq)
    rank = np.empty(len(acq), int)
    rank[order] = np.arange(1, len(acq) + 1)
    obj = bench.OBJECTIVES
    Yobs = np.array([[o[m] for m in obj] for _, o in state.complete])
    fr = pareto_front(Yobs)
    fr = fr[np.argsort(fr[:, 0])]
    ref = seen.get("ref")
    logs = [strat._last[m][0].log_ for m in obj]
    ref_u = None if ref is None else [float(np.exp(r)) if lg else float(r) for r, lg in zip(ref, logs)]
    print(f"  -- probe before evaluation {k + 1}: observed front ({len(fr)}): "
          + " ".join(f"({r[0]:.3g},{r[1]:.4g})" for r in fr)
          + (f"; reference ({ref_u[0]:.4g}, {ref_u[1]:.4g})" if ref_u else ""))
    mus = {m: strat._last[m][2] for m in obj}
    sds = {}
    for j, m in enumerate(obj):           # the predictive sd, as the acquisition sees it
        gp = strat._last[m][0]
        Xc = strat._cands.encode(configs, linked=strat.linked, log_inputs=strat.log_inputs)
        sds[m] = gp.predict(Xc, noisy=strat.noisy)[1]
    key_pos = {config_key(c): i for i, c in enumerate(configs)}
    print("     true-front configs not yet evaluated: truth -> predicted log mean +- sd per objective, acq rank")
    for r, key in sorted(zip(F_table, keys_table), key=lambda t: t[0][0]):
        i = key_pos.get(key)
        if i is None:
            continue
        pred = "  ".join(f"{np.log(r[j]):.2f}->{mus[m][i]:.2f}+-{sds[m][i]:.2f}" for j, m in enumerate(obj))
        print(f"     ({r[0]:.3g},{r[1]:.4g}) [{_cfg_text(configs[i])}] {pred}  rank {rank[i]}/{len(acq)}")
    truth = {config_key({kn.name: kn.validate(row[kn.name]) for kn in state.space.knobs}):
             tuple(float(row[m]) for m in obj) for _, row in table.iterrows()}
    print("     acquisition's top 5: truth, predicted log means")
    for i in order[:5]:
        t = truth.get(config_key(configs[i]), (np.nan, np.nan))
        print(f"     [{_cfg_text(configs[i])}] ({t[0]:.3g},{t[1]:.4g}) pred "
              + " ".join(f"{mus[m][i]:.2f}+-{sds[m][i]:.2f}" for m in obj) + f" log-acq {acq[i]:.2f}")


def ends(grid, path=None):
    """The true front's two ends: each end point's exclusive share of the front's hypervolume (what a run
    loses by missing that point alone), and how much better it is than the table's next-best configuration in
    that objective (``--ends``; no replay)."""
    Y_all = replay(path or grid_file(grid)).frame()[bench.OBJECTIVES].to_numpy(float)
    F, ref, hv_true = true_front(Y_all)
    line = [f"{grid}: true front {len(F)} points"]
    for j, m in enumerate(bench.OBJECTIVES):
        i = int(np.argmin(F[:, j]))
        share = (hv_true - hypervolume(np.delete(F, i, axis=0), ref)) / hv_true
        best, second = np.sort(Y_all[:, j])[:2]
        line.append(f"best {m} {F[i, j]:.4g}: exclusive share {100 * share:.2f} %, "
                    f"{100 * (second / best - 1):.1f} % better than the next configuration")
        line.append(f"front points within 5 % of it: {int(np.sum(F[:, j] <= 1.05 * best))}")
    print("; ".join(line))


def loo_z_rms(gp) -> float:
    """RMS of a surrogate's leave-one-out standardised residuals on its own evaluations (about 1: calibrated
    there; the largest over the fits it averages)."""
    fits = getattr(gp, "samples_", None) or [gp.gp_]
    return max(float(np.sqrt(np.mean(r * r / v))) for r, v in (f.loo_residuals() for f in fits))


def levels(grid, knob, path=None):
    """How each objective changes from one level of ``knob`` to the next, the other knobs held (``--levels``;
    no replay): per step, the median log change and the share of pairs that fall or rise by more than 2 %."""
    t = replay(path or grid_file(grid)).frame()
    others = [k for k in bench.KNOBS if k != knob]
    for m in bench.OBJECTIVES:
        L = np.log(t.pivot_table(index=others, columns=knob, values=m).to_numpy(float))
        d = np.diff(L, axis=1)
        steps = sorted(t[knob].unique())
        print(f"{grid} {m} by {knob}: " + "; ".join(
            f"{a:.4g}->{b:.4g} median {np.nanmedian(d[:, i]):+.3f}, falls {np.nanmean(d[:, i] < -0.02):.2f}, "
            f"rises {np.nanmean(d[:, i] > 0.02):.2f}" for i, (a, b) in enumerate(zip(steps, steps[1:]))))


def run(grid, seed, bo_options, budget=40, init="auto", verbose=True, path=None, probes=()):
    from profiling.space import config_key
    p = replay(path or grid_file(grid))
    table = p.frame()
    Y_all = table[bench.OBJECTIVES].to_numpy(float)
    F, ref, hv_true = true_front(Y_all)
    front_keys = {tuple(r) for r in F}
    study = Study(p.space(), bench.OBJECTIVES, strategy="bo", n_init=init, seed=seed, bo_options=bo_options)
    strat = study._strategy
    init = study.n_init                          # "auto" resolved as the benchmark's runs resolve it
    space = p.space()
    rows_front = [r for _, r in table.iterrows() if tuple(float(r[m]) for m in bench.OBJECTIVES) in front_keys]
    F_table = [np.array([float(r[m]) for m in bench.OBJECTIVES]) for r in rows_front]
    keys_table = [config_key({k.name: k.validate(r[k.name]) for k in space.knobs}) for r in rows_front]
    Y, lines = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(budget):
            if k in probes:
                print("\n".join(lines))
                lines = []
                probe(study, strat, F_table, keys_table, table, front_keys, k)
            t = study.ask()
            out = p.evaluate(t.config)
            study.tell(t, out)
            y = np.array([out[m] for m in bench.OBJECTIVES], float)
            noise = {m: gp.noise_variance for m, (gp, *_) in strat._last.items()}
            looz = {m: loo_z_rms(gp) for m, (gp, *_) in strat._last.items()}
            logY = np.log(np.array(Y)) if Y else None
            dist = (np.min(np.max(np.abs(logY - np.log(y)), axis=1)) if Y else np.nan)
            on_front = tuple(y) in front_keys
            Y.append(y)
            hv = hypervolume(np.array(Y), ref) / hv_true
            lines.append(f"  {k+1:2d} {t.phase:6s} [{_cfg_text(t.config)}] t={y[0]:.4g} p={y[1]:8.1f} "
                         f"front={int(on_front)} dlog={dist:.3f} HV={hv:.4f} noise="
                         + ",".join(f"{v:.2g}" for v in noise.values())
                         + " looz=" + ",".join(f"{v:.2f}" for v in looz.values()))
    Y = np.array(Y)
    found = pareto_front(Y)
    hv = hypervolume(Y, ref) / hv_true
    n_front_found = sum(tuple(r) in front_keys for r in Y)
    lost = lost_by_region(F, found, ref)
    slow = int(np.sum(Y[init:, 0] > F[:, 0].max()))
    print(f"{grid} seed {seed}: HV@{budget} {hv:.4f}; true front {len(F)} points, found {n_front_found}; "
          f"model steps slower than the true front's slowest point: {slow} of {budget - init}; "
          f"lost HV by time-third (low-time .. high-time/low-power): " + ", ".join(f"{v:.4f}" for v in lost))
    Fs = F[np.argsort(F[:, 0])]
    missed = [tuple(r) for r in Fs if tuple(r) not in {tuple(q) for q in Y}]
    print("  true front (time, power), * = found:")
    print("   " + "  ".join(f"{'*' if tuple(r) not in missed else ' '}({r[0]:.3f},{r[1]:.0f})" for r in Fs))
    if verbose:
        print("\n".join(lines))
    return hv, lost


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", help="grid:seed,... (the four TX2 grids) or seeds with --file")
    ap.add_argument("--ends", action="store_true",
                    help="instead: each grid's (or --file's) true front ends, their exclusive hypervolume share "
                         "and their lead over the next configuration")
    ap.add_argument("--levels", metavar="KNOB",
                    help="instead: how each objective changes between neighbouring levels of KNOB, per grid")
    ap.add_argument("--file", help="a replayed table instead of the TX2 grids (then --runs lists seeds)")
    ap.add_argument("--knobs", help="comma list of the knob columns (as the benchmark's --knobs)")
    ap.add_argument("--objectives", help="comma list of the two minimised objectives (as the benchmark's)")
    ap.add_argument("--probe", default="", help="comma list of evaluation counts to probe the model at")
    ap.add_argument("--bo-options", default="")
    ap.add_argument("--init", type=bench.init_size, default="auto",
                    help="initial design size, or auto (the library's default, as the benchmark's --init)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.knobs:
        bench.KNOBS = a.knobs.split(",")
    if a.objectives:
        bench.OBJECTIVES = a.objectives.split(",")
    if a.ends or a.levels:
        if a.levels and a.levels not in bench.KNOBS:
            ap.error(f"--levels {a.levels}: not a knob ({', '.join(bench.KNOBS)})")
        for g in ([os.path.basename(a.file)] if a.file else ["200x200", "400x400", "600x600", "800x800"]):
            ends(g, a.file) if a.ends else levels(g, a.levels, a.file)
        raise SystemExit(0)
    if not a.runs:
        ap.error("give --runs (or --ends)")
    opts = parse_bo_options(a.bo_options, ap)
    probes = {int(v) for v in a.probe.split(",") if v}
    for item in a.runs.split(","):
        if a.file:
            g, s = os.path.basename(a.file), item
        else:
            g, s = item.split(":")
        run(g, int(s), opts, init=a.init, verbose=not a.quiet, path=a.file, probes=probes)
