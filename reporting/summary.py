"""The half-yearly summary (DOMAIN.md: June and December), per department or for the whole
organisation: the period's key tables and charts, and what was done about the causes (the
corrective and preventive actions of ``improvement``), on one printable page. Built from the
dashboard's own tables, so the figures are the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.http import QueryDict
from django.utils import timezone

from complaints.models import Department, Tier, User
from escalation.tiers import user_tier
from improvement.models import Action
from improvement.selectors import actions_in_period

from .dashboard import Scope, scope_for, table_for

# The tables the summary prints, in its order.
SUMMARY_TABLES = [
    "volume_over_time",
    "volume_by_category",
    "volume_by_channel",
    "compliance",
    "time_in_steps",
    "escalations",
    "outcomes",
    "root_causes",
    "responsible_departments",
    "remedies_by_type",
]


@dataclass(frozen=True)
class Half:
    year: int
    half: int  # 1: January to June, 2: July to December

    @property
    def first(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def last(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def code(self) -> str:
        return f"{self.year}-H{self.half}"


def half_for(value: str | None, *, today: date | None = None) -> Half:
    """``2026-H1`` / ``2026-H2``; otherwise the last half-year that has ended (in June the
    first half is still running: the summary of December is the one due)."""
    try:
        year, half = (value or "").split("-H")
        found = Half(int(year), int(half))
        if found.half in (1, 2) and 2000 <= found.year <= 9998:
            return found
    except ValueError:
        pass
    today = today or timezone.localdate()
    return Half(today.year, 1) if today.month >= 7 else Half(today.year - 1, 2)


def summary_scope(*, user: User, half: Half, department: Department | None) -> Scope:
    data = QueryDict(mutable=True)
    data["received_after"] = half.first.isoformat()
    data["received_before"] = half.last.isoformat()
    if department is not None:
        data["department"] = str(department.pk)
    return scope_for(user=user, data=data)


def summary_tables(scope: Scope):
    return {key: table_for(scope, key, "month") for key in SUMMARY_TABLES}


def summary_actions(*, user: User, half: Half, department: Department | None) -> list[Action]:
    """The corrective and preventive actions recorded, done, verified or cancelled in the
    half-year, with their status: of the department (its own, or from its cases), or of all;
    a department head's whole-organisation summary lists their department's only, as its
    figures count only their department's cases."""
    if department is None and user_tier(user) == Tier.DEPARTMENT_HEAD:
        department = user.department
        if department is None:
            return []
    return list(actions_in_period(first=half.first, last=half.last, department=department))
