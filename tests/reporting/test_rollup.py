"""The daily rollup (``reporting.rollup``, ``reporting.rollup_figures``): the dashboard read from
it gives the same figures as from the cases, for every filter and reader; it is kept up to date
by catching up the days that changed, and rebuilt when it cannot be trusted.

The known world of ``conftest.py`` (nine cases received in March 2026 in Asia/Shanghai, two in
December), the clock at its NOW, Fri 27 Mar 2026 10:00."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from complaints.models import Case, Step
from reporting import rollup
from reporting.dashboard import TABLES, scope_for, table_for
from reporting.early_warning import spikes_current
from reporting.figures import LiveFigures
from reporting.models import DailyFigures, DailyProducts, DailyStays, Level, RollupState
from reporting.rollup import rollup_catch_up, rollup_rebuild, usable
from reporting.rollup_figures import RollupFigures
from tests.factories import CustomerFactory, receive_case

from .conftest import NOW, local, moved, persona, received, walked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("world")]

agent = persona("agent")
department_head = persona("department_head")
quality_manager = persona("quality_manager")
general_manager = persona("general_manager")

MARCH = {"received_after": "2026-03-01", "received_before": "2026-03-31"}


@pytest.fixture(autouse=True)
def at_now(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def built(at_now):
    return rollup_rebuild()


def scope(user, **params):
    data = QueryDict(mutable=True)
    data.update(params)
    return scope_for(user=user, data=data)


def rows(table):
    return [(row.values, row.cases, row.cell_cases) for row in table.rows]


def assert_same_figures(found):
    """Every table of the dashboard read from the rollup is the one computed from the cases."""
    assert isinstance(found.figures, RollupFigures)
    live = LiveFigures(found.cases)
    for key in TABLES:
        assert rows(table_for(found, key)) == rows(TABLES[key](live, found.bucket)), key
    assert spikes_current(cases=found.figures_any_period) == spikes_current(
        cases=found.cases_any_period
    )


# ---------------------------------------------------------------- the same figures


SCOPES = {
    "March": MARCH,
    "every day": {"received_after": "2025-01-01", "received_before": "2026-12-31"},
    "from a day on": {"received_after": "2026-03-09"},
    "one local day": {"received_after": "2026-03-08", "received_before": "2026-03-08"},
    "a department": {**MARCH, "department": "after_sales"},
    "a category": {**MARCH, "category": "price_billing"},
    "a channel": {**MARCH, "channel": "phone"},
    "an urgency": {**MARCH, "urgency": "yellow"},
    "category and channel": {**MARCH, "category": "product_quality", "channel": "phone"},
    "all three": {**MARCH, "category": "safety", "channel": "dealer", "urgency": "red"},
    "nothing matches": {**MARCH, "category": "safety", "channel": "letter"},
    "by day": {**MARCH, "bucket": "day"},
}


@pytest.mark.parametrize("name", SCOPES)
@pytest.mark.parametrize("reader", ["quality_manager", "general_manager", "department_head"])
def test_the_dashboard_from_the_rollup_is_the_dashboard_from_the_cases(
    built, world, request, reader, name
):
    params = dict(SCOPES[name])
    if params.get("department") == "after_sales":
        params["department"] = str(world.after_sales.pk)

    assert_same_figures(scope(request.getfixturevalue(reader), **params))


def test_a_department_heads_rollup_holds_the_cases_received_there_before_analysis(
    built, world, department_head
):
    # ``external`` was received by the After-sales head and has no responsible department.
    found = scope(department_head, **MARCH)
    outcomes = {row.values["key"]: row.values["value"] for row in table_for(found, "outcomes").rows}
    mine = {"quick", "late", "reopen", "external", "approval", "followup"}

    assert outcomes["total"] == len(mine)
    assert_same_figures(found)


def test_time_in_each_step_is_exact_while_each_bucket_holds_at_most_two_stays(
    built, quality_manager
):
    found = scope(quality_manager, **MARCH)
    from_rollup = rows(table_for(found, "time_in_steps"))

    assert from_rollup == rows(TABLES["time_in_steps"](LiveFigures(found.cases), found.bucket))
    assert any(values["spells"] for values, _cases, _cells in from_rollup)


def test_within_a_bucket_the_percentile_is_interpolated_by_rank(built, quality_manager):
    # Three stays in one bucket (100, 101 and 104 s are within 4.4 % of each other): the median
    # is the second, read as 100 + (104 - 100) * (2 - 1) / (3 - 1) = 102 s; the 90th percentile
    # is the third (rank ceil(0.9 * 3) = 3), the bucket's longest: exact.
    DailyStays.objects.all().delete()
    DailyStays.objects.create(
        day=date(2026, 3, 2),
        level=Level.ALL,
        step=Step.LISTEN,
        bucket=106,
        stays=3,
        shortest=100.0,
        longest=104.0,
    )
    DailyStays.objects.create(
        day=date(2026, 3, 2), level=Level.ALL, step=Step.LISTEN, bucket=-1, stays=2
    )
    found = scope(quality_manager, **MARCH)

    assert found.figures.stays() == {Step.LISTEN: (3, 102.0, 104.0, 2)}


# ---------------------------------------------------------------- what is read from where


def test_before_the_rollup_is_built_the_figures_come_from_the_cases(quality_manager):
    assert RollupState.objects.count() == 0
    assert isinstance(scope(quality_manager, **MARCH).figures, LiveFigures)


def test_a_product_filter_computes_every_figure_from_the_cases(built, quality_manager):
    found = scope(quality_manager, **MARCH, product="fridge f-1")

    assert isinstance(found.figures, LiveFigures)


def table_reads(found, key) -> set[str]:
    with CaptureQueriesContext(connection) as queries:
        table_for(found, key)
    return {
        name
        for name in ("reporting_daily", "complaints_caseevent", "complaints_case")
        for query in queries
        if f'"{name}' in query["sql"]
    }


def test_with_a_category_filter_only_the_time_in_steps_and_products_come_from_the_cases(
    built, quality_manager
):
    found = scope(quality_manager, **MARCH, category="product_quality")

    assert "complaints_caseevent" in table_reads(found, "time_in_steps")
    assert "complaints_case" in table_reads(found, "volume_by_product")
    for key in ("volume_by_channel", "compliance", "escalations", "remedies_by_type"):
        assert table_reads(found, key) == {"reporting_daily"}, key
    assert_same_figures(found)


def test_without_such_filters_no_table_reads_the_cases(built, quality_manager):
    found = scope(quality_manager, **MARCH)

    for key in TABLES:
        # Repeat complainants are counted once each, whatever the days: that one figure is
        # counted from the cases.
        expected = (
            {"reporting_daily", "complaints_case"} if key == "outcomes" else {"reporting_daily"}
        )
        assert table_reads(found, key) == expected, key


def test_the_dashboards_query_count_from_the_rollup_does_not_grow_with_the_data(
    built, client, general_manager, agent
):
    client.force_login(general_manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/", MARCH).status_code == 200
        return len(queries)

    few = count()
    for n in range(12):
        case = received(
            agent,
            local(2026, 3, 11, 9) + timedelta(hours=n * 7),
            customer=CustomerFactory(),
            category=["safety", "other", "price_billing"][n % 3],
            channel=["email", "letter", "walk_in", "dealer"][n % 4],
            product=f"Model {n}",
        )
        moved(case, Step.LISTEN, case.received_at + timedelta(minutes=20), by=agent)
    rollup_catch_up()

    assert count() == few


def test_the_page_says_when_the_figures_were_taken(built, client, general_manager):
    client.force_login(general_manager)
    html = client.get("/reports/", MARCH).content.decode()

    assert 'data-testid="figures-as-of"' in html
    assert "2026-03-27" in html or "March 27, 2026" in html or "Mar. 27, 2026" in html
    assert 'data-testid="figures-stale"' not in html


def test_the_page_warns_when_the_rollup_has_not_caught_up_for_ten_minutes(
    built, client, general_manager, time_machine
):
    time_machine.move_to(NOW + timedelta(minutes=11), tick=False)
    client.force_login(general_manager)
    html = client.get("/reports/", MARCH).content.decode()

    assert 'data-testid="figures-stale"' in html


# ---------------------------------------------------------------- keeping it up to date


def outcome(user, key: str, **params):
    found = scope(user, **{**MARCH, **params})
    return {row.values["key"]: row.values["value"] for row in table_for(found, "outcomes").rows}[
        key
    ]


def test_the_first_catch_up_builds_every_day(quality_manager):
    run = rollup_catch_up()

    assert run.full
    assert usable(RollupState.objects.get())
    # From the first case (December) to today.
    first = min(Case.objects.values_list("received_at", flat=True)).astimezone(
        local(2026, 1, 1).tzinfo
    )
    assert run.days == (NOW.date() - first.date()).days + 1
    assert_same_figures(scope(quality_manager, **MARCH))


def test_nothing_changed_nothing_is_recomputed(built, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=30), tick=False)
    rollup_catch_up()  # the world's last changes were at NOW, within the overlap

    assert rollup_catch_up().days == 0


def test_a_move_recomputes_its_cases_day(built, world, agent, quality_manager, time_machine):
    later = NOW + timedelta(hours=1)
    time_machine.move_to(later, tick=False)
    rollup_catch_up()
    assert outcome(quality_manager, "closed") == 3

    walked(
        Case.objects.get(pk=world.manual.pk),
        Step.CLOSED,
        later + timedelta(hours=1),
        by=agent,
        department=world.logistics,
        person=world.people["foreign_handler"],
        follow_up={"satisfaction_rating": 4},
    )
    time_machine.move_to(later + timedelta(hours=1), tick=False)
    run = rollup_catch_up()

    assert run.days == 1  # manual's day, Wed 25 Mar
    assert outcome(quality_manager, "closed") == 4
    assert_same_figures(scope(quality_manager, **MARCH))


def test_a_new_case_and_one_backdated_to_an_old_day_are_taken_in(
    built, agent, quality_manager, time_machine
):
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    rollup_catch_up()
    before = outcome(quality_manager, "total")

    receive_case(by=agent, customer=CustomerFactory())
    # Logged now, received (backdated, as the API allows) on an old day: its day is seen too.
    receive_case(by=agent, customer=CustomerFactory(), received_at=local(2026, 3, 3, 9))
    run = rollup_catch_up()

    assert run.days == 2
    assert outcome(quality_manager, "total") == before + 2
    assert_same_figures(scope(quality_manager, **MARCH))


def test_a_deadline_passing_with_no_other_change_is_breached_in_the_rollup(
    built, world, quality_manager, time_machine
):
    # external is with the external reviewer (tier 4): when its 3-day limit (Sat 28 Mar 09:00)
    # passes, the sweep marks the breach with no escalation, no event, no change to the case.
    # The catch-up looks at the day of every deadline whose due time passed.
    from complaints.models import CaseEvent
    from escalation.models import Deadline
    from escalation.sweep import sweep

    external = world.external
    events = CaseEvent.objects.filter(case=external).count()
    after = local(2026, 3, 28, 9, 1)
    time_machine.move_to(after, tick=False)
    sweep()
    time_machine.move_to(after + timedelta(minutes=1), tick=False)
    rollup_catch_up()

    acted = Deadline.objects.get(case=external, milestone="acted")
    assert acted.breached_at is not None
    assert CaseEvent.objects.filter(case=external).count() == events
    found = scope(quality_manager, **MARCH, channel="social_media")  # external's alone
    compliance = {row.cases["milestone"]: row.values for row in table_for(found, "compliance").rows}
    assert (compliance["acted"]["breached"], compliance["acted"]["open"]) == (1, 0)
    assert_same_figures(found)
    assert_same_figures(scope(quality_manager, **MARCH))


def test_another_time_zone_makes_the_rollup_unusable_until_it_is_built_afresh(
    built, quality_manager, settings
):
    settings.TIME_ZONE = "Europe/Berlin"

    assert not usable(RollupState.objects.get())
    assert isinstance(scope(quality_manager, **MARCH).figures, LiveFigures)
    assert rollup_catch_up().full
    assert RollupState.objects.get().time_zone == "Europe/Berlin"
    assert_same_figures(scope(quality_manager, **MARCH))


def test_a_new_definition_builds_everything_afresh(built, monkeypatch):
    monkeypatch.setattr(rollup, "DEFINITION", rollup.DEFINITION + 1)

    assert not usable(RollupState.objects.get())
    assert rollup_catch_up().full
    assert RollupState.objects.get().definition == rollup.DEFINITION


def test_a_catch_up_leaves_a_full_build_that_is_still_running(built):
    RollupState.objects.update(built_at=None)  # a build started at NOW, not finished

    run = rollup_catch_up()

    assert (run.full, run.days) == (True, 0)
    assert RollupState.objects.get().built_at is None


def test_the_nightly_rebuild_recomputes_the_last_days_only(built):
    counts = {m: m.objects.count() for m in (DailyFigures, DailyStays, DailyProducts)}

    run = rollup_rebuild(days_back=10)

    assert (run.full, run.days) == (False, 10)
    # The same rows again, none twice.
    assert {m: m.objects.count() for m in counts} == counts


def test_recomputing_a_day_twice_writes_it_once(built):
    day = date(2026, 3, 2)
    before = DailyFigures.objects.filter(day=day).count()

    rollup.rollup_refresh(days=[day])
    rollup.rollup_refresh(days=[day, day])

    assert DailyFigures.objects.filter(day=day).count() == before > 0


def test_the_jobs_are_scheduled_and_editable_in_the_admin():
    from escalation.models import ScheduledJob

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["reporting-rollup"]["task"] == "reporting.rollup_catch_up"
    assert schedule["reporting-rollup"]["schedule"] == 60.0
    assert schedule["reporting-rollup-rebuild"]["task"] == "reporting.rollup_rebuild"
    names = set(ScheduledJob.objects.values_list("name", flat=True))
    assert {"reporting-rollup", "reporting-rollup-rebuild"} <= names


def test_the_tasks_run_the_catch_up_and_the_rebuild(built):
    from reporting.tasks import rollup_catch_up_task, rollup_rebuild_task

    assert rollup_catch_up_task()["full"] is False
    assert rollup_rebuild_task() == {"days": rollup.REBUILD_DAYS, "full": False}


def test_the_command_builds_afresh_or_recomputes_the_last_days(built):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("rollup_rebuild", "--days", "3", stdout=out)
    assert "recomputed: 3 days" in out.getvalue()
    call_command("rollup_rebuild", stdout=out)
    assert "built afresh" in out.getvalue()


def test_the_admin_shows_the_rollups_state_and_changes_nothing(built, admin_client):
    response = admin_client.get("/admin/reporting/rollupstate/")

    assert response.status_code == 200
    assert "Asia/Shanghai" in response.content.decode()
    assert admin_client.get("/admin/reporting/rollupstate/add/").status_code == 403


def test_a_merged_case_leaves_the_figures_the_survivor_counts_for_both(
    built, world, agent, quality_manager, time_machine
):
    # followup turns out to be the same complaint as approval (same customer? no matter: the
    # agent may work both): merged into the earlier one, it stops counting on its own.
    from complaints.merging import case_merge

    later = NOW + timedelta(hours=1)
    time_machine.move_to(later, tick=False)
    rollup_catch_up()
    before = outcome(quality_manager, "total")
    case_merge(
        survivor=Case.objects.get(pk=world.approval.pk),
        absorbed=Case.objects.get(pk=world.followup.pk),
        by=agent,
        note="The same heater, reported twice.",
    )
    rollup_catch_up()

    assert outcome(quality_manager, "total") == before - 1
    assert_same_figures(scope(quality_manager, **MARCH))
