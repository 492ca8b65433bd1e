"""Every KPI table of ``reporting.selectors`` against values computed by hand from the known set
of cases in ``conftest.py`` (the world, in Asia/Shanghai), and every row's link: its
``cases`` parameters, fed to ``ReportCaseFilter``, select exactly the cases behind the figure.

The world's scope here is "received in March" (``world.scope``). Tests of a single edge case
add their own cases in April or later and read only those, on top of the world."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.functional import Promise

from complaints import services
from complaints.models import Case, Ending, Step
from escalation.approvals import approval_decide
from escalation.models import Approval, ExternalReview
from escalation.services import external_review_record_outcome
from reporting import quality, selectors
from reporting.filters import ReportCaseFilter

from .conftest import local, moved, persona, received, swept, walked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("world")]

agent = persona("agent")
handler = persona("handler")
department_head = persona("department_head")
quality_manager = persona("quality_manager")

APRIL = local(2026, 4, 1)


# ---------------------------------------------------------------- helpers


def plain(value):
    """A lazy label as the text it shows; numbers and dates as they are."""
    return str(value) if isinstance(value, Promise) else value


def values(table, *keys: str) -> list[tuple]:
    return [tuple(plain(row.values[key]) for key in keys) for row in table.rows]


def behind(params: dict[str, str] | None, scope) -> set[str]:
    """The references of the cases a figure's link lists (``ReportCaseFilter`` over the scope)."""
    assert params is not None, "this figure has no link"
    case_filter = ReportCaseFilter(QueryDict(urlencode(params)), queryset=scope)
    assert case_filter.is_valid(), case_filter.errors
    return set(case_filter.qs.values_list("reference", flat=True))


def links(table, scope) -> list[set[str]]:
    return [behind(row.cases, scope) for row in table.rows]


def since(moment) -> QuerySet[Case]:
    return Case.objects.filter(received_at__gte=moment)


def closed_without_a_rating(agent, handler, quality_manager) -> dict[str, Case]:
    """Three April cases, each closed by one of the endings (``lifecycle.ENDINGS``): unreachable
    at Follow up after the attempts, withdrawn and not a complaint at Receive."""
    unreachable = received(agent, local(2026, 4, 1, 10))
    walked(
        unreachable,
        Step.FOLLOW_UP,
        local(2026, 4, 1, 10, 30),
        by=agent,
        department=handler.department,
        person=handler,
    )
    withdrawn = received(agent, local(2026, 4, 2, 10))
    spam = received(agent, local(2026, 4, 3, 10))
    with time_machine.travel(local(2026, 4, 3, 12), tick=False):
        for _ in range(settings.FOLLOW_UP_ATTEMPTS):
            services.case_contact_record(
                case=unreachable, by=agent, method="phone", result="no_answer"
            )
        for case, by, ending in [
            (unreachable, agent, Ending.UNREACHABLE),
            (withdrawn, agent, Ending.WITHDRAWN),
            (spam, quality_manager, Ending.NOT_A_COMPLAINT),
        ]:
            services.case_transition(
                case=case, to=Step.CLOSED, by=by, ending=ending, note="Why, in a word."
            )
    return {"unreachable": unreachable, "withdrawn": withdrawn, "not_a_complaint": spam}


# ---------------------------------------------------------------- volume over time


def test_bucket_is_days_up_to_a_month_weeks_up_to_half_a_year_months_beyond():
    start = date(2026, 1, 1)

    assert selectors.bucket_for(start, start + timedelta(days=31)) == "day"
    assert selectors.bucket_for(start, start + timedelta(days=32)) == "week"
    assert selectors.bucket_for(start, start + timedelta(days=183)) == "week"
    assert selectors.bucket_for(start, start + timedelta(days=184)) == "month"
    assert selectors.bucket_for(None, start) == "month"


def test_cases_at_23_30_and_00_30_local_fall_on_different_days(world):
    table = selectors.volume_over_time(cases=world.scope, bucket="day")

    # sun (Sun 8 Mar 23:30) and mon (Mon 9 Mar 00:30) are both Sunday 8 March in UTC.
    assert values(table, "period", "cases") == [
        (date(2026, 3, 2), 2),
        (date(2026, 3, 8), 1),
        (date(2026, 3, 9), 1),
        (date(2026, 3, 23), 1),
        (date(2026, 3, 25), 2),
        (date(2026, 3, 26), 2),
    ]


