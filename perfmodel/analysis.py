"""Analyses of measured configurations across networks, input sizes, workloads and platforms.

What the DSE course brief asks of a design-space exploration: Pareto-optimal configurations per
network, whether the optimum of one network is optimal for another (its rank and regret there), rank
correlations of configurations across groups, and (the Jetson TX1 design-space study, sec. 5.3) whether the samples a Bayesian
optimiser chose predict better than random samples of the same size.

Every function takes a long table (one row per measurement) and a grouping column (``network``,
``size``, ``platform``...); repeated measurements of a configuration in a group are averaged.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import train_test_split

from .errors import DataError
from .pareto import non_dominated, to_minimisation

__all__ = ["pareto_by_group", "config_means", "transfer_of_optima", "rank_correlations", "correlation_matrix",
           "whole_rows", "layer_rows", "config_labels", "layer_breakdown", "view_sums", "type_shares", "knob_effects",
           "knob_effect_summary",
           "sampler_prediction_error", "bo_vs_random"]


def _check(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"the data have no column {missing[0]!r}; columns: {', '.join(map(str, df.columns))}")


def pareto_by_group(df: pd.DataFrame, objectives: Sequence[str], by: str | None = None,
                    maximize: Sequence[bool] | None = None) -> pd.Series:
    """Which rows are Pareto-optimal within their group.

    Parameters
    ----------
    df : pandas.DataFrame
    objectives : sequence of str
        Objective columns (minimised unless flagged in ``maximize``).
    by : str, optional
        Grouping column (e.g. ``"network"``); the whole table is one group when omitted.

    Returns
    -------
    pandas.Series of bool
        ``on_front`` aligned with ``df``; rows with a NaN objective are never on the front.
    """
    _check(df, list(objectives) + ([by] if by else []))
    on = np.zeros(len(df), dtype=bool)
    codes = pd.factorize(df[by])[0] if by else np.zeros(len(df), dtype=int)
    Y = df[list(objectives)].to_numpy(dtype=float)
    ok = np.all(np.isfinite(Y), axis=1)
    for code in np.unique(codes):
        rows = np.flatnonzero((codes == code) & ok)  # positions: the index may repeat
        if len(rows):
            on[rows[non_dominated(to_minimisation(Y[rows], maximize))]] = True
    out = pd.Series(on, index=df.index, name="on_front")
    return out


def config_means(df: pd.DataFrame, knobs: Sequence[str], objective: str, by: str) -> pd.DataFrame:
    """Mean ``objective`` per configuration (rows) and group (columns); NaN where not measured."""
    _check(df, list(knobs) + [objective, by])
    d = df[list(knobs) + [objective, by]].dropna(subset=[objective])
    return d.pivot_table(index=list(knobs), columns=by, values=objective, aggfunc="mean", observed=True)


def transfer_of_optima(df: pd.DataFrame, knobs: Sequence[str], objective: str, by: str,
                       maximize: bool = False) -> pd.DataFrame:
    """Rank and regret, on group B, of the best configuration of group A, for every ordered pair (A, B).

    Returns
    -------
    pandas.DataFrame
        ``source, target, best_config, rank, n_configs, percentile, value_on_target, best_on_target,
        regret``: ``rank`` 1 means the source optimum is also the target optimum; ``regret`` is
        ``|value - best| / |best|`` on the target. ``rank`` is NaN when the source optimum was not
        measured on the target.
    """
    M = config_means(df, knobs, objective, by)
    sign = -1.0 if maximize else 1.0
    rows = []
    for a, b in itertools.permutations(M.columns, 2):
        ya = M[a].dropna()
        yb = M[b].dropna()
        if ya.empty or yb.empty:
            continue
        best_a = (sign * ya).idxmin()
        best_b = float(yb.loc[(sign * yb).idxmin()])
        cfg = ", ".join(f"{k}={v:g}" if isinstance(v, int | float | np.number) else f"{k}={v}"
                        for k, v in zip(knobs, best_a if isinstance(best_a, tuple) else (best_a,)))
        if best_a in yb.index:
            val = float(yb.loc[best_a])
            rank = int(np.sum(sign * yb.to_numpy() < sign * val)) + 1
            regret = abs(val - best_b) / abs(best_b) if best_b else np.nan
        else:
            val, rank, regret = np.nan, np.nan, np.nan
        rows.append({"source": a, "target": b, "best_config": cfg, "rank": rank, "n_configs": len(yb),
                     "percentile": (rank - 1) / max(len(yb) - 1, 1) * 100 if rank == rank else np.nan,
                     "value_on_target": val, "best_on_target": best_b, "regret": regret})
    return pd.DataFrame(rows, columns=["source", "target", "best_config", "rank", "n_configs", "percentile",
                                       "value_on_target", "best_on_target", "regret"])


def rank_correlations(df: pd.DataFrame, knobs: Sequence[str], objective: str, by: str,
                      min_common: int = 3) -> pd.DataFrame:
    """Spearman, Kendall and Pearson correlation of configurations' ``objective`` between every two groups.

    Only configurations measured in both groups count (``n_common``); a pair with fewer than
    ``min_common`` of them, or a constant side, gets NaN.
    """
    M = config_means(df, knobs, objective, by)
    rows = []
    for a, b in itertools.combinations(M.columns, 2):
        pair = M[[a, b]].dropna()
        row = {"group_a": a, "group_b": b, "n_common": len(pair)}
        ok = len(pair) >= min_common and pair[a].nunique() > 1 and pair[b].nunique() > 1
        for name, fn in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau), ("pearson", stats.pearsonr)):
            if ok:
                r = fn(pair[a].to_numpy(), pair[b].to_numpy())
                row[name], row[f"{name}_p"] = float(r.statistic), float(r.pvalue)
            else:
                row[name], row[f"{name}_p"] = np.nan, np.nan
        rows.append(row)
    cols = ["group_a", "group_b", "n_common", "spearman", "spearman_p", "kendall", "kendall_p", "pearson", "pearson_p"]
    return pd.DataFrame(rows, columns=cols)


def correlation_matrix(pairs: pd.DataFrame, method: str = "spearman") -> pd.DataFrame:
    """Symmetric group x group matrix of one method from :func:`rank_correlations` (1 on the diagonal)."""
    groups = list(dict.fromkeys(list(pairs["group_a"]) + list(pairs["group_b"])))
    M = pd.DataFrame(np.eye(len(groups)), index=groups, columns=groups)
    for r in pairs.itertuples(index=False):
        M.loc[r.group_a, r.group_b] = M.loc[r.group_b, r.group_a] = getattr(r, method)
    return M


def sampler_prediction_error(samples: Mapping[str, pd.DataFrame], knobs: Sequence[str], objective: str,
                             test: pd.DataFrame | None = None, model=None, test_size: float = 0.2,
                             seed: int = 0) -> pd.DataFrame:
    """Prediction error of a model trained on each sample set (the Jetson TX1 design-space study, sec. 5.3).

    Parameters
    ----------
    samples : mapping
        ``name -> table`` of measured configurations (e.g. ``{"bo": ..., "random": ...}``).
    test : pandas.DataFrame, optional
        Common held-out table to score every model on (the fair comparison). Without it each sample set
        is split ``1 - test_size`` / ``test_size`` as in the seed.
    model : sklearn regressor, optional
        Default :class:`~sklearn.ensemble.GradientBoostingRegressor` (as in the seed).

    Returns
    -------
    pandas.DataFrame
        ``sampler, n_train, n_test, rmse, nrmse, mape`` (``nrmse`` = RMSE / std of the test objective).
    """
    model = model if model is not None else GradientBoostingRegressor(random_state=seed)
    rows = []
    for name, s in samples.items():
        _check(s, list(knobs) + [objective])
        s = s.dropna(subset=[objective])
        if test is None:
            if len(s) < 5:
                raise DataError(f"sample set {name!r} has {len(s)} rows: too few to split for testing")
            train, held = train_test_split(s, test_size=test_size, random_state=seed)
        else:
            train, held = s, test.dropna(subset=[objective])
        m = clone(model).fit(train[list(knobs)].to_numpy(dtype=float), train[objective].to_numpy(dtype=float))
        y = held[objective].to_numpy(dtype=float)
        pred = m.predict(held[list(knobs)].to_numpy(dtype=float))
        rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
        nz = y != 0
        rows.append({"sampler": name, "n_train": len(train), "n_test": len(held), "rmse": rmse,
                     "nrmse": rmse / float(np.std(y)) if np.std(y) > 0 else np.nan,
                     "mape": float(np.mean(np.abs((pred[nz] - y[nz]) / y[nz]))) * 100 if nz.any() else np.nan})
    return pd.DataFrame(rows, columns=["sampler", "n_train", "n_test", "rmse", "nrmse", "mape"])


def bo_vs_random(study: pd.DataFrame, table: pd.DataFrame, knobs: Sequence[str], objective: str,
                 repeats: int = 10, seed: int = 0, model=None) -> pd.DataFrame:
    """Samples an optimiser chose vs. as many random rows of ``table``, scored on the rest of ``table``.

    The test set is every configuration of ``table`` that the study did not evaluate (less, for a random
    draw, the configurations drawn). Random sampling is
    repeated ``repeats`` times; the result has one row for the study and one per random draw
    (``sampler`` = ``"study"`` / ``"random"``, ``draw``).
    """
    _check(study, list(knobs) + [objective])
    _check(table, list(knobs) + [objective])
    tab = table.dropna(subset=[objective]).groupby(list(knobs), as_index=False)[objective].mean()
    st = study.dropna(subset=[objective])
    seen = st[list(knobs)].drop_duplicates()
    merged = tab.merge(seen.assign(_seen=True), on=list(knobs), how="left")
    test = tab[merged["_seen"].isna().to_numpy()]
    n = len(st)
    if n < 3 or len(test) < 3 or len(tab) < n:
        raise DataError(f"too few rows to compare samplers: study {n}, table {len(tab)}, held out {len(test)}")
    rng = np.random.default_rng(seed)
    out = [sampler_prediction_error({"study": st}, knobs, objective, test=test, model=model, seed=seed).assign(draw=0)]
    for r in range(repeats):
        idx = rng.choice(len(tab), size=n, replace=False)
        rest = np.setdiff1d(np.flatnonzero(merged["_seen"].isna().to_numpy()), idx)  # never test on training rows
        out.append(sampler_prediction_error({"random": tab.iloc[idx]}, knobs, objective, test=tab.iloc[rest],
                                            model=model, seed=seed).assign(draw=r))
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------------------------------ profiles
# What a layer-by-layer profile holds (docs/measurement-table.md): whole-network rows (level=network,
# view=whole) and per-layer rows (level=layer; view inplace = the layer's time inside the network,
# isolated = the layer run alone). These functions average repeats and sum layers per run.

LAYER_VIEWS = ("inplace", "isolated")


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"].astype(str) == "ok"] if "status" in df.columns else df


def whole_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Successful whole-network rows (``level == "network"`` or ``view == "whole"``; every row without those
    columns)."""
    if "level" in df.columns:
        df = df[df["level"].astype(str) == "network"]
    elif "view" in df.columns:
        df = df[df["view"].astype(str) == "whole"]
    return _ok(df)


