"""Analysis reports: ``report.html`` (self-contained), ``report.md`` and ``equations.json``.

>>> from perfmodel.reports import write_report                         # doctest: +SKIP
>>> paths = write_report(df, ["threads", "batch"], ["runtime_s", "energy_j"], "out/report")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from profiling.atomic import atomic_write, write_json

from ..errors import ReportError
from ..tables import check_columns
from .. import analysis
from . import equations, html, markdown
from .content import ReportData, build

__all__ = ["write_report", "build", "ReportData"]


def write_report(table: pd.DataFrame, knobs: Sequence[str], objectives: Sequence[str], out_dir: str | os.PathLike,
                 study: pd.DataFrame | None = None, *, group_by: Sequence[str] | str | None = "auto",
                 degree: str | int = "cv", units: str = "natural", max_degree: int = 3,
                 maximize: Sequence[bool] | None = None, title: str | None = None, source: str = "table",
                 seed: int = 0, profile_table: pd.DataFrame | None = None, model=None,
                 model_label: str = "model", model_table: pd.DataFrame | None = None,
                 progress=None) -> dict[str, Path]:
    """Fit the interaction equations, run the analyses and write the report files.

    Parameters
    ----------
    table : pandas.DataFrame
        Measurements: knob columns, objective columns, optionally grouping columns (``network``, ``size``,
        ``workload``, ``platform``...). NaN objectives are allowed: those rows are left out of that
        objective's analyses and the report says so. Per-layer rows (``level == "layer"``; an exported
        table or a campaign store holds them) feed the profile section only; the decision section (Pareto
        front, equations) uses the successful whole-network rows.
    knobs, objectives : sequence of str
    out_dir : path-like
        Folder to write into (created); existing report files there are replaced.
    study : pandas.DataFrame, optional
        Evaluations of an optimisation study (``perfmodel explore -o``: knobs, objectives, ``evaluation``; or
        a ``perfmodel tune`` history, ordered by ``iteration``): adds the convergence figure and the study-vs-random prediction-error comparison.
    group_by : "auto", str, sequence of str or None
        Columns to compare groups across (Pareto per first group, transfer of optima, correlations);
        ``"auto"`` takes those of ``network, size, input_size, workload, dataset, platform, system_name``
        present with two or more values.
    degree, units, max_degree
        Passed to :func:`perfmodel.interactions.fit_equation`.
    maximize : sequence of bool, optional
        Objectives to maximise (default: minimise all).
    title, source : str, optional
        Shown at the top; ``source`` should say where the data came from (a replayed or simulated source
        must be labelled as such).
    profile_table : pandas.DataFrame, optional
        Table for the profile (and prediction) section when it differs from ``table`` (the demo profiles
        four networks layer by layer but fits its equations on a design of one); default ``table``.
    model : LayerwisePredictor, optional
        Adds the prediction section: the model's predictions of every network of the profile table it was
        not trained on, against their measurements. ``model_label`` names it (its file); ``model_table``
        holds the measurements to compare with when they are not all of the profile table (the rows of the
        settings the model knows).
    progress : callable, optional
        Called with a line of text before each step that can take long (each equation's fit: seconds to a
        minute on a thousand rows of nine knobs), for a command to show.

    Returns
    -------
    dict
        ``{"html": Path, "markdown": Path, "equations": Path, "figures": Path}``.
    """
    knobs, objectives = list(knobs), list(objectives)
    if not knobs or not objectives:
        raise ReportError("a report needs at least one knob and one objective")
    whole = analysis.whole_rows(table)
    if whole.empty:
        raise ReportError(f"{source} holds no successful whole-network measurement")
    check_columns(whole, knobs=knobs, objectives=objectives, allow_nan_objectives=True, source=source)
    if study is not None:
        check_columns(study, knobs=knobs, allow_nan_objectives=True, source="study")
    data = build(table, knobs, objectives, study=study, group_by=group_by, degree=degree, units=units,
                 max_degree=max_degree, maximize=maximize, title=title, source=source, seed=seed,
                 profile_table=profile_table, model=model, model_label=model_label, model_table=model_table,
                 progress=progress)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"html": out / "report.html", "markdown": out / "report.md", "equations": out / "equations.json",
                 "figures": out / "figures"}
        atomic_write(paths["markdown"], markdown.render(data, paths["figures"]), error=ReportError, what="report")
        atomic_write(paths["html"], html.render(data), error=ReportError, what="report")
        write_json(paths["equations"], equations.to_dict(data), error=ReportError, what="equations file")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {str(out)!r}: {exc.strerror or exc}") from None
    return paths