def test_in_utc_the_same_two_cases_would_fall_on_one_day(world, settings):
    settings.TIME_ZONE = "UTC"

    table = selectors.volume_over_time(
        cases=world.scope.filter(pk__in=[world.sun.pk, world.mon.pk]), bucket="day"
    )

    assert values(table, "period", "cases") == [(date(2026, 3, 8), 2)]


def test_weeks_start_on_monday_in_the_local_time_zone(world):
    table = selectors.volume_over_time(cases=world.scope, bucket="week")

    # Sun 8 Mar 23:30 closes the week of Mon 2 Mar; Mon 9 Mar 00:30 opens the next.
    assert values(table, "period", "cases") == [
        (date(2026, 3, 2), 3),
        (date(2026, 3, 9), 1),
        (date(2026, 3, 23), 5),
    ]


def test_months_are_cut_at_local_midnight(agent):
    june = received(agent, local(2026, 6, 30, 23, 30))
    july = received(agent, local(2026, 7, 1, 0, 30))  # both 30 June in UTC

    table = selectors.volume_over_time(cases=since(local(2026, 6, 1)), bucket="month")

    assert values(table, "period", "cases") == [(date(2026, 6, 1), 1), (date(2026, 7, 1), 1)]
    assert links(table, since(local(2026, 6, 1))) == [{june.reference}, {july.reference}]
    trend = selectors.compliance_trend(cases=since(local(2026, 6, 1)))
    assert [row.values["month"] for row in trend.rows] == [date(2026, 6, 1), date(2026, 7, 1)]
    assert links(trend, since(local(2026, 6, 1))) == [{june.reference}, {july.reference}]


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        (
            "day",
            [
                ("2026-03-02", "2026-03-02", {"quick", "late"}),
                ("2026-03-08", "2026-03-08", {"sun"}),
                ("2026-03-09", "2026-03-09", {"mon"}),
                ("2026-03-23", "2026-03-23", {"reopen"}),
                ("2026-03-25", "2026-03-25", {"external", "manual"}),
                ("2026-03-26", "2026-03-26", {"approval", "followup"}),
            ],
        ),
        (
            "week",
            [
                ("2026-03-02", "2026-03-08", {"quick", "late", "sun"}),
                ("2026-03-09", "2026-03-15", {"mon"}),
                (
                    "2026-03-23",
                    "2026-03-29",
                    {"reopen", "external", "manual", "approval", "followup"},
                ),
            ],
        ),
        (
            "month",
            [
                (
                    "2026-03-01",
                    "2026-03-31",
                    {"quick", "late", "sun", "mon", "reopen"}
                    | {"external", "manual", "approval", "followup"},
                )
            ],
        ),
    ],
)
def test_each_period_links_to_exactly_its_cases(world, bucket, expected):
    table = selectors.volume_over_time(cases=world.scope, bucket=bucket)

    assert [(row.cases["received_after"], row.cases["received_before"]) for row in table.rows] == [
        (first, last) for first, last, _names in expected
    ]
    assert links(table, world.scope) == [world.refs(*names) for _f, _l, names in expected]
    assert [row.values["cases"] for row in table.rows] == [len(n) for _f, _l, n in expected]


# ---------------------------------------------------------------- volume by dimension


def test_volume_by_channel_most_first(world):
    table = selectors.volume_by(cases=world.scope, dimension="channel")

    assert values(table, "value", "cases") == [
        ("Phone", 4),
        ("Dealer", 1),
        ("Email", 1),
        ("Letter", 1),
        ("Social media", 1),
        ("Web form", 1),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "mon", "reopen", "approval"),
        world.refs("followup"),
        world.refs("late"),
        world.refs("manual"),
        world.refs("external"),
        world.refs("sun"),
    ]


def test_volume_by_category_most_first(world):
    table = selectors.volume_by(cases=world.scope, dimension="category")

    assert values(table, "value", "cases") == [
        ("Product quality", 3),
        ("Price or billing", 2),
        ("Misleading promotion", 1),
        ("Safety", 1),
        ("Service attitude", 1),
        ("Service process / delay", 1),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "reopen", "approval"),
        world.refs("sun", "mon"),
        world.refs("manual"),
        world.refs("followup"),
        world.refs("external"),
        world.refs("late"),
    ]


