"""Cells, sheets and file names for the exports (``reporting.exports``): how a value is
written into a CSV cell or an Excel cell by its column's kind, neutralised against formula
injection (OWASP "CSV injection": text starting with = + - @, a tab or a carriage return gets a
leading single quote), in the deployment's TIME_ZONE."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter

from .tables import Column

# Excel's number formats by the kind of a table's column.
NUMBER_FORMATS = {
    "count": "0",
    "percent": "0.0%",
    "hours": "0.0",
    "money": "#,##0.00",
    "number": "General",
}
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
# Decimal places a CSV keeps of each kind of number (Excel's formats only round the display).
CSV_PLACES = {"percent": 4, "hours": 2, "money": 2, "number": 4}

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOLD = Font(bold=True)


# Cells ------------------------------------------------------------------------------------------


def neutralised(text: str) -> str:
    """The text as a spreadsheet must show it: a quote before a formula's first character."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(value: Any) -> str:
    return "" if value is None else neutralised(str(value))


def local_time(value: datetime) -> datetime:
    """The time in TIME_ZONE without tzinfo (what Excel, which knows no zones, can hold)."""
    return timezone.localtime(value, timezone.get_default_timezone()).replace(tzinfo=None)


def zone_name() -> str:
    return settings.TIME_ZONE


def is_blank(value: Any) -> bool:
    # A figure that could not be computed (no cases to divide by) is an empty cell.
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def csv_cell(value: Any, kind: str = "text") -> str:
    """One CSV field: numbers in plain decimal notation (a percent as its share, 0.125),
    times in TIME_ZONE, anything else as neutralised text."""
    if is_blank(value):
        return ""
    if isinstance(value, datetime):
        return (local_time(value) if timezone.is_aware(value) else value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return cell_text(value)
    if kind == "count":
        return str(round(value))
    if isinstance(value, int) and kind != "money":
        return str(value)
    places = CSV_PLACES.get(kind, 4)
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    if kind == "money":
        return f"{number:f}"
    text = f"{number:f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def xlsx_cell(ws: Any, value: Any, kind: str = "text") -> Any:
    """One Excel cell: numbers as numbers with the kind's format, times as local times without
    tzinfo, text neutralised and rid of the control characters XML cannot hold."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, local_time(value) if timezone.is_aware(value) else value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        # A text cell: never a formula (openpyxl writes any string starting "=" as one).
        return ILLEGAL_CHARACTERS_RE.sub("", cell_text(value))
    if kind == "count":
        value = round(value)
    elif kind in ("percent", "hours"):
        value = float(value)
    cell = WriteOnlyCell(ws, value)
    cell.number_format = NUMBER_FORMATS.get(kind, "General")
    return cell


def header_row(ws: Any, labels: Iterable[Any]) -> list[Any]:
    cells = []
    for label in labels:
        cell = WriteOnlyCell(ws, ILLEGAL_CHARACTERS_RE.sub("", cell_text(label)))
        cell.font = BOLD
        cells.append(cell)
    return cells


def display_width(value: Any) -> int:
    """Characters as wide as Excel draws them: Chinese characters count twice."""
    text = value if isinstance(value, str) else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_widths(ws: Any, widths: Iterable[int]) -> None:
    # Set before any row is written: write-only sheets emit the columns first.
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def table_layout(ws: Any, *, columns: int, rows: int) -> None:
    """The header row frozen and filterable."""
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter = AutoFilter(ref=f"A1:{get_column_letter(columns)}{max(rows, 1) + 1}")


# Names ------------------------------------------------------------------------------------------

_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_UNSAFE_IN_SHEET_NAME = re.compile(r"[\x00-\x1f\x7f\[\]:*?/\\]")
SHEET_NAME_LENGTH = 31


def content_disposition(name: str, *, extension: str, fallback: str) -> str:
    """An attachment header: an ASCII ``filename`` every client understands, and the real
    (perhaps Chinese) name as RFC 5987 ``filename*`` for those that read it."""
    name = " ".join(_UNSAFE_IN_FILENAME.sub(" ", name).split())
    ascii_name = (
        f"{(name.isascii() and slugify(name)) or slugify(fallback) or 'export'}.{extension}"
    )
    header = f'attachment; filename="{ascii_name}"'
    full_name = f"{name}.{extension}"
    if name and full_name != ascii_name:
        header += f"; filename*=UTF-8''{quote(full_name, safe='')}"
    return header


def dated_name(name: Any) -> str:
    return f"{name} {timezone.localdate(timezone=timezone.get_default_timezone()).isoformat()}"


def sheet_name(title: Any, taken: set[str]) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\, no quote at
    either end, not "History", and unique (case-insensitively) among ``taken``, which it
    joins."""
    name = " ".join(_UNSAFE_IN_SHEET_NAME.sub(" ", str(title)).split()).strip("'")
    name = name[:SHEET_NAME_LENGTH].strip().strip("'") or "Sheet"
    candidate, number = name, 1
    while candidate.casefold() in taken or candidate.casefold() == "history":
        number += 1
        suffix = f" ({number})"
        candidate = name[: SHEET_NAME_LENGTH - len(suffix)].rstrip() + suffix
    taken.add(candidate.casefold())
    return candidate


# KPI tables -------------------------------------------------------------------------------------


def widths_for(columns: list[Column], rows: list[list[Any]]) -> list[int]:
    """Each column as wide as its longest cell (the filter button included), within reason."""
    widths = []
    for index, column in enumerate(columns):
        cells = [display_width(csv_cell(values[index], column.kind)) for values in rows]
        widths.append(min(max([display_width(column.label) + 3, *cells]) + 2, 60))
    return widths
