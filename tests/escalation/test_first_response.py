"""The first-response milestone (``Milestone.RESPONDED``): every round of a case has a deadline
for the customer to hear from a person, by the case's urgency (the policy's
``responded_<urgency>_within``: red 2 hours, yellow 24, green 48, counted from receipt or the
reopening, in the policy's clock). It is met by a message from staff to the customer or a
recorded contact that reached them or left them a message (``deadlines.is_first_response``), or
by the case moving beyond Listen; not by an internal note, the customer's own message or the
automatic notices. Left unmet it is warned, breached and escalated by the sweep like the other
milestones, and the reports count it in its own column. A policy may set no limit for an
urgency: such cases get no first-response deadline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.http import QueryDict

from complaints import customer_actions, services
from complaints.models import Case, CaseEvent, ContactAttempt, Step, Tier
from complaints.roles import Role
from conversation.models import Notice, NoticeKind
from escalation.models import Deadline, Escalation, Milestone, Notification, Policy
from escalation.sweep import Planned, sweep
from reporting import selectors
from reporting.dashboard import TABLES, scope_for, table_for
from reporting.figures import LiveFigures
from reporting.rollup import rollup_rebuild
from reporting.rollup_figures import RollupFigures

from ..factories import receive_case, staff, walk

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 3 March 2026, 10:00 UTC: an ordinary week, no holiday within a fortnight.
RECEIVED = datetime(2026, 3, 3, 10, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
MINUTE = timedelta(minutes=1)


# ---------------------------------------------------------------- helpers


def receive_at(when: datetime, *, by, **data) -> Case:
    with time_machine.travel(when, tick=False):
        return receive_case(by=by, received_at=when, **data)


def first_response(case: Case, round: int = 0) -> Deadline:
    return Deadline.objects.get(case=case, milestone=Milestone.RESPONDED, round=round)


def message_at(case: Case, when: datetime, *, by, customer_visible: bool = True) -> CaseEvent:
    with time_machine.travel(when, tick=False):
        return services.case_add_note(
            case=case, by=by, body="We are on it.", customer_visible=customer_visible
        )


def contact_at(case: Case, when: datetime, *, by, result: str, **kwargs) -> ContactAttempt:
    with time_machine.travel(when, tick=False):
        return services.case_contact_record(
            case=case, by=by, method=ContactAttempt.Method.PHONE, result=result, **kwargs
        )


def walk_at(case: Case, when: datetime, *, to: str, by, department, person) -> Case:
    with time_machine.travel(when, tick=False):
        walk(case, to=to, by=by, department=department, person=person)
    case.refresh_from_db()
    return case


def sweep_at(when: datetime):
    with time_machine.travel(when, tick=False):
        return sweep()


@pytest.fixture
def received(agent) -> Case:
    """A yellow case logged by the agent (its owner) at RECEIVED: first response within 24 h."""
    return receive_at(RECEIVED, by=agent)


@pytest.fixture
def working_time(db):
    """Every policy counted in working time: 09:00 to 18:00 in Shanghai, China's calendar."""
    for policy in Policy.objects.all():
        policy.clock = Policy.Clock.WORKING
        policy.time_zone = "Asia/Shanghai"
        policy.save()


# ---------------------------------------------------------------- due by urgency


@pytest.mark.parametrize(
    ("urgency", "limit"), [("red", 2 * H), ("yellow", 24 * H), ("green", 48 * H)]
)
def test_the_first_response_is_due_by_the_cases_urgency_from_receipt(agent, urgency, limit):
    case = receive_at(RECEIVED, by=agent, urgency=urgency)

    deadline = first_response(case)
    assert (deadline.round, deadline.starts_at, deadline.due_at) == (0, RECEIVED, RECEIVED + limit)
    assert deadline.clock == "calendar"
    assert deadline.is_open


def test_a_red_cases_first_response_is_its_next_deadline_and_warned_ahead(agent):
    case = receive_at(RECEIVED, by=agent, urgency="red")

    deadline = first_response(case)
    # The red policy warns at 75 % of the window and one hour before it ends.
    assert (deadline.warn_at, deadline.warn_before_at) == (RECEIVED + 90 * MINUTE, RECEIVED + H)
    assert deadline.next_check_at == RECEIVED + H
    assert case.due_at == RECEIVED + 2 * H


