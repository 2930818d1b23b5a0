"""Self-contained HTML rendering of a report: inline CSS, figures embedded as base64 PNG, no script."""

from __future__ import annotations

import base64
import html

import pandas as pd

from .content import Block, Figure, ReportData, Section
from .tables import decision_intro, fit_line, fmt, front_table, sampler_summary, terms_table

MAX_ROWS = 60
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
section>h2{font-size:1.4em;border-bottom:2px solid #888}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.problems{background:#fff4e5;border-left:4px solid #f0a020;padding:.4em 1em}
.caption{font-weight:600;margin-bottom:.2em}
.glance{background:#eef5fb;border-left:4px solid #1f77b4;padding:.2em 1em;margin:1em 0}
.glance h2{border:0;margin:.4em 0}
nav ul{margin:.3em 0}
details{margin:.4em 0}summary{cursor:pointer;font-weight:600}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#444;max-width:60em}
"""
e = html.escape


def _table(df: pd.DataFrame, max_rows: int | None = None) -> str:
    max_rows = max_rows or MAX_ROWS
    shown = df.head(max_rows).map(fmt) if hasattr(df, "map") else df.head(max_rows).applymap(fmt)
    text = shown.to_html(index=False, escape=True, border=0)
    if len(df) > max_rows:
        text += f"<p>({len(df) - max_rows} more rows not shown)</p>"
    return text


def _figure(f: Figure) -> str:
    b64 = base64.b64encode(f.png).decode("ascii")
    return (f"<figure id='fig-{e(f.name)}'><img alt='{e(f.caption)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{e(f.caption)}</figcaption></figure>")


def _block(b: Block) -> str:
    if b.kind == "text":
        return f"<p>{e(b.text)}</p>"
    if b.kind == "heading":
        return f"<h3>{e(b.text)}</h3>"
    if b.kind == "table":
        if len(b.table) > MAX_ROWS // 2:  # long tables fold away: the figures show them at a glance
            return (f"<details class='table'><summary>{e(b.text)} ({len(b.table)} rows)</summary>"
                    + _table(b.table, b.max_rows) + "</details>")
        return f"<p class='caption'>{e(b.text)}</p>" + _table(b.table, b.max_rows)
    if b.kind == "figure":
        return _figure(b.figure)
    if b.kind == "details":
        return f"<details><summary>{e(b.text)}</summary>" + "\n".join(_block(c) for c in b.children) + "</details>"
    raise ValueError(f"unknown block kind {b.kind!r}")


def _section(s: Section) -> str:
    parts = [f"<section id='{e(s.id)}'><h2>{e(s.title)}</h2>"]
    if s.problems:
        parts.append("<div class='problems'><p>Not computed here:</p><ul>"
                     + "".join(f"<li>{e(p)}</li>" for p in s.problems) + "</ul></div>")
    parts += [_block(b) for b in s.blocks]
    parts.append("</section>")
    return "\n".join(parts)


def render(data: ReportData) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(data.title)}</title>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<style>{CSS}</style></head><body>", f"<h1>{e(data.title)}</h1>",
             f"<p>Source: {e(data.source)}; {len(data.table)} whole-network rows; knobs: {e(', '.join(data.knobs))}; "
             f"objectives: {e(', '.join(data.objectives))}"
             + (f"; groups: {e(', '.join(data.group_by))}" if data.group_by else "") + ".</p>"]
    toc = [(s.id, s.title) for s in data.sections] + [("decision", "Decision: which configuration to pick")]
    highlights = data.all_highlights()
    if highlights:
        parts.append("<div class='glance' id='at-a-glance'><h2>At a glance</h2><ul>"
                     + "".join(f"<li>{e(h)}</li>" for h in highlights) + "</ul></div>")
    parts.append("<nav>Sections:<ul>" + "".join(f"<li><a href='#{e(i)}'>{e(t)}</a></li>" for i, t in toc)
                 + "</ul></nav>")
    notes = data.all_problems() + list(data.notes) + [f"{o}: {n}" for o, m in data.equations.items()
                                                      for n in m.notes_]
    if notes:
        parts.append("<div class='problems' id='problems'><h2>What could not be computed, and notes</h2><ul>"
                     + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul></div>")
    parts += [_section(s) for s in data.sections]
    parts += _decision(data)
    parts.append("</body></html>")
    return "\n".join(parts)


def _decision(data: ReportData) -> list[str]:
    figs = {f.name: f for f in data.figures}
    parts = ["<section id='decision'><h2>Decision: which configuration to pick</h2>",
             f"<p>{e(decision_intro(data))}</p>"]
    if data.on_front is not None:
        parts.append("<h3>Pareto-optimal configurations</h3>")
        if "pareto" in figs:
            parts.append(_figure(figs.pop("pareto")))
        front = front_table(data)
        parts.append(_block(Block("table", "The Pareto-optimal configurations" + (
            f" of every {data.pareto_group}" if data.pareto_group else ""), table=front, max_rows=400)))
    parts.append("<h3>Equations</h3>")
    for o, m in data.equations.items():
        parts += [f"<h4>{e(o)}</h4>", f"<pre class='equation'>{e(m.text())}</pre>",
                  f"<details><summary>LaTeX</summary><pre>{e(m.latex())}</pre></details>",
                  f"<p>{e(fit_line(m))}.</p>", "<p>Effects ranked by share of explained variance:</p>",
                  _table(m.effects_), "<details><summary>Terms</summary><p>OLS refit; a term's share is Pratt's measure "
                  "b·cov(term, fit)/var(fit): shares of correlated terms such as x, x², x³ can exceed 1 or be "
                  "negative and cancel, the effects above sum them per knob.</p>", _table(terms_table(m)),
                  "</details>"]
    for (g, o), t in data.transfer.items():
        parts += [f"<h3>Transfer of optima across {e(str(g))}: {e(o)}</h3>",
                  "<p>Rank 1 = the source's optimum is also the target's optimum; regret = relative loss on the "
                  "target.</p>", _table(t)]
    for (g, o), c in data.correlations.items():
        parts += [f"<h3>Correlations of configurations across {e(str(g))}: {e(o)}</h3>", _table(c)]
    for o, s in data.samplers.items():
        parts += [f"<h3>Study samples vs random samples: {e(o)}</h3>",
                  "<p>Gradient boosting trained on each sample set, scored on the table's configurations not "
                  "sampled (random: mean over draws).</p>", _table(sampler_summary(s))]
    if figs:
        parts.append("<h3>Figures</h3>")
        parts += [_figure(f) for f in figs.values()]
    parts.append("</section>")
    return parts
