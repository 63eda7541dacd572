"""MTTA and MTTR per severity over time, as an inline SVG line chart (no script, no CDN)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.web.html import esc
from incident.postmortem_stats import TrendPoint, Unit
from incident.severity import SEVERITIES
from incident.timefmt import duration_text

WIDTH = 720
HEIGHT = 240
LEFT = 64
RIGHT = 96
TOP = 16
BOTTOM = 40
COLOURS = {"SEV1": "#b3261e", "SEV2": "#d9730d", "SEV3": "#b08d00", "SEV4": "#6b6b70"}
LABEL_FORMAT = {"day": "%m-%d", "week": "%m-%d", "month": "%Y-%m"}


# Gridline steps in minutes that read well as durations (15m, 1h, 6h, 1d...).
GRID_STEPS = (0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
GRID_LINES = 4


def _nice_max(minutes: float) -> float:
    step = next((s for s in GRID_STEPS if s * GRID_LINES >= minutes), None)
    if step is None:
        step = math.ceil(minutes / GRID_LINES / GRID_STEPS[-1]) * GRID_STEPS[-1]
    return step * GRID_LINES


def trend_chart(
    points: list[TrendPoint],
    metric: Callable[[TrendPoint], timedelta | None],
    *,
    title: str,
    unit: Unit,
) -> str:
    series: dict[str, list[tuple[datetime, float, int]]] = {}
    for p in points:
        value = metric(p)
        if value is not None:
            series.setdefault(p.severity, []).append(
                (p.bucket, value.total_seconds() / 60, p.count)
            )
    if not series:
        return f'<p class="muted">{esc(title)}: no data in this range.</p>'
    buckets = sorted({b for rows in series.values() for b, _, _ in rows})
    top = _nice_max(max(v for rows in series.values() for _, v, _ in rows))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = {b: i for i, b in enumerate(buckets)}

    def x(b: datetime) -> float:
        return LEFT + (slot[b] + 0.5) * plot_w / len(buckets)

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" font-family="system-ui,sans-serif">'
        f"<title>{esc(title)}</title>"
    ]
    for i in range(GRID_LINES + 1):
        v = top * i / GRID_LINES
        parts.append(
            f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{WIDTH - RIGHT}" y2="{y(v):.1f}" '
            f'stroke="#eceff1"></line><text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#555">{esc(duration_text(timedelta(minutes=v)))}</text>'
        )
    every = max(1, math.ceil(len(buckets) / 10))
    for i, b in enumerate(buckets):
        if i % every == 0:
            parts.append(
                f'<text x="{x(b):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                f'text-anchor="middle" fill="#555">{esc(b.strftime(LABEL_FORMAT[unit]))}</text>'
            )
    for n, sev in enumerate(s for s in SEVERITIES if s in series):
        colour = COLOURS.get(sev, "#444")
        rows = series[sev]
        path = " ".join(f"{x(b):.1f},{y(v):.1f}" for b, v, _ in rows)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"></polyline>'
        )
        for b, v, count in rows:
            tip = f"{sev}, {b:%Y-%m-%d}: {duration_text(timedelta(minutes=v))} ({count} incidents)"
            parts.append(
                f'<circle cx="{x(b):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                f"<title>{esc(tip)}</title></circle>"
            )
        ly = TOP + 14 + n * 18
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 14}" y="{ly - 9}" width="12" height="12" '
            f'fill="{colour}"></rect><text x="{WIDTH - RIGHT + 32}" y="{ly + 1}" '
            f'font-size="12">{esc(sev)}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="12" font-weight="600">{esc(title)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