@pytest.mark.parametrize(
    ("urgency", "received_at", "due"),
    [
        # Friday 17:00: one working hour on Friday, one on Monday.
        (
            "red",
            datetime(2026, 3, 6, 17, tzinfo=SHANGHAI),
            datetime(2026, 3, 9, 10, tzinfo=SHANGHAI),
        ),
        # Tuesday 10:00: 8 hours on Tuesday, 9 on Wednesday, 7 on Thursday.
        (
            "yellow",
            datetime(2026, 3, 3, 10, tzinfo=SHANGHAI),
            datetime(2026, 3, 5, 16, tzinfo=SHANGHAI),
        ),
        # Friday 17:00: 1 hour, five working days of 9 (the weekend skipped), 2 on Monday 16th.
        (
            "green",
            datetime(2026, 3, 6, 17, tzinfo=SHANGHAI),
            datetime(2026, 3, 16, 11, tzinfo=SHANGHAI),
        ),
    ],
)
def test_in_working_time_the_first_response_counts_working_hours(
    agent, working_time, urgency, received_at, due
):
    case = receive_at(received_at, by=agent, urgency=urgency)

    deadline = first_response(case)
    assert deadline.clock == "working"
    assert deadline.due_at == due


def test_a_policy_without_a_limit_for_an_urgency_gives_no_first_response_deadline(agent):
    policy = Policy.objects.get(is_default=True)
    policy.responded_yellow_within = None
    policy.save()

    yellow = receive_at(RECEIVED, by=agent, urgency="yellow")
    green = receive_at(RECEIVED, by=agent, urgency="green")

    assert set(yellow.deadlines.values_list("milestone", flat=True)) == {
        Milestone.DECIDED,
        Milestone.ACTED,
        Milestone.CLOSED,
    }
    assert first_response(green).due_at == RECEIVED + 48 * H
    # Nothing to meet, nothing to escalate.
    message_at(yellow, RECEIVED + H, by=agent)
    sweep_at(RECEIVED + 20 * H)
    assert not Escalation.objects.filter(case=yellow).exists()


# ---------------------------------------------------------------- met


def test_a_message_from_staff_to_the_customer_meets_the_first_response(agent):
    case = receive_at(RECEIVED, by=agent, urgency="red")

    message_at(case, RECEIVED + H, by=agent)

    deadline = first_response(case)
    assert deadline.met_at == RECEIVED + H
    assert deadline.met_in_time is True
    assert deadline.next_check_at is None
    # The next deadline is now the red policy's 8-hour Decide.
    case.refresh_from_db()
    assert case.due_at == RECEIVED + 8 * H


def test_a_first_response_after_its_limit_is_met_late(received, agent):
    message_at(received, RECEIVED + 30 * H, by=agent)

    deadline = first_response(received)
    assert deadline.met_at == RECEIVED + 30 * H
    assert deadline.met_in_time is False


def test_a_later_message_does_not_move_the_first_response(received, agent):
    message_at(received, RECEIVED + H, by=agent)

    message_at(received, RECEIVED + 2 * H, by=agent)

    assert first_response(received).met_at == RECEIVED + H


def test_an_internal_note_is_not_a_first_response(received, agent):
    message_at(received, RECEIVED + H, by=agent, customer_visible=False)

    assert first_response(received).is_open


def test_the_customers_own_message_is_not_a_first_response(received):
    with time_machine.travel(RECEIVED + H, tick=False):
        customer_actions.case_customer_message(case=received, body="Anyone there?")

    assert first_response(received).is_open


def test_the_automatic_notices_are_not_a_first_response(received, agent):
    with time_machine.travel(RECEIVED + H, tick=False):
        customer_actions.case_tracking_renew(case=received, by=agent)

    # The customer was told their complaint is received, and sent a new link: no person spoke.
    assert set(Notice.objects.filter(case=received).values_list("kind", flat=True)) == {
        NoticeKind.ACKNOWLEDGEMENT,
        NoticeKind.LINK_RENEWED,
    }
    assert first_response(received).is_open


@pytest.mark.parametrize(
    "result", [ContactAttempt.Result.REACHED, ContactAttempt.Result.LEFT_MESSAGE]
)
def test_a_contact_that_reached_the_customer_or_left_a_message_is_a_first_response(
    received, agent, result
):
    contact_at(received, RECEIVED + 3 * H, by=agent, result=result)

    assert first_response(received).met_at == RECEIVED + 3 * H


@pytest.mark.parametrize(
    "result", [ContactAttempt.Result.NO_ANSWER, ContactAttempt.Result.WRONG_NUMBER]
)
def test_a_contact_that_did_not_reach_the_customer_is_not_a_first_response(received, agent, result):
    contact_at(received, RECEIVED + 3 * H, by=agent, result=result)

    assert first_response(received).is_open


def test_a_contact_recorded_afterwards_is_a_first_response_when_it_happened(received, agent):
    contact_at(
        received,
        RECEIVED + 30 * H,
        by=agent,
        result=ContactAttempt.Result.REACHED,
        at=RECEIVED + 5 * H,
    )

    deadline = first_response(received)
    assert deadline.met_at == RECEIVED + 5 * H
    assert deadline.met_in_time is True


