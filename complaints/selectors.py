"""Reads: the case lists, the navigation counts, the timeline."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import cases_visible_to
from .models import Case, CaseEvent, Department, Remedy, Step, User

# The domain's 1/3/7-day rule (DOMAIN.md, "Time limits"), counted from receipt: by each limit
# the case must have finished the step named here. The escalation app will keep a deadline row
# per milestone; until then this is the rule the "overdue" counts use.
MILESTONES: tuple[tuple[timedelta, str], ...] = (
    (timedelta(days=1), Step.DECIDE),
    (timedelta(days=3), Step.ACT),
    (timedelta(days=7), Step.FOLLOW_UP),
)


def _steps_up_to(step: str) -> list[str]:
    order = list(Step.values)
    return order[: order.index(step) + 1]


def overdue_q(now: datetime | None = None) -> Q:
    """Open cases past a milestone they have not reached yet."""
    now = now or timezone.now()
    return reduce(
        operator.or_,
        (
            Q(step__in=_steps_up_to(must_finish), received_at__lt=now - limit)
            for limit, must_finish in MILESTONES
        ),
    )


def case_list(*, user: User, qs: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """Cases for a list page with everything a row shows, in a fixed number of queries."""
    qs = cases_visible_to(user=user) if qs is None else qs
    return qs.select_related("customer", "owner", "department").annotate(
        is_overdue=ExpressionWrapper(overdue_q(), output_field=BooleanField())
    )


def my_cases(*, user: User) -> QuerySet[Case]:
    """What is on my desk: open cases I own or am responsible for."""
    return (
        cases_visible_to(user=user)
        .filter(Q(owner=user) | Q(responsible_person=user))
        .exclude(step=Step.CLOSED)
    )


def navigation_counts(*, user: User) -> dict[str, int]:
    """My open cases and how many of them are overdue, in one query."""
    return my_cases(user=user).aggregate(open=Count("pk"), overdue=Count("pk", filter=overdue_q()))


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    old: str
    new: str


_PEOPLE_FIELDS = {"owner", "responsible_person", "remedy_approved_by", "receiver"}


def _display(name: str, value: Any, people: dict, departments: dict) -> str:
    """A machine value from an event, as the reader's language shows it."""
    if value in (None, "", []):
        return "—"
    if name in _PEOPLE_FIELDS:
        return str(people.get(value, value))
    if name == "department":
        return str(departments.get(value, value))
    if name == "remedy_types":
        # Translators: separates the items of a list (Chinese uses 、).
        return _(", ").join(str(Remedy(v).label) if v in Remedy.values else v for v in value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    field = Case._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def case_timeline(*, case: Case) -> list[CaseEvent]:
    """The case's events, oldest first, each with ``change_rows`` ready to show. Three queries
    whatever the length: events, and the people and departments the changes name."""
    events = list(case.events.select_related("actor").order_by("at", "pk"))
    person_ids, department_ids = set(), set()
    for event in events:
        for name, pair in event.changes.items():
            ids = {v for v in pair if isinstance(v, int)}
            if name in _PEOPLE_FIELDS:
                person_ids |= ids
            elif name == "department":
                department_ids |= ids
    people = {u.pk: u for u in User.objects.filter(pk__in=person_ids)} if person_ids else {}
    departments = (
        {d.pk: d for d in Department.objects.filter(pk__in=department_ids)}
        if department_ids
        else {}
    )
    for event in events:
        event.change_rows = [
            ChangeRow(
                field=name,
                label=str(Case._meta.get_field(name).verbose_name),
                old=_display(name, old, people, departments),
                new=_display(name, new, people, departments),
            )
            for name, (old, new) in event.changes.items()
            if name in _CASE_FIELD_NAMES
        ]
    return events


_CASE_FIELD_NAMES = {f.name for f in Case._meta.get_fields()}