def test_volume_by_product_counts_cases_without_one_unlinked(world):
    table = selectors.volume_by(cases=world.scope, dimension="product")

    assert values(table, "value", "cases") == [
        ("Washing machine W-200", 3),
        ("Not given", 2),
        ("Fridge F-1", 2),
        ("Heater H-9", 1),
        ("Promo P-1", 1),
    ]
    assert table.rows[1].cases is None  # no filter selects "no product"
    assert [behind(row.cases, world.scope) for row in table.rows if row.cases] == [
        world.refs("quick", "reopen", "approval"),
        world.refs("late", "mon"),
        world.refs("followup"),
        world.refs("manual"),
    ]


def test_volume_by_product_counts_spellings_the_filter_treats_as_one_product_as_one(agent):
    # The product filter (and the early warning) compare products case-insensitively: the
    # figure must count what its link lists.
    received(agent, local(2026, 4, 1, 10), product="Fridge F-1")
    received(agent, local(2026, 4, 1, 11), product="fridge f-1")

    table = selectors.volume_by(cases=since(APRIL), dimension="product")

    assert [row.values["cases"] for row in table.rows] == [2]
    assert table.rows[0].values["value"] in {"Fridge F-1", "fridge f-1"}
    assert len(behind(table.rows[0].cases, since(APRIL))) == 2


def test_volume_by_responsible_department_counts_cases_not_analysed_yet_unlinked(world):
    table = selectors.volume_by(cases=world.scope, dimension="department")

    assert plain(table.rows[0].values["value"]) == "After-sales"
    assert {plain(r.values["value"]): r.values["cases"] for r in table.rows} == {
        "After-sales": 5,
        "Logistics": 2,
        "Not named yet": 2,
    }
    by_label = {plain(r.values["value"]): r.cases for r in table.rows}
    assert by_label["Not named yet"] is None
    assert behind(by_label["After-sales"], world.scope) == world.refs(
        "quick", "late", "reopen", "approval", "followup"
    )
    assert behind(by_label["Logistics"], world.scope) == world.refs("mon", "manual")


# ---------------------------------------------------------------- time-limit compliance

COMPLIANCE_COLUMNS = (
    "milestone",
    "deadlines",
    "met",
    "met_share",
    "breached",
    "breached_share",
    "open",
    "open_share",
)


def test_compliance_per_milestone_counts_every_round_and_shares_of_all_deadlines(world):
    table = selectors.compliance(cases=world.scope)

    # First response: 9 round-0 deadlines + reopen's round 1. Met by leaving Listen: quick,
    # late, mon, reopen r0, external, manual, approval; breached: sun (still at Listen),
    # followup (red, 2 hours: it left Listen 3 hours after receipt, met late), and reopen r1
    # (a reopened round begins past Listen: only a message or a contact answers it, and no one
    # wrote to the customer).
    # Decide: 9 round-0 deadlines + reopen's round 1. Met: quick, mon, reopen twice, manual,
    # followup; breached: late (then met), sun, external, approval.
    # Act: 10 again. Met: quick, late, mon, reopen r0, followup; breached: sun, reopen r1;
    # open: external, manual, approval.
    # Closed: reopen's round 0, superseded unbreached, does not count: 9. Met: quick, late,
    # mon; breached: sun; open: reopen r1, external, manual, approval, followup (no answer).
    assert values(table, *COMPLIANCE_COLUMNS) == [
        ("First response", 10, 7, 0.7, 3, 0.3, 0, 0.0),
        ("Decide finished", 10, 6, 0.6, 4, 0.4, 0, 0.0),
        ("Act finished", 10, 5, 0.5, 2, 0.2, 3, 0.3),
        ("Closed", 9, 3, pytest.approx(3 / 9), 1, pytest.approx(1 / 9), 5, pytest.approx(5 / 9)),
    ]