def test_moving_beyond_listen_meets_the_first_response(received, agent, after_sales, handler):
    walk_at(
        received, RECEIVED + H, to=Step.LISTEN, by=agent, department=after_sales, person=handler
    )
    assert first_response(received).is_open  # at Listen: no one has spoken with them yet

    walk_at(
        received,
        RECEIVED + 2 * H,
        to=Step.ANALYSE,
        by=agent,
        department=after_sales,
        person=handler,
    )

    assert first_response(received).met_at == RECEIVED + 2 * H


# ---------------------------------------------------------------- warned, breached, escalated


def warnings_to(case: Case) -> list[tuple[str, str]]:
    return [
        (n.recipient.username, n.deadline.milestone)
        for n in Notification.objects.filter(case=case, kind=Notification.Kind.WARNING).order_by(
            "pk"
        )
    ]


def test_the_owner_is_warned_before_the_first_response_falls_due(agent):
    case = receive_at(RECEIVED, by=agent, urgency="red")

    # The red policy: one hour before the limit, then at 75 % of it.
    first = sweep_at(RECEIVED + H)
    second = sweep_at(RECEIVED + 90 * MINUTE)

    assert [(a.action, a.milestone) for a in first.actions + second.actions] == [
        ("warn", Milestone.RESPONDED),
        ("warn", Milestone.RESPONDED),
    ]
    assert warnings_to(case) == [("agent", Milestone.RESPONDED)] * 2
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.WARNED)
    assert [event.changes for event in events] == [{"milestone": [None, "responded"]}] * 2
    deadline = first_response(case)
    assert (deadline.warned_before_at, deadline.warned_at) == (
        RECEIVED + H,
        RECEIVED + 90 * MINUTE,
    )


def test_a_breached_first_response_is_escalated_once_as_overdue(agent, department_head):
    case = receive_at(RECEIVED, by=agent, urgency="red")
    due = RECEIVED + 2 * H

    result = sweep_at(due + MINUTE)

    assert result.actions == [Planned("escalate", case.reference, Milestone.RESPONDED, due, 0, 1)]
    escalation = Escalation.objects.get(case=case)
    assert (escalation.reason, escalation.milestone, escalation.round) == (
        Escalation.Reason.OVERDUE,
        Milestone.RESPONDED,
        0,
    )
    assert escalation.deadline == first_response(case)
    assert (escalation.from_tier, escalation.to_tier) == (Tier.HANDLER, Tier.DEPARTMENT_HEAD)
    deadline = first_response(case)
    assert (deadline.breached_at, deadline.met_at, deadline.next_check_at) == (due, None, None)
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD

    assert sweep_at(due + 2 * MINUTE).actions == []
    assert Escalation.objects.filter(case=case).count() == 1


def test_a_first_response_given_in_time_never_escalates(agent):
    case = receive_at(RECEIVED, by=agent, urgency="red")
    message_at(case, RECEIVED + 30 * MINUTE, by=agent)

    result = sweep_at(RECEIVED + 3 * H)

    assert result.actions == []
    assert not Escalation.objects.filter(case=case).exists()


# ---------------------------------------------------------------- a reopening's new round


def test_a_reopening_gives_the_new_round_its_own_first_response_deadline(
    received, agent, after_sales, handler
):
    walk_at(
        received, RECEIVED + H, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler
    )
    reopened_at = RECEIVED + 2 * D
    with time_machine.travel(reopened_at, tick=False):
        services.case_transition(
            case=received,
            to=Step.ANALYSE,
            by=agent,
            data={"satisfaction_rating": 2, "follow_up_comment": "Still loud."},
        )

    old, new = first_response(received, round=0), first_response(received, round=1)
    assert old.met_at == RECEIVED + H
    assert (new.starts_at, new.due_at, new.met_at) == (reopened_at, reopened_at + 24 * H, None)

    message_at(received, reopened_at + 3 * H, by=agent)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.met_at, new.met_at) == (RECEIVED + H, reopened_at + 3 * H)


# ---------------------------------------------------------------- the reports

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def three_cases(agent):
    """Three yellow cases received in March: one answered within the hour, one answered after
    its 24 hours (the sweep had breached it), one received an hour before NOW and not answered
    yet."""
    answered = receive_at(RECEIVED, by=agent)
    message_at(answered, RECEIVED + H, by=agent)
    late = receive_at(RECEIVED, by=agent)
    sweep_at(RECEIVED + 25 * H)
    message_at(late, RECEIVED + 26 * H, by=agent)
    fresh = receive_at(NOW - H, by=agent)
    return {"answered": answered, "late": late, "fresh": fresh}


def compliance_row(table, milestone: str) -> dict:
    row = next(r for r in table.rows if r.cases == {"milestone": milestone})
    return {key: row.values[key] for key in ("milestone", "deadlines", "met", "breached", "open")}


