"""Markdown rendering of a report (figures as PNG files next to it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .content import Block, ReportData, Section
from .tables import decision_intro, fit_line, fmt, front_table, sampler_summary, terms_table

MAX_ROWS = 40


def md_table(df: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    if df.empty:
        return "(no rows)"
    cols = [str(c) for c in df.columns]
    esc = lambda s: fmt(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.head(max_rows).itertuples(index=False):
        lines.append("| " + " | ".join(esc(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\n({len(df) - max_rows} more rows not shown)")
    return "\n".join(lines)


def _block(b: Block, figure_dir: Path, rel: str, level: int) -> list[str]:
    if b.kind == "text":
        return [b.text, ""]
    if b.kind == "heading":
        return [f"{'#' * level} {b.text}", ""]
    if b.kind == "table":
        return [f"**{b.text}**", "", md_table(b.table, b.max_rows or MAX_ROWS), ""]
    if b.kind == "figure":
        f = b.figure
        (figure_dir / f"{f.name}.png").write_bytes(f.png)
        return [f"![{f.caption}]({rel}/{f.name}.png)", "", f"*Figure {f.name}: {f.caption}*", ""]
    if b.kind == "details":
        out = [f"{'#' * level} {b.text}", ""]
        for c in b.children:
            out += _block(c, figure_dir, rel, level + 1)
        return out
    raise ValueError(f"unknown block kind {b.kind!r}")


def _section(s: Section, figure_dir: Path, rel: str, appendix: list[str]) -> list[str]:
    """The section's lines; its folded groups (long per-network tables, folded in HTML) go to ``appendix``, so
    a reader of the terminal sees the sections one after the other."""
    out = [f"## {s.title}", ""]
    if s.problems:
        out += ["Not computed here:", ""] + [f"- {p}" for p in s.problems] + [""]
    for b in s.blocks:
        if b.kind == "details":
            out += [f"({b.text}: in the appendix at the end.)", ""]
            appendix += [f"## Appendix: {b.text}", ""]
            for c in b.children:
                appendix += _block(c, figure_dir, rel, 3)
            continue
        if b.kind == "table" and len(b.table) > MAX_ROWS:  # folded in HTML; here at the end
            out += [f"({b.text.rstrip('.')}: {len(b.table)} rows, in the appendix at the end.)", ""]
            appendix += ["## Appendix: " + b.text.split(" (")[0].rstrip("."), ""] + _block(b, figure_dir, rel, 3)
            continue
        out += _block(b, figure_dir, rel, 3)
    return out


def render(data: ReportData, figure_dir: Path, rel: str = "figures") -> str:
    """Markdown text; writes the figures as ``figure_dir/<name>.png`` and links them relative to ``rel``."""
    figure_dir.mkdir(parents=True, exist_ok=True)
    out = [f"# {data.title}", "",
           f"Source: {data.source}; {len(data.table)} whole-network rows; knobs: {', '.join(data.knobs)}; "
           f"objectives: {', '.join(data.objectives)}"
           + (f"; groups: {', '.join(data.group_by)}" if data.group_by else "") + ".", ""]
    out += ["Sections: " + ", ".join([s.title for s in data.sections] + ["Decision: which configuration to pick"]), ""]
    highlights = data.all_highlights()
    if highlights:
        out += ["## At a glance", ""] + [f"- {h}" for h in highlights] + [""]
    problems = data.all_problems()
    if problems or data.notes:
        out += ["## What could not be computed, and notes", ""]
        out += [f"- {p}" for p in problems] + [f"- {n}" for n in data.notes]
        for o, m in data.equations.items():
            out += [f"- {o}: {n}" for n in m.notes_]
        out.append("")
    appendix: list[str] = []
    for s in data.sections:
        out += _section(s, figure_dir, rel, appendix)
    figs = {f.name: f for f in data.figures}
    out += ["## Decision: which configuration to pick", "", decision_intro(data), ""]
    if data.on_front is not None:
        out += ["### Pareto-optimal configurations", ""]
        if "pareto" in figs:
            out += _block(Block("figure", figure=figs.pop("pareto")), figure_dir, rel, 4)
        out += [md_table(front_table(data), 400), ""]
    out += ["### Equations", ""]
    for o, m in data.equations.items():
        out += [f"#### {o}", "", "```", m.text(), "```", "", f"$$ {m.latex()} $$", "", fit_line(m) + ".", "",
                "Effects ranked by share of explained variance:", "", md_table(m.effects_), "",
                "Terms (OLS refit; a term's share is Pratt's measure b·cov(term, fit)/var(fit): shares of correlated "
                "terms such as x, x², x³ can exceed 1 or be negative and cancel, the effects above sum them per knob):",
                "", md_table(terms_table(m)), ""]
    for (g, o), t in data.transfer.items():
        out += [f"### Transfer of optima across {g}: {o}", "",
                "Rank 1 = the source's optimum is also the target's optimum; regret = relative loss on the target.",
                "", md_table(t), ""]
    for (g, o), c in data.correlations.items():
        out += [f"### Correlations of configurations across {g}: {o}", "", md_table(c), ""]
    for o, s in data.samplers.items():
        out += [f"### Study samples vs random samples: {o}", "",
                "Gradient boosting trained on each sample set, scored on the table's configurations not sampled "
                "(random: mean over draws).", "", md_table(sampler_summary(s)), ""]
    if figs:
        out += ["### Figures", ""]
        for f in figs.values():
            out += _block(Block("figure", figure=f), figure_dir, rel, 4)
    return "\n".join(out + appendix)
