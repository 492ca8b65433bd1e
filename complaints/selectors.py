"""Reads: the case lists, the navigation counts, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import cases_visible_to
from .models import Case, CaseEvent, Department, Remedy, Step, User


def overdue_q(now: datetime | None = None) -> Q:
    """Open cases past their next deadline (``Case.due_at``, kept by the escalation app from
    its deadline rows: the earliest of the current round that is neither met nor paused)."""
    return Q(due_at__lt=now or timezone.now())


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
    """My open cases and how many of them are overdue, in one query; for those who may take
    them, the open cases no one owns yet (sent through the public form), in one more."""
    counts = my_cases(user=user).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=overdue_q())
    )
    if user.has_perm("complaints.add_case"):
        counts["unassigned"] = waiting_to_be_taken(user=user).count()
    return counts


def waiting_to_be_taken(*, user: User) -> QuerySet[Case]:
    """Open cases without an owner: complaints customers sent themselves."""
    return cases_visible_to(user=user).filter(owner__isnull=True).exclude(step=Step.CLOSED)


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    old: str
    new: str


# Labels for the keys other apps write into events' changes that are not case fields (the
# escalation app registers its reasons and milestones here): key → (label, {value: label}).
EXTRA_CHANGE_LABELS: dict[str, tuple[Any, dict[str, Any]]] = {}

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
    events = list(
        case.events.select_related("actor").prefetch_related("attachments").order_by("at", "pk")
    )
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
        ] + [
            ChangeRow(
                field=name,
                label=str(EXTRA_CHANGE_LABELS[name][0]),
                old=str(EXTRA_CHANGE_LABELS[name][1].get(old, old or "—")),
                new=str(EXTRA_CHANGE_LABELS[name][1].get(new, new or "—")),
            )
            for name, (old, new) in event.changes.items()
            if name in EXTRA_CHANGE_LABELS and name not in _CASE_FIELD_NAMES
        ]
    return events


_CASE_FIELD_NAMES = {f.name for f in Case._meta.get_fields()}
