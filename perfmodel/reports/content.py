"""Compute what a report shows; every failure becomes a line in ``problems`` instead of an exception."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import analysis
from ..errors import DataError, PerfmodelError
from ..tables import GROUP_COLUMNS
from ..interactions import InteractionModel, fit_equation
from . import figures



@dataclass
class Figure:
    name: str
    caption: str
    png: bytes
    section: str = "decision"


@dataclass
class Block:
    """One piece of a section: ``text``, ``table`` (``text`` is its caption), ``figure`` or ``details`` (a
    collapsed group of blocks in HTML, a sub-heading in Markdown; ``text`` is its title)."""

    kind: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    children: list["Block"] = field(default_factory=list)
    max_rows: int | None = None


@dataclass
class Section:
    """A titled part of the report (profile, prediction) that the renderers draw block by block."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)  # one-line findings shown at the top of the report

    def text(self, text: str) -> None:
        self.blocks.append(Block("text", text))

    def heading(self, text: str) -> None:
        self.blocks.append(Block("heading", text))

    def table(self, caption: str, df: pd.DataFrame, max_rows: int | None = None) -> None:
        self.blocks.append(Block("table", caption, table=df, max_rows=max_rows))

    def figure(self, fig: "Figure") -> None:
        fig.section = self.id
        self.blocks.append(Block("figure", fig.caption, figure=fig))

    def details(self, title: str, blocks: list[Block]) -> None:
        self.blocks.append(Block("details", title, children=blocks))

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def attempt(self, what: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, or None with a line in ``problems`` when it fails on the data."""
        try:
            return fn(*args, **kwargs)
        except (PerfmodelError, ValueError, KeyError, np.linalg.LinAlgError) as exc:
            self.problems.append(f"{what}: not computed ({exc})")
            return None

    @property
    def figures(self) -> list[Figure]:
        out = []
        stack = list(self.blocks)
        while stack:
            b = stack.pop(0)
            if b.figure is not None:
                out.append(b.figure)
            stack[:0] = b.children
        return out


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
    sections: list[Section] = field(default_factory=list)  # profile, prediction: drawn before the decision part
    decision_objectives: list[str] = field(default_factory=list)  # the two objectives of the Pareto front
    highlights: list[str] = field(default_factory=list)  # the decision part's one-line findings

    def all_highlights(self) -> list[str]:
        return [h for s in self.sections for h in s.highlights] + list(self.highlights)

    def all_figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures] + list(self.figures)

    def all_problems(self) -> list[str]:
        return list(self.problems) + [f"{s.title}: {p}" for s in self.sections for p in s.problems]


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
          seed: int = 0, profile_table: pd.DataFrame | None = None, model=None,
          model_label: str = "model", model_table: pd.DataFrame | None = None, progress=None) -> ReportData:
    """Fit equations and run the analyses for a report; see :func:`perfmodel.reports.write_report`."""
    knobs, objectives = list(knobs), list(objectives)
    full = table if profile_table is None else profile_table
    table = analysis.whole_rows(table).reset_index(drop=True)  # layer rows would count a network many times
    if table.empty:
        raise DataError(f"{source} holds no successful whole-network row")
    table, pair, pair_max = decision_objectives(table, knobs, objectives, maximize)
    groups = auto_groups(table, knobs) if group_by == "auto" else (
        [group_by] if isinstance(group_by, str) else list(group_by or []))
    data = ReportData(title=title or f"Performance report: {', '.join(objectives)}", table=table, knobs=knobs,
                      objectives=objectives, source=source, group_by=groups)
    for obj in objectives:
        n_nan = int(table[obj].isna().sum())
        if n_nan:
            data.notes.append(f"{obj}: {n_nan} of {len(table)} row(s) have no value and are left out of its analyses")
    # Equations: one per objective, fitted on every group together (groups may be added as knobs by the user).
    for i, obj in enumerate(objectives, 1):
        if progress is not None:
            tried = f"degree {degree}" if degree != "cv" else f"degrees 1-{max_degree}, each cross-validated"
            progress(f"equation {i}/{len(objectives)}: {obj} ({len(table)} rows, {len(knobs)} knob(s), {tried})")
        m = _try(data, f"equation for {obj}", fit_equation, table, knobs, obj, degree=degree, units=units,
                 max_degree=max_degree, random_state=seed)
        if m is not None:
            data.equations[obj] = m
    # Profile and prediction sections, from every row (layer rows included).
    from .prediction import build_prediction
    from .profile import build_profile

    data.sections.append(_section("profile", "Profile: where the time and the energy go", build_profile, full,
                                  knobs, source, objectives))
    if model is not None:
        data.sections.append(_section("prediction", "Prediction: how far to trust the layer-wise model",
                                      build_prediction, full if model_table is None else model_table, model,
                                      model_label, knobs))
    # Pareto front per group (the first grouping column), on the decision objectives.
    if pair is None:
        data.problems.append("Pareto front: not computed (it needs at least two objectives, or a batch knob with two "
                             "or more values to weigh latency against time per sample)")
    else:
        data.decision_objectives = list(pair)
        data.pareto_group = groups[0] if groups else None
        data.on_front = _try(data, "Pareto front", analysis.pareto_by_group, table, list(pair),
                             by=data.pareto_group, maximize=pair_max)
    # Transfer of optima and correlations across every grouping column.
    as_knobs = [c for c in GROUP_COLUMNS if c in knobs and c in table.columns and table[c].nunique() > 1]
    if not groups and as_knobs:
        data.problems.append("transfer of optima and correlations across groups: not computed ("
                             f"{' and '.join(as_knobs)} {'is a knob' if len(as_knobs) == 1 else 'are knobs'} here, "
                             "modelled with the others; its groups are compared when it is not a knob)")
    elif not groups:
        data.problems.append("transfer of optima and correlations across groups: not computed (no column such as "
                             f"{', '.join(GROUP_COLUMNS[:4])} with two or more values)")
    for g in groups:
        gt = _compared_groups(data, table, g)
        for i, obj in enumerate(objectives):
            mx = bool(maximize[i]) if maximize is not None else False
            t = _try(data, f"transfer of optima of {obj} across {g}", analysis.transfer_of_optima, gt, knobs,
                     obj, g, maximize=mx)
            if t is not None:
                data.transfer[(g, obj)] = t
            c = _try(data, f"correlations of {obj} across {g}", analysis.rank_correlations, gt, knobs, obj, g)
            if c is not None:
                data.correlations[(g, obj)] = c
    if study is not None:
        for obj in objectives:
            if obj in study.columns:
                s = _try(data, f"study vs random samples for {obj}", analysis.bo_vs_random, study, table, knobs,
                         obj, seed=seed)
                if s is not None:
                    data.samplers[obj] = s
    if data.on_front is not None:
        n_on = int(data.on_front.sum())
        n_both = int(table[list(pair)].apply(pd.to_numeric, errors="coerce").notna().all(axis=1).sum())
        data.highlights.append(f"Decision: {n_on} of {n_both} measured row(s)"
                               + (f" (of {len(table)}; the others lack {' or '.join(pair)})" if n_both < len(table)
                                  else "") + " are Pareto-optimal in "
                               f"{pair[0]} against {pair[1]}" + (f" within their {data.pareto_group}"
                                                                 if data.pareto_group else "") + ".")
    for o, m in data.equations.items():
        eff = m.effects_
        if len(eff):
            top = eff.iloc[0]
            data.highlights.append(f"Equation for {o} (R² {m.r2_:.2f}): {top['effect']} explains {top['share']:.0%} "
                                   "of the explained variance.")
    _figures(data, study, {o for i, o in enumerate(objectives) if maximize is not None and maximize[i]})
    return data


def _section(sid: str, title: str, fn, *args) -> Section:
    """``fn(*args)``; a section that fails on data it did not foresee says so and the report is still written
    (the error's type and message are shown, not hidden)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - one section's failure must not cost the user the whole report
        sec = Section(sid, title)
        sec.problem(f"this section could not be computed ({type(exc).__name__}: {exc})")
        return sec


MAX_COMPARED_GROUPS = 10


def _compared_groups(data: ReportData, table: pd.DataFrame, g: str) -> pd.DataFrame:
    """The rows of at most MAX_COMPARED_GROUPS values of ``g`` (named ones before ``synthetic_*``, the most
    configurations first): transfer and correlations grow with the square of the groups."""
    counts = table.groupby(g)[data.knobs[0]].size()
    if len(counts) <= MAX_COMPARED_GROUPS:
        return table
    keep = sorted(counts.index, key=lambda v: (str(v).startswith("synthetic"), -counts[v], str(v)))
    keep = keep[:MAX_COMPARED_GROUPS]
    data.notes.append(f"transfer of optima and correlations across {g}: {MAX_COMPARED_GROUPS} of its {len(counts)} "
                      f"values compared ({', '.join(map(str, keep))})")
    return table[table[g].isin(keep)]


def decision_objectives(table: pd.DataFrame, knobs: Sequence[str], objectives: Sequence[str],
                        maximize: Sequence[bool] | None = None):
    """The two objectives of the Pareto front: ``(table with derived columns, pair or None, maximize of pair)``.

    Two objectives or more: the first two, the energy of one call (``energy_j``) made per sample
    (``energy_per_sample_j``) when ``batch`` is a knob with two or more values (a bigger batch costs more per
    call and less per inference). One objective and such a batch knob: latency (the objective) against time
    per sample (``runtime_per_sample_s``, the inverse of the throughput), when the objective is a time
    (``*_s``, ``*time*``, ``*latency*``).
    """
    mx = [False] * len(objectives) if maximize is None else [bool(m) for m in maximize]
    batch = None
    if "batch" in knobs and "batch" in table.columns:
        b = pd.to_numeric(table["batch"], errors="coerce")
        if b.notna().all() and (b > 0).all() and b.nunique() > 1:
            batch = b
    if len(objectives) >= 2:
        a, b2 = objectives[0], objectives[1]
        if b2 == "energy_j" and batch is not None:
            table = table.assign(energy_per_sample_j=table["energy_j"] / batch)
            b2 = "energy_per_sample_j"
        return table, (a, b2), mx[:2]
    is_time = objectives[0].endswith("_s") or any(w in objectives[0].lower() for w in ("time", "latency"))
    if objectives[0] == "runtime_per_sample_s":  # the time per sample itself: against the latency, where measured
        if batch is not None and not mx[0] and "runtime_s" in table.columns:
            return table, ("runtime_s", "runtime_per_sample_s"), [False, False]
        return table, None, None
    if batch is not None and not mx[0] and is_time:
        table = table.assign(runtime_per_sample_s=table[objectives[0]] / batch)
        return table, (objectives[0], "runtime_per_sample_s"), [False, False]
    return table, None, None


def _figures(data: ReportData, study: pd.DataFrame | None, maximized: set[str] = frozenset()) -> None:
    t, add = data.table, data.figures.append
    if data.on_front is not None:
        a, b = data.decision_objectives
        labels = (t[data.knobs].astype(str).radd([f"{k}=" for k in data.knobs]).agg(", ".join, axis=1)
                  if len(data.knobs) <= 3 else None)
        png = _try(data, "Pareto figure", figures.pareto, t, [a, b], data.on_front, data.pareto_group, labels)
        if png:
            n_groups = t[data.pareto_group].nunique() if data.pareto_group else 1
            shown = (f" (panels for {figures.MAX_PARETO_PANELS} of the {n_groups} {data.pareto_group} values; the "
                     "table below lists every front)") if n_groups > figures.MAX_PARETO_PANELS else ""
            add(Figure("pareto", f"{a} against {b} of every measured configuration, the Pareto-optimal ones drawn "
                                 f"large and joined{' per ' + data.pareto_group if data.pareto_group else ''}"
                                 f"{shown}. Numbers: the table's whole-network rows.", png))
    png = _try(data, "objective-vs-knob figure", figures.objective_vs_knobs, t, data.knobs, data.objectives)
    if png:
        more = len(data.knobs) - figures.MAX_KNOB_PANELS
        add(Figure("knobs", "Each objective against each knob: every measured configuration (blue) and the mean per "
                            "level (red)" + (f" (first {figures.MAX_KNOB_PANELS} knobs; {more} more not drawn)"
                                             if more > 0 else "") + ". Numbers: the table's whole-network rows.", png))
    if data.equations:
        effects = {o: m.effects_ for o, m in data.equations.items()}
        png = _try(data, "interaction heat map", figures.interaction_heatmap, effects, data.knobs)
        if png:
            add(Figure("interactions", "Share of explained variance of each knob (diagonal) and of each pair of "
                                       "interacting knobs (off-diagonal), from the equations fitted to the "
                                       "whole-network rows.", png))
        pairs = {}
        for o, m in data.equations.items():
            ok = t[o].notna()
            pairs[o] = (t.loc[ok, o].to_numpy(dtype=float), m.predict(t.loc[ok]),
                        f"degree {m.degree_}, R²={m.r2_:.3f}, CV RMSE={m.cv_error_:.3g}")
        png = _try(data, "predicted-vs-measured figure", figures.predicted_vs_measured, pairs)
        if png:
            add(Figure("predicted", "The equations' predictions against the measurements they were fitted on "
                                    "(in-sample; the dashed line is perfect agreement).", png))
    if study is not None:
        # the evaluation order: 'evaluation' in a study 'perfmodel explore -o' wrote, 'iteration' in a tune history
        order = next((c for c in ("evaluation", "iteration") if c in study.columns), None)
        objs = [o for o in data.objectives if o in study.columns]
        if order is None:
            data.problems.append("convergence figure: not drawn (the study has no 'evaluation' or 'iteration' "
                                 "column)")
        elif not objs:
            data.problems.append("convergence figure: not drawn (the study has none of the objectives)")
        else:
            by = next((c for c in ("sampler", "strategy", "method") if c in study.columns), None)
            hv = _try(data, "hypervolume so far", _hypervolume_so_far, t, study, objs, order, by,
                      maximized) if len(objs) >= 2 else None
            png = _try(data, "convergence figure", figures.convergence, study, objs, order, by,
                       maximize=[o for o in objs if o in maximized], hypervolume=hv[0] if hv else None)
            for name, (x, share) in (hv[0].items() if hv else ()):
                data.highlights.append(f"Study{'' if name == 'study' else f' ({name})'}: after {len(x)} evaluations "
                                       f"the front found holds {share[-1]:.1%} of the hypervolume of {hv[1]}.")
            if png:
                add(Figure("convergence", "Best value found so far against the evaluation order of the study"
                           + (f"; last panel: the hypervolume of the front found so far, as a share of {hv[1]} "
                              "(reference point: that front's nadir + 10 % of its range)" if hv else "") + ".",
                           png))


def _hypervolume_so_far(table: pd.DataFrame, study: pd.DataFrame, objectives: Sequence[str], order: str,
                        by: str | None, maximized: set[str]) -> tuple[dict, str]:
    """``({group: (evaluation order, share of the hypervolume)}, what the share is of)`` for a study of two or
    more objectives. The share is of the front of every configuration measured (the table's and the study's),
    which for a replayed grid is the true front; in a constrained study (an evaluation measured but not
    ``feasible``), where the table's front may be infeasible, of the front of the study's feasible evaluations."""
    from ..pareto import hypervolume, hypervolume_trace, pareto_front, score_reference

    sign = np.array([-1.0 if o in maximized else 1.0 for o in objectives])
    feasible = study["feasible"].astype(bool) if "feasible" in study.columns else pd.Series(True, study.index)
    S = study[list(objectives)].to_numpy(dtype=float) * sign
    S[~feasible.to_numpy()] = np.nan
    if not figures.has_infeasible(study, objectives):
        known = np.vstack([table[list(objectives)].to_numpy(dtype=float) * sign, S])
        what = "the front of every configuration measured (table and study)"
    else:
        known, what = S, "the front of the study's feasible evaluations"
    known = known[np.all(np.isfinite(known), axis=1)]
    if not len(known):
        raise DataError("no evaluation with every objective measured")
    front = pareto_front(known)
    ref = score_reference(front)
    whole = hypervolume(front, ref)
    if whole <= 0:
        raise DataError("the known front has no hypervolume (one point, or no spread)")
    groups = study.groupby(by, sort=True) if by else [("study", study)]
    out = {}
    for name, g in groups:
        g = g.sort_values(order)
        out[str(name)] = (g[order].to_numpy(), hypervolume_trace(S[study.index.get_indexer(g.index)], ref) / whole)
    return out, what
