"""Monitoring reports: one self-contained HTML file (works offline) or the same data as JSON.

The HTML carries Plotly's bundled JavaScript inline (the ``plotly`` package ships
it), the figures as JSON, and a Jinja2 page around them: dataset-level drift over
time, the per-feature drift table of the latest window with reference vs current
distributions, realised vs estimated performance with the sampling-error band,
data quality, root cause and alerts. Nothing is fetched from the network.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from ladder.monitoring.result import OK, MonitorResult

MAX_DISTRIBUTIONS = 24
MAX_PERFORMANCE_CHARTS = 6


def _window_name(result: MonitorResult) -> str:
    if result.window_end is not None:
        return datetime.fromtimestamp(result.window_end / 1000, tz=timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
    return result.window_label or result.id


def report_data(results: Sequence[MonitorResult]) -> dict[str, Any]:
    """Everything a report shows, as plain JSON-ready data."""
    ordered = sorted(results, key=lambda r: (r.window_end or 0, r.created))
    judged = [r for r in ordered if r.status == OK]
    latest = judged[-1] if judged else (ordered[-1] if ordered else None)
    series: dict[str, list[dict[str, Any]]] = {}
    performance: dict[str, list[dict[str, Any]]] = {}
    for result in judged:
        variant = result.variant or "all"
        series.setdefault(variant, []).append(
            {
                "window": _window_name(result),
                "drift_share": result.drift.drift_share if result.drift else None,
                "verdict": result.root_cause.verdict if result.root_cause else None,
            }
        )
        point: dict[str, Any] = {"window": _window_name(result)}
        if result.performance is not None:
            point["realised"] = dict(result.performance.metrics)
            point["labelled_rows"] = result.performance.labelled_rows
        if result.estimated is not None:
            point["estimated"] = {m.name: m.to_dict() for m in result.estimated.metrics}
            point["reference"] = dict(result.estimated.reference)
        if len(point) > 1:
            performance.setdefault(variant, []).append(point)
    alerts = [
        {
            "window": _window_name(r),
            "variant": r.variant,
            "rule": o.rule,
            "kind": o.kind,
            "observed": {k: v for k, v in o.observed.items()},
        }
        for r in ordered
        for o in r.fired
    ]
    data: dict[str, Any] = {
        "windows": len(ordered),
        "drift_share": series,
        "performance": performance,
        "alerts": alerts,
        "latest": None,
        "features": [],
        "causes": [],
        "quality": None,
        "drift_share_threshold": latest.drift.drift_share_threshold
        if latest and latest.drift
        else None,
    }
    if latest is not None:
        data["latest"] = {
            "id": latest.id,
            "monitor": latest.monitor,
            "window": _window_name(latest),
            "variant": latest.variant,
            "status": latest.status,
            "message": latest.message,
            "verdict": latest.root_cause.verdict if latest.root_cause else None,
            "root_cause_message": latest.root_cause.message if latest.root_cause else "",
        }
        if latest.drift is not None:
            data["features"] = [c.to_dict() for c in latest.drift.columns]
        if latest.root_cause is not None:
            data["causes"] = [c.to_dict() for c in latest.root_cause.causes]
        if latest.quality is not None:
            data["quality"] = latest.quality.to_dict()
    return data


def _figures(data: dict[str, Any]) -> dict[str, Any]:
    import plotly.graph_objects as go

    figures: dict[str, Any] = {}
    drift = go.Figure()
    for variant, points in data["drift_share"].items():
        drift.add_trace(
            go.Scatter(
                x=[p["window"] for p in points],
                y=[p["drift_share"] for p in points],
                mode="lines+markers",
                name=f"drift share ({variant})",
            )
        )
    if data["drift_share_threshold"] is not None:
        drift.add_hline(
            y=data["drift_share_threshold"], line_dash="dash", annotation_text="dataset drift"
        )
    drift.update_layout(height=320, yaxis={"range": [0, 1], "title": "share of drifted features"})
    figures["drift-share"] = drift.to_plotly_json()
    performance = _performance_figures(go, data["performance"])
    data["performance_charts"] = list(performance)
    figures.update(performance)
    ranked = sorted(
        (f for f in data["features"] if f.get("distribution")),
        key=lambda f: -(f.get("jensenshannon") or 0.0),
    )[:MAX_DISTRIBUTIONS]
    data["distributions"] = [f["column"] for f in ranked]
    for index, feature in enumerate(ranked, start=1):
        figures[f"dist-{index}"] = _distribution_figure(go, feature).to_plotly_json()
    return figures


def _performance_figures(go: Any, performance: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One chart per metric: estimated value with its band, realised value, reference level."""
    metrics: list[str] = []
    for points in performance.values():
        for point in points:
            for name in [*point.get("estimated", {}), *point.get("realised", {})]:
                if name not in metrics:
                    metrics.append(name)
    figures: dict[str, Any] = {}
    for metric in metrics[:MAX_PERFORMANCE_CHARTS]:
        figure = go.Figure()
        reference = None
        for variant, points in performance.items():
            x = [p["window"] for p in points]
            estimated = [p.get("estimated", {}).get(metric) for p in points]
            if any(e is not None for e in estimated):
                upper = [e["upper"] if e else None for e in estimated]
                lower = [e["lower"] if e else None for e in estimated]
                figure.add_trace(
                    go.Scatter(x=x, y=upper, mode="lines", line={"width": 0}, showlegend=False)
                )
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=lower,
                        mode="lines",
                        line={"width": 0},
                        fill="tonexty",
                        fillcolor="rgba(99,110,250,0.18)",
                        name=f"band ±3 sampling errors ({variant})",
                    )
                )
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=[e["value"] if e else None for e in estimated],
                        mode="lines+markers",
                        line={"dash": "dot"},
                        name=f"estimated ({variant})",
                    )
                )
            realised = [p.get("realised", {}).get(metric) for p in points]
            if any(r is not None for r in realised):
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=realised,
                        mode="markers",
                        marker={"size": 9},
                        name=f"realised ({variant})",
                    )
                )
            for point in points:
                reference = point.get("reference", {}).get(metric, reference)
        if reference is not None:
            figure.add_hline(y=reference, line_dash="dash", annotation_text="reference")
        figure.update_layout(
            height=320,
            margin={"l": 40, "r": 10, "t": 40, "b": 30},
            title={"text": metric, "font": {"size": 14}},
            legend={"orientation": "h", "y": -0.3, "font": {"size": 10}},
        )
        figures[f"perf-{len(figures) + 1}"] = figure.to_plotly_json()
    return figures


