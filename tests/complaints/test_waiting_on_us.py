"""Waiting on us (``Case.awaiting_reply_since``): a message of the customer's not answered yet.
The first unanswered message sets it, a staff message to the customer clears it, an internal
note does not; it keeps the case from closing, turns a satisfied rating into a recorded rating
that waits at Follow up, and shows on the case page, in the lists, the nav counts, the API and
the customer's tracking JSON. A case merged into another: its customer's message marks the
survivor, which handles the complaint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints import customer_actions, selectors, services
from complaints.errors import InvalidInput, TransitionRefused
from complaints.merging import case_merge
from complaints.models import Case, CaseEvent, Step

from ..factories import CustomerFactory, receive, receive_case, walk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
V1 = "/api/v1"
QUESTION = "Will the engineer bring a new drum or repair the old one?"
ANSWER = "A new drum: the engineer brings it on Tuesday."
NOT_ANSWERED = "The customer's last message has no answer yet: write to them before closing."


# ---------------------------------------------------------------- helpers


def waiting_since(case: Case) -> datetime | None:
    case.refresh_from_db()
    return case.awaiting_reply_since


def customer_writes(case: Case, body: str = QUESTION) -> CaseEvent:
    return customer_actions.case_customer_message(case=case, body=body)


def answer(case: Case, by, body: str = ANSWER) -> CaseEvent:
    return services.case_add_note(case=case, by=by, body=body, customer_visible=True)


def rate(case: Case, *, satisfied: bool = True, comment: str = "Quick and polite.") -> CaseEvent:
    return customer_actions.case_customer_follow_up(
        case=case, handling=4, outcome=5, satisfied=satisfied, comment=comment
    )


def page(client: Client, user, name: str, *args, query: str = "") -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args) + query)
    assert response.status_code == 200
    return response.content.decode()


def marked(list_page: str) -> set[str]:
    """The references of a case list's rows that carry the "waiting on us" mark."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", list_page, re.DOTALL)
    return {
        re.search(r'/cases/([^/"]+)/"', row).group(1)
        for row in rows
        if 'data-testid="waiting-on-us"' in row
    }


def listed(list_page: str) -> set[str]:
    """Every reference a case list's table shows."""
    return set(re.findall(r'<tr[^>]* data-reference="([^"]+)"', list_page))


@pytest.fixture
def clock(time_machine):
    """Time held still at T0; ``clock(moment)`` moves it."""
    time_machine.move_to(T0, tick=False)

    def move(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return move


@pytest.fixture
def received(agent):
    """A complaint the agent logged (its owner), with the token of its tracking link."""
    return receive(by=agent, customer=CustomerFactory(name="Li Na"))


@pytest.fixture
def case(received) -> Case:
    return received.case


@pytest.fixture
def customer(client, received) -> Client:
    """The customer's browser, with the tracking cookie its link gave it."""
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    return client


# ---------------------------------------------------------------- set and cleared


def test_a_customer_message_marks_the_case_waiting_since_the_message(clock, case):
    event = customer_writes(case)

    assert waiting_since(case) == event.at == T0


def test_a_second_customer_message_does_not_move_the_waiting_time(clock, case):
    customer_writes(case)
    clock(T0 + timedelta(hours=2))

    customer_writes(case, "Also: can they come in the morning?")

    assert waiting_since(case) == T0


def test_a_message_from_the_tracking_page_marks_the_case_waiting(clock, customer, case):
    response = customer.post("/t/message/", {"body": QUESTION})

    assert response.status_code == 303
    assert waiting_since(case) == T0
    assert case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == QUESTION


def test_a_staff_message_to_the_customer_clears_waiting(case, agent):
    customer_writes(case)

    answer(case, agent)

    assert waiting_since(case) is None


def test_an_internal_note_leaves_the_case_waiting(clock, case, agent):
    customer_writes(case)

    services.case_add_note(case=case, by=agent, body="Ask the warehouse about drums.")

    assert waiting_since(case) == T0


def test_a_message_written_on_the_case_page_answers_the_customer(client, case, agent):
    customer_writes(case)
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_note", args=[case.reference]),
        {"body": ANSWER, "customer_visible": "on"},
    )

    assert response.status_code == 302
    assert waiting_since(case) is None