def test_the_compliance_table_has_the_first_response_first(three_cases):
    table = selectors.compliance(cases=Case.objects.all())

    assert str(table.rows[0].values["milestone"]) == "First response"
    first = compliance_row(table, Milestone.RESPONDED)
    assert (first["deadlines"], first["met"], first["breached"], first["open"]) == (3, 1, 1, 1)
    trend = selectors.compliance_trend(cases=Case.objects.all())
    assert [(column.key, str(column.label)) for column in trend.columns][:2] == [
        ("month", "Month"),
        ("responded", "First response"),
    ]
    assert trend.rows[0].values["responded"] == 0.5  # of the two judged, one in time


def rows(table):
    return [(row.values, row.cases, row.cell_cases) for row in table.rows]


def test_the_first_response_reads_the_same_from_the_rollup_as_from_the_cases(
    three_cases, quality_manager, time_machine
):
    time_machine.move_to(NOW, tick=False)
    rollup_rebuild()
    data = QueryDict(mutable=True)
    data.update({"received_after": "2026-03-01", "received_before": "2026-03-31"})

    found = scope_for(user=quality_manager, data=data)

    assert isinstance(found.figures, RollupFigures)
    live = LiveFigures(found.cases)
    for key in ("compliance", "compliance_trend"):
        from_rollup = table_for(found, key)
        assert rows(from_rollup) == rows(TABLES[key](live, found.bucket)), key
    first = compliance_row(table_for(found, "compliance"), Milestone.RESPONDED)
    assert (first["deadlines"], first["met"], first["breached"], first["open"]) == (3, 1, 1, 1)


# ---------------------------------------------------------------- the policy in the admin


@pytest.fixture
def editor(db):
    return staff(Role.QUALITY_MANAGER, username="qm_admin", is_staff=True)


def policy_form(policy: Policy, **changes) -> dict:
    """The admin's change form of ``policy`` as it shows, with ``changes``."""
    return {
        "name": policy.name,
        "is_default": "on" if policy.is_default else "",
        "active": "on",
        "urgency": policy.urgency,
        "category": policy.category,
        "clock": policy.clock,
        "responded_red_within": "2:00:00",
        "responded_yellow_within": "1 00:00:00",
        "responded_green_within": "2 00:00:00",
        "decided_within": "1 00:00:00",
        "acted_within": "3 00:00:00",
        "closed_within": "7 00:00:00",
        "workday_starts": "09:00",
        "workday_ends": "18:00",
        "holiday_country": "CN",
        "time_zone": "",
        "warn_at_percent": "75",
        "warn_before": "2:00:00",
        "renotify_every": "4:00:00",
        **changes,
    }


def change_url(policy: Policy) -> str:
    return f"/admin/escalation/policy/{policy.pk}/change/"


def test_the_policy_admin_shows_the_three_first_response_limits(client, editor):
    policy = Policy.objects.get(is_default=True)
    client.force_login(editor)

    page = client.get(change_url(policy)).content.decode()

    for urgency, shown in [("red", "02:00:00"), ("yellow", "1 00:00:00"), ("green", "2 00:00:00")]:
        assert re.search(rf'<input[^>]* name="responded_{urgency}_within" value="{shown}"', page)
        assert f"First response within, {urgency} urgency" in page


def test_the_policy_admin_saves_the_first_response_limits_an_empty_one_none(client, editor):
    policy = Policy.objects.get(is_default=True)
    client.force_login(editor)

    response = client.post(
        change_url(policy),
        policy_form(policy, responded_red_within="1:00:00", responded_green_within=""),
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    policy.refresh_from_db()
    assert (
        policy.responded_red_within,
        policy.responded_yellow_within,
        policy.responded_green_within,
    ) == (H, 24 * H, None)
    assert policy.version == 2


def test_the_policy_admin_refuses_a_first_response_limit_that_is_not_positive(client, editor):
    policy = Policy.objects.get(is_default=True)
    client.force_login(editor)

    response = client.post(change_url(policy), policy_form(policy, responded_red_within="0:00:00"))

    assert response.status_code == 200
    assert "The first-response limit must be positive." in response.content.decode()
    policy.refresh_from_db()
    assert (policy.responded_red_within, policy.version) == (2 * H, 1)


@pytest.mark.parametrize("limit", [timedelta(0), -H])
def test_a_policy_with_a_first_response_limit_that_is_not_positive_is_invalid(limit):
    policy = Policy(name="Odd", urgency="green", responded_yellow_within=limit)

    with pytest.raises(ValidationError) as raised:
        policy.clean()

    assert raised.value.message_dict == {
        "responded_yellow_within": ["The first-response limit must be positive."]
    }
