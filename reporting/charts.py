"""Charts drawn on the server as SVG (no JavaScript, no charting files to ship): horizontal bars
for shares and rankings, columns for volumes over time. Each chart is drawn from a ``Table``
and shown beside it; the table is the accessible version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tables import Table

WIDTH = 480
BAR_HEIGHT = 22
LABEL_WIDTH = 170


@dataclass(frozen=True)
class Bar:
    label: str
    value: Any
    x: float
    y: float
    width: float
    height: float
    url: str | None


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def bars(table: Table, *, label: str, value: str, urls: list[str | None]) -> dict:
    """Horizontal bars, one per row, scaled to the largest value."""
    values = [_number(row.values.get(value)) for row in table.rows]
    top = max(values, default=0) or 1
    room = WIDTH - LABEL_WIDTH - 60
    items = [
        Bar(
            label=str(row.values.get(label) or "—"),
            value=row.values.get(value),
            x=LABEL_WIDTH,
            y=i * (BAR_HEIGHT + 6),
            width=max(room * v / top, 1 if v else 0),
            height=BAR_HEIGHT,
            url=url,
        )
        for i, (row, v, url) in enumerate(zip(table.rows, values, urls, strict=True))
    ]
    return {
        "kind": "bars",
        "items": items,
        "width": WIDTH,
        "height": max(len(items) * (BAR_HEIGHT + 6), BAR_HEIGHT),
        "label_width": LABEL_WIDTH,
    }


def columns(table: Table, *, label: str, value: str, urls: list[str | None]) -> dict:
    """Vertical columns over time, scaled to the largest value; every few labelled."""
    values = [_number(row.values.get(value)) for row in table.rows]
    top = max(values, default=0) or 1
    height, base = 160, 140
    step = WIDTH / max(len(values), 1)
    every = max(1, len(values) // 8)
    items = []
    for i, (row, v, url) in enumerate(zip(table.rows, values, urls, strict=True)):
        h = (base - 10) * v / top
        period = row.values.get(label)
        items.append(
            {
                "x": i * step + step * 0.1,
                "y": base - h,
                "width": step * 0.8,
                "height": h,
                "value": row.values.get(value),
                "label": period,
                "show_label": i % every == 0,
                "label_x": i * step + step / 2,
                "url": url,
            }
        )
    return {
        "kind": "columns",
        "items": items,
        "width": WIDTH,
        "height": height,
        "base": base,
        # Months read as months, days and weeks by their first day.
        "label_format": "Y-m" if _monthly(table.rows, label) else "m-d",
    }


def _monthly(rows, label: str) -> bool:
    days = [row.values.get(label) for row in rows]
    return len(days) > 1 and all(getattr(d, "day", 0) == 1 for d in days)