def test_a_case_breached_then_closed_counts_as_breached_not_met(world):
    table = selectors.compliance(cases=world.scope.filter(pk=world.late.pk))

    assert values(table, "milestone", "deadlines", "met", "breached", "open") == [
        ("First response", 1, 1, 0, 0),
        ("Decide finished", 1, 0, 1, 0),
        ("Act finished", 1, 1, 0, 0),
        ("Closed", 1, 1, 0, 0),
    ]


def test_a_reopened_case_counts_both_rounds_but_not_the_unbreached_deadline_it_replaced(world):
    table = selectors.compliance(cases=world.scope.filter(pk=world.reopen.pk))

    # Round 1's first response: no one wrote to or reached the customer after the reopening.
    assert values(table, "milestone", "deadlines", "met", "breached", "open") == [
        ("First response", 2, 1, 1, 0),
        ("Decide finished", 2, 2, 0, 0),
        ("Act finished", 2, 1, 1, 0),
        ("Closed", 1, 0, 0, 1),
    ]


def test_a_case_with_no_follow_up_yet_leaves_its_closed_deadline_open(world):
    table = selectors.compliance(cases=world.scope.filter(pk=world.followup.pk))

    # Red: its first response was due within 2 hours; it left Listen after 3.
    assert values(table, "milestone", "met", "breached", "open") == [
        ("First response", 0, 1, 0),
        ("Decide finished", 1, 0, 0),
        ("Act finished", 1, 0, 0),
        ("Closed", 0, 0, 1),
    ]


def test_a_round_replaced_after_its_limit_was_breached_still_counts_as_breached(agent, handler):
    case = received(agent, local(2026, 4, 1, 10))
    walked(
        case,
        Step.FOLLOW_UP,
        local(2026, 4, 1, 10, 30),
        by=agent,
        department=handler.department,
        person=handler,
    )
    swept(local(2026, 4, 9, 10))  # the 7-day limit (Wed 8 Apr 10:00) passed at Follow up
    moved(
        case,
        Step.ANALYSE,
        local(2026, 4, 9, 11),
        by=agent,
        data={"satisfaction_rating": 1, "follow_up_comment": "A week and still nothing."},
    )

    table = selectors.compliance(cases=since(APRIL))

    # Round 1, at Analyse, has not yet responded (nor left Analyse).
    assert values(table, "milestone", "deadlines", "met", "breached", "open") == [
        ("First response", 2, 1, 0, 1),
        ("Decide finished", 2, 1, 0, 1),
        ("Act finished", 2, 1, 0, 1),
        ("Closed", 2, 0, 1, 1),
    ]


def test_a_deadline_met_late_while_the_sweep_was_not_running_counts_as_breached(agent, handler):
    # The sweep (every minute) had not run between the 1-day limit and the move: the
    # deadline has a met_at after its due_at and no breached_at.
    case = received(agent, local(2026, 4, 1, 10))
    walked(
        case,
        Step.ACT,
        local(2026, 4, 3, 10),
        by=agent,
        department=handler.department,
        person=handler,
    )

    table = selectors.compliance(cases=since(APRIL))

    # The first response (24 hours), met on leaving Listen two days on, is late too.
    assert values(table, "milestone", "met", "breached", "open") == [
        ("First response", 0, 1, 0),
        ("Decide finished", 0, 1, 0),
        ("Act finished", 0, 0, 1),
        ("Closed", 0, 0, 1),
    ]
    assert behind({"milestone": "decided", "deadline": "breached"}, since(APRIL)) == {
        case.reference
    }
    assert behind({"milestone": "decided", "deadline": "met"}, since(APRIL)) == set()


# (milestone, state) → (the figure: deadlines, the link: cases)
COMPLIANCE_BEHIND = {
    ("responded", "met"): (
        7,
        {"quick", "late", "mon", "reopen", "external", "manual", "approval"},
    ),
    ("responded", "breached"): (3, {"sun", "followup", "reopen"}),
    ("responded", "open"): (0, set()),
    ("decided", "met"): (6, {"quick", "mon", "reopen", "manual", "followup"}),
    ("decided", "breached"): (4, {"late", "sun", "external", "approval"}),
    ("decided", "open"): (0, set()),
    ("acted", "met"): (5, {"quick", "late", "mon", "reopen", "followup"}),
    ("acted", "breached"): (2, {"sun", "reopen"}),
    ("acted", "open"): (3, {"external", "manual", "approval"}),
    ("closed", "met"): (3, {"quick", "late", "mon"}),
    ("closed", "breached"): (1, {"sun"}),
    ("closed", "open"): (5, {"reopen", "external", "manual", "approval", "followup"}),
}


