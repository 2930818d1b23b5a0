"""Analyses of measured configurations across networks, input sizes, workloads and platforms.

What the course brief (seed 001) asks of a design-space exploration: Pareto-optimal configurations per
network, whether the optimum of one network is optimal for another (its rank and regret there), rank
correlations of configurations across groups, and (seed 000, sec. 5.3) whether the samples a Bayesian
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
    """Prediction error of a model trained on each sample set (seed 000, sec. 5.3).

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