def test_an_internal_note_written_on_the_case_page_leaves_the_case_waiting(
    clock, client, case, agent
):
    customer_writes(case)
    client.force_login(agent)

    client.post(reverse("complaints:case_note", args=[case.reference]), {"body": "Internal."})

    assert waiting_since(case) == T0


@pytest.mark.parametrize(("customer_visible", "still_waiting"), [(True, False), (False, True)])
def test_a_message_through_the_api_answers_the_customer_and_a_note_does_not(
    api, case, agent, customer_visible, still_waiting
):
    customer_writes(case)

    response = api(agent).post(
        f"{V1}/cases/{case.reference}/messages/",
        {"body": ANSWER, "customer_visible": customer_visible},
        format="json",
    )

    assert response.status_code == 201, response.content[:300]
    assert (waiting_since(case) is not None) is still_waiting


def test_marking_and_clearing_waiting_leaves_the_version_as_it_was(case, agent):
    case.refresh_from_db()
    version = case.version

    customer_writes(case)
    case.refresh_from_db()
    assert (case.awaiting_reply_since is not None, case.version) == (True, version)

    answer(case, agent)
    case.refresh_from_db()
    assert (case.awaiting_reply_since, case.version) == (None, version)


# ---------------------------------------------------------------- it keeps the case open


def test_follow_up_cannot_close_while_a_customer_message_waits(at, case, agent):
    at(Step.FOLLOW_UP)
    services.case_update(case=case, by=agent, data={"satisfaction_rating": 5})
    customer_writes(case)

    with pytest.raises(TransitionRefused) as refused:
        services.case_transition(case=case, to=Step.CLOSED, by=agent)

    assert refused.value.messages == [NOT_ANSWERED]
    assert refused.value.fields == {"awaiting_reply_since": [NOT_ANSWERED]}
    case.refresh_from_db()
    assert (case.step, case.closed_at) == (Step.FOLLOW_UP, None)


def test_follow_up_closes_once_the_customer_is_answered(at, case, agent):
    at(Step.FOLLOW_UP)
    services.case_update(case=case, by=agent, data={"satisfaction_rating": 5})
    customer_writes(case)
    answer(case, agent)

    services.case_transition(case=case, to=Step.CLOSED, by=agent)

    case.refresh_from_db()
    assert case.step == Step.CLOSED


def test_the_case_page_shows_why_it_cannot_close_while_a_message_waits(client, at, case, agent):
    at(Step.FOLLOW_UP)
    services.case_update(case=case, by=agent, data={"satisfaction_rating": 5})
    customer_writes(case)
    case.refresh_from_db()
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_step", args=[case.reference]),
        {"version": case.version, "to": Step.CLOSED, "satisfaction_rating": "5"},
    )

    assert response.status_code == 422
    assert NOT_ANSWERED.replace("'", "&#x27;") in response.content.decode()
    assert waiting_since(case) is not None
    assert case.step == Step.FOLLOW_UP


# ---------------------------------------------------------------- rated while waiting


def test_a_satisfied_rating_while_waiting_is_recorded_and_the_case_stays_at_follow_up(at, case):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    case.refresh_from_db()
    version = case.version

    event = rate(case)

    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP
    assert (
        case.handling_rating,
        case.satisfaction_rating,
        case.follow_up_comment,
        case.follow_up_satisfied,
    ) == (4, 5, "Quick and polite.", True)
    assert case.version == version + 1
    assert case.closed_at is None
    assert (
        event.kind,
        event.by_customer,
        event.actor,
        event.customer_visible,
        event.note,
    ) == (CaseEvent.Kind.UPDATED, True, None, True, "Quick and polite.")
    assert event.changes == {
        "handling_rating": [None, 4],
        "satisfaction_rating": [None, 5],
        "follow_up_comment": ["", "Quick and polite."],
        "follow_up_satisfied": [None, True],
    }


