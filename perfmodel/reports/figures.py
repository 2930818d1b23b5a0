"""Report figures as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: a report is written on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MAX_KNOB_PANELS = 8
# Figures are drawn at DPI and shown at most 1100 px wide (the page's width): a figure up to WIDTH_IN inches
# is shown at its natural size, so 10-point text is about 14 px on screen, readable without zooming.
DPI = 110
WIDTH_IN = 10.0
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
         "legend.fontsize": 9, "figure.titlesize": 12}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _subplots(*args, **kwargs):
    return plt.subplots(*args, **kwargs)


def styled(fn):
    """Draw ``fn``'s figure with the report's font sizes (matplotlib reads them as each text is made)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)
    return wrapper


def _numeric(s: pd.Series) -> tuple[np.ndarray, list | None]:
    """Values to plot on an axis; categorical knobs become codes with their labels."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float), None
    cats = sorted(s.astype(str).unique())
    return s.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), cats


MAX_PARETO_PANELS = 12


@styled
def pareto(df: pd.DataFrame, objectives: Sequence[str], on_front: pd.Series, by: str | None = None,
           labels: pd.Series | None = None) -> bytes:
    """Scatter of two objectives; Pareto-optimal points drawn large and joined per group.

    Up to six groups share one plot; more get one small panel each (the first ``MAX_PARETO_PANELS``, named
    groups before ``synthetic_*`` ones). ``labels`` (aligned with ``df``) names the points on the front.
    """
    x, y = objectives[0], objectives[1]
    groups = list(df.groupby(by, sort=True)) if by else [("all", df)]
    if len(groups) <= 6:
        fig, ax = _subplots(figsize=(8.0, 5.4))
        axes = [ax] * len(groups)
    else:
        groups = sorted(groups, key=lambda kv: str(kv[0]).startswith("synthetic"))[:MAX_PARETO_PANELS]
        cols = 4
        rows = -(-len(groups) // cols)
        fig, grid = _subplots(rows, cols, figsize=(WIDTH_IN, 2.9 * rows), squeeze=False)
        axes = list(grid.ravel())
        for ax in axes[len(groups):]:
            ax.set_visible(False)
    panels = len(set(map(id, axes))) > 1
    for i, ((name, g), ax) in enumerate(zip(groups, axes)):
        g = g[np.isfinite(g[x].to_numpy(dtype=float)) & np.isfinite(g[y].to_numpy(dtype=float))]
        color = "C0" if panels else f"C{i % 10}"
        ax.scatter(g[x], g[y], s=14, alpha=0.45, color=color, label=f"{name}" if by else "measured")
        f = g[on_front.loc[g.index].to_numpy()].sort_values(x)
        ax.plot(f[x], f[y], "o-", ms=7, color=color, mec="black", mew=0.6,
                label=f"{name}: Pareto-optimal ({len(f)})" if by else f"Pareto-optimal ({len(f)})")
        if labels is not None and not panels and len(f) <= 8:
            for _, r in f.iterrows():
                ax.annotate(str(labels.loc[r.name]), (r[x], r[y]), fontsize=8, xytext=(4, 4),
                            textcoords="offset points", alpha=0.85)
        for col, setter, axis in ((x, ax.set_xscale, "x"), (y, ax.set_yscale, "y")):
            v = g[col].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if len(v) and v.min() > 0 and v.max() / v.min() > 20:
                setter("log")
                _plain_log(ax, axis)
        if panels:
            ax.set_title(str(name), fontsize=10)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3, which="both")
    if len(set(map(id, axes))) == 1:
        ax = axes[0]
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title("Pareto front (minimising both)")
        ax.legend(fontsize=9, loc="best")
        ax.grid(alpha=0.3)
    else:
        fig.supxlabel(x)
        fig.supylabel(y)
        fig.suptitle("Pareto front per group (large points joined: Pareto-optimal; minimising both)")
        fig.tight_layout()
    return _png(fig)


@styled
def objective_vs_knobs(df: pd.DataFrame, knobs: Sequence[str], objectives: Sequence[str]) -> bytes:
    """One panel per (objective, knob): every measurement, and the mean per knob level."""
    knobs = list(knobs)[:MAX_KNOB_PANELS]
    fig, axes = _subplots(len(objectives), len(knobs),
                          figsize=(min(3.2 * len(knobs) + 0.8, WIDTH_IN), 2.8 * len(objectives)), squeeze=False)
    for r, obj in enumerate(objectives):
        for c, knob in enumerate(knobs):
            ax = axes[r][c]
            xs, cats = _numeric(df[knob])
            ys = df[obj].to_numpy(dtype=float)
            ax.scatter(xs, ys, s=6, alpha=0.3, color="C0")
            means = pd.Series(ys).groupby(xs).mean()
            if len(means) <= 30:
                ax.plot(means.index, means.to_numpy(), "o-", color="C3", ms=3)
            if cats is not None:
                ax.set_xticks(range(len(cats)), cats, rotation=45, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.xaxis.get_offset_text().set_fontsize(6)
            if r == len(objectives) - 1:
                ax.set_xlabel(knob, fontsize=10)
            if c == 0:
                ax.set_ylabel(obj, fontsize=10)
    fig.suptitle("Objective vs each knob (red: mean per level)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


@styled
def interaction_heatmap(effects: Mapping[str, pd.DataFrame], knobs: Sequence[str]) -> bytes:
    """Knob x knob share of explained variance: diagonal = main effect, off-diagonal = interactions.

    A three-knob interaction's share is split equally between its three pairs.
    """
    n = len(effects)
    fig, axes = _subplots(1, n, figsize=(0.55 * len(knobs) * n + 2.5 * n, 0.5 * len(knobs) + 2.2), squeeze=False)
    idx = {k: i for i, k in enumerate(knobs)}
    for ax, (obj, eff) in zip(axes[0], effects.items()):
        M = np.zeros((len(knobs), len(knobs)))
        for e in eff.itertuples(index=False):
            members = [k for k in str(e.effect).split("×") if k in idx]
            if len(members) == 1:
                M[idx[members[0]], idx[members[0]]] += e.share
            else:
                pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
                for a, b in pairs:
                    M[idx[a], idx[b]] += e.share / len(pairs)
                    M[idx[b], idx[a]] += e.share / len(pairs)
        vmax = max(np.abs(M).max(), 1e-9)
        im = ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_xticks(range(len(knobs)), knobs, rotation=60, ha="right", fontsize=10)
        ax.set_yticks(range(len(knobs)), knobs, fontsize=10)
        for i in range(len(knobs)):
            for j in range(len(knobs)):
                if abs(M[i, j]) >= 0.005:
                    ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=10,
                            color="white" if abs(M[i, j]) > 0.6 * vmax else "black")
        ax.set_title(f"{obj}: share of explained variance", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _png(fig)


@styled
def predicted_vs_measured(pairs: Mapping[str, tuple[np.ndarray, np.ndarray, str]]) -> bytes:
    """``objective -> (measured, predicted, label)`` scatter with the identity line."""
    n = len(pairs)
    fig, axes = _subplots(1, n, figsize=(min(4.6 * n, WIDTH_IN), 4.2), squeeze=False)
    for ax, (obj, (y, p, label)) in zip(axes[0], pairs.items()):
        ax.scatter(y, p, s=8, alpha=0.5)
        lo, hi = float(np.nanmin([y.min(), p.min()])), float(np.nanmax([y.max(), p.max()]))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"measured {obj}", fontsize=10)
        ax.set_ylabel(f"predicted {obj}", fontsize=10)
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def has_infeasible(study: pd.DataFrame, objectives: Sequence[str]) -> bool:
    """Whether ``study`` is constrained: a row measured in every objective but not ``feasible`` (a failed
    evaluation, measured in none, is not feasible either, without making the study constrained)."""
    if "feasible" not in study.columns:
        return False
    measured = study[list(objectives)].notna().all(axis=1)
    return bool((measured & ~study["feasible"].astype(bool)).any())


def best_so_far(study: pd.DataFrame, objective: str, maximize: bool = False, feasible_only: bool = False) -> pd.Series:
    """The best ``objective`` among the rows so far (in the frame's order): the largest when ``maximize``, and
    with ``feasible_only`` counting only the rows whose ``feasible`` is true (NaN until the first one)."""
    values = study[objective].astype(float)
    if feasible_only:
        values = values.where(study["feasible"].astype(bool))
    return (values.cummax() if maximize else values.cummin()).ffill()  # a failed or infeasible row keeps the best


@styled
def convergence(study: pd.DataFrame, objectives: Sequence[str], order: str = "iteration",
                by: str | None = None, maximize: Sequence[str] = (), hypervolume: dict | None = None) -> bytes:
    """Best value found so far vs evaluation order, per objective (one line per sampler when ``by``).

    The best is the largest value for the objectives in ``maximize``, else the smallest; with a ``feasible``
    column (a constrained study), only feasible evaluations count for it (every one is drawn as a point).
    ``hypervolume`` (``{group: (evaluation order, share)}``) adds a last panel: the share of the hypervolume
    the front found so far holds.
    """
    n = len(objectives) + (1 if hypervolume else 0)
    fig, axes = _subplots(1, n, figsize=(min(4.6 * n, WIDTH_IN), 3.8), squeeze=False)
    groups = study.groupby(by, sort=True) if by else [("study", study)]
    constrained = has_infeasible(study, objectives)
    for name, g in groups:
        g = g.sort_values(order)
        for ax, obj in zip(axes[0], objectives):
            ax.step(g[order], best_so_far(g, obj, obj in maximize, constrained), where="post", label=str(name))
            ax.scatter(g[order], g[obj], s=6, alpha=0.3)
    for ax, obj in zip(axes[0], objectives):
        ax.set_xlabel(order, fontsize=10)
        ax.set_ylabel(f"best {obj} so far" + (" (feasible)" if constrained else ""), fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    if hypervolume:
        ax = axes[0][-1]
        for name, (x, share) in hypervolume.items():
            ax.step(x, share, where="post", label=name)
        ax.set_xlabel(order, fontsize=10)
        ax.set_ylabel("share of the hypervolume", fontsize=10)
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.02)
        ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle("Convergence of the study", fontsize=11)
    fig.tight_layout()
    return _png(fig)


# ------------------------------------------------------------------------------------------- profile figures
# one colour per layer type in every figure (the canonical types of docs/measurement-table.md)
_TYPES = ("conv2d", "batch_norm", "depthwise_conv2d", "activation", "separable_conv2d", "avg_pool", "add",
          "zero_padding", "dense", "max_pool", "global_pool", "concat", "multiply", "reshape", "rescaling",
          "normalization", "dropout", "input", "other")


def _type_color(t: str, order: list[str] | None = None):
    if t == "other types":
        return "0.72"
    cmap = plt.get_cmap("tab20")
    i = _TYPES.index(t) if t in _TYPES else len(_TYPES) + sum(map(ord, str(t)))
    return cmap((2 * i) % 20 + (i // 10) % 2)


def _plain_log(ax, axis: str = "y") -> None:
    """Tick labels of a log axis as plain numbers (0.5, 1, 2) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    limits = ax.get_ylim if axis == "y" else ax.get_xlim

    def minor(v, _):  # 2 and 5 of each decade, when the axis spans under two decades (else too crowded)
        lo, hi = sorted(limits())
        few = lo > 0 and hi / lo < 100
        return f"{v:g}" if few and f"{v:g}".lstrip("0.-")[:1] in ("2", "5") else ""

    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(minor))


