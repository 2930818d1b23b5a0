"""``equations.json``: the fitted equations, their statistics and what could not be fitted."""

from __future__ import annotations

from typing import Any

from .content import ReportData

FORMAT = "perfmodel.report-equations"
VERSION = 1


def to_dict(data: ReportData) -> dict[str, Any]:
    objectives: dict[str, Any] = {}
    for o in data.objectives:
        if o in data.equations:
            objectives[o] = data.equations[o].to_dict()
        else:
            why = next((p for p in data.problems if p.startswith(f"equation for {o}:")), "not fitted")
            objectives[o] = {"error": why}
    return {"format": FORMAT, "version": VERSION, "source": data.source, "knobs": data.knobs,
            "objectives": objectives, "problems": data.all_problems()}
