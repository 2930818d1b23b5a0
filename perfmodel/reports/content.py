"""Compute what a report shows; every failure becomes a line in ``problems`` instead of an exception."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import analysis
from ..errors import PerfmodelError
from ..interactions import InteractionModel, fit_equation
from . import figures

GROUP_COLUMNS = ("network", "size", "input_size", "workload", "dataset", "platform", "system_name")


@dataclass
class Figure:
    name: str
    caption: str
    png: bytes


@dataclass
class ReportData:
    """Everything a renderer needs: tables, equations, figures and what could not be computed."""

    title: str
    table: pd.DataFrame
    knobs: list[str]
    objectives: list[str]
    source: str = "table"
    group_by: list[str] = field(default_factory=list)
    equations: dict[str, InteractionModel] = field(default_factory=dict)
    on_front: pd.Series | None = None
    pareto_group: str | None = None
    transfer: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    correlations: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    samplers: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _try(data: ReportData, what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (PerfmodelError, ValueError, np.linalg.LinAlgError) as exc:
        data.problems.append(f"{what}: not computed ({exc})")
        return None


def auto_groups(table: pd.DataFrame, knobs: Sequence[str]) -> list[str]:
    """Grouping columns present in ``table`` (not knobs) with at least two values."""
    return [c for c in GROUP_COLUMNS if c in table.columns and c not in knobs and table[c].nunique() > 1]


def build(table: pd.DataFrame, knobs: Sequence[str], objectives: Sequence[str], *, study: pd.DataFrame | None = None,
          group_by: Sequence[str] | str | None = "auto", degree="cv", units: str = "natural", max_degree: int = 3,
          maximize: Sequence[bool] | None = None, title: str | None = None, source: str = "table",
          seed: int = 0) -> ReportData:
    """Fit equations and run the analyses for a report; see :func:`perfmodel.reports.write_report`."""
    knobs, objectives = list(knobs), list(objectives)
    table = table.reset_index(drop=True)
    groups = auto_groups(table, knobs) if group_by == "auto" else (
        [group_by] if isinstance(group_by, str) else list(group_by or []))
    data = ReportData(title=title or f"Performance report: {', '.join(objectives)}", table=table, knobs=knobs,
                      objectives=objectives, source=source, group_by=groups)
    for obj in objectives:
        n_nan = int(table[obj].isna().sum())
        if n_nan:
            data.notes.append(f"{obj}: {n_nan} of {len(table)} row(s) have no value and are left out of its analyses")
    # Equations: one per objective, fitted on every group together (groups may be added as knobs by the user).
    for obj in objectives:
        m = _try(data, f"equation for {obj}", fit_equation, table, knobs, obj, degree=degree, units=units,
                 max_degree=max_degree, random_state=seed)
        if m is not None:
            data.equations[obj] = m
    # Pareto front per group (the first grouping column), on the first two objectives.
    if len(objectives) < 2:
        data.problems.append("Pareto front: not computed (it needs at least two objectives)")
    else:
        data.pareto_group = groups[0] if groups else None
        data.on_front = _try(data, "Pareto front", analysis.pareto_by_group, table, objectives[:2],
                             by=data.pareto_group, maximize=None if maximize is None else list(maximize)[:2])
    # Transfer of optima and correlations across every grouping column.
    if not groups:
        data.problems.append("transfer of optima and correlations across groups: not computed (no column such as "
                             f"{', '.join(GROUP_COLUMNS[:4])} with two or more values)")
    for g in groups:
        for i, obj in enumerate(objectives):
            mx = bool(maximize[i]) if maximize is not None else False
            t = _try(data, f"transfer of optima of {obj} across {g}", analysis.transfer_of_optima, table, knobs,
                     obj, g, maximize=mx)
            if t is not None:
                data.transfer[(g, obj)] = t
            c = _try(data, f"correlations of {obj} across {g}", analysis.rank_correlations, table, knobs, obj, g)
            if c is not None:
                data.correlations[(g, obj)] = c
    if study is not None:
        for obj in objectives:
            if obj in study.columns:
                s = _try(data, f"study vs random samples for {obj}", analysis.bo_vs_random, study, table, knobs,
                         obj, seed=seed)
                if s is not None:
                    data.samplers[obj] = s
    _figures(data, study)
    return data


def _figures(data: ReportData, study: pd.DataFrame | None) -> None:
    t, add = data.table, data.figures.append
    if data.on_front is not None:
        png = _try(data, "Pareto figure", figures.pareto, t, data.objectives[:2], data.on_front, data.pareto_group)
        if png:
            add(Figure("pareto", f"Measured configurations and the Pareto-optimal ones"
                                 f"{' per ' + data.pareto_group if data.pareto_group else ''}.", png))
    png = _try(data, "objective-vs-knob figure", figures.objective_vs_knobs, t, data.knobs, data.objectives)
    if png:
        more = len(data.knobs) - figures.MAX_KNOB_PANELS
        add(Figure("knobs", "Each objective against each knob" + (f" (first {figures.MAX_KNOB_PANELS} knobs; "
                                                                   f"{more} more not drawn)." if more > 0 else "."), png))
    if data.equations:
        effects = {o: m.effects_ for o, m in data.equations.items()}
        png = _try(data, "interaction heat map", figures.interaction_heatmap, effects, data.knobs)
        if png:
            add(Figure("interactions", "Share of explained variance of each knob (diagonal) and of each pair of "
                                       "interacting knobs (off-diagonal), from the equations.", png))
        pairs = {}
        for o, m in data.equations.items():
            ok = t[o].notna()
            pairs[o] = (t.loc[ok, o].to_numpy(dtype=float), m.predict(t.loc[ok]),
                        f"degree {m.degree_}, R²={m.r2_:.3f}, CV RMSE={m.cv_error_:.3g}")
        png = _try(data, "predicted-vs-measured figure", figures.predicted_vs_measured, pairs)
        if png:
            add(Figure("predicted", "Equation predictions against measurements (in-sample).", png))
    if study is not None:
        order = "iteration" if "iteration" in study.columns else None
        objs = [o for o in data.objectives if o in study.columns]
        if order is None:
            data.problems.append("convergence figure: not drawn (the study has no 'iteration' column)")
        elif not objs:
            data.problems.append("convergence figure: not drawn (the study has none of the objectives)")
        else:
            by = next((c for c in ("sampler", "strategy", "method") if c in study.columns), None)
            png = _try(data, "convergence figure", figures.convergence, study, objs, order, by)
            if png:
                add(Figure("convergence", "Best value found so far against the evaluation order of the study.", png))