@styled
def type_shares(shares: pd.DataFrame, max_types: int = 8) -> bytes:
    """Horizontal stacked bars: each network's share of runtime per layer type (``analysis.type_shares``)."""
    total = shares.groupby("layer_type")["runtime_s"].sum().sort_values(ascending=False)
    top = list(total.index[:max_types])
    s = shares.assign(kind=shares["layer_type"].where(shares["layer_type"].isin(top), "other types"))
    M = s.pivot_table(index=["network", "config"], columns="kind", values="share", aggfunc="sum").fillna(0.0)
    M = M[[c for c in top + ["other types"] if c in M.columns]]
    rank = {n: i for i, n in enumerate(_network_order(M.index.get_level_values(0)))}
    M = M.iloc[sorted(range(len(M)), key=lambda i: rank[str(M.index[i][0])])]
    configs = pd.Series([c for _, c in M.index])
    usual = configs.mode().iloc[0] if len(configs) else ""
    names = [n if c == usual else f"{n}  ({c})" for n, c in M.index]
    fig, ax = _subplots(figsize=(WIDTH_IN, 1.6 + 0.28 * len(M)))
    left = np.zeros(len(M))
    for kind in M.columns:
        ax.barh(range(len(M)), M[kind].to_numpy(), left=left, color=_type_color(kind, top), label=kind, height=0.8)
        left += M[kind].to_numpy()
    ax.set_yticks(range(len(M)), names)
    ax.set_ylim(len(M) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the sum of the layers' runtimes (configuration {usual}"
                  + ("; others in brackets)" if any(c != usual for c in configs) else ")"))
    ax.legend(ncol=min(len(M.columns), 5), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def _network_order(names) -> list[str]:
    """Named networks first, then ``synthetic_*`` ones, each alphabetically."""
    return sorted(set(map(str, names)), key=lambda n: (n.startswith("synthetic"), n))


@styled
def view_gap(sums: pd.DataFrame, ratio_cols: Sequence[str]) -> bytes:
    """Heat map of sum of layers / whole network: networks (rows) x view and configuration (columns)."""
    nets = _network_order(sums["network"])
    cols = []
    for col in ratio_cols:
        for cfg in sorted(sums.loc[sums[col].notna(), "config"].unique()):
            cols.append((col, cfg))
    M = np.full((len(nets), len(cols)), np.nan)
    for j, (col, cfg) in enumerate(cols):
        d = sums[(sums["config"] == cfg) & sums[col].notna()].groupby("network")[col].median()
        for i, n in enumerate(nets):
            if n in d.index:
                M[i, j] = d[n]
    keep = np.isfinite(M).any(axis=1)  # networks measured only whole have no ratio
    M, nets = M[keep], [n for n, k in zip(nets, keep) if k]
    fig, ax = _subplots(figsize=(min(WIDTH_IN, 3.0 + 1.05 * len(cols)), 1.8 + 0.26 * len(nets)))
    L = np.log2(M)
    vmax = max(float(np.nanmax(np.abs(L))) if np.isfinite(L).any() else 1.0, 0.5)
    im = ax.imshow(L, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    for i in range(len(nets)):
        for j in range(len(cols)):
            if np.isfinite(M[i, j]):
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=7.5,
                        color="white" if abs(L[i, j]) > 0.6 * vmax else "black")
    ax.set_yticks(range(len(nets)), nets)
    ax.set_xticks(range(len(cols)), [f"{c.removesuffix('_ratio')}: {cfg}" for c, cfg in cols], fontsize=8,
                  rotation=35, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("log2(sum of layers / whole)")
    fig.tight_layout()
    return _png(fig)


@styled
def top_layers(per_network: Mapping[str, pd.DataFrame], top: int = 10) -> bytes:
    """One panel per network: its ``top`` slowest layers, coloured by layer type."""
    n = len(per_network)
    cols = min(n, 2)
    rows = -(-n // cols)
    fig, axes = _subplots(rows, cols, figsize=(WIDTH_IN, 3.4 * rows), squeeze=False)
    all_types = sorted({t for d in per_network.values() for t in d.nlargest(top, "runtime_s")["layer_type"]})
    for ax, (title, d) in zip(axes.ravel(), per_network.items()):
        d = d.nlargest(top, "runtime_s")
        ax.barh(range(len(d)), d["runtime_s"].to_numpy() * 1e3,
                color=[_type_color(t, all_types) for t in d["layer_type"]])
        ax.set_yticks(range(len(d)), [str(v)[:28] for v in d["layer"]], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("runtime (ms)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=_type_color(t, all_types)) for t in all_types]
    fig.legend(handles, all_types, ncol=min(len(all_types), 6), loc="upper center", bbox_to_anchor=(0.5, 1.0),
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _png(fig)


@styled
def runtime_vs_flops(whole: pd.DataFrame) -> bytes:
    """Log-log runtime (and energy per inference where measured) against FLOPs per sample, per configuration."""
    has_e = whole["energy_per_inference_j"].notna().any()
    fig, axes = _subplots(1, 2 if has_e else 1, figsize=(WIDTH_IN, 4.8) if has_e else (7.5, 5.0), squeeze=False)
    configs = sorted(whole["config"].unique())
    panels = [("runtime_s", 1e3, "runtime of one call (ms)")] + (
        [("energy_per_inference_j", 1e3, "energy per inference (mJ)")] if has_e else [])
    for ax, (col, scale, label) in zip(axes[0], panels):
        for i, cfg in enumerate(configs):
            d = whole[(whole["config"] == cfg) & whole[col].notna() & whole["flops"].notna()]
            if d.empty:
                continue
            ax.scatter(d["flops"] / 1e9, d[col] * scale, s=22, alpha=0.75, color=f"C{i % 10}", label=cfg)
        named = whole[~whole["network"].astype(str).str.startswith("synthetic") & whole[col].notna()]
        for net, g in named.groupby("network"):
            r = g.loc[g["flops"].idxmax()] if g["flops"].notna().any() else None
            if r is not None and len(named["network"].unique()) <= 16:
                ax.annotate(str(net), (r["flops"] / 1e9, r[col] * scale), fontsize=7, alpha=0.7,
                            xytext=(3, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log(ax, "x")
        _plain_log(ax, "y")
        ax.set_xlabel("GFLOP per sample (log)")
        ax.set_ylabel(label + " (log)")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


@styled
def knob_effects(effects: Mapping[str, pd.DataFrame]) -> bytes:
    """One panel per (objective, knob), three to a row: ratio to the knob's lowest level, one grey line per
    group (network and setting of the other knobs), black the median."""
    from matplotlib.collections import LineCollection

    panels = [(obj, k) for obj, e in effects.items() for k in dict.fromkeys(e["knob"])]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = _subplots(rows, cols, figsize=(min(WIDTH_IN, 0.6 + 3.4 * cols), 3.2 * rows), squeeze=False)
    for ax, (obj, k) in zip(axes.ravel(), panels):
        e = effects[obj]
        d = e[e["knob"] == k]
        levels = list(dict.fromkeys(d.sort_values("level", key=_level_key)["level"]))
        pos = {lev: i for i, lev in enumerate(levels)}
        d = d.assign(_x=d["level"].map(pos)).sort_values("_x")
        lines = [g[["_x", "ratio"]].to_numpy() for _, g in d.groupby("group") if len(g) > 1]
        ax.add_collection(LineCollection(lines, colors="0.55", alpha=0.35, linewidths=0.8))
        med = d.groupby("_x")["ratio"].median()
        ax.plot(med.index, med.to_numpy(), "o-", color="black", lw=2, ms=5, label="median")
        many = len(levels) > 6
        ax.set_xticks(range(len(levels)), [f"{v:.3g}" if isinstance(v, (float, int, np.number)) else str(v)
                                           for v in levels], rotation=(45 if many else 30) if len(levels) > 4 else 0,
                      fontsize=8 if many else 9)
        ax.set_xlim(-0.3, len(levels) - 0.7)
        lo, hi = float(np.nanmin(d["ratio"])), float(np.nanmax(d["ratio"]))
        ax.set_yscale("log")
        ax.set_ylim(min(lo, 1.0) / 1.15, max(hi, 1.0) * 1.15)
        _plain_log(ax)
        ax.axhline(1.0, color="C3", lw=0.8, ls="--")
        ax.set_xlabel(k)
        ax.set_ylabel(f"{obj} / value at {levels[0]:.3g}" if isinstance(levels[0], (float, int, np.number))
                      else f"{obj} / value at {levels[0]}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _level_key(s: pd.Series) -> pd.Series:
    from ..analysis import _level_order

    return _level_order(s)


# ----------------------------------------------------------------------------------------- prediction figures
@styled
def unseen_predictions(res: pd.DataFrame) -> bytes:
    """Predicted (with 1-std error bars) against measured runtime, one colour per network, log-log."""
    fig, ax = _subplots(figsize=(7.5, 6.0))
    nets = list(dict.fromkeys(res["network"]))
    for i, net in enumerate(nets):
        d = res[res["network"] == net]
        ax.errorbar(d["measured_ms"], d["predicted_ms"], yerr=d["std_ms"].fillna(0).to_numpy(), fmt="o", ms=6,
                    capsize=3, color=f"C{i % 10}", label=net if len(nets) <= 12 else None, alpha=0.85)
    lo = float(np.nanmin([res["measured_ms"].min(), res["predicted_ms"].min()])) * 0.7
    hi = float(np.nanmax([res["measured_ms"].max(), res["predicted_ms"].max()])) * 1.4
    xs = np.array([lo, hi])
    ax.plot(xs, xs, "k--", lw=1)
    ax.plot(xs, xs * 1.25, "k:", lw=0.8)
    ax.plot(xs, xs / 1.25, "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured runtime (ms)")
    ax.set_ylabel("predicted runtime (ms)")
    _plain_log(ax, "x")
    _plain_log(ax, "y")
    ax.grid(alpha=0.3, which="both")
    if len(nets) <= 12:
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


@styled
def errors_by_type(units: pd.DataFrame) -> bytes:
    """Box plot of per-unit relative errors per layer type (the types with the most measured time first)."""
    order = units.groupby("layer_type")["measured_s"].sum().sort_values(ascending=False).index[:12]
    data = [units.loc[units["layer_type"] == t, "error"].to_numpy() * 100 for t in order]
    fig, ax = _subplots(figsize=(WIDTH_IN, 4.4))
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(order) + 1), [f"{t} (n={len(d)})" for t, d in zip(order, data)], fontsize=8,
                  rotation=30, ha="right", rotation_mode="anchor")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("error of the unit's runtime (%)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
