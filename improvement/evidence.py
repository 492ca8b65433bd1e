"""The observation a verification may rest on: no new case of the action's root-cause category
(optionally of the same responsible department or product as the cases it comes from) arrived
since the action was done, at least N days ago. Counted by the database at the moment of
verification, over [done, now]: a window that began before the action was done would count
the cause's cases from before the remedy, and one cut to the last N days would let a window
shorter than N days since the remedy pass for N."""

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


def done_moment(action: Action) -> datetime:
    """When the action was done: ``done_at``, which the Done move sets (or, for a row that
    lacks it, the latest Done move in its history)."""
    if action.done_at is not None:
        return action.done_at
    return (
        action.events.filter(kind="status", to_status="done")
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
        or action.recorded_at
    )


def window_ready_at(done_at: datetime, window_days: int) -> datetime:
    """The moment ``window_days`` days have passed since the action was done: from then on the
    observation can be counted. Whole days of 24 hours, in UTC: a DST change does not make a
    window an hour longer or shorter."""
    return done_at + timedelta(days=window_days)


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
    """The cases received in (since, until] whose root cause is the action's, narrowed to the
    responsible departments or the products of the action's cases. A case linked to the action
    counts too if it was received inside the window: the window has not passed without one.
    (Cases not analysed yet have no root cause and cannot count.)"""
    cases = Case.objects.filter(
        root_cause_category=action.root_cause, received_at__gt=since, received_at__lte=until
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
    since: datetime,
    until: datetime,
    same_department: bool = False,
    same_product: bool = False,
) -> Recurrence:
    """Count them over [since, until] (one aggregate query) and take the first references (one
    more). ``window_days`` is the number of days the verifier asked for, kept with the result."""
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
