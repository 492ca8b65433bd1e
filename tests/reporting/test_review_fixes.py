"""Rules found by review: a figure's parameters never travel on to other figures; the escalation
reason filters alone; a spike's link keeps its own week; what waits now counts and links
whatever the period; impossible dates give no cases, not an error."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from complaints.models import Case
from escalation.services import case_escalate_manually, case_refer_external
from reporting.filters import ReportCaseFilter

from ..factories import receive_case

pytestmark = pytest.mark.django_db


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_figures_parameters_do_not_travel_to_the_other_figures(client, quality_manager, agent):
    receive_case(by=agent)
    client.force_login(quality_manager)

    response = client.get("/reports/", {"milestone": "decided", "left_step": "listen"})

    for section in response.context["sections"]:
        for row in section["table"].rows:
            if row.url and section["table"].key != "compliance":
                assert "milestone" not in params(row.url), section["table"].key
                assert "left_step" not in params(row.url), section["table"].key


def test_the_way_back_from_the_cases_carries_only_the_dashboards_filters(
    client, quality_manager, agent
):
    receive_case(by=agent)
    client.force_login(quality_manager)

    response = client.get("/reports/cases/", {"category": "safety", "milestone": "decided"})

    back = params("?" + response.context["dashboard_query"])
    assert "milestone" not in back and back["category"] == ["safety"]


def test_the_escalation_reason_filters_on_its_own(agent, handler, after_sales):
    escalated, quiet = receive_case(by=agent), receive_case(by=agent)
    case_escalate_manually(case=escalated, by=agent, note="The press called.")

    found = ReportCaseFilter({"escalation_reason": "manual"}, queryset=Case.objects.all()).qs

    assert list(found) == [escalated] and quiet not in found


def test_what_waits_now_counts_whenever_the_case_came_in(client, quality_manager, agent):
    old = receive_case(by=agent, received_at=timezone.now() - timedelta(days=200))
    case_refer_external(case=old, by=quality_manager, reviewer="Council", reason="Stuck.")
    client.force_login(quality_manager)

    response = client.get("/reports/")

    assert response.context["waiting"]["external_review"] == 1
    listed = client.get(response.context["waiting_urls"]["external_review"])
    assert [c.reference for c in listed.context["page_obj"]] == [old.reference]


@pytest.mark.parametrize(
    "query",
    [
        {"received_after": "0001-01-01"},
        {"received_before": "9999-12-31"},
        {"received_after": "1899-12-31", "received_before": "2026-01-01"},
    ],
)
def test_impossible_dates_give_no_cases_not_an_error(
    client, quality_manager, agent, query, settings
):
    settings.TIME_ZONE = "America/New_York"
    receive_case(by=agent)
    client.force_login(quality_manager)

    for url in ("/reports/", "/reports/cases/", "/reports/export/outcomes.csv"):
        assert client.get(url, query).status_code == 200, url


def test_a_department_head_is_offered_only_their_own_department(
    client, department_head, logistics, agent
):
    receive_case(by=agent)
    client.force_login(department_head)

    form = client.get("/reports/").context["filter"].form

    assert list(form.fields["department"].queryset) == [department_head.department]
    assert logistics.name not in client.get("/reports/").text
