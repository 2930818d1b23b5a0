"""Report figures as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: a report is written on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MAX_KNOB_PANELS = 8


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _numeric(s: pd.Series) -> tuple[np.ndarray, list | None]:
    """Values to plot on an axis; categorical knobs become codes with their labels."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float), None
    cats = sorted(s.astype(str).unique())
    return s.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), cats


def pareto(df: pd.DataFrame, objectives: Sequence[str], on_front: pd.Series, by: str | None = None) -> bytes:
    """Scatter of the first two objectives; Pareto-optimal points drawn large and joined per group."""
    x, y = objectives[0], objectives[1]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    groups = df.groupby(by, sort=True) if by else [("all", df)]
    for i, (name, g) in enumerate(groups):
        color = f"C{i % 10}"
        ax.scatter(g[x], g[y], s=10, alpha=0.35, color=color, label=f"{name}" if by else "measured")
        f = g[on_front.loc[g.index].to_numpy()].sort_values(x)
        ax.plot(f[x], f[y], "o-", ms=6, color=color, mec="black", mew=0.6,
                label=f"{name}: Pareto-optimal ({len(f)})" if by else f"Pareto-optimal ({len(f)})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title("Pareto front (minimising both)")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return _png(fig)


def objective_vs_knobs(df: pd.DataFrame, knobs: Sequence[str], objectives: Sequence[str]) -> bytes:
    """One panel per (objective, knob): every measurement, and the mean per knob level."""
    knobs = list(knobs)[:MAX_KNOB_PANELS]
    fig, axes = plt.subplots(len(objectives), len(knobs), figsize=(2.6 * len(knobs) + 0.6, 2.3 * len(objectives)),
                             squeeze=False)
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
                ax.set_xticks(range(len(cats)), cats, rotation=45, fontsize=6)
            ax.tick_params(labelsize=6)
            ax.xaxis.get_offset_text().set_fontsize(6)
            if r == len(objectives) - 1:
                ax.set_xlabel(knob, fontsize=8)
            if c == 0:
                ax.set_ylabel(obj, fontsize=8)
    fig.suptitle("Objective vs each knob (red: mean per level)", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def interaction_heatmap(effects: Mapping[str, pd.DataFrame], knobs: Sequence[str]) -> bytes:
    """Knob x knob share of explained variance: diagonal = main effect, off-diagonal = interactions.

    A three-knob interaction's share is split equally between its three pairs.
    """
    n = len(effects)
    fig, axes = plt.subplots(1, n, figsize=(0.55 * len(knobs) * n + 2.5 * n, 0.5 * len(knobs) + 2.2), squeeze=False)
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
        ax.set_xticks(range(len(knobs)), knobs, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(knobs)), knobs, fontsize=7)
        for i in range(len(knobs)):
            for j in range(len(knobs)):
                if abs(M[i, j]) >= 0.005:
                    ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(M[i, j]) > 0.6 * vmax else "black")
        ax.set_title(f"{obj}: share of explained variance", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _png(fig)


def predicted_vs_measured(pairs: Mapping[str, tuple[np.ndarray, np.ndarray, str]]) -> bytes:
    """``objective -> (measured, predicted, label)`` scatter with the identity line."""
    n = len(pairs)
    fig, axes = plt.subplots(1, n, figsize=(3.8 * n, 3.6), squeeze=False)
    for ax, (obj, (y, p, label)) in zip(axes[0], pairs.items()):
        ax.scatter(y, p, s=8, alpha=0.5)
        lo, hi = float(np.nanmin([y.min(), p.min()])), float(np.nanmax([y.max(), p.max()]))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"measured {obj}", fontsize=8)
        ax.set_ylabel(f"predicted {obj}", fontsize=8)
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def convergence(study: pd.DataFrame, objectives: Sequence[str], order: str = "iteration",
                by: str | None = None) -> bytes:
    """Best value found so far vs evaluation order, per objective (one line per sampler when ``by``)."""
    n = len(objectives)
    fig, axes = plt.subplots(1, n, figsize=(3.8 * n, 3.2), squeeze=False)
    groups = study.groupby(by, sort=True) if by else [("study", study)]
    for name, g in groups:
        g = g.sort_values(order)
        for ax, obj in zip(axes[0], objectives):
            ax.step(g[order], g[obj].cummin(), where="post", label=str(name))
            ax.scatter(g[order], g[obj], s=6, alpha=0.3)
    for ax, obj in zip(axes[0], objectives):
        ax.set_xlabel(order, fontsize=8)
        ax.set_ylabel(f"best {obj} so far", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Convergence of the study", fontsize=9)
    fig.tight_layout()
    return _png(fig)
