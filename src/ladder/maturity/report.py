"""Three views of an assessment: a Rich terminal report, stable JSON, a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import orjson
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ladder.maturity.assess import SCORING, Assessment, CheckResult

STATUS_MARK = {"passed": "✓", "failed": "✗", "not_applicable": "–"}
STATUS_STYLE = {"passed": "green", "failed": "red", "not_applicable": "dim"}
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
LEVEL_STYLE = {1: "red", 2: "dark_orange", 3: "yellow", 4: "green", 5: "bright_green"}


def to_json(assessment: Assessment) -> str:
    """The documented JSON form (schema ``ladder.assess/1``, see docs/maturity.md)."""
    return orjson.dumps(assessment.to_dict(), option=orjson.OPT_INDENT_2).decode()


def print_report(assessment: Assessment, console: Console) -> None:
    console.print(_badge(assessment))
    for result in assessment.levels:
        console.print(
            _level_table(result.level.number, result.level.name, result.reached, result.checks)
        )
    console.print(_next_steps(assessment))
    if assessment.findings:
        console.print(_findings(assessment))
    scan = assessment.scan
    console.print(
        f"[dim]{SCORING}\nscanned {scan['files']:,} files ({scan['files_read']:,} read) in "
        f"{scan['seconds']:.2f} s; skipped {scan['skipped_dirs_total']} folder(s)[/]"
    )


def _badge(assessment: Assessment) -> Panel:
    info = assessment.level_info
    style = LEVEL_STYLE[info.number]
    title = Text.assemble(
        (f" Level {info.number} ", f"bold reverse {style}"),
        (f" {info.name}", f"bold {style}"),
        f"  ·  Google level {info.google}  ·  Microsoft level {info.microsoft}",
    )
    body = Group(title, Text(info.summary, style="italic"), Text(assessment.path, style="dim"))
    return Panel(body, title="ladder assess", title_align="left", border_style=style)


def _level_table(number: int, name: str, reached: bool, checks: tuple[CheckResult, ...]) -> Table:
    state = "[green]reached[/]" if reached else "[red]not reached[/]"
    table = Table(
        title=f"Level {number} · {name} — {state}",
        title_justify="left",
        header_style="bold",
        expand=True,
        show_lines=True,
    )
    table.add_column("", width=1, no_wrap=True)
    table.add_column("check", ratio=3)
    table.add_column("evidence", ratio=5)
    table.add_column("why it matters", ratio=3, style="dim")
    for check in checks:
        kind = "required" if check.required else "recommended"
        label = Text.assemble(check.title, "\n", (f"{check.id} · {kind}", "dim"))
        evidence = Text("\n".join(f"• {line}" for line in check.evidence) or "—")
        if check.next_step:
            evidence.append(f"\n→ {check.next_step}", style="yellow")
        mark = Text(STATUS_MARK[check.status], style=STATUS_STYLE[check.status])
        table.add_row(mark, label, evidence, check.why)
    return table


def _next_steps(assessment: Assessment) -> Panel:
    if not assessment.next_steps:
        body = Text("Every check passed.", style="green")
        return Panel(body, title="next steps", title_align="left")
    target = min(assessment.level + 1, 5)
    lines = Text()
    for index, step in enumerate(assessment.next_steps, start=1):
        if index > 1:
            lines.append("\n")
        lines.append(f"{index}. ", style="bold")
        lines.append(step.step)
        lines.append(f"  ({step.check})", style="dim")
    title = f"next steps to level {target}" if assessment.level < 5 else "next steps (recommended)"
    return Panel(lines, title=title, title_align="left", border_style="yellow")


def _findings(assessment: Assessment) -> Panel:
    lines = Text()
    for index, finding in enumerate(assessment.findings):
        if index:
            lines.append("\n")
        lines.append(f"{finding.severity}", style=SEVERITY_STYLE.get(finding.severity, "white"))
        lines.append(f" [{finding.source}] {finding.message}")
    return Panel(lines, title="findings", title_align="left")


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ladder assessment: level {{ a.level }} {{ a.level_name }} — {{ a.path }}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 76rem; padding: 0 1rem; color: #1d2330; background: #fafbfc; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.badge { display: inline-block; padding: .35rem .8rem; border-radius: .4rem; color: #fff;
         font-weight: 700; font-size: 1.3rem; }
.l1 { background: #c0392b; } .l2 { background: #d35400; } .l3 { background: #b7950b; }
.l4 { background: #1e8449; } .l5 { background: #117a65; }
.meta { color: #5d6675; } .reached { color: #1e8449; } .missed { color: #c0392b; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-top: .5rem; }
th, td { border: 1px solid #dde1e7; padding: .45rem .6rem; vertical-align: top; text-align: left; }
th { background: #f0f2f5; }
td.status { font-weight: 700; text-align: center; width: 1.5rem; }
.passed { color: #1e8449; } .failed { color: #c0392b; } .not_applicable { color: #8a93a3; }
.id { color: #8a93a3; font-size: .85em; } .why, .source { color: #5d6675; font-size: .9em; }
ul.evidence { margin: 0; padding-left: 1.1rem; } .step { color: #9a6700; margin-top: .3rem; }
ol.next li { margin-bottom: .4rem; } code { background: #eef0f3; padding: 0 .2rem; }
.finding-error { color: #c0392b; } .finding-warning { color: #9a6700; }
.finding-info { color: #1f618d; }
</style>
</head>
<body>
<h1>Ladder maturity assessment</h1>
<p class="meta">{{ a.path }} · assessed {{ a.assessed_at }}</p>
<p><span class="badge l{{ a.level }}">Level {{ a.level }} · {{ a.level_name }}</span>
&nbsp; Google level {{ a.google_level }} · Microsoft level {{ a.microsoft_level }}</p>
<p class="meta">{{ a.scoring }}</p>

<h2>Next steps{% if a.level < 5 %} to level {{ a.level + 1 }}{% endif %}</h2>
{% if a.next_steps %}<ol class="next">
{% for s in a.next_steps %}<li>{{ s.step }} <span class="id">({{ s.check }})</span></li>
{% endfor %}</ol>{% else %}<p>Every check passed.</p>{% endif %}

{% for lvl in a.levels %}
<h2 id="level-{{ lvl.level }}">Level {{ lvl.level }} · {{ lvl.name }}
<span class="{{ 'reached' if lvl.reached else 'missed' }}">
{{ 'reached' if lvl.reached else 'not reached' }}</span></h2>
<p class="meta">{{ lvl.summary }}
(Google {{ lvl.google_level }}, Microsoft {{ lvl.microsoft_level }})</p>
<table>
<tr><th></th><th>check</th><th>evidence</th><th>why it matters</th></tr>
{% for c in lvl.checks %}
<tr id="{{ c.id }}">
<td class="status {{ c.status }}" title="{{ c.status }}">{{ marks[c.status] }}</td>
<td>{{ c.title }}<br><span class="id">{{ c.id }} ·
{{ 'required' if c.required else 'recommended' }}</span></td>
<td><ul class="evidence">{% for e in c.evidence %}<li>{{ e }}</li>{% endfor %}</ul>
{% if c.next_step %}<div class="step">→ {{ c.next_step }}</div>{% endif %}</td>
<td><div class="why">{{ c.why }}</div><div class="source">Source: {{ c.source }}</div></td>
</tr>
{% endfor %}
</table>
{% endfor %}

{% if a.findings %}
<h2>Findings</h2>
<ul>{% for f in a.findings %}
<li class="finding-{{ f.severity }}">{{ f.severity }} [{{ f.source }}] {{ f.message }}</li>
{% endfor %}</ul>
{% endif %}
<p class="meta">Scanned {{ a.scan.files }} files ({{ a.scan.files_read }} read) in
{{ a.scan.seconds }} s; skipped {{ a.scan.skipped_dirs_total }} folder(s).
Generated by <code>ladder assess</code>.</p>
</body>
</html>
"""


def to_html(assessment: Assessment) -> str:
    """A single page with inline styles and no scripts or external resources."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_TEMPLATE)
    data: dict[str, Any] = assessment.to_dict()
    return template.render(a=data, marks=STATUS_MARK)


def write_html(assessment: Assessment, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_html(assessment), encoding="utf-8")
    return path
