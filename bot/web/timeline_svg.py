"""The incident drawn on a time axis as inline SVG: the status as coloured bands, severity
changes, and one lane of marks per kind of event, with the milestones as vertical lines.

Marks falling on the same pixel of the same lane are merged (the tooltip says how many), so
the drawing stays a few thousand elements however long the timeline is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.web.html import esc
from incident import event_kinds as K
from incident.postmortem import PostMortem
from incident.postmortem_entries import Entry
from incident.postmortem_render import Names, name_of, with_people

WIDTH = 1000
LEFT = 118
RIGHT = 24
TOP = 60
LABEL_ROWS = 3
LANE_H = 28
AXIS_H = 34
PLOT_W = WIDTH - LEFT - RIGHT
MAX_TIP_CHARS = 160

LANES: tuple[tuple[str, str], ...] = (
    ("status", "Status"),
    ("severity", "Severity"),
    ("update", "Updates"),
    ("check", "Checks"),
    ("action", "Actions"),
    ("note", "Notes & pins"),
    ("other", "Other"),
)
LANE_OF: dict[str, str] = {
    K.UPDATE: "update",
    K.STATUS: "update",
    K.CHECK: "check",
    K.ACTION: "action",
    K.ACTION_ITEM: "action",
    K.NOTE: "note",
    K.PINNED: "note",
    K.SEVERITY: "severity",
    K.DECLARED: "severity",
}
STATUS_COLOURS = {
    "investigating": "#d9534f",
    "identified": "#f0ad4e",
    "mitigating": "#5bc0de",
    "monitoring": "#5cb85c",
    "resolved": "#9a9aa0",
}
CHECK_COLOURS = {"fail": "#c62828", "warn": "#e0a100", "ok": "#2e7d32"}
TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800)


class Axis:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.span = max((end - start).total_seconds(), 60.0)

    def x(self, at: datetime) -> float:
        frac = (at - self.start).total_seconds() / self.span
        return LEFT + min(max(frac, 0.0), 1.0) * PLOT_W


def _lane_y(index: int) -> int:
    return TOP + index * LANE_H


def _tip(e: Entry, names: Names, more: int) -> str:
    text = e.text if len(e.text) <= MAX_TIP_CHARS else e.text[: MAX_TIP_CHARS - 1] + "…"
    body = with_people(text, esc, lambda u: esc("@" + name_of(u, names)))
    extra = f" (+{more} more here)" if more else ""
    return f"{e.at.astimezone(UTC):%H:%M:%S} UTC — {body}{extra}"


def _mark(lane: str, e: Entry, x: float, y: int) -> str:
    if lane == "check":
        worst = _worst_check(e)
        return f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{CHECK_COLOURS.get(worst, "#888")}">'
    if lane == "action":
        troubled = e.detail.get("refused_reason") or e.detail.get("failed_reason")
        fill = "#c62828" if troubled else "#6a1b9a"
        if e.kind == K.ACTION_ITEM:
            fill = "#00838f"
        return (
            f'<path d="M{x:.1f} {y - 6}L{x + 6:.1f} {y}L{x:.1f} {y + 6}L{x - 6:.1f} {y}Z" '
            f'fill="{fill}">'
        )
    if lane == "note":
        fill = "#8d6e63" if e.kind == K.PINNED else "#455a64"
        return f'<rect x="{x - 4:.1f}" y="{y - 4}" width="8" height="8" fill="{fill}">'
    return f'<rect x="{x - 1.5:.1f}" y="{y - 8}" width="3" height="16" fill="#37474f">'


def _worst_check(e: Entry) -> str:
    order = {"ok": 0, "warn": 1, "fail": 2}
    statuses = [str(r.get("status")) for r in e.detail.get("results") or []]
    return max(statuses, key=lambda s: order.get(s, 1), default="warn")


def _close(lane: str) -> str:
    return {"check": "</circle>", "action": "</path>"}.get(lane, "</rect>")


def _status_bands(pm: PostMortem, axis: Axis, y: int, end: datetime) -> list[str]:
    out: list[str] = []
    history = pm.status_history
    for i, (at, status) in enumerate(history):
        stop = history[i + 1][0] if i + 1 < len(history) else end
        x0, x1 = axis.x(at), axis.x(stop)
        if x1 - x0 < 0.5:
            continue
        colour = STATUS_COLOURS.get(status, "#90a4ae")
        label = status.capitalize()
        out.append(
            f'<rect x="{x0:.1f}" y="{y - 10}" width="{x1 - x0:.1f}" height="20" '
            f'fill="{colour}"><title>{esc(label)} from {at.astimezone(UTC):%H:%M:%S} UTC'
            f"</title></rect>"
        )
        if x1 - x0 > 8 * len(label) + 8:
            out.append(
                f'<text x="{x0 + 4:.1f}" y="{y + 4}" font-size="12" fill="#fff">{esc(label)}</text>'
            )
    return out


def _severity_marks(pm: PostMortem, axis: Axis, y: int) -> list[str]:
    points = [(pm.declared_at, pm.initial_severity)]
    points += [(c.at, c.after or "?") for c in pm.severity_changes]
    out: list[str] = []
    for at, sev in points:
        x = axis.x(at)
        out.append(
            f"<g><title>{esc(sev)} from {at.astimezone(UTC):%H:%M:%S} UTC</title>"
            f'<rect x="{x:.1f}" y="{y - 9}" width="42" height="18" rx="9" '
            f'fill="{_SEV_FILL.get(sev, "#6b6b70")}"></rect>'
            f'<text x="{x + 21:.1f}" y="{y + 4}" font-size="11" fill="#fff" '
            f'text-anchor="middle">{esc(sev)}</text></g>'
        )
    return out


_SEV_FILL = {"SEV1": "#b3261e", "SEV2": "#d9730d", "SEV3": "#b08d00", "SEV4": "#6b6b70"}


def _ticks(axis: Axis, multi_day: bool) -> list[tuple[float, str]]:
    step = next((s for s in TICK_STEPS if axis.span / s <= 10), 604800)
    first = (int(axis.start.timestamp()) // step + 1) * step
    out: list[tuple[float, str]] = [(float(LEFT), _tick_label(axis.start, multi_day))]
    t = first
    end_ts = axis.start.timestamp() + axis.span
    while t <= end_ts:
        at = datetime.fromtimestamp(t, UTC)
        x = axis.x(at)
        if x - out[-1][0] > 60:
            out.append((x, _tick_label(at, multi_day)))
        t += step
    return out


def _tick_label(at: datetime, multi_day: bool) -> str:
    return at.astimezone(UTC).strftime("%m-%d %H:%M" if multi_day else "%H:%M")


def _milestones(pm: PostMortem, axis: Axis, bottom: int) -> list[str]:
    stones = [
        ("Declared", pm.declared_at),
        ("Acknowledged", pm.acknowledged_at),
        ("Mitigated", pm.mitigated_at),
        ("Resolved", pm.resolved_at),
    ]
    out: list[str] = []
    # Where each label row is free again; close milestones go to the next row down.
    free_from = [-1e9] * LABEL_ROWS
    for label, at in stones:
        if at is None:
            continue
        x = axis.x(at)
        width = 7 * (len(label) + 6)
        row = next((r for r in range(LABEL_ROWS) if x >= free_from[r]), None)
        if row is None:
            row = min(range(LABEL_ROWS), key=lambda r: free_from[r])
        free_from[row] = x + width
        ty = 14 + row * 14
        anchor = "end" if x > WIDTH - width else "start"
        out.append(
            f'<line x1="{x:.1f}" y1="{ty + 3}" x2="{x:.1f}" y2="{bottom}" stroke="#333" '
            f'stroke-dasharray="3 3" stroke-width="1"></line>'
            f'<text x="{x + (-3 if anchor == "end" else 3):.1f}" y="{ty}" font-size="11" '
            f'text-anchor="{anchor}" font-weight="600">{esc(label)} '
            f"{at.astimezone(UTC):%H:%M}</text>"
        )
    return out


def timeline_svg(pm: PostMortem, names: Names, *, multi_day: bool) -> str:
    end = pm.end
    if end - pm.declared_at < timedelta(minutes=1):
        end = pm.declared_at + timedelta(minutes=1)
    axis = Axis(pm.declared_at, end)
    lane_index = {key: i for i, (key, _) in enumerate(LANES)}
    bottom = _lane_y(len(LANES)) - LANE_H // 2 + 4
    height = bottom + AXIS_H
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="tl-title" '
        f'font-family="system-ui,sans-serif"><title id="tl-title">Timeline of incident '
        f"#{pm.number}</title>"
    ]
    for i, (_, label) in enumerate(LANES):
        y = _lane_y(i)
        parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#eceff1"></line>'
            f'<text x="{LEFT - 8}" y="{y + 4}" font-size="12" text-anchor="end" '
            f'fill="#555">{esc(label)}</text>'
        )
    parts += _status_bands(pm, axis, _lane_y(lane_index["status"]), end)
    parts += _severity_marks(pm, axis, _lane_y(lane_index["severity"]))
    parts += _event_marks(pm, axis, names, lane_index)
    parts += _milestones(pm, axis, bottom)
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#333"></line>'
    )
    for x, label in _ticks(axis, multi_day):
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#333">'
            f'</line><text x="{x:.1f}" y="{bottom + 19}" font-size="11" text-anchor="middle" '
            f'fill="#333">{esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _event_marks(pm: PostMortem, axis: Axis, names: Names, lane_index: dict[str, int]) -> list[str]:
    # (lane, pixel) → [first entry there, how many]
    cells: dict[tuple[str, int], list] = {}
    for e in pm.timeline:
        lane = LANE_OF.get(e.kind, "other")
        if lane == "severity":
            continue  # drawn as labelled markers
        x = axis.x(e.at)
        cell = cells.get((lane, round(x)))
        if cell is None:
            cells[(lane, round(x))] = [e, 1, x]
        else:
            cell[1] += 1
            if lane == "check" and _worst_check(e) == "fail":
                cell[0] = e  # a failure must stay visible among merged checks
    out: list[str] = []
    for (lane, _), (e, n, x) in cells.items():
        y = _lane_y(lane_index[lane])
        out.append(f"{_mark(lane, e, x, y)}<title>{_tip(e, names, n - 1)}</title>{_close(lane)}")
    return out