@pytest.mark.parametrize(("milestone", "state"), list(COMPLIANCE_BEHIND))
def test_the_cases_behind_a_compliance_count_are_those_with_such_a_deadline(
    world, milestone, state
):
    figure, names = COMPLIANCE_BEHIND[(milestone, state)]
    table = selectors.compliance(cases=world.scope)
    row = next(r for r in table.rows if r.cases == {"milestone": milestone})

    assert row.values[state] == figure
    assert behind({"milestone": milestone, "deadline": state}, world.scope) == world.refs(*names)


def test_compliance_counts_deadlines_and_its_links_list_cases_they_differ_by_extra_rounds(world):
    # The one difference in the world: reopen met its 1-day limit in both rounds, so "Decide
    # finished, met" is 6 deadlines of 5 cases, and each milestone's row lists the 9 cases. A
    # case is listed once however many of its rounds the figure counts.
    table = selectors.compliance(cases=world.scope)

    assert [row.values["deadlines"] for row in table.rows] == [10, 10, 10, 9]
    assert [len(behind(row.cases, world.scope)) for row in table.rows] == [9, 9, 9, 9]
    for row in table.rows[1:2]:
        milestone = row.cases["milestone"]
        assert (
            row.values["met"]
            - len(behind({"milestone": milestone, "deadline": "met"}, world.scope))
            == world.reopen.reopen_count
        )


def test_compliance_trend_is_the_share_met_of_judged_deadlines_by_month_received(world):
    table = selectors.compliance_trend(cases=world.scope)

    # Open deadlines are not judged: first response 7 of 10, Decide 6 of 10, Act 5 of 7,
    # Closed 3 of 4.
    assert values(table, "month", "responded", "decided", "acted", "closed") == [
        (date(2026, 3, 1), 0.7, 0.6, pytest.approx(5 / 7), 0.75)
    ]
    assert table.rows[0].cases == {"received_after": "2026-03-01", "received_before": "2026-03-31"}
    assert links(table, world.scope) == [world.refs(*world.cases)]


# ---------------------------------------------------------------- escalations and waiting


def test_escalations_by_tier_and_reason(world):
    table = selectors.escalations(cases=world.scope)

    assert values(table, "tier", "reason", "escalations", "cases") == [
        ("Department head", "Above authority", 1, 1),
        ("Department head", "Customer dissatisfied", 1, 1),
        ("Department head", "Manual", 1, 1),
        # sun, left at Listen, breached four limits: Decide (0→1), its first response (48 hours,
        # green: 1→2), Act (2→3) and the closing (3→3).
        ("Department head", "Overdue", 2, 2),
        ("Quality manager", "Overdue", 3, 3),
        # and reopen's new round, at the general manager, breached its first response.
        ("General manager", "Overdue", 3, 2),
        ("External review", "Manual", 1, 1),
    ]
    assert links(table, world.scope) == [
        world.refs("approval"),
        world.refs("reopen"),
        world.refs("manual"),
        world.refs("late", "sun"),
        world.refs("sun", "reopen", "approval"),
        world.refs("sun", "reopen"),
        world.refs("external"),
    ]


def test_waiting_counts_approvals_pending_and_cases_in_external_review(world, department_head):
    assert selectors.waiting(cases=world.scope) == {"approvals": 1, "external_review": 1}


def test_a_decided_approval_and_a_review_with_its_outcome_no_longer_wait(
    world, department_head, quality_manager
):
    approval_decide(
        approval=Approval.objects.get(case=world.approval), by=department_head, approve=True
    )
    external_review_record_outcome(
        review=ExternalReview.objects.get(case=world.external),
        by=quality_manager,
        outcome="Goodwill voucher.",
    )

    assert selectors.waiting(cases=world.scope) == {"approvals": 0, "external_review": 0}


# ---------------------------------------------------------------- the customer's verdict


def outcome_figures(table) -> dict:
    return {row.values["key"]: row.values["value"] for row in table.rows}


