# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""Placeholders of the texts written for a case (the knowledge base's reply templates, the
notices to customers): what a template may hold, how it is filled in for a case (in the
customer's language, dates in TIME_ZONE, nothing evaluated), and how a message becomes a
template again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from complaints import services as case_services
from complaints.placeholders import (
    PLACEHOLDERS,
    case_values,
    template_fill,
    template_problems,
    template_unfill,
)

from ..factories import CustomerFactory, receive_case, walk

# ---------------------------------------------------------------- what a template may hold


def test_a_template_with_known_placeholders_and_doubled_braces_has_no_problem():
    assert template_problems("Dear {customer_name}, case {reference} {{not a placeholder}}") == []


def test_an_unknown_placeholder_is_a_problem_that_names_it():
    problems = template_problems("Dear {customer}, see {tracking_link} and {reference}")

    assert len(problems) == 1
    assert "{customer}" in problems[0]
    assert "{tracking_link}" in problems[0]
    assert "{reference}" not in problems[0].split("Use one of")[0]
    assert "{customer_name}" in problems[0]  # says what may be used


def test_attribute_access_and_format_specs_are_unknown_placeholders():
    for template in ("{customer_name.__class__}", "{reference!r}", "{received_date:%Y}", "{0}"):
        assert template_problems(template), template


def test_a_lone_brace_is_a_problem():
    assert template_problems("Dear {customer_name")
    assert template_problems("costs 5} yuan")


def test_every_placeholder_is_documented_and_none_is_a_tracking_link():
    assert all(str(meaning) for meaning in PLACEHOLDERS.values())
    assert not [name for name in PLACEHOLDERS if "link" in name or "token" in name]


# ---------------------------------------------------------------- filling in


def test_filling_replaces_each_placeholder_once_and_never_evaluates_a_value():
    filled = template_fill(
        "{customer_name} / {reference} / {{reference}}",
        {"customer_name": "{reference}", "reference": "C202611-00001"},
    )

    assert filled.text == "{reference} / C202611-00001 / {reference}"
    assert filled.missing == []


def test_a_placeholder_without_a_value_stays_as_written_and_is_reported():
    filled = template_fill("Order {order_number} for {customer_name}", {"customer_name": "Li Na"})

    assert filled.text == "Order {order_number} for Li Na"
    assert filled.missing == ["order_number"]


@pytest.mark.django_db
def test_case_values_are_the_cases_in_the_customers_language_and_the_time_zone(
    agent, settings, after_sales, handler
):
    settings.TIME_ZONE = "Asia/Shanghai"
    agent.first_name = "Mei"
    # 20:30 UTC on 3 November is already 4 November in Shanghai.
    received = datetime(2026, 11, 3, 20, 30, tzinfo=UTC)
    with time_machine.travel(received + timedelta(hours=1), tick=False):
        case = receive_case(
            by=agent,
            customer=CustomerFactory(name="李娜"),
            received_at=received,
            order_number="SO-9",
        )
        case_services.case_update(case=case, by=agent, data={"product": "洗衣机 W-200"})
        case.refresh_from_db()
        english = case_values(case=case, by=agent, language="en")
        chinese = case_values(case=case, by=agent, language="zh-hans")

    assert english["customer_name"] == chinese["customer_name"] == "李娜"
    assert english["reference"] == case.reference
    assert english["received_date"] == "Nov. 4, 2026"
    assert chinese["received_date"] == "2026年11月4日"
    assert english["product"] == "洗衣机 W-200"
    assert english["order_number"] == "SO-9"
    assert english["agent_name"] == "Mei"
    # The next promised date: the case's next deadline (one day after receipt, the default
    # policy), as a Shanghai calendar day.
    assert case.due_at == received + timedelta(days=1)
    assert english["next_due_date"] == "Nov. 5, 2026"
    assert chinese["next_due_date"] == "2026年11月5日"
    assert english["remedies"] == english["department"] == ""


@pytest.mark.django_db
def test_a_promised_date_already_passed_is_no_value(agent):
    case = receive_case(by=agent)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        values = case_values(case=case, by=agent, language="en")

    assert values["next_due_date"] == ""


@pytest.mark.django_db
def test_remedies_are_listed_in_the_customers_language(agent, handler, after_sales):
    case = walk(receive_case(by=agent), to="act", by=agent, department=after_sales, person=handler)

    assert case_values(case=case, by=agent, language="en")["remedies"] == "Repair, Apology"
    assert case_values(case=case, by=agent, language="zh-hans")["remedies"] == "维修、道歉"
    assert case_values(case=case, by=agent, language="en")["department"] == "After-sales"


@pytest.mark.django_db
def test_an_agent_without_a_first_name_signs_as_customer_service(agent):
    agent.first_name = ""
    case = receive_case(by=agent)

    assert case_values(case=case, by=agent, language="en")["agent_name"] == "Customer service"


# ---------------------------------------------------------------- a message as a template


@pytest.mark.django_db
def test_a_message_becomes_a_template_with_the_cases_values_turned_back(agent):
    case = receive_case(by=agent, order_number="SO-77")
    case.customer.name = "Li"
    message = f"Dear Li, {case.reference} (order SO-77) is solved; Lisbon {{sic}} — Li"

    template = template_unfill(message, case=case)

    assert template == (
        "Dear {customer_name}, {reference} (order {order_number}) is solved; "
        "Lisbon {{sic}} — {customer_name}"
    )
    assert template_problems(template) == []
    values = case_values(case=case, by=agent, language="en")
    assert template_fill(template, values).text == message


@pytest.mark.django_db
def test_a_chinese_name_is_found_between_chinese_characters(agent):
    case = receive_case(by=agent)
    case.customer.name = "李娜"

    assert template_unfill("李娜您好，感谢李娜的耐心。", case=case) == (
        "{customer_name}您好，感谢{customer_name}的耐心。"
    )
