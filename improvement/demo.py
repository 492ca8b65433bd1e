"""Demo corrective and preventive actions for a first run (``seed_demo``, through the
``demo_seeded`` hook): one of each status a reader will meet, made through the services."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.utils import timezone

from complaints.models import Case, RootCause
from complaints.roles import Role

from . import services
from .access import case_past_analysis
from .models import Kind, Status

ACTIONS = [
    # (kind, root cause, what is to be done, the cause, days until due, status to reach)
    (
        Kind.CORRECTIVE,
        RootCause.MATERIALS,
        "Replace the W-200 drum bearings from the faulty batch",
        "Bearings of one supplier's batch wear out within weeks.",
        14,
        Status.OPEN,
    ),
    (
        Kind.PREVENTIVE,
        RootCause.PROCESS,
        "Call every customer whose delivery slips by more than a day",
        "Late deliveries are not announced to the customer.",
        3,
        Status.IN_PROGRESS,
    ),
    (
        Kind.CORRECTIVE,
        RootCause.PEOPLE,
        "Warranty training for the store's sales assistants",
        "Sales assistants could not explain the warranty.",
        7,
        Status.DONE,
    ),
    (
        Kind.PREVENTIVE,
        RootCause.EQUIPMENT,
        "Check the tills' promotion prices every Monday",
        "The tills did not carry the promotion's prices.",
        10,
        Status.VERIFIED,
    ),
]


def actions_seed(*, users: dict, cases: list[Case]) -> None:
    handler, quality = users.get(Role.HANDLER), users.get(Role.QUALITY_MANAGER)
    if handler is None or quality is None:
        return  # demo data without the people who record and verify actions
    by_cause: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        if case_past_analysis(case):
            by_cause[case.root_cause_category].append(case)
    today = timezone.localdate()
    for kind, cause, title, why, days, status in ACTIONS:
        linked = by_cause.get(cause, [])[:2]
        if not linked:
            continue
        action = services.action_record(
            by=handler,
            kind=kind,
            root_cause=cause,
            cause=why,
            title=title,
            owner=handler,
            due_on=today + timedelta(days=days),
            cases=linked,
        )
        if status in (Status.IN_PROGRESS, Status.DONE, Status.VERIFIED):
            services.action_transition(action=action, to=Status.IN_PROGRESS, by=handler)
        if status in (Status.DONE, Status.VERIFIED):
            services.action_transition(
                action=action, to=Status.DONE, by=handler, note="Done as planned; see the plan."
            )
        if status == Status.VERIFIED:
            services.action_verify(
                action=action,
                by=quality,
                note="Checked on three Mondays: the tills carried the right prices.",
            )
