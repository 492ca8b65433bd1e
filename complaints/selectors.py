"""Reads: the case lists, the navigation counts, the timeline (with the cases merged into the
case), its files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import cases_visible_to, user_can_take_cases
from .models import (
    Attachment,
    Case,
    CaseEvent,
    ContactAttempt,
    Customer,
    Department,
    FollowUpReview,
    Remedy,
    Step,
    User,
)
from .navigation import counts_at_once


def overdue_q(now: datetime | None = None) -> Q:
    """Open cases past their next deadline (``Case.due_at``, kept by the escalation app from
    its deadline rows: the earliest of the current round that is neither met nor paused; null
    once a case is closed or merged): ``Case.is_past_due`` in SQL."""
    return Q(due_at__lt=now or timezone.now())


def case_list(*, user: User, qs: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """Cases for a list page with everything a row shows, in a fixed number of queries (with
    ``cases_last_activity`` for the page's rows)."""
    qs = cases_visible_to(user=user) if qs is None else qs
    return (
        qs.select_related(
            "customer", "owner", "responsible_person", "department", "merged_into", "repeat_of"
        )
        .defer("search_vector")
        .annotate(is_overdue=ExpressionWrapper(overdue_q(), output_field=BooleanField()))
    )


def cases_last_activity(cases: Iterable[Case]) -> list[Case]:
    """Sets ``last_event`` on each of a page's cases: the latest entry of its timeline (who did
    what last: staff, the customer or Heed itself), with its actor. One query for the page,
    each case's latest found through the index on (case, at)."""
    cases = list(cases)
    latest = CaseEvent.objects.filter(case=OuterRef("pk")).order_by("-at", "-pk").values("pk")[:1]
    keys = Case.objects.filter(pk__in=[case.pk for case in cases]).values(last=Subquery(latest))
    events = (
        {e.case_id: e for e in CaseEvent.objects.filter(pk__in=keys).select_related("actor")}
        if cases
        else {}
    )
    for case in cases:
        case.last_event = events.get(case.pk)
    return cases


def my_cases(*, user: User) -> QuerySet[Case]:
    """What is on my desk: open cases I own or am responsible for (a case merged into another
    is not: its survivor is)."""
    return (
        cases_visible_to(user=user)
        .filter(Q(owner=user) | Q(responsible_person=user), merged_into__isnull=True)
        .exclude(step=Step.CLOSED)
    )


def case_reference_find(*, user: User, typed: str) -> str | None:
    """The reference of the case ``typed`` names whole (in any case of letters), if the user
    may see it: read through the unique index."""
    candidate = typed.strip().upper()
    if not candidate or len(candidate) > Case._meta.get_field("reference").max_length:
        return None
    return (
        cases_visible_to(user=user)
        .filter(reference=candidate)
        .values_list("reference", flat=True)
        .first()
    )


def department_cases(*, user: User) -> QuerySet[Case]:
    """My department's desk: its open cases (none for someone in no department)."""
    if not user.department_id:
        return Case.objects.none()
    return (
        cases_visible_to(user=user)
        .filter(department_id=user.department_id, merged_into__isnull=True)
        .exclude(step=Step.CLOSED)
    )


def navigation_querysets(user: User) -> dict[str, QuerySet[Case]]:
    """The header's counts of cases (``complaints.navigation``): my open cases, how many of them
    are overdue and how many wait for our answer to the customer; for those who may take them,
    the open cases no one owns yet (sent through the public form)."""
    mine = my_cases(user=user)
    querysets = {
        "open": mine,
        "overdue": mine.filter(overdue_q()),
        "waiting": mine.filter(awaiting_reply_since__isnull=False),
    }
    if user_can_take_cases(user):
        querysets["unassigned"] = waiting_to_be_taken(user=user)
    return querysets


def navigation_counts(*, user: User) -> dict[str, int]:
    """``navigation_querysets`` counted, in one query."""
    return counts_at_once(user=user, querysets=navigation_querysets(user))


def waiting_to_be_taken(*, user: User) -> QuerySet[Case]:
    """Open cases without an owner: complaints customers sent themselves (not those merged
    into another case since)."""
    return (
        cases_visible_to(user=user)
        .filter(owner__isnull=True, merged_into__isnull=True)
        .exclude(step=Step.CLOSED)
    )


def _reviewed() -> Exists:
    """The case's last closing has been reviewed (``FollowUpReview``)."""
    return Exists(
        FollowUpReview.objects.filter(case=OuterRef("pk"), closed_at=OuterRef("closed_at"))
    )


def follow_ups_closed(*, days: int, ending: str = "") -> QuerySet[Case]:
    """The cases closed in the last ``days`` days (of one ``ending``, if given), merged ones
    left out (their survivor is followed up): what a supervisor reviews a sample of, read
    through the partial index ``case_closed``."""
    since = timezone.now() - timedelta(days=days)
    cases = Case.objects.filter(step=Step.CLOSED, closed_at__gte=since, merged_into__isnull=True)
    return cases.filter(ending=ending) if ending else cases


def follow_ups_to_review(*, days: int = 30, ending: str = "") -> QuerySet[Case]:
    """The follow-ups not reviewed yet, in a fixed pseudo-random order, so that the first page is
    a sample across agents and days that stays put while the supervisor works through it."""
    return (
        follow_ups_closed(days=days, ending=ending)
        .filter(~_reviewed())
        .select_related("customer", "owner", "department")
        .annotate(attempt_count=Count("contact_attempts"))
        .order_by((F("pk") * 7919) % 10007, "pk")
    )


def follow_up_review_coverage(*, days: int = 30, ending: str = "") -> dict[str, int]:
    """How many follow-ups closed in the window were reviewed, of how many."""
    return follow_ups_closed(days=days, ending=ending).aggregate(
        closed=Count("pk"), reviewed=Count("pk", filter=_reviewed())
    )


def follow_up_reviews_latest(*, limit: int = 10) -> QuerySet[FollowUpReview]:
    """The latest reviews, newest first (``follow_up_review_latest``)."""
    return FollowUpReview.objects.select_related("case", "reviewed_by").order_by(
        "-reviewed_at", "-pk"
    )[:limit]


def _family(case: Case) -> QuerySet[Case]:
    """The ids of the case and of every case merged into it: the primary key and the partial
    index ``case_merged_into``, so that what is read by them comes through its own index."""
    return Case.objects.filter(Q(pk=case.pk) | Q(merged_into=case)).values("pk")


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    """The events of the case and of every case merged into it: the whole history of the
    complaint the case handles (through ``event_case_at``)."""
    return CaseEvent.objects.filter(case_id__in=_family(case))


def case_attachments(*, case: Case) -> QuerySet[Attachment]:
    """The files of the case and of every case merged into it."""
    return Attachment.objects.filter(case_id__in=_family(case))


def cases_merged_into(*, case: Case) -> list[Case]:
    """The cases merged into this one, in the order they were received, with their customers:
    one query."""
    return list(
        Case.objects.filter(merged_into=case).select_related("customer").order_by("received_at")
    )


def case_customers(*, case: Case, merged: list[Case] | None = None) -> list[Customer]:
    """Everyone the case answers to: its customer, then the customers of the cases merged into
    it (each once). From ``merged`` when the caller has them (no query)."""
    merged = cases_merged_into(case=case) if merged is None else merged
    customers = {case.customer_id: case.customer}
    for other in merged:
        customers.setdefault(other.customer_id, other.customer)
    return list(customers.values())


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    old: str
    new: str


# Labels for the keys events' changes hold that are not case fields: the customer's contact
# preferences (``contact``), the channel a link was asked for by, and the keys other apps write
# (the escalation app registers its reasons and milestones here): key → (label, {value: label}).
EXTRA_CHANGE_LABELS: dict[str, tuple[Any, dict[str, Any]]] = {
    "language": (gettext_lazy("language"), dict(settings.LANGUAGES)),
    "preferred_channel": (gettext_lazy("preferred channel"), dict(Customer.Channel.choices)),
    "essential_only": (
        gettext_lazy("only essential messages"),
        {True: gettext_lazy("yes"), False: gettext_lazy("no")},
    ),
    "contact": (
        gettext_lazy("sent by"),
        {"email": gettext_lazy("Email"), "sms": gettext_lazy("SMS")},
    ),
    "method": (gettext_lazy("how"), dict(ContactAttempt.Method.choices)),
    "result": (gettext_lazy("result"), dict(ContactAttempt.Result.choices)),
}

_PEOPLE_FIELDS = {"owner", "responsible_person", "remedy_approved_by", "receiver"}
# Changes that name another case by its pk (merging), shown by its reference.
_CASE_REFERENCES: dict[str, Any] = {
    "merged_into": gettext_lazy("merged into"),
    "merged_from": gettext_lazy("took in"),
    "repeat_of": gettext_lazy("repeat of"),
}


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


def _ids(events: list[CaseEvent], names: set[str] | dict) -> set[int]:
    return {
        value
        for event in events
        for name, pair in event.changes.items()
        if name in names
        for value in pair
        if isinstance(value, int)
    }


def _change_rows(event: CaseEvent, people: dict, departments: dict, cases: dict) -> list:
    """The event's changes as rows: the case's own fields first, then the other apps' keys."""
    rows = []
    for name, (old, new) in event.changes.items():
        if name in _CASE_REFERENCES:
            label = _CASE_REFERENCES[name]
            old, new = cases.get(old, old or "—"), cases.get(new, new or "—")
        elif name in _CASE_FIELD_NAMES:
            label = Case._meta.get_field(name).verbose_name
            old = _display(name, old, people, departments)
            new = _display(name, new, people, departments)
        else:
            continue
        rows.append(ChangeRow(field=name, label=str(label), old=str(old), new=str(new)))
    for name, (old, new) in event.changes.items():
        if name in EXTRA_CHANGE_LABELS and name not in _CASE_FIELD_NAMES:
            label, values = EXTRA_CHANGE_LABELS[name]
            rows.append(
                ChangeRow(
                    field=name,
                    label=str(label),
                    old=str(values.get(old, old or "—")),
                    new=str(values.get(new, new or "—")),
                )
            )
    return rows


# What other apps add under a timeline's events (``conversation``: the notices each event
# caused): functions registered from their ``AppConfig.ready`` with ``timeline_extras_register``,
# each given all the events at once (a fixed number of queries, whatever the length) and
# returning {event pk: [HTML, already rendered and escaped]}.
_TIMELINE_EXTRAS: list[Callable[[list[CaseEvent]], dict[int, list[str]]]] = []


def timeline_extras_register(extras: Callable[[list[CaseEvent]], dict[int, list[str]]]) -> None:
    if extras not in _TIMELINE_EXTRAS:
        _TIMELINE_EXTRAS.append(extras)


def case_timeline(*, case: Case) -> list[CaseEvent]:
    """The case's events and those of the cases merged into it, oldest first, each with
    ``change_rows`` ready to show and ``from_case`` (the merged case it came from, or None).
    A fixed number of queries whatever the length: the events with their cases, their files,
    and the people, departments and cases the changes name (each only when some are named)."""
    events = list(
        case_events(case=case)
        .select_related("actor", "case")
        .prefetch_related("attachments")
        .order_by("at", "pk")
    )
    person_ids = _ids(events, _PEOPLE_FIELDS)
    department_ids = _ids(events, {"department"})
    case_ids = _ids(events, _CASE_REFERENCES)
    people = {u.pk: u for u in User.objects.filter(pk__in=person_ids)} if person_ids else {}
    departments = (
        {d.pk: d for d in Department.objects.filter(pk__in=department_ids)}
        if department_ids
        else {}
    )
    cases = (
        dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "reference"))
        if case_ids
        else {}
    )
    extras: dict[int, list[str]] = {}
    for add in _TIMELINE_EXTRAS:
        for pk, html in add(events).items():
            extras.setdefault(pk, []).extend(html)
    for event in events:
        event.from_case = event.case if event.case_id != case.pk else None
        event.change_rows = _change_rows(event, people, departments, cases)
        event.extras = extras.get(event.pk, [])
    return events


_CASE_FIELD_NAMES = {f.name for f in Case._meta.get_fields()}
