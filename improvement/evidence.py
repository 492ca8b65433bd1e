"""The observation a verification may rest on: no new case of the action's root-cause category
(optionally of the same responsible department or product as the cases it comes from) arrived
in the last N days. Counted by the database at the moment of verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from complaints.models import Case

from .models import Action

# Longest window a verifier may look back over.
MAX_WINDOW_DAYS = 3650
# References kept with a verification, for the reader to look at.
REFERENCES_KEPT = 20


@dataclass(frozen=True)
class Recurrence:
    window_days: int
    since: datetime
    until: datetime
    count: int
    references: list[str]


def recurrences(
    *,
    action: Action,
    since: datetime,
    until: datetime,
    same_department: bool = False,
    same_product: bool = False,
) -> QuerySet[Case]:
    """The cases received in [since, until] whose root cause is the action's, narrowed to the
    responsible departments or the products of the action's cases. The action's own cases
    count too: one received inside the window means the window has not passed without one.
    (Cases not analysed yet have no root cause and cannot count.)"""
    cases = Case.objects.filter(
        root_cause_category=action.root_cause, received_at__gte=since, received_at__lte=until
    )
    linked = Case.objects.filter(action_links__action=action)
    if same_department:
        cases = cases.filter(
            department__in=linked.exclude(department__isnull=True).values("department")
        )
    if same_product:
        cases = cases.filter(product__in=linked.exclude(product="").values("product"))
    return cases


def recurrence_count(
    *,
    action: Action,
    window_days: int,
    until: datetime,
    same_department: bool = False,
    same_product: bool = False,
) -> Recurrence:
    """Count them (one aggregate query) and take the first references (one more)."""
    since = until - timedelta(days=window_days)
    cases = recurrences(
        action=action,
        since=since,
        until=until,
        same_department=same_department,
        same_product=same_product,
    )
    count = cases.count()
    references = (
        list(cases.order_by("-received_at").values_list("reference", flat=True)[:REFERENCES_KEPT])
        if count
        else []
    )
    return Recurrence(
        window_days=window_days, since=since, until=until, count=count, references=references
    )
