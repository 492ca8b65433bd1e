"""Formatting a KPI value by its column's kind, in the active language."""

from __future__ import annotations

from datetime import date

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils.html import format_html

from ..tables import Table

register = template.Library()


@register.simple_tag
def kpi_cell(row, column, position: int) -> str:
    """The value, linked to the cases behind it: the cell's own cases if it has them, else the
    row's, on its first figure (the second column)."""
    text = kpi(row, column)
    url = getattr(row, "cell_urls", {}).get(column.key)
    if url is None and position == 2:
        url = getattr(row, "url", None)
    return format_html('<a href="{}">{}</a>', url, text) if url else text


@register.simple_tag
def kpi(row, column) -> str:
    value = row.values.get(column.key)
    kind = Table.kind_of(row, column)
    if value is None or value == "":
        return "—"
    if kind == "percent":
        return f"{floatformat(value * 100, 1)} %"
    if kind == "count":
        return intcomma(value)
    if kind in ("hours", "number"):
        return floatformat(value, 1)
    if kind == "money":
        return intcomma(floatformat(value, 2))
    if kind == "month" and isinstance(value, date):
        return date_filter(value, "YEAR_MONTH_FORMAT")
    if kind == "date" and isinstance(value, date):
        return date_filter(value, "SHORT_DATE_FORMAT")
    return str(value)
