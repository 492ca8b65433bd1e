"""Time spent in each step (issue 6): stays, nearest-rank median and 90th percentile, one query.

Cases that walk the lifecycle go through the real services, with the clock placed by
time-machine, so the figures are checked against what the services write. Where a test needs
many stays of exact lengths (the percentile definitions), the cases are still received through
the service but their later moves are written as ``CaseEvent`` rows directly: the same rows
``_move`` writes, without walking every case through the data each step requires.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from complaints import services
from complaints.models import Case, CaseEvent, Step
from complaints.roles import Role
from reporting.access import cases_reported_to
from reporting.steps import time_in_steps
from tests.factories import receive_case, staff, step_data

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEVEN = ["receive", "listen", "analyse", "decide", "act", "confirm", "follow_up"]
LATER = T0 + timedelta(days=60)

pytestmark = pytest.mark.django_db


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def received(agent, at: datetime = T0, **overrides) -> Case:
    with time_machine.travel(at, tick=False):
        return receive_case(by=agent, received_at=at, **overrides)


def move(case: Case, to: str, at: datetime, *, by, data: dict | None = None) -> None:
    """One move through ``case_transition`` with the clock at ``at``."""
    with time_machine.travel(at, tick=False):
        services.case_transition(case=case, to=to, by=by, data=data or {})


def forward(case: Case, to: str, at: datetime, *, by, department, person) -> None:
    data = step_data(case.step, department=department, person=person)
    move(case, to, at, by=by, data=data)


def moved(case: Case, to: str, at: datetime) -> None:
    """The event ``_move`` writes for a move to ``to`` at ``at``, written directly."""
    kind = CaseEvent.Kind.REOPENED if (case.step, to) == ("follow_up", "analyse") else "step"
    CaseEvent.objects.create(case=case, kind=kind, from_step=case.step, to_step=to, at=at)
    Case.objects.filter(pk=case.pk).update(step=to)
    case.step = to


def by_step(table) -> dict[str, dict]:
    """The rows keyed by step code (rows are in lifecycle order, labelled)."""
    assert [row.values["step"] for row in table.rows] == [str(Step(s).label) for s in SEVEN]
    return {code: row.values for code, row in zip(SEVEN, table.rows, strict=True)}


def figures(step_values: dict) -> tuple:
    return (
        step_values["spells"],
        step_values["median"],
        step_values["p90"],
        step_values["running"],
    )


def test_the_table_has_one_row_per_step_in_lifecycle_order_even_without_cases():
    table = time_in_steps(cases=Case.objects.all(), now=LATER)

    assert table.key == "time_in_steps"
    assert [c.key for c in table.columns] == ["step", "spells", "median", "p90", "running"]
    assert [c.kind for c in table.columns] == ["text", "count", "hours", "hours", "count"]
    rows = by_step(table)
    assert all(figures(rows[step]) == (0, None, None, 0) for step in SEVEN)
    assert all(row.cases is None for row in table.rows)


def test_one_case_walked_through_all_seven_steps_has_one_stay_in_each(agent, after_sales, handler):
    case = received(agent)
    # Hours spent in receive, listen, analyse, decide, act, confirm, follow_up.
    spent = [1, 2, 3, 4.5, 5, 6, 7.25]
    at = T0
    for step, length in zip(SEVEN, spent, strict=True):
        at += timedelta(hours=length)
        target = SEVEN[SEVEN.index(step) + 1] if step != "follow_up" else Step.CLOSED
        forward(case, target, at, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    assert case.step == Step.CLOSED

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    for step, length in zip(SEVEN, spent, strict=True):
        assert figures(rows[step]) == (1, length, length, 0), step


def test_median_and_p90_are_by_nearest_rank(agent):
    """Ten stays in receive of 1..10 hours: the median is the 5th (5 h, not 5.5 as
    interpolation would give) and the 90th percentile the 9th (9 h, not 9.1). Four stays in
    listen of 2, 4, 6 and 80 hours: median the 2nd (4 h), 90th percentile the 4th (80 h)."""
    cases = [received(agent) for _ in range(10)]
    for length, case in zip([7, 3, 10, 1, 5, 9, 2, 8, 4, 6], cases, strict=True):
        moved(case, "listen", hours(length))
    for length, case in zip([80, 2, 6, 4], cases[:4], strict=True):
        moved(case, "analyse", case.events.last().at + timedelta(hours=length))

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["receive"]) == (10, 5, 9, 0)
    assert figures(rows["listen"]) == (4, 4, 80, 6)
    assert figures(rows["analyse"]) == (0, None, None, 4)


def test_eleven_stays_take_the_6th_as_median_and_the_10th_as_p90(agent):
    cases = [received(agent) for _ in range(11)]
    for length, case in enumerate(cases, start=1):
        moved(case, "listen", hours(length))

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["receive"]) == (11, 6, 10, 0)


def test_a_case_sent_back_and_reopened_counts_each_stay(agent, after_sales, handler):
    """Analyse twice (2 h, then 6 h after reopening), decide three times (1, 3, 0.5 h)."""
    case = received(agent)
    team = {"by": agent, "department": after_sales, "person": handler}
    forward(case, "listen", hours(1), **team)
    forward(case, "analyse", hours(2), **team)
    forward(case, "decide", hours(4), **team)  # analyse: 2 h
    forward(case, "act", hours(5), **team)  # decide: 1 h
    forward(case, "confirm", hours(6), **team)
    move(case, "decide", hours(7), by=agent, data={"agreement_note": "Wants a new one."})
    forward(case, "act", hours(10), **team)  # decide: 3 h
    forward(case, "confirm", hours(11), **team)
    forward(case, "follow_up", hours(12), **team)
    reopen = {"satisfaction_rating": 1, "follow_up_comment": "Still broken."}
    move(case, "analyse", hours(14), by=agent, data=reopen)  # follow_up: 2 h
    forward(case, "decide", hours(20), **team)  # analyse: 6 h
    forward(case, "act", hours(20.5), **team)  # decide: 0.5 h
    case.refresh_from_db()
    assert (case.step, case.reopen_count) == ("act", 1)

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["analyse"]) == (2, 2, 6, 0)
    # Decide's stays 0.5, 1, 3: the median is the 2nd, the 90th percentile the 3rd.
    assert figures(rows["decide"]) == (3, 1, 3, 0)
    assert figures(rows["confirm"]) == (2, 1, 1, 0)
    assert figures(rows["follow_up"]) == (1, 2, 2, 0)
    # Act: two finished stays of 1 h, and the one it is in now.
    assert figures(rows["act"]) == (2, 1, 1, 1)


def test_a_step_with_no_finished_stay_has_no_median(agent, after_sales, handler):
    case = received(agent)
    forward(case, "listen", hours(3), by=agent, department=after_sales, person=handler)

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["receive"]) == (1, 3, 3, 0)
    assert figures(rows["listen"]) == (0, None, None, 1)
    assert all(figures(rows[step]) == (0, None, None, 0) for step in SEVEN[2:])


def test_moves_after_now_are_not_counted_yet(agent):
    case = received(agent)
    moved(case, "listen", hours(2))
    moved(case, "analyse", hours(5))

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=hours(4)))

    assert figures(rows["receive"]) == (1, 2, 2, 0)
    assert figures(rows["listen"]) == (0, None, None, 1)
    assert figures(rows["analyse"]) == (0, None, None, 0)


def test_moves_in_the_same_instant_are_taken_in_the_order_they_were_written(agent):
    case = received(agent)
    moved(case, "listen", T0)
    moved(case, "analyse", hours(1))

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["receive"]) == (1, 0, 0, 0)
    assert figures(rows["listen"]) == (1, 1, 1, 0)


def test_other_events_do_not_end_a_stay(agent):
    case = received(agent)
    with time_machine.travel(hours(1), tick=False):
        services.case_add_note(case=case, by=agent, body="Called back, no answer.")
    moved(case, "listen", hours(2))

    rows = by_step(time_in_steps(cases=Case.objects.all(), now=LATER))

    assert figures(rows["receive"]) == (1, 2, 2, 0)


def test_only_the_cases_in_scope_count(agent):
    phone = received(agent, channel="phone")
    email = received(agent, channel="email")
    moved(phone, "listen", hours(1))
    moved(email, "listen", hours(8))

    rows = by_step(time_in_steps(cases=Case.objects.filter(channel="email"), now=LATER))

    assert figures(rows["receive"]) == (1, 8, 8, 0)
    assert figures(rows["listen"]) == (0, None, None, 1)


def test_a_department_head_reads_only_the_stays_of_their_departments_cases(
    agent, after_sales, department_head, django_assert_num_queries
):
    colleague = staff(Role.AGENT, after_sales, username="colleague")
    ours = received(colleague)
    theirs = received(agent)  # an agent of no department: not the head's
    moved(ours, "listen", hours(3))
    moved(theirs, "listen", hours(9))
    cases = cases_reported_to(user=department_head)

    with django_assert_num_queries(1):
        rows = by_step(time_in_steps(cases=cases, now=LATER))

    assert figures(rows["receive"]) == (1, 3, 3, 0)


def test_a_scope_that_matches_nothing_gives_empty_rows_without_a_query(
    agent, django_assert_num_queries
):
    moved(received(agent), "listen", hours(1))

    with django_assert_num_queries(0):
        table = time_in_steps(cases=Case.objects.none(), now=LATER)

    assert all(figures(values) == (0, None, None, 0) for values in by_step(table).values())


@pytest.mark.parametrize("size", [1, 12])
def test_the_table_is_one_query_whatever_the_number_of_cases(
    agent, after_sales, handler, size, django_assert_num_queries
):
    for n in range(size):
        case = received(agent)
        moved(case, "listen", hours(n + 1))
    # A scope with a join and parameters, like the dashboard's filters give.
    cases = Case.objects.filter(receiver__username="agent", received_at__gte=T0)

    with django_assert_num_queries(1):
        rows = by_step(time_in_steps(cases=cases, now=LATER))

    assert figures(rows["receive"])[0] == size
