"""The half-yearly summary: the period's tables for a department or the whole organisation,
the corrective actions taken, printable; the same figures as the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from complaints.models import Step
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
    Confirm with its actions taken."""
    time_machine.move_to(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
    acted = walk(
        receive_case(by=agent), to=Step.CONFIRM, by=agent, department=after_sales, person=handler
    )
    receive_case(by=agent)
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
    assert list(response.context["actions"]) == [worked]
    assert "Repaired on site." in response.text


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
    assert "半年度投诉总结" in response.text and "已采取的纠正措施" in response.text