def test_a_second_satisfied_rating_while_waiting_is_refused(at, case):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    rate(case)

    with pytest.raises(TransitionRefused) as refused:
        customer_actions.case_customer_follow_up(case=case, handling=1, outcome=1, satisfied=True)

    assert refused.value.messages == ["We have your rating: we will answer your message first."]
    case.refresh_from_db()
    assert (case.step, case.handling_rating, case.satisfaction_rating) == (Step.FOLLOW_UP, 4, 5)
    assert case.events.filter(kind=CaseEvent.Kind.UPDATED, by_customer=True).count() == 1


def test_the_tracking_page_thanks_a_customer_who_rated_while_waiting_and_asks_no_rating(
    customer, at, case
):
    at(Step.FOLLOW_UP)
    customer_writes(case)

    rated = customer.post(
        "/t/follow-up/", {"handling": "4", "outcome": "5", "satisfied": "yes", "comment": ""}
    )
    assert rated.status_code == 303
    shown = customer.get("/t/").content.decode()

    assert 'data-testid="tracking-rated-waiting"' in shown
    assert "We will answer your last message first, and then close your complaint." in shown
    assert 'data-testid="tracking-follow-up"' not in shown
    assert "You rated how we handled it and told us you are satisfied." in shown
    case.refresh_from_db()
    assert (case.step, case.satisfaction_rating) == (Step.FOLLOW_UP, 5)


def test_a_second_rating_sent_from_the_tracking_page_changes_nothing(customer, at, case):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    rate(case)

    response = customer.post(
        "/t/follow-up/", {"handling": "1", "outcome": "1", "satisfied": "yes", "comment": ""}
    )

    assert response.status_code == 400
    assert 'data-testid="tracking-rated-waiting"' in response.content.decode()
    case.refresh_from_db()
    assert (case.step, case.handling_rating, case.satisfaction_rating) == (Step.FOLLOW_UP, 4, 5)


@pytest.mark.parametrize(("handling", "outcome"), [(0, 3), (3, 6)])
def test_ratings_outside_one_to_five_while_waiting_are_refused_and_nothing_is_recorded(
    at, case, handling, outcome
):
    at(Step.FOLLOW_UP)
    customer_writes(case)

    with pytest.raises(InvalidInput):
        customer_actions.case_customer_follow_up(
            case=case, handling=handling, outcome=outcome, satisfied=True
        )

    case.refresh_from_db()
    assert (case.handling_rating, case.satisfaction_rating, case.follow_up_satisfied) == (
        None,
        None,
        None,
    )
    assert not case.events.filter(kind=CaseEvent.Kind.UPDATED, by_customer=True).exists()


def test_the_tracking_page_asks_for_a_rating_while_nothing_was_rated(customer, at, case):
    at(Step.FOLLOW_UP)
    customer_writes(case)

    shown = customer.get("/t/").content.decode()

    assert 'data-testid="tracking-follow-up"' in shown
    assert 'data-testid="tracking-rated-waiting"' not in shown


def test_after_the_answer_the_agent_closes_with_the_customers_recorded_rating(at, case, agent):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    rate(case)
    answer(case, agent)

    services.case_transition(case=case, to=Step.CLOSED, by=agent)

    case.refresh_from_db()
    assert (
        case.step,
        case.handling_rating,
        case.satisfaction_rating,
        case.follow_up_satisfied,
    ) == (Step.CLOSED, 4, 5, True)


