"""Markdown rendering of a report (figures as PNG files next to it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .content import ReportData
from .tables import fit_line, fmt, front_table, sampler_summary, terms_table

MAX_ROWS = 40


def md_table(df: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    cols = [str(c) for c in df.columns]
    esc = lambda s: fmt(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.head(max_rows).itertuples(index=False):
        lines.append("| " + " | ".join(esc(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\n({len(df) - max_rows} more rows not shown)")
    return "\n".join(lines)


def render(data: ReportData, figure_dir: Path, rel: str = "figures") -> str:
    """Markdown text; writes the figures as ``figure_dir/<name>.png`` and links them relative to ``rel``."""
    figure_dir.mkdir(parents=True, exist_ok=True)
    out = [f"# {data.title}", "",
           f"Source: {data.source}; {len(data.table)} rows; knobs: {', '.join(data.knobs)}; "
           f"objectives: {', '.join(data.objectives)}"
           + (f"; groups: {', '.join(data.group_by)}" if data.group_by else "") + ".", ""]
    if data.problems or data.notes:
        out += ["## What could not be computed, and notes", ""]
        out += [f"- {p}" for p in data.problems] + [f"- {n}" for n in data.notes]
        for o, m in data.equations.items():
            out += [f"- {o}: {n}" for n in m.notes_]
        out.append("")
    out += ["## Equations", ""]
    for o, m in data.equations.items():
        out += [f"### {o}", "", "```", m.text(), "```", "", f"$$ {m.latex()} $$", "", fit_line(m) + ".", "",
                "Effects ranked by share of explained variance:", "", md_table(m.effects_), "",
                "Terms (OLS refit; a term's share is Pratt's measure b·cov(term, fit)/var(fit): shares of correlated terms such as x, x², x³ can exceed 1 or be negative and cancel, the effects above sum them per knob):", "", md_table(terms_table(m)), ""]
    if data.on_front is not None:
        out += ["## Pareto-optimal configurations", "", md_table(front_table(data)), ""]
    for (g, o), t in data.transfer.items():
        out += [f"## Transfer of optima across {g}: {o}", "",
                "Rank 1 = the source's optimum is also the target's optimum; regret = relative loss on the target.",
                "", md_table(t), ""]
    for (g, o), c in data.correlations.items():
        out += [f"## Correlations of configurations across {g}: {o}", "", md_table(c), ""]
    for o, s in data.samplers.items():
        out += [f"## Study samples vs random samples: {o}", "",
                "Gradient boosting trained on each sample set, scored on the table's configurations not sampled "
                "(random: mean over draws).", "", md_table(sampler_summary(s)), ""]
    if data.figures:
        out += ["## Figures", ""]
        for f in data.figures:
            (figure_dir / f"{f.name}.png").write_bytes(f.png)
            out += [f"![{f.caption}]({rel}/{f.name}.png)", "", f"*{f.caption}*", ""]
    return "\n".join(out)
