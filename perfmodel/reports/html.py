"""Self-contained HTML rendering of a report: inline CSS, figures embedded as base64 PNG, no script."""

from __future__ import annotations

import base64
import html

import pandas as pd

from .content import ReportData
from .tables import fit_line, fmt, front_table, sampler_summary, terms_table

MAX_ROWS = 60
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap}
.problems{background:#fff4e5;border-left:4px solid #f0a020;padding:.4em 1em}
figure{margin:1em 0}figure img{max-width:100%}figcaption{font-size:.85em;color:#555}
"""


def _table(df: pd.DataFrame) -> str:
    shown = df.head(MAX_ROWS).map(fmt) if hasattr(df, "map") else df.head(MAX_ROWS).applymap(fmt)
    text = shown.to_html(index=False, escape=True, border=0)
    if len(df) > MAX_ROWS:
        text += f"<p>({len(df) - MAX_ROWS} more rows not shown)</p>"
    return text


def render(data: ReportData) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(data.title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{e(data.title)}</h1>",
             f"<p>Source: {e(data.source)}; {len(data.table)} rows; knobs: {e(', '.join(data.knobs))}; "
             f"objectives: {e(', '.join(data.objectives))}"
             + (f"; groups: {e(', '.join(data.group_by))}" if data.group_by else "") + ".</p>"]
    notes = list(data.problems) + list(data.notes) + [f"{o}: {n}" for o, m in data.equations.items() for n in m.notes_]
    if notes:
        parts.append("<div class='problems' id='problems'><h2>What could not be computed, and notes</h2><ul>"
                     + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul></div>")
    parts.append("<h2>Equations</h2>")
    for o, m in data.equations.items():
        parts += [f"<h3>{e(o)}</h3>", f"<pre class='equation'>{e(m.text())}</pre>",
                  f"<details><summary>LaTeX</summary><pre>{e(m.latex())}</pre></details>",
                  f"<p>{e(fit_line(m))}.</p>", "<p>Effects ranked by share of explained variance:</p>",
                  _table(m.effects_), "<p>Terms (OLS refit; a term's share is Pratt's measure b·cov(term, fit)/var(fit): shares of correlated terms such as x, x², x³ can exceed 1 or be negative and cancel, the effects above sum them per knob):</p>", _table(terms_table(m))]
    if data.on_front is not None:
        parts += ["<h2>Pareto-optimal configurations</h2>", _table(front_table(data))]
    for (g, o), t in data.transfer.items():
        parts += [f"<h2>Transfer of optima across {e(str(g))}: {e(o)}</h2>",
                  "<p>Rank 1 = the source's optimum is also the target's optimum; regret = relative loss on the "
                  "target.</p>", _table(t)]
    for (g, o), c in data.correlations.items():
        parts += [f"<h2>Correlations of configurations across {e(str(g))}: {e(o)}</h2>", _table(c)]
    for o, s in data.samplers.items():
        parts += [f"<h2>Study samples vs random samples: {e(o)}</h2>",
                  "<p>Gradient boosting trained on each sample set, scored on the table's configurations not "
                  "sampled (random: mean over draws).</p>", _table(sampler_summary(s))]
    if data.figures:
        parts.append("<h2>Figures</h2>")
        for f in data.figures:
            b64 = base64.b64encode(f.png).decode("ascii")
            parts.append(f"<figure id='fig-{e(f.name)}'><img alt='{e(f.caption)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{e(f.caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