def test_outcomes_reopen_rate_repeats_and_satisfaction(world):
    table = quality.outcomes(cases=world.scope)

    assert outcome_figures(table) == {
        "total": 9,
        "closed": 3,
        "reopened": 1,
        "reopen_rate": pytest.approx(1 / 9),
        # sun (its customer 89 days before) and followup (quick's customer, 24 days before);
        # not mon (91 days).
        "repeats": 2,
        "repeat_customers": 2,
        # quick 5, late 2, mon 3, reopen 2 (its not-satisfied answer); followup not rated yet.
        "rating": pytest.approx(3.0),
        "handling": pytest.approx(2.5),
        # quick, late, mon satisfied; reopen not.
        "satisfied": pytest.approx(0.75),
        "rated": 4,
        # No case of the world closed without a rating (see the test of them below).
        "ended_unreachable": 0,
        "ended_withdrawn": 0,
        "ended_not_a_complaint": 0,
    }


def test_every_linked_outcome_lists_its_cases(world):
    table = quality.outcomes(cases=world.scope)
    linked = {
        row.values["key"]: behind(row.cases, world.scope)
        for row in table.rows
        if row.cases is not None
    }

    assert linked == {
        "total": world.refs(*world.cases),
        "closed": world.refs("quick", "late", "mon"),
        "reopened": world.refs("reopen"),
        "repeats": world.refs("sun", "followup"),
        # The share's numerator: the satisfied answers.
        "satisfied": world.refs("quick", "late", "mon"),
        "ended_unreachable": set(),
        "ended_withdrawn": set(),
        "ended_not_a_complaint": set(),
    }


def test_cases_closed_without_a_rating_are_counted_apart_each_row_listing_its_cases(
    agent, handler, quality_manager
):
    ended = closed_without_a_rating(agent, handler, quality_manager)

    table = quality.outcomes(cases=since(APRIL))

    figures = outcome_figures(table)
    assert {code: figures[f"ended_{code}"] for code in ended} == {
        "unreachable": 1,
        "withdrawn": 1,
        "not_a_complaint": 1,
    }
    # Closed, and no satisfaction figure.
    assert (figures["closed"], figures["rated"], figures["rating"], figures["satisfied"]) == (
        3,
        0,
        None,
        None,
    )
    rows = {row.values["key"]: row for row in table.rows}
    assert [plain(rows[f"ended_{code}"].values["figure"]) for code in ended] == [
        "Closed without a rating: Customer unreachable",
        "Closed without a rating: Withdrawn by the customer",
        "Closed without a rating: Not a complaint (spam)",
    ]
    for code, case in ended.items():
        assert rows[f"ended_{code}"].cases == {"ending": code}
        assert behind(rows[f"ended_{code}"].cases, since(APRIL)) == {case.reference}


def test_a_repeat_complaint_is_the_same_customer_within_the_90_days_before(world):
    earlier_x = world.sun.received_at - world.earlier["x0"].received_at
    earlier_y = world.mon.received_at - world.earlier["y0"].received_at
    assert (earlier_x.days, earlier_y.days) == (89, 91)

    assert world.sun.reference in behind({"repeat": "true"}, world.scope)
    assert world.mon.reference not in behind({"repeat": "true"}, world.scope)
    assert world.mon.reference in behind({"repeat": "false"}, world.scope)


def test_a_case_with_no_follow_up_yet_is_not_rated(world):
    table = quality.outcomes(cases=world.scope.filter(pk=world.followup.pk))

    figures = outcome_figures(table)
    assert (figures["rated"], figures["rating"], figures["satisfied"]) == (0, None, None)


def test_outcomes_of_no_cases_have_no_shares(world):
    figures = outcome_figures(quality.outcomes(cases=world.scope.none()))

    assert figures["total"] == 0
    assert figures["reopen_rate"] is None
    assert figures["satisfied"] is None
    assert figures["rating"] is None


def test_comments_needing_attention_are_the_unsatisfied_or_low_rated_latest_first(world):
    comments = quality.comments_needing_attention(cases=world.scope)

    # reopen: not satisfied; late: satisfied but rated 2. mon rated 3 with no comment.
    assert [case.reference for case in comments] == [world.reopen.reference, world.late.reference]


# ---------------------------------------------------------------- causes and remedies