def _distribution_figure(go: Any, feature: dict[str, Any]) -> Any:
    dist = feature["distribution"]
    if dist["kind"] == "histogram":
        edges = dist["edges"]
        x = [f"{(a + b) / 2:.3g}" for a, b in itertools.pairwise(edges)]
    else:
        x = dist["labels"]
    figure = go.Figure(
        [
            go.Bar(x=x, y=dist["reference"], name="reference", opacity=0.6),
            go.Bar(x=x, y=dist["current"], name="current", opacity=0.6),
        ]
    )
    state = "drifted" if feature.get("drifted") else "no drift"
    figure.update_layout(
        barmode="overlay",
        height=240,
        margin={"l": 30, "r": 10, "t": 30, "b": 30},
        title={"text": f"{feature['column']} ({state})", "font": {"size": 13}},
        showlegend=False,
    )
    return figure


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1%}"


def render_html(results: Sequence[MonitorResult], title: str = "Ladder monitoring report") -> str:
    """The report of ``results`` as one HTML document with everything inline."""
    import jinja2
    import plotly.offline

    data = report_data(results)
    figures = _figures(data)
    environment = jinja2.Environment(autoescape=True)
    page = resources.files("ladder.monitoring").joinpath("templates/report.html.j2").read_text()
    template = environment.from_string(page)
    payload = json.dumps(figures, default=_json_default).replace("</", "<\\/")
    return template.render(
        title=title,
        generated=datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        data=data,
        figures=payload,
        plotly_js=plotly.offline.get_plotlyjs(),
        fmt=_fmt,
        pct=_pct,
    )


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a report")