def test_a_not_satisfied_rating_while_waiting_reopens_the_case(at, case):
    at(Step.FOLLOW_UP)
    customer_writes(case)

    event = rate(case, satisfied=False, comment="Still loud, and no answer yet.")

    case.refresh_from_db()
    assert (case.step, case.reopen_count, case.follow_up_satisfied) == (Step.ANALYSE, 1, False)
    assert (event.kind, event.by_customer) == (CaseEvent.Kind.REOPENED, True)
    # Their message still waits for an answer.
    assert case.awaiting_reply_since is not None


def test_a_satisfied_rating_with_nothing_waiting_closes_the_case_as_before(at, case):
    at(Step.FOLLOW_UP)

    rate(case)

    case.refresh_from_db()
    assert (case.step, case.satisfaction_rating) == (Step.CLOSED, 5)


# ---------------------------------------------------------------- what staff see


def test_the_case_page_says_the_case_is_waiting_on_us(client, clock, case, agent):
    customer_writes(case)

    shown = page(client, agent, "complaints:case_detail", case.reference)

    assert 'data-testid="waiting-on-us"' in shown
    assert "Waiting on us: the customer wrote on" in shown
    assert "the case cannot close before" in shown


def test_the_case_page_of_a_case_rated_while_waiting_says_answer_then_close(
    client, at, case, agent
):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    rate(case)

    shown = page(client, agent, "complaints:case_detail", case.reference)

    assert "They rated the outcome 5 of 5 and are satisfied: answer them, then close" in shown


def test_the_case_page_of_an_answered_case_has_no_waiting_mark(client, case, agent):
    customer_writes(case)
    answer(case, agent)

    shown = page(client, agent, "complaints:case_detail", case.reference)

    assert 'data-testid="waiting-on-us"' not in shown


@pytest.fixture
def two_cases(case, agent):
    """The agent's two open cases: ``case``, whose customer wrote, and a quiet one."""
    quiet = receive_case(by=agent)
    customer_writes(case)
    return case, quiet


@pytest.mark.parametrize("name", ["complaints:my_cases", "complaints:all_cases"])
def test_the_case_lists_mark_the_case_waiting_on_us(client, agent, two_cases, name):
    waiting, quiet = two_cases

    shown = page(client, agent, name)

    assert listed(shown) == {waiting.reference, quiet.reference}
    assert marked(shown) == {waiting.reference}


@pytest.mark.parametrize("name", ["complaints:my_cases", "complaints:all_cases"])
@pytest.mark.parametrize(("value", "expected"), [("true", "waiting"), ("false", "quiet")])
def test_the_case_lists_filter_on_waiting(client, agent, two_cases, name, value, expected):
    waiting, quiet = two_cases

    shown = page(client, agent, name, query=f"?waiting={value}")

    assert listed(shown) == {(waiting if expected == "waiting" else quiet).reference}


def test_navigation_counts_my_waiting_cases_with_the_open_and_overdue_in_one_query(
    handler, after_sales, agent, django_assert_num_queries
):
    for _n in range(3):
        mine = receive_case(by=agent)
        walk(mine, to=Step.DECIDE, by=agent, department=after_sales, person=handler)
    customer_writes(mine)
    handler.has_perm("complaints.add_case")  # the permissions, read once per request

    with django_assert_num_queries(1):
        counts = selectors.navigation_counts(user=handler)

    assert counts == {"open": 3, "overdue": 0, "waiting": 1}


def test_the_nav_shows_how_many_of_my_cases_wait_on_us(client, agent, two_cases):
    shown = page(client, agent, "complaints:my_cases")

    link = re.search(r'<a [^>]*data-testid="nav-waiting"[^>]*>(.*?)</a>', shown, re.DOTALL)
    assert '?waiting=true"' in link.group(0)
    assert '<span class="count">1</span>' in link.group(1)


# ---------------------------------------------------------------- the API and the tracking JSON


def test_the_api_list_gives_since_when_a_case_waits(api, clock, agent, two_cases):
    waiting, quiet = two_cases

    rows = api(agent).get(f"{V1}/cases/").json()["results"]

    since = {row["reference"]: row["awaiting_reply_since"] for row in rows}
    assert since[quiet.reference] is None
    assert datetime.fromisoformat(since[waiting.reference]) == T0