def test_root_causes_pareto_with_shares_and_cumulative_shares(world):
    table = quality.root_causes(cases=world.scope)

    assert values(table, "value", "cases", "share", "cumulative") == [
        ("Materials", 3, pytest.approx(3 / 7), pytest.approx(3 / 7)),
        ("Equipment", 1, pytest.approx(1 / 7), pytest.approx(4 / 7)),
        ("Misunderstanding / no fault found", 1, pytest.approx(1 / 7), pytest.approx(5 / 7)),
        ("People", 1, pytest.approx(1 / 7), pytest.approx(6 / 7)),
        ("Process", 1, pytest.approx(1 / 7), pytest.approx(1.0)),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "reopen", "approval"),
        world.refs("followup"),
        world.refs("mon"),
        world.refs("manual"),
        world.refs("late"),
    ]


def test_responsible_departments_pareto(world):
    table = quality.responsible_departments(cases=world.scope)

    assert values(table, "value", "cases", "share", "cumulative") == [
        ("After-sales", 5, pytest.approx(5 / 7), pytest.approx(5 / 7)),
        ("Logistics", 2, pytest.approx(2 / 7), pytest.approx(1.0)),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "late", "reopen", "approval", "followup"),
        world.refs("mon", "manual"),
    ]


def test_validity_mix_of_the_analysed_cases(world):
    table = quality.validity_mix(cases=world.scope)

    assert values(table, "value", "cases", "share") == [
        ("Valid", 6, pytest.approx(6 / 7)),
        ("Not valid (misunderstanding)", 1, pytest.approx(1 / 7)),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "late", "reopen", "manual", "approval", "followup"),
        world.refs("mon"),
    ]


def test_remedies_by_type_count_a_case_under_each_of_its_remedies_with_its_whole_value(world):
    table = quality.remedies_by_type(cases=world.scope)

    assert values(table, "value", "cases", "total") == [
        ("Apology", 3, Decimal("540")),  # quick 120 + reopen 300 + followup 120
        ("Repair", 2, Decimal("240")),  # quick + followup
        ("Replacement", 1, Decimal("300")),
        ("Full refund", 1, Decimal("1000")),  # decided, waiting for approval
        ("Partial refund", 1, Decimal("200")),  # not mistaken for "full_refund"
        ("Voucher or discount", 1, Decimal("50")),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "reopen", "followup"),
        world.refs("quick", "followup"),
        world.refs("reopen"),
        world.refs("approval"),
        world.refs("late"),
        world.refs("manual"),
    ]


def test_remedies_by_department_count_and_total_the_cases_with_a_remedy(world):
    table = quality.remedies_by_department(cases=world.scope)

    # mon (Logistics) was found not valid: an explanation, no remedy.
    assert values(table, "value", "cases", "total") == [
        ("After-sales", 5, Decimal("1740")),
        ("Logistics", 1, Decimal("50")),
    ]
    assert links(table, world.scope) == [
        world.refs("quick", "late", "reopen", "approval", "followup"),
        world.refs("manual"),
    ]


def test_every_case_filter_parameter_of_a_figure_is_one_the_case_list_accepts(
    world, agent, handler, quality_manager
):
    # So that every figure has a case behind it: the world has none closed without a rating.
    closed_without_a_rating(agent, handler, quality_manager)
    tables = [
        selectors.volume_over_time(cases=world.scope, bucket="week"),
        *(selectors.volume_by(cases=world.scope, dimension=d) for d in selectors._DIMENSIONS),
        selectors.compliance(cases=world.scope),
        selectors.compliance_trend(cases=world.scope),
        selectors.escalations(cases=world.scope),
        quality.outcomes(cases=world.scope),
        quality.root_causes(cases=world.scope),
        quality.responsible_departments(cases=world.scope),
        quality.validity_mix(cases=world.scope),
        quality.remedies_by_type(cases=world.scope),
        quality.remedies_by_department(cases=world.scope),
    ]
    accepted = set(ReportCaseFilter.base_filters) | {"received_after", "received_before"}

    for table in tables:
        for row in table.rows:
            assert set(row.cases or {}) <= accepted, (table.key, row.cases)
            if row.cases is not None:
                assert behind(row.cases, world.scope), (table.key, row.values)
