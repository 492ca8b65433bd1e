"""Reads: the actions list, the actions of a case, an action's history, the escalated actions of
a manager's queue, the actions of a half-year. Each in a fixed number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from complaints.access import cases_visible_to
from complaints.errors import InvalidInput
from complaints.models import Case, Department, RootCause, Tier, User
from escalation.selectors import queue_tiers
from escalation.tiers import user_tier

from .access import actions_visible_to
from .models import (
    WORKING_STATUSES,
    Action,
    ActionCase,
    ActionEscalation,
    ActionEvent,
    Kind,
    Status,
    overdue_flag,
)
from .overdue import local_midnight


def _linked_cases() -> Prefetch:
    return Prefetch(
        "links",
        queryset=ActionCase.objects.select_related("case").order_by("linked_at", "pk"),
    )


def action_list(*, user: User, qs: QuerySet[Action] | None = None) -> QuerySet[Action]:
    """Actions for a list with everything a row shows (owner, department, linked cases,
    overdue), in a fixed number of queries: the page and one for its cases."""
    qs = actions_visible_to(user=user) if qs is None else qs
    return (
        qs.select_related("owner", "department")
        .prefetch_related(_linked_cases())
        .annotate(is_overdue=overdue_flag())
    )


def actions_of_case(*, user: User, case: Case, with_cases: bool = False) -> QuerySet[Action]:
    """The actions a case is linked to, open ones first (then by due date), as its page's panel
    and the API list them: one query, and one more for the cases each comes from when
    ``with_cases`` (the panel does not show them)."""
    qs = action_list(user=user, qs=actions_visible_to(user=user).filter(links__case=case))
    if not with_cases:
        qs = qs.prefetch_related(None)
    return qs.order_by(F("closed_at").asc(nulls_first=True), "due_on", "pk")


def cases_by_reference(*, user: User, references: list[str], field: str = "cases") -> list[Case]:
    """The cases the user may see with these references (one query), in the order given;
    a reference that names no such case is refused with it named."""
    wanted = list(dict.fromkeys(r.strip().upper() for r in references if r.strip()))
    if any("\x00" in r or len(r) > 20 for r in wanted):
        raise InvalidInput(fields={field: [_("These are not case references.")]})
    found = {
        case.reference: case
        for case in cases_visible_to(user=user)
        .select_related("department", "receiver", "owner", "responsible_person")
        .filter(reference__in=wanted)
    }
    missing = [r for r in wanted if r not in found]
    if missing:
        raise InvalidInput(
            fields={field: [_("No case %(references)s.") % {"references": ", ".join(missing)}]}
        )
    return [found[r] for r in wanted]


def references_in(text: str) -> list[str]:
    """Case references typed into a field, separated by commas, spaces or new lines."""
    # Chinese input methods type the full-width comma and the enumeration comma.
    return [part for part in re.split(r"[\s,;\uff0c\u3001]+", text or "") if part]


# ---------------------------------------------------------------- history


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    old: str
    new: str


_LABELS = {
    "kind": (Action._meta.get_field("kind").verbose_name, dict(Kind.choices)),
    "root_cause": (Action._meta.get_field("root_cause").verbose_name, dict(RootCause.choices)),
    "cause": (Action._meta.get_field("cause").verbose_name, {}),
    "title": (Action._meta.get_field("title").verbose_name, {}),
    "plan": (Action._meta.get_field("plan").verbose_name, {}),
    "owner": (Action._meta.get_field("owner").verbose_name, {}),
    "department": (Action._meta.get_field("department").verbose_name, {}),
    "due_on": (Action._meta.get_field("due_on").verbose_name, {}),
    "status": (Action._meta.get_field("status").verbose_name, dict(Status.choices)),
    "tier": (Action._meta.get_field("tier").verbose_name, dict(Tier.choices)),
    "cases": (Action._meta.get_field("cases").verbose_name, {}),
}


def _display(name: str, value: Any, people: dict, departments: dict) -> str:
    if value in (None, "", []):
        return "—"
    if name == "owner":
        return str(people.get(value, value))
    if name == "department":
        return str(departments.get(value, value))
    if name == "due_on":
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, list):
        # Translators: separates the items of a list (Chinese uses 、).
        return _(", ").join(str(v) for v in value)
    return str(_LABELS[name][1].get(value, value))


def action_history(*, action: Action) -> list[ActionEvent]:
    """The action's events, oldest first, each with ``change_rows`` ready to show. Three queries
    whatever the length: events, and the people and departments the changes name."""
    events = list(action.events.select_related("actor").order_by("at", "pk"))
    person_ids, department_ids = set(), set()
    for event in events:
        for name, pair in event.changes.items():
            ids = {v for v in pair if isinstance(v, int)}
            if name == "owner":
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
                label=str(_LABELS[name][0]),
                old=_display(name, old, people, departments),
                new=_display(name, new, people, departments),
            )
            for name, (old, new) in event.changes.items()
            if name in _LABELS and name != "status"
        ]
    return events


# ---------------------------------------------------------------- the managers' queue


def action_escalation_queue(*, user: User) -> QuerySet[ActionEscalation]:
    """Unacknowledged escalations of actions still to be carried out and still at the tier
    they were escalated to, for my tier(s); a department head's of their department only.
    Soonest overdue first."""
    tiers = queue_tiers(user)
    qs = ActionEscalation.objects.filter(
        to_tier__in=tiers,
        to_tier=F("action__tier"),
        acknowledged_at__isnull=True,
        action__status__in=WORKING_STATUSES,
    )
    if user_tier(user) == Tier.DEPARTMENT_HEAD:
        qs = qs.filter(action__department_id=user.department_id)
    return qs.select_related("action", "action__owner", "action__department").order_by(
        "due_at", "at", "pk"
    )


def queue_querysets(user: User) -> dict[str, QuerySet]:
    """The actions' part of the header's queue count (``complaints.navigation``)."""
    if not queue_tiers(user):
        return {}
    return {"queue_actions": action_escalation_queue(user=user)}


# ---------------------------------------------------------------- the half-yearly summary


def actions_in_period(
    *, first: date, last: date, department: Department | None, limit: int = 200
) -> QuerySet[Action]:
    """The actions recorded, done, verified or cancelled between ``first`` and ``last`` (local
    dates, inclusive), of a department — its owner department, or that of a case it comes
    from — or of all (``department`` None); by root cause, then recorded."""
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    qs = Action.objects.filter(
        Q(recorded_at__gte=start, recorded_at__lt=end)
        | Q(done_at__gte=start, done_at__lt=end)
        | Q(closed_at__gte=start, closed_at__lt=end)
    )
    if department is not None:
        qs = qs.filter(
            Q(department=department)
            | Q(pk__in=ActionCase.objects.filter(case__department=department).values("action"))
        )
    return (
        qs.select_related("owner", "department")
        .prefetch_related(_linked_cases())
        .order_by("root_cause", "recorded_at", "pk")[:limit]
    )