def layer_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Successful per-layer rows with a runtime (empty when the table has none)."""
    if "level" in df.columns:
        rows = df[df["level"].astype(str) == "layer"]
    elif "view" in df.columns:
        rows = df[df["view"].astype(str).isin(LAYER_VIEWS)]
    else:
        return df.iloc[:0]
    rows = _ok(rows)
    return rows[rows["runtime_s"].notna()] if "runtime_s" in rows.columns else rows.iloc[:0]


def config_labels(df: pd.DataFrame, knobs: Sequence[str] = ()) -> pd.Series:
    """A configuration's label per row: the ``config`` column (``k=v,...``), else ``k=v`` of ``knobs``."""
    if "config" in df.columns and df["config"].notna().all():
        return df["config"].astype(str)
    ks = [k for k in knobs if k in df.columns]
    if not ks:
        return pd.Series("all", index=df.index)
    return df[ks].astype(str).radd([f"{k}=" for k in ks]).agg(",".join, axis=1)


def layer_breakdown(df: pd.DataFrame, knobs: Sequence[str] = ()) -> pd.DataFrame:
    """Median runtime (and power, energy where measured) of every layer per network, configuration and view.

    Repeats of a run (the same network, configuration and view measured again) are averaged per layer
    (median), so the sums of :func:`view_sums` count each layer once.

    Returns
    -------
    pandas.DataFrame
        ``network, config, view, layer, unit, layer_type, runtime_s, power_w, energy_j, flops, repeats``
        (``repeats``: how many measurements the median is over); a layer's ``share`` of its run's sum.
    """
    rows = layer_rows(df)
    cols = ["network", "config", "view", "layer", "unit", "layer_type", "runtime_s", "power_w", "energy_j", "flops",
            "repeats", "share"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    _check(rows, ["network", "view", "runtime_s"])
    d = pd.DataFrame({"network": rows["network"].astype(str), "config": config_labels(rows, knobs),
                      "view": rows["view"].astype(str),
                      "layer": rows["layer"].astype(str) if "layer" in rows else rows.index.astype(str),
                      "layer_type": rows["layer_type"].fillna("other").astype(str) if "layer_type" in rows else "other",
                      "runtime_s": rows["runtime_s"].astype(float)})
    d["unit"] = rows["unit"].fillna(d["layer"]).astype(str) if "unit" in rows else d["layer"]
    for c in ("power_w", "energy_j", "flops"):
        d[c] = pd.to_numeric(rows[c], errors="coerce") if c in rows else np.nan
    d["order"] = np.arange(len(d))
    keys = ["network", "config", "view", "layer", "unit", "layer_type"]
    out = (d.groupby(keys, sort=False, dropna=False)
             .agg(runtime_s=("runtime_s", "median"), power_w=("power_w", "median"), energy_j=("energy_j", "median"),
                  flops=("flops", "first"), repeats=("runtime_s", "size"), order=("order", "min"))
             .reset_index().sort_values("order").drop(columns="order"))
    total = out.groupby(["network", "config", "view"], sort=False)["runtime_s"].transform("sum")
    out["share"] = out["runtime_s"] / total
    return out[cols].reset_index(drop=True)


def view_sums(df: pd.DataFrame, knobs: Sequence[str] = ()) -> pd.DataFrame:
    """Whole-network runtime against the sum of its layers in each view, per network and configuration.

    Returns
    -------
    pandas.DataFrame
        ``network, config, whole_s`` (median of the whole-network rows; NaN when not measured) and, per layer
        view present, ``<view>_sum_s``, ``<view>_units`` and ``<view>_ratio`` (sum / whole: the gap between
        the sum of layers and the network; above 1 when running layers one by one costs more than the network).
    """
    bd = layer_breakdown(df, knobs)
    w = whole_rows(df)
    w = w[w["runtime_s"].notna()] if "runtime_s" in w.columns else w.iloc[:0]
    whole = (pd.DataFrame({"network": w["network"].astype(str), "config": config_labels(w, knobs),
                           "whole_s": w["runtime_s"].astype(float)})
             .groupby(["network", "config"], sort=False)["whole_s"].median().reset_index()) if len(w) else \
        pd.DataFrame(columns=["network", "config", "whole_s"])
    out = whole
    for view in [v for v in LAYER_VIEWS if v in set(bd["view"])] + sorted(set(bd["view"]) - set(LAYER_VIEWS)):
        s = (bd[bd["view"] == view].groupby(["network", "config"], sort=False)
             .agg(**{f"{view}_sum_s": ("runtime_s", "sum"), f"{view}_units": ("runtime_s", "size")}).reset_index())
        out = out.merge(s, on=["network", "config"], how="outer")
        out[f"{view}_ratio"] = out[f"{view}_sum_s"] / out["whole_s"]
    return out.reset_index(drop=True)


def type_shares(breakdown: pd.DataFrame) -> pd.DataFrame:
    """Share of each layer type in the sum of a run's layers: ``network, config, view, layer_type, runtime_s,
    share, units``."""
    g = (breakdown.groupby(["network", "config", "view", "layer_type"], sort=False)
         .agg(runtime_s=("runtime_s", "sum"), units=("runtime_s", "size")).reset_index())
    g["share"] = g["runtime_s"] / g.groupby(["network", "config", "view"], sort=False)["runtime_s"].transform("sum")
    return g.sort_values(["network", "config", "view", "share"], ascending=[True, True, True, False],
                         kind="stable").reset_index(drop=True)


def knob_effects(df: pd.DataFrame, knobs: Sequence[str], objective: str, by: str | None = "network") -> pd.DataFrame:
    """How ``objective`` moves with each knob, the other knobs held equal.

    For each knob and each group of rows equal in ``by`` and in every other knob, the objective's median at
    each level of the knob is divided by its median at the group's lowest level (the baseline).

    Returns
    -------
    pandas.DataFrame
        ``knob, level, baseline, group, ratio`` (one row per level and group with the baseline measured;
        ``group`` names the network and the other knobs' values). Empty for a knob no two measured
        configurations differ in alone.
    """
    _check(df, list(knobs) + [objective] + ([by] if by else []))
    d = df.dropna(subset=[objective])
    knobs = [k for k in knobs if k != by]  # the grouping column (a network given as a knob) is not one of them
    rows = []
    for k in knobs:
        others = ([by] if by else []) + [o for o in knobs if o != k]
        med = d.groupby(others + [k], dropna=False, observed=True)[objective].median().reset_index()
        if med[k].nunique() < 2:
            continue
        med["_order"] = pd.Series(_level_order(med[k]).to_numpy(), index=med.index).rank(method="dense")
        for key, g in med.groupby(others, dropna=False, sort=True) if others else [((), med)]:
            if g[k].nunique() < 2:
                continue
            g = g.sort_values("_order")
            base_level, base = g[k].iloc[0], float(g[objective].iloc[0])
            if not base:
                continue
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(str(v) if c == by else f"{c}={v}" for c, v in zip(others, key))
            for lev, val in zip(g[k], g[objective]):
                rows.append({"knob": k, "level": lev, "baseline": base_level, "group": label,
                             "ratio": float(val) / base})
    return pd.DataFrame(rows, columns=["knob", "level", "baseline", "group", "ratio"])


def _level_order(s: pd.Series) -> pd.Series:
    """Sort key of knob levels: numbers by value, ``off`` before ``on``, ``false`` before ``true``, else text."""
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().all():
        return num
    low = s.astype(str).str.lower()
    return low.map({"off": "0", "false": "0", "no": "0", "on": "1", "true": "1", "yes": "1"}).fillna(low)


def knob_effect_summary(effects: pd.DataFrame) -> pd.DataFrame:
    """Per knob and level: how many groups, median, smallest and largest ratio to the baseline level."""
    if effects.empty:
        return pd.DataFrame(columns=["knob", "level", "baseline", "groups", "median_ratio", "min_ratio", "max_ratio"])
    order = effects.assign(_o=np.arange(len(effects)))
    out = (order.groupby(["knob", "level"], sort=False)
                .agg(baseline=("baseline", "first"), groups=("ratio", "size"), median_ratio=("ratio", "median"),
                     min_ratio=("ratio", "min"), max_ratio=("ratio", "max"), _o=("_o", "min"))
                .reset_index())
    parts = [g.sort_values("level", key=_level_order) for _, g in out.groupby("knob", sort=False)]
    return pd.concat(parts, ignore_index=True).drop(columns="_o")
