"""The early warning (投诉预警): a category, product or department far above its own last eight
weeks is flagged, recorded once and emailed once to the quality managers. Every figure here is
worked out by hand from the rule in reporting/early_warning.py:

    spike ⇔ count ≥ max(5, 2 * mean, mean + 3 * sd)   (sd: sample standard deviation)

The clock stands still at Thursday 12 March 2026, 07:00 UTC; this week began on Monday 9 March."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from complaints.models import Case, Department
from complaints.roles import Role
from escalation.models import ScheduledJob
from escalation.schedule import beat_schedule
from reporting.access import cases_reported_to
from reporting.early_warning import (
    spikes_current,
    spikes_deliver,
    spikes_detect_and_notify,
)
from reporting.models import Dimension, Spike
from reporting.tasks import early_warning

from ..factories import DepartmentFactory, receive_case, staff
from ..outages import refusing_mailers

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 12, 7, 0, tzinfo=UTC)
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)
WEEK = {"received_after": "2026-03-09", "received_before": "2026-03-15"}


@pytest.fixture(autouse=True)
def _clock(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SITE_URL = "https://heed.example"
    time_machine.move_to(NOW, tick=False)


def in_week(back: int, *, n: int = 1) -> list[datetime]:
    """``n`` moments in the week ``back`` weeks before this one (0: this week, Tuesday)."""
    return [MONDAY - timedelta(weeks=back) + timedelta(days=1, minutes=i) for i in range(n)]


def weekly(counts: list[int]) -> list[datetime]:
    """Moments with ``counts[k]`` cases in the week k + 1 weeks ago (counts[0]: last week)."""
    return [t for back, n in enumerate(counts, start=1) for t in in_week(back, n=n)]


_references = itertools.count(1)


@pytest.fixture
def make_cases(agent):
    """Make cases received at the given moments. The first is logged through the real intake
    service (long before the window, so it counts nowhere); the others are copies of it, made
    in one insert: the early warning reads only when a case was received, its category, its
    product and its responsible department."""
    template = receive_case(by=agent, received_at=datetime(2020, 1, 1, tzinfo=UTC))
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Case._meta.concrete_fields
        if not f.primary_key
    }

    def make(
        moments: list[datetime],
        *,
        category: str = "product_quality",
        product: str = "",
        department: Department | None = None,
    ) -> None:
        Case.objects.bulk_create(
            Case(
                **{
                    **fields,
                    "reference": f"T{next(_references):08d}",
                    "received_at": moment,
                    "category": category,
                    "product": product,
                    "department_id": department.pk if department else None,
                }
            )
            for moment in moments
        )

    return make


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """The early warning as the task runs it, with what it does after the commit."""

    def detect() -> list[Spike]:
        with django_capture_on_commit_callbacks(execute=True):
            return spikes_detect_and_notify()

    return detect


def only(rows, dimension=Dimension.CATEGORY):
    return [row for row in rows if row.dimension == dimension]


# ---------------------------------------------------------------- the rule


def test_ten_this_week_after_eight_weeks_of_two_is_a_spike(make_cases):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    [row] = spikes_current()

    # mean 2, sd 0: threshold max(5, 4, 2) = 5.
    assert (row.dimension, row.value, str(row.label)) == ("category", "safety", "Safety")
    assert row.week == date(2026, 3, 9)
    assert (row.count, row.baseline, row.threshold, row.ratio) == (10, 2.0, 5.0, 5.0)
    assert row.cases == {"category": "safety", **WEEK}


@pytest.mark.parametrize(("this_week", "spike"), [(4, False), (5, True)])
def test_a_rise_below_the_minimum_of_five_is_no_spike(make_cases, this_week, spike):
    # One a week, then four: four times the usual week, but too few cases to mean anything.
    make_cases(weekly([1] * 8) + in_week(0, n=this_week), category="safety")

    assert bool(spikes_current()) is spike


@pytest.mark.parametrize(("this_week", "spike"), [(11, False), (12, True)])
def test_against_a_high_baseline_the_week_must_double_it(make_cases, this_week, spike):
    # Six a week: mean 6, sd 0, threshold max(5, 12, 6) = 12.
    make_cases(weekly([6] * 8) + in_week(0, n=this_week), category="price_billing")

    rows = spikes_current()

    assert bool(rows) is spike
    if spike:
        assert (rows[0].count, rows[0].baseline, rows[0].threshold, rows[0].ratio) == (
            12,
            6.0,
            12.0,
            2.0,
        )


@pytest.mark.parametrize(("this_week", "spike"), [(12, False), (20, True)])
def test_a_value_whose_weeks_swing_widely_needs_three_deviations(make_cases, this_week, spike):
    # Launched three weeks ago at ten a week: 0 0 0 0 0 10 10 10, mean 30/8 = 3.75,
    # sample variance (300 - 30^2/8) / 7 = 26.79, sd 5.18; threshold 3.75 + 3 * 5.18 = 19.28.
    # Twelve is more than twice the mean, but the same as its recent weeks.
    make_cases(weekly([10, 10, 10, 0, 0, 0, 0, 0]) + in_week(0, n=this_week), category="safety")

    rows = spikes_current()

    assert bool(rows) is spike
    if spike:
        assert (rows[0].baseline, rows[0].threshold) == (3.75, 19.28)


def test_a_new_product_is_counted_against_a_baseline_of_zero(make_cases):
    make_cases(in_week(0, n=5), product="Dryer D-1")
    make_cases(in_week(0, n=4), product="Kettle K-7")  # new too, but under the minimum

    [row] = only(spikes_current(), Dimension.PRODUCT)

    assert (row.value, row.label, row.count, row.baseline, row.threshold) == (
        "dryer d-1",
        "Dryer D-1",
        5,
        0.0,
        5.0,
    )
    assert row.ratio is None
    assert row.cases == {"product": "Dryer D-1", **WEEK}


def test_a_product_is_counted_whatever_its_spelling(make_cases):
    make_cases(in_week(0, n=3), product="Dryer D-1")
    make_cases(in_week(0, n=2), product="dryer d-1")

    [row] = only(spikes_current(), Dimension.PRODUCT)

    assert (row.value, row.count) == ("dryer d-1", 5)


def test_cases_without_a_product_or_a_department_are_no_value_of_theirs(make_cases):
    make_cases(in_week(0, n=10), category="safety")  # no product, not analysed yet

    assert [row.dimension for row in spikes_current()] == ["category"]


def test_a_department_spike_links_to_its_cases(make_cases, logistics):
    make_cases(weekly([2] * 8) + in_week(0, n=10), department=logistics)

    [row] = only(spikes_current(), Dimension.DEPARTMENT)

    assert (row.value, row.label, row.count, row.baseline) == (
        str(logistics.pk),
        "Logistics",
        10,
        2.0,
    )
    assert row.cases == {"department": str(logistics.pk), **WEEK}


def test_only_the_eight_weeks_before_this_one_are_the_baseline(make_cases):
    make_cases(in_week(9, n=50), category="safety")  # nine weeks ago: outside the window
    make_cases(in_week(0, n=5), category="safety")

    [row] = spikes_current()

    assert (row.count, row.baseline) == (5, 0.0)


def test_the_week_starts_at_monday_midnight_in_the_deployments_time_zone(
    settings, time_machine, make_cases
):
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai = ZoneInfo("Asia/Shanghai")
    monday = datetime(2026, 3, 9, tzinfo=shanghai)  # Sunday 16:00 UTC
    time_machine.move_to(monday + timedelta(hours=9), tick=False)
    # Both moments fall on Sunday in UTC; in Shanghai the six are this week, the one last week.
    make_cases([monday] * 6, category="safety")
    make_cases([monday - timedelta(seconds=1)], category="safety")

    [row] = spikes_current()

    # Last week's one: mean 1/8 = 0.125; threshold max(5, 0.25, 0.125 + 3 * 0.354) = 5.
    assert (row.week, row.count, row.baseline, row.threshold) == (
        date(2026, 3, 9),
        6,
        0.12,
        5.0,
    )
    assert row.cases["received_after"] == "2026-03-09"


def test_a_week_in_utc_would_have_seen_no_spike(make_cases):
    # The same cases read in UTC: all seven on Sunday 8 March, last week; nothing this week.
    shanghai_monday = datetime(2026, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    make_cases([shanghai_monday] * 6 + [shanghai_monday - timedelta(seconds=1)])

    assert spikes_current() == []


def test_the_figures_take_a_fixed_number_of_queries_whatever_the_data(make_cases, logistics):
    make_cases(weekly([1] * 8) + in_week(0, n=1), category="safety")
    with CaptureQueriesContext(connection) as few:
        assert spikes_current() == []

    after_sales = DepartmentFactory(name="After-sales", code="after-sales")
    for i, category in enumerate(["safety", "price_billing", "service_attitude"]):
        for department in (logistics, after_sales):
            make_cases(
                weekly([3 + i] * 8) + in_week(0, n=30),
                category=category,
                product=f"Product {i}",
                department=department,
            )
    with CaptureQueriesContext(connection) as many:
        rows = spikes_current()

    assert len(rows) == 3 + 3 + 2
    assert len(few) == len(many) == 3  # one grouped query per dimension


def test_a_department_heads_figures_are_their_departments_only(
    make_cases, logistics, department_head, quality_manager
):
    logistics_head = staff(Role.DEPARTMENT_HEAD, logistics, username="logistics_head")
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety", department=logistics)

    mine = spikes_current(cases=cases_reported_to(user=department_head))  # After-sales
    theirs = spikes_current(cases=cases_reported_to(user=logistics_head))
    everything = spikes_current(cases=cases_reported_to(user=quality_manager))

    assert mine == []
    assert {(r.dimension, r.count) for r in theirs} == {("category", 10), ("department", 10)}
    assert theirs == everything


# ---------------------------------------------------------------- recorded and emailed once


def test_a_spike_is_recorded_and_emailed_to_the_quality_managers(
    make_cases, run, quality_manager, department_head, general_manager
):
    staff(Role.QUALITY_MANAGER, username="no_address", email="")
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    [spike] = run()

    spike.refresh_from_db()
    assert (spike.dimension, spike.value, spike.week, spike.count, spike.baseline) == (
        "category",
        "safety",
        date(2026, 3, 9),
        10,
        2.0,
    )
    assert spike.notified_at == NOW
    [message] = mail.outbox
    assert message.to == ["quality@example.com"]
    assert message.subject == "[Heed] Early warning: Category “Safety”, 10 cases this week"
    assert "Complaints about the category “Safety” are far above their usual level." in (
        message.body
    )
    assert "Received since March 9, 2026: 10 cases" in message.body
    assert "Usual week: 2.0 cases on average over the previous 8 weeks." in message.body
    assert (
        "https://heed.example/reports/?category=safety"
        "&received_after=2026-03-09&received_before=2026-03-15"
    ) in message.body


def test_running_twice_records_and_emails_a_spike_once(make_cases, quality_manager, run):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    assert len(run()) == 1
    make_cases(in_week(0, n=5), category="safety")  # the spike grows
    assert run() == []

    assert Spike.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_task_is_safe_to_run_twice(
    make_cases, quality_manager, django_capture_on_commit_callbacks
):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    with django_capture_on_commit_callbacks(execute=True):
        assert early_warning() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert early_warning() == 0

    assert len(mail.outbox) == 1


def test_the_same_value_spiking_next_week_is_a_new_spike(
    make_cases, quality_manager, run, time_machine
):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")
    run()
    time_machine.move_to(NOW + timedelta(weeks=1), tick=False)
    make_cases([NOW + timedelta(weeks=1, hours=-1)] * 30, category="safety")

    [spike] = run()

    # The baseline now holds last week's ten: mean 24/8 = 3, sd 2.83; threshold 11.49.
    assert (spike.week, spike.count, spike.baseline) == (date(2026, 3, 16), 30, 3.0)
    assert len(mail.outbox) == 2


def test_a_failed_email_is_retried_by_the_next_run(make_cases, quality_manager, run, time_machine):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    with override_settings(MAILERS=refusing_mailers()):
        [spike] = run()

    spike.refresh_from_db()
    assert spike.notified_at is None
    assert "refused" in spike.last_error.lower()
    assert mail.outbox == []

    later = NOW + timedelta(hours=1)
    time_machine.move_to(later, tick=False)
    assert run() == []  # nothing new, but the old one goes out

    spike.refresh_from_db()
    assert (spike.notified_at, spike.last_error) == (later, "")
    assert len(mail.outbox) == 1
    run()
    assert len(mail.outbox) == 1


def test_a_spike_not_emailed_by_the_end_of_the_next_week_is_no_longer_sent(quality_manager):
    Spike.objects.create(
        dimension="category",
        value="safety",
        week=date(2026, 2, 23),  # two weeks before this one
        count=10,
        baseline=2,
        threshold=5,
    )
    Spike.objects.create(
        dimension="category",
        value="safety",
        week=date(2026, 3, 2),
        count=9,
        baseline=2,
        threshold=5,
    )

    assert spikes_deliver() == 1
    assert "9 cases" in mail.outbox[0].subject


def test_with_no_quality_manager_the_general_managers_are_told(make_cases, general_manager, run):
    make_cases(weekly([2] * 8) + in_week(0, n=10), category="safety")

    run()

    assert [m.to for m in mail.outbox] == [["gm@example.com"]]


# ---------------------------------------------------------------- schedule and admin


def test_the_early_warning_runs_hourly_and_its_schedule_is_in_the_admin():
    entry = beat_schedule()["reporting-early-warning"]
    assert (entry["task"], entry["schedule"]) == ("reporting.early_warning", 3600.0)
    job = ScheduledJob.objects.get(name="reporting-early-warning")
    assert (job.task, job.every, job.enabled) == ("reporting.early_warning", None, True)


def test_the_admin_lists_spikes_read_only(admin_client, rf, admin_user):
    Spike.objects.create(
        dimension="product",
        value="dryer d-1",
        label="Dryer D-1",
        week=date(2026, 3, 9),
        count=7,
        baseline=0,
        threshold=5,
    )
    request = rf.get("/")
    request.user = admin_user
    model_admin = site._registry[Spike]

    response = admin_client.get("/admin/reporting/spike/")

    assert response.status_code == 200
    assert "Dryer D-1" in response.content.decode()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
