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
    objs = data.decision_objectives or data.objectives[:2]
    extra = [o for o in data.objectives if o not in objs and o in data.table.columns]
    cols = ([data.pareto_group] if data.pareto_group else []) + data.knobs + list(objs) + extra
    f = data.table.loc[data.on_front, list(dict.fromkeys(cols))]
    f = f.sort_values(cols[: (1 if data.pareto_group else 0)] + [objs[0]])
    return f.drop_duplicates()


DERIVED = {"runtime_per_sample_s": "runtime of one call / batch (the inverse of the throughput)",
           "energy_per_sample_j": "energy of one call / batch (energy per inference)"}


def decision_intro(data: ReportData) -> str:
    if not data.decision_objectives:
        return ("No Pareto front: it needs two objectives, or one runtime and a batch knob with two or more values "
                "(latency against time per sample). The equations below model each objective from the knobs.")
    a, b = data.decision_objectives
    what = "; ".join(f"{c} = {DERIVED[c]}" for c in (a, b) if c in DERIVED)
    return (f"Pareto front of {a} against {b}" + (f" ({what})" if what else "")
            + (f", per {data.pareto_group}" if data.pareto_group else "")
            + ": a configuration is on it when no other measured configuration is at least as good in both and "
              "better in one. The equations model each objective from the knobs (polynomial, degree chosen by "
              "cross-validation), fitted on the whole-network rows.")


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