@pytest.mark.parametrize(("value", "expected"), [("true", "waiting"), ("false", "quiet")])
def test_the_api_list_filters_on_waiting(api, agent, two_cases, value, expected):
    waiting, quiet = two_cases

    response = api(agent).get(f"{V1}/cases/?waiting={value}")

    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [
        (waiting if expected == "waiting" else quiet).reference
    ]


def track(api, token: str) -> dict:
    response = api().get(f"{V1}/track/{token}/")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_the_tracking_json_says_the_customer_rated_and_waits_for_an_answer(
    api, received, at, case, agent
):
    at(Step.FOLLOW_UP)
    customer_writes(case)
    assert track(api, received.tracking_token)["rated_waiting"] is False

    rate(case)
    assert track(api, received.tracking_token)["rated_waiting"] is True

    # Answered: they rated once, and the case waits for the agent to close it.
    answer(case, agent)
    assert track(api, received.tracking_token)["rated_waiting"] is True


# ---------------------------------------------------------------- merged cases


@pytest.fixture
def merged(agent):
    """Wang's complaint merged into Li Na's earlier one about the same order: two customers."""
    survivor = receive_case(
        by=agent,
        customer=CustomerFactory(name="Li Na"),
        received_at=timezone.now() - timedelta(hours=1),
    )
    absorbed = receive(by=agent, customer=CustomerFactory(name="Wang Fang"))
    case_merge(survivor=survivor, absorbed=absorbed.case, by=agent, note="The same order.")
    return survivor, absorbed


def test_the_absorbed_customers_message_marks_the_survivor_waiting(clock, merged):
    survivor, absorbed = merged

    event = customer_writes(absorbed.case)

    assert event.case == absorbed.case  # their words stay on their own case
    assert waiting_since(survivor) == T0


def test_the_absorbed_customers_message_from_their_tracking_page_marks_the_survivor(
    clock, client, merged
):
    survivor, absorbed = merged
    client.get(f"/t/{absorbed.tracking_token}")

    assert client.post("/t/message/", {"body": QUESTION}).status_code == 303

    assert waiting_since(survivor) == T0
    assert survivor.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).count() == 0


def test_a_message_on_the_survivor_answers_the_absorbed_customers_message(merged, agent):
    survivor, absorbed = merged
    customer_writes(absorbed.case)

    answer(survivor, agent)

    assert waiting_since(survivor) is None


def test_a_message_waiting_on_a_case_merged_away_waits_on_the_survivor(agent):
    survivor = receive_case(by=agent, received_at=timezone.now() - timedelta(hours=1))
    absorbed = receive_case(by=agent)
    customer_actions.case_customer_message(case=absorbed, body="Any news?")
    absorbed.refresh_from_db()
    waiting_since = absorbed.awaiting_reply_since
    assert waiting_since is not None

    case_merge(survivor=survivor, absorbed=absorbed, by=agent, note="The same order.")

    survivor.refresh_from_db()
    absorbed.refresh_from_db()
    assert survivor.awaiting_reply_since == waiting_since
    assert absorbed.awaiting_reply_since is None


def test_of_two_messages_waiting_the_survivor_keeps_the_earlier(agent):
    survivor = receive_case(by=agent, received_at=timezone.now() - timedelta(hours=1))
    absorbed = receive_case(by=agent)
    customer_actions.case_customer_message(case=absorbed, body="First, on the later case.")
    customer_actions.case_customer_message(case=survivor, body="Then, on the earlier one.")
    absorbed.refresh_from_db()
    first = absorbed.awaiting_reply_since

    case_merge(survivor=survivor, absorbed=absorbed, by=agent, note="The same order.")

    survivor.refresh_from_db()
    assert survivor.awaiting_reply_since == first
