"""The half-yearly summary: the period's tables for a department or the whole organisation,
the corrective actions taken, printable; the same figures as the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from complaints.models import Step
from improvement.services import action_record, action_transition, action_verify
from reporting.summary import Half, half_for

from ..factories import receive_case, walk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("figures_from")]


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 11, 23), Half(2026, 1)), (date(2026, 3, 1), Half(2025, 2))],
)
def test_without_a_choice_the_last_ended_half_year_is_shown(today, expected):
    assert half_for(None, today=today) == expected
    assert half_for("nonsense", today=today) == expected


def test_a_half_year_runs_from_january_to_june_or_july_to_december():
    assert (Half(2026, 1).first, Half(2026, 1).last) == (date(2026, 1, 1), date(2026, 6, 30))
    assert (Half(2026, 2).first, Half(2026, 2).last) == (date(2026, 7, 1), date(2026, 12, 31))
    assert half_for("2026-H2") == Half(2026, 2)


@pytest.fixture
def worked(agent, handler, after_sales, time_machine):
    """Two cases received in the first half of 2026 and one in the second, the first walked to
    Confirm and a corrective action recorded from it in March."""
    time_machine.move_to(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
    acted = walk(
        receive_case(by=agent), to=Step.CONFIRM, by=agent, department=after_sales, person=handler
    )
    receive_case(by=agent)
    action_record(
        by=handler,
        kind="corrective",
        root_cause="materials",
        cause="The bearing batch was faulty.",
        title="Change the bearing supplier",
        owner=handler,
        due_on=date(2026, 3, 31),
        cases=[acted],
    )
    time_machine.move_to(datetime(2026, 8, 3, 9, tzinfo=UTC), tick=False)
    receive_case(by=agent)
    time_machine.move_to(datetime(2026, 11, 23, 9, tzinfo=UTC), tick=False)
    return acted


def test_the_summary_shows_the_half_years_figures_and_actions(client, quality_manager, worked):
    client.force_login(quality_manager)

    response = client.get("/reports/summary/", {"half": "2026-H1"})

    assert response.status_code == 200
    outcomes = next(
        s["table"] for s in response.context["sections"] if s["table"].key == "outcomes"
    )
    assert outcomes.rows[0].values["value"] == 2
    [action] = response.context["actions"]
    assert (action.title, action.status, list(action.cases.all())) == (
        "Change the bearing supplier",
        "open",
        [worked],
    )
    assert "Change the bearing supplier" in response.text
    assert worked.reference in response.text


def test_the_summary_lists_the_actions_done_or_closed_in_the_half_year(
    client, quality_manager, handler, worked, time_machine
):
    [action] = worked.improvement_actions.all()
    time_machine.move_to(datetime(2026, 7, 6, 9, tzinfo=UTC), tick=False)
    action_transition(action=action, to="done", by=handler, note="New supplier since July.")
    action_verify(action=action, by=quality_manager, note="No complaint since.")
    client.force_login(quality_manager)

    second_half = client.get("/reports/summary/", {"half": "2026-H2"})
    first_half = client.get("/reports/summary/", {"half": "2025-H2"})

    assert [(a.pk, a.status) for a in second_half.context["actions"]] == [(action.pk, "verified")]
    assert 'data-testid="summary-action"' in second_half.text
    assert list(first_half.context["actions"]) == []


def test_a_departments_summary_has_its_own_actions_only(
    client, quality_manager, department_head, worked, logistics, after_sales, time_machine
):
    time_machine.move_to(datetime(2026, 4, 1, 9, tzinfo=UTC), tick=False)
    elsewhere = walk(
        receive_case(by=quality_manager),
        to=Step.DECIDE,
        by=quality_manager,
        department=logistics,
        person=quality_manager,
    )
    action_record(
        by=quality_manager,
        kind="preventive",
        root_cause="process",
        cause="Parcels leave without a call.",
        title="Call before every delivery",
        department=logistics,
        due_on=date(2026, 5, 1),
        cases=[elsewhere],
    )
    time_machine.move_to(datetime(2026, 11, 23, 9, tzinfo=UTC), tick=False)

    def titles(user, **query) -> list[str]:
        client.force_login(user)
        response = client.get("/reports/summary/", {"half": "2026-H1", **query})
        assert response.status_code == 200
        return sorted(a.title for a in response.context["actions"])

    everything = ["Call before every delivery", "Change the bearing supplier"]
    assert titles(quality_manager) == everything
    assert titles(quality_manager, department=after_sales.pk) == ["Change the bearing supplier"]
    assert titles(quality_manager, department=logistics.pk) == ["Call before every delivery"]
    # The head's "whole organisation" is their department, as its figures are.
    assert titles(department_head) == ["Change the bearing supplier"]


def test_a_department_heads_summary_is_of_their_department(client, department_head, worked):
    client.force_login(department_head)

    response = client.get("/reports/summary/", {"half": "2026-H1"})

    assert response.status_code == 200
    assert list(response.context["departments"]) == [worked.department]


def test_a_department_not_in_the_readers_scope_is_not_found(
    client, department_head, worked, logistics
):
    client.force_login(department_head)

    assert client.get("/reports/summary/", {"department": logistics.pk}).status_code == 404


def test_handlers_get_no_summary(client, handler):
    client.force_login(handler)

    assert client.get("/reports/summary/").status_code == 403


def test_the_summary_reads_in_chinese(client, quality_manager, worked):
    client.force_login(quality_manager)

    response = client.get("/reports/summary/", {"half": "2026-H1"}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert "半年度投诉总结" in response.text and "纠正和预防措施" in response.text
