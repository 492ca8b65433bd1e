"""A KPI table: what the dashboard shows beside each chart, what the exports write, what the
half-yearly summary prints. One shape for all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    # "text", "count", "percent" (a share 0..1), "hours", "money", "number"; "mixed": each
    # row says (its values' "kind")
    kind: str = "text"


@dataclass
class Row:
    # Values by column key, in machine form (numbers, dates, codes already turned into labels
    # where the column is text).
    values: dict[str, Any]
    # The report-case-list query parameters that select the cases behind this row
    # (``reporting.filters.ReportCaseFilter``), e.g. {"category": "delivery"}; None: no link.
    cases: dict[str, str] | None = None
    # Cells with cases of their own behind them, by column key (e.g. a compliance row's
    # breached count: {"breached": {"milestone": "decided", "deadline": "breached"}}).
    cell_cases: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Table:
    key: str  # stable, used in export URLs: /reports/export/<key>.csv
    title: str | Promise
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    note: str | Promise = ""

    @staticmethod
    def kind_of(row: Row, column: Column) -> str:
        """A cell's kind: its column's, or, in a column of mixed figures, its row's own."""
        return row.values.get("kind", "text") if column.kind == "mixed" else column.kind

    def value_rows(self) -> list[list[Any]]:
        """The rows as lists in column order (for CSV and Excel)."""
        return [[row.values.get(c.key) for c in self.columns] for row in self.rows]


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` (0..1); None when there is no whole to share."""
    return part / whole if whole else None
