"""Small table formatting shared by the HTML and Markdown renderers."""

from __future__ import annotations

import math

import pandas as pd

from .content import ReportData


def fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.4g}"
    return str(v)


def terms_table(m) -> pd.DataFrame:
    t = m.terms_[["term", "coefficient", "std_error", "p_value", "ci_low", "ci_high", "share"]].copy()
    return t.rename(columns={"std_error": "std error", "p_value": "p-value", "ci_low": "CI low",
                             "ci_high": "CI high", "share": "share of explained variance"})


def front_table(data: ReportData) -> pd.DataFrame:
    cols = ([data.pareto_group] if data.pareto_group else []) + data.knobs + data.objectives[:2]
    f = data.table.loc[data.on_front, cols]
    return f.sort_values(cols[: (1 if data.pareto_group else 0)] + [data.objectives[0]])


def sampler_summary(s: pd.DataFrame) -> pd.DataFrame:
    return (s.groupby("sampler", sort=False)
             .agg(draws=("draw", "size"), n_train=("n_train", "first"), rmse=("rmse", "mean"),
                  rmse_sd=("rmse", "std"), nrmse=("nrmse", "mean"), mape=("mape", "mean"))
             .reset_index())


def fit_line(m) -> str:
    return (f"degree {m.degree_} (CV RMSE by degree: "
            + ", ".join(f"{d}: {e:.4g}" for d, e in m.cv_errors_.items())
            + f"); R² = {m.r2_:.4f}, adjusted R² = {m.adj_r2_:.4f}; CV RMSE = {m.cv_error_:.4g} "
            f"({m.cv_nrmse_:.3f} of the objective's std); {m.n_rows_} rows; {len(m.coef_)} terms; "
            f"{m.units} units")
