"""The customer's tracking page, over HTTP: the link traded for a cookie, what the page says (and
never says), the one answer for every link that does not work, the request limit, and the
agent issuing a new link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from complaints import customer_actions, services
from complaints.models import Case, CaseEvent, Step, tracking_digest
from escalation.models import Pause, Policy
from escalation.services import case_pause
from intake.tracking import COOKIE_NAME

from ..factories import CustomerFactory, active_digests, walk

pytestmark = pytest.mark.django_db

PAGE = "/t/"
UNKNOWN_TOKEN = "A" * 43  # well-formed, opens nothing
T0 = datetime(2026, 11, 5, 10, 0, 5, tzinfo=UTC)  # five seconds into a minute


def link(token: str) -> str:
    return f"/t/{token}"


def receive(*, by, **overrides) -> services.Received:
    """A complaint logged through the real intake service, with its one-time token."""
    data = {
        "channel": "phone",
        "category": "product_quality",
        "urgency": "yellow",
        "product": "Washing machine W-200",
        "order_number": "SO-1",
        "description": "The drum is loud.",
        "desired_outcome": "A repair.",
        **overrides,
    }
    return services.case_receive(by=by, customer=CustomerFactory(), **data)


def visit(client: Client, token: str, **extra):
    """The customer follows the link, and the browser follows the redirect to the page."""
    opened = client.get(link(token), **extra)
    assert opened.status_code == 303
    return client.get(PAGE, **extra)


def text(response) -> str:
    return response.content.decode()


def page_body(response) -> str:
    """The body with what differs on every response whatever the case (the CSRF token of the
    language switcher, the address it returns to) blanked out."""
    body = re.sub(
        r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*', r"\1-", text(response)
    )
    return re.sub(r'(name="next" type="hidden" value=")[^"]*', r"\1-", body)


def timeline(response) -> list[str]:
    """The entries of the page's "What has happened so far"."""
    section = re.search(
        r'data-testid="tracking-timeline">(.*?)</section>', text(response), re.DOTALL
    ).group(1)
    return [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", section, re.DOTALL)]


def shown_date(value: datetime, fmt: str) -> str:
    return formats.date_format(timezone.localtime(value), fmt)


@pytest.fixture
def not_found_page():
    """The page every link that opens nothing gets, as a fresh browser sees it."""
    response = Client().get(link(UNKNOWN_TOKEN))
    assert response.status_code == 404
    return page_body(response)


@pytest.fixture
def received(agent) -> services.Received:
    """A complaint the agent has just logged, and the token of its tracking link."""
    return receive(by=agent)


@pytest.fixture
def token(received) -> str:
    return received.tracking_token


@pytest.fixture
def tracked(received) -> Case:
    return received.case


@pytest.fixture
def clock(time_machine):
    """Time held still at T0 (moved on with ``clock(moment)``): requests fall in one minute."""
    time_machine.move_to(T0, tick=False)

    def move(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return move


def closed_case(*, agent, department, closing: datetime) -> services.Received:
    with time_machine.travel(closing, tick=False):
        received = receive(by=agent)
        walk(received.case, to=Step.CLOSED, by=agent, department=department, person=agent)
    return received


def renew_as(client: Client, user, case: Case):
    client.force_login(user)
    return client.post(reverse("intake:tracking_renew", args=[case.reference]))


# ---------------------------------------------------------------- the link, traded for a cookie


def test_link_redirects_to_the_page_without_the_token(client, token):
    response = client.get(link(token))

    assert response.status_code == 303
    assert response["Location"] == PAGE
    assert token not in response["Location"]


def test_link_sets_an_http_only_lax_cookie_scoped_to_the_tracking_pages(client, token):
    response = client.get(link(token))

    cookie = response.cookies[COOKIE_NAME]
    assert cookie.value
    assert token not in cookie.value
    assert cookie["path"] == "/t/"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_tracking_cookie_is_secure_over_https(client, token):
    response = client.get(link(token), secure=True)

    assert response.cookies[COOKIE_NAME]["secure"] is True


def test_link_can_be_used_again(client, token):
    visit(client, token)
    client.cookies.clear()

    assert visit(client, token).status_code == 200


def test_page_shows_the_reference_and_the_day_received(client, token, tracked):
    response = visit(client, token)

    assert response.status_code == 200
    assert f"Your complaint {tracked.reference}" in text(response)
    assert f"Received on {shown_date(tracked.received_at, 'DATE_FORMAT')}" in text(response)


def test_page_marks_the_current_step_in_the_customers_words(
    client, token, tracked, agent, after_sales
):
    walk(tracked, to=Step.ANALYSE, by=agent, department=after_sales, person=agent)

    response = visit(client, token)

    assert '<li class="current" aria-current="step">Looking into it</li>' in text(response)
    assert text(response).count('aria-current="step"') == 1


def test_page_says_what_is_happening_now_without_staff_step_names(
    client, token, tracked, agent, after_sales
):
    walk(tracked, to=Step.ANALYSE, by=agent, department=after_sales, person=agent)

    response = visit(client, token)

    assert "<h2>Now: Looking into it</h2>" in text(response)
    assert "We are checking the facts and finding the cause." in text(response)
    for staff_word in ("Analyse", "Follow up", "Confirm"):
        assert not re.search(rf"\b{staff_word}\b", text(response)), staff_word


def test_open_case_shows_the_next_promised_date(client, token, tracked):
    assert tracked.due_at is not None

    response = visit(client, token)

    promised = shown_date(tracked.due_at, "DATETIME_FORMAT")
    assert f"We aim to reach the next stage by {promised}" in text(response)


def test_closed_case_promises_no_date(client, agent, after_sales):
    received = closed_case(agent=agent, department=after_sales, closing=timezone.now())

    response = visit(client, received.tracking_token)

    assert response.status_code == 200
    assert '<li class="current" aria-current="step">Closed</li>' in text(response)
    assert 'data-testid="tracking-promised"' not in text(response)
    assert "We aim to reach the next stage" not in text(response)


def test_closed_case_still_opens_within_the_days_after_closing(client, agent, after_sales):
    closing = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
    received = closed_case(agent=agent, department=after_sales, closing=closing)
    within = closing + timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE - 1)

    with time_machine.travel(within, tick=False):
        response = visit(client, received.tracking_token)

    assert response.status_code == 200
    assert received.case.reference in text(response)


def test_tracking_cookie_stops_opening_the_page_after_a_month(client, clock, token):
    client.get(link(token))

    clock(T0 + timedelta(days=31))

    assert client.get(PAGE).status_code == 404


# ---------------------------------------------------------------- one answer for every bad link


MALFORMED = [
    pytest.param("A" * 42, id="too-short"),
    pytest.param("A" * 44, id="too-long"),
    pytest.param("A" * 42 + "!", id="punctuation"),
    pytest.param("A" * 42 + "=", id="padding"),
    pytest.param("A" * 42 + "+", id="plus"),
    pytest.param("A" * 42 + "é", id="non-ascii"),
    pytest.param("A" * 42 + "%00", id="nul"),
    pytest.param("A" * 43 + "%0A", id="trailing-newline"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_link_gets_the_not_found_page(client, bad, not_found_page):
    response = client.get(link(bad))

    assert response.status_code == 404
    assert page_body(response) == not_found_page


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_link_is_refused_before_any_database_query(
    client, bad, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(link(bad))

    assert response.status_code == 404


def test_unknown_link_gets_the_not_found_page(client, tracked):
    response = client.get(link(UNKNOWN_TOKEN))

    assert response.status_code == 404
    assert 'data-testid="tracking-not-found"' in text(response)
    assert COOKIE_NAME not in response.cookies
    assert tracked.reference not in text(response)


def test_old_link_after_renewal_gets_the_not_found_page(
    client, token, tracked, agent, not_found_page
):
    customer_actions.case_tracking_renew(case=tracked, by=agent)

    response = client.get(link(token))

    assert response.status_code == 404
    assert page_body(response) == not_found_page
    assert COOKIE_NAME not in response.cookies


def test_link_of_a_case_closed_longer_ago_than_allowed_gets_the_not_found_page(
    client, agent, after_sales, not_found_page
):
    closing = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
    received = closed_case(agent=agent, department=after_sales, closing=closing)
    after = closing + timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE, minutes=1)

    with time_machine.travel(after, tick=False):
        response = client.get(link(received.tracking_token))

    assert response.status_code == 404
    assert page_body(response) == not_found_page


def test_page_without_cookie_gets_the_not_found_page(client, tracked, not_found_page):
    response = client.get(PAGE)

    assert response.status_code == 404
    assert page_body(response) == not_found_page


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda digest: digest, id="unsigned-digest"),
        pytest.param(
            lambda digest: signing.dumps(digest, key="not-our-secret", salt="heed.tracking"),
            id="another-key",
        ),
        pytest.param(lambda digest: signing.dumps(digest, salt="another.salt"), id="another-salt"),
    ],
)
def test_page_with_a_forged_cookie_gets_the_not_found_page(client, token, forge, not_found_page):
    client.cookies[COOKIE_NAME] = forge(tracking_digest(token))

    response = client.get(PAGE)

    assert response.status_code == 404
    assert page_body(response) == not_found_page


def test_page_with_a_tampered_cookie_gets_the_not_found_page(client, agent, token, not_found_page):
    other = receive(by=agent)
    client.get(link(token))
    _payload, timestamp, signature = client.cookies[COOKIE_NAME].value.split(":")
    # Another case's digest under this cookie's signature.
    payload = signing.b64_encode(f'"{tracking_digest(other.tracking_token)}"'.encode()).decode()
    client.cookies[COOKIE_NAME] = f"{payload}:{timestamp}:{signature}"

    response = client.get(PAGE)

    assert response.status_code == 404
    assert page_body(response) == not_found_page


def test_page_with_the_cookie_of_a_renewed_link_gets_the_not_found_page(
    client, token, tracked, agent, not_found_page
):
    client.get(link(token))
    customer_actions.case_tracking_renew(case=tracked, by=agent)

    response = client.get(PAGE)

    assert response.status_code == 404
    assert page_body(response) == not_found_page


def test_page_with_the_cookie_of_a_long_closed_case_gets_the_not_found_page(
    client, agent, after_sales, not_found_page
):
    closing = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
    received = closed_case(agent=agent, department=after_sales, closing=closing)
    last_day = closing + timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE - 1)
    with time_machine.travel(last_day, tick=False):
        assert visit(client, received.tracking_token).status_code == 200

    with time_machine.travel(last_day + timedelta(days=2), tick=False):
        response = client.get(PAGE)

    assert response.status_code == 404
    assert page_body(response) == not_found_page


# ---------------------------------------------------------------- headers of every customer page


def _page(client, token, settings):
    return visit(client, token)


def _redirect(client, token, settings):
    return client.get(link(token))


def _not_found_link(client, token, settings):
    return client.get(link("not-a-token"))


def _not_found_page(client, token, settings):
    return client.get(PAGE)


def _too_many(client, token, settings):
    settings.CUSTOMER_RATE_LIMIT = 0
    return client.get(link(token))


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param(_page, 200, id="page"),
        pytest.param(_redirect, 303, id="link"),
        pytest.param(_not_found_link, 404, id="bad-link"),
        pytest.param(_not_found_page, 404, id="no-cookie"),
        pytest.param(_too_many, 429, id="too-many"),
    ],
)
def test_customer_pages_are_not_indexed_cached_or_referred(client, token, settings, answer, status):
    response = answer(client, token, settings)

    assert response.status_code == status
    assert "noindex" in response["X-Robots-Tag"]
    # Never a Referer off the site; none at all from the link's own address (it holds the token).
    expected = "no-referrer" if answer in (_redirect, _not_found_link, _too_many) else "same-origin"
    assert response["Referrer-Policy"] == expected
    assert response["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- never shown to the customer


@pytest.fixture
def named_agent(agent):
    """The agent persona, with names and an address we can look for on the page."""
    agent.first_name, agent.last_name = "Mei", "Ostrander"
    agent.username, agent.email = "mostrander7", "mei.ostrander@staff.example"
    agent.save()
    return agent


def test_staff_appear_by_first_name_and_role(client, named_agent):
    received = receive(by=named_agent)

    response = visit(client, received.tracking_token)

    assert timeline(response)[0].count("Mei (Agent)") == 1


def test_staff_last_names_usernames_and_emails_are_never_shown(client, named_agent):
    received = receive(by=named_agent)
    services.case_add_note(
        case=received.case, by=named_agent, body="Call booked.", customer_visible=True
    )

    response = visit(client, received.tracking_token)

    for detail in ("Ostrander", "mostrander7", "mei.ostrander@staff.example"):
        assert detail not in text(response)


def test_internal_notes_are_never_shown(client, token, tracked, agent):
    services.case_add_note(case=tracked, by=agent, body="Customer sounds litigious.")

    response = visit(client, token)

    assert "litigious" not in text(response)


def test_messages_to_the_customer_are_shown(client, token, tracked, agent):
    services.case_add_note(
        case=tracked, by=agent, body="A technician will call tomorrow.", customer_visible=True
    )

    response = visit(client, token)

    assert "A technician will call tomorrow." in timeline(response)[-1]
    assert "A message for you" in timeline(response)[-1]


def test_a_note_written_with_a_step_move_is_not_shown(client, token, tracked, agent):
    services.case_transition(
        case=tracked, to=Step.LISTEN, by=agent, note="Angry caller, keep it short."
    )

    response = visit(client, token)

    assert "Now: Listening" in timeline(response)[-1]
    assert "Angry caller" not in text(response)


def test_a_stopped_clock_is_shown_without_the_staff_note(client, agent):
    Policy.objects.create(name="Waits", category="service_process", pausable_milestones=["decided"])
    received = receive(by=agent, category="service_process")
    case_pause(case=received.case, by=agent, reason=Pause.Reason.THIRD_PARTY, note="Supplier slow.")

    response = visit(client, received.tracking_token)

    assert "We are waiting for information before we go on." in timeline(response)[-1]
    assert "Supplier slow." not in text(response)


def test_only_customer_visible_events_are_listed(
    client, token, tracked, agent, handler, after_sales
):
    services.case_transition(case=tracked, to=Step.LISTEN, by=agent)
    services.case_assign(case=tracked, by=agent, department=after_sales, note="Over to you.")
    services.case_add_note(case=tracked, by=agent, body="Internal only.")
    services.case_add_note(case=tracked, by=agent, body="We are on it.", customer_visible=True)
    renewed = customer_actions.case_tracking_renew(case=tracked, by=agent)
    visible = CaseEvent.objects.filter(case=tracked, customer_visible=True).count()

    entries = timeline(visit(client, renewed))

    assert len(entries) == visible == 3
    assert "We received your complaint." in entries[0]
    assert "Now: Listening" in entries[1]
    assert "We are on it." in entries[2]
    assert "Over to you." not in text(visit(client, renewed))


def test_another_case_never_appears(client, token, agent):
    other = receive(by=agent, description="Neighbour's fridge leaks.")

    response = visit(client, token)

    assert other.case.reference not in text(response)
    assert "fridge" not in text(response)


# ---------------------------------------------------------------- what the customer sees is inert


def test_markup_in_a_message_is_shown_as_text(client, token, tracked, agent):
    services.case_add_note(
        case=tracked,
        by=agent,
        body="<script>alert(1)</script> <img src=x onerror=alert(2)>",
        customer_visible=True,
    )

    response = visit(client, token)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text(response)
    assert "&lt;img src=x onerror=alert(2)&gt;" in text(response)
    assert "<script>alert(1)" not in text(response)
    assert "<img src=x" not in text(response)


def test_markup_in_the_description_never_reaches_the_page_as_markup(client, agent):
    received = receive(
        by=agent, description="<script>alert(1)</script> <img src=x onerror=alert(2)>"
    )

    response = visit(client, received.tracking_token)

    assert response.status_code == 200
    assert "<script>alert(1)" not in text(response)
    assert "<img src=x" not in text(response)


# ---------------------------------------------------------------- the request limit


@pytest.fixture
def limit_of_three(settings):
    settings.CUSTOMER_RATE_LIMIT = 3


def test_fourth_request_in_a_minute_from_one_address_is_refused(
    client, clock, token, limit_of_three
):
    for _ in range(3):
        assert client.get(link(token), REMOTE_ADDR="203.0.113.7").status_code == 303

    response = client.get(PAGE, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 429
    assert response["Retry-After"] == "60"


def test_guessed_links_count_towards_the_limit(client, clock, token, limit_of_three):
    for guess in ("short", UNKNOWN_TOKEN, "B" * 43):
        client.get(link(guess), REMOTE_ADDR="203.0.113.7")

    assert client.get(link(token), REMOTE_ADDR="203.0.113.7").status_code == 429


def test_another_address_is_not_limited(client, clock, token, limit_of_three):
    for _ in range(4):
        client.get(link(token), REMOTE_ADDR="203.0.113.7")

    assert client.get(link(token), REMOTE_ADDR="198.51.100.2").status_code == 303


def test_limit_lifts_after_the_minute(client, clock, token, limit_of_three):
    for _ in range(4):
        client.get(link(token), REMOTE_ADDR="203.0.113.7")

    clock(T0 + timedelta(minutes=1))

    assert client.get(link(token), REMOTE_ADDR="203.0.113.7").status_code == 303


# ---------------------------------------------------------------- a new link


def test_agent_renewing_the_link_returns_to_the_case_page(client, agent, tracked):
    response = renew_as(client, agent, tracked)

    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:case_detail", args=[tracked.reference])


def test_case_page_shows_the_new_link_once(client, agent, tracked):
    response = renew_as(client, agent, tracked)
    page = client.get(response["Location"])
    shown = re.search(r'data-testid="tracking-link">.*?value="([^"]+)"', text(page), re.DOTALL)

    assert shown is not None
    new_token = shown.group(1).rsplit("/", 1)[1]
    tracked.refresh_from_db()
    assert active_digests(tracked) == {tracking_digest(new_token)}
    again = client.get(response["Location"])
    assert 'data-testid="tracking-link"' not in text(again)


def test_renewal_is_on_the_case_timeline_but_not_the_customers(client, agent, tracked):
    renew_as(client, agent, tracked)

    event = CaseEvent.objects.get(case=tracked, kind=CaseEvent.Kind.LINK_RENEWED)
    assert event.actor == agent
    assert event.customer_visible is False


def test_old_link_stops_working_after_renewal(client, agent, token, tracked):
    renew_as(client, agent, tracked)
    client.logout()

    assert client.get(link(token)).status_code == 404


def test_new_link_opens_the_page(client, agent, tracked):
    new_token = customer_actions.case_tracking_renew(case=tracked, by=agent)

    response = visit(client, new_token)

    assert response.status_code == 200
    assert tracked.reference in text(response)


def test_renewal_needs_a_post(client, agent, tracked):
    client.force_login(agent)
    digests = active_digests(tracked)

    response = client.get(reverse("intake:tracking_renew", args=[tracked.reference]))

    assert response.status_code == 405
    tracked.refresh_from_db()
    assert active_digests(tracked) == digests


def test_foreign_handler_may_not_renew_the_link(client, foreign_handler, tracked, token):
    response = renew_as(client, foreign_handler, tracked)

    assert response.status_code == 403
    tracked.refresh_from_db()
    assert active_digests(tracked) == {tracking_digest(token)}
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.LINK_RENEWED).exists()


def test_outsider_is_told_the_case_does_not_exist(client, outsider, tracked, token):
    response = renew_as(client, outsider, tracked)

    assert response.status_code == 404
    tracked.refresh_from_db()
    assert active_digests(tracked) == {tracking_digest(token)}


def test_anonymous_renewal_is_sent_to_log_in(client, tracked, token):
    url = reverse("intake:tracking_renew", args=[tracked.reference])

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")
    tracked.refresh_from_db()
    assert active_digests(tracked) == {tracking_digest(token)}


def test_case_page_offers_a_new_link_to_who_may_work_the_case(client, agent, tracked):
    client.force_login(agent)

    response = client.get(reverse("complaints:case_detail", args=[tracked.reference]))

    assert 'data-testid="tracking-link-panel"' in text(response)


def test_case_page_offers_no_new_link_to_a_foreign_handler(client, foreign_handler, tracked):
    client.force_login(foreign_handler)

    response = client.get(reverse("complaints:case_detail", args=[tracked.reference]))

    assert response.status_code == 200
    assert 'data-testid="tracking-link-panel"' not in text(response)


# ---------------------------------------------------------------- cost and language


def _queries_of_page(client: Client, token: str) -> int:
    client.get(link(token))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE)
    assert response.status_code == 200
    return len(queries)


def _with_events(count: int, *, staff: list) -> str:
    """A case whose customer sees ``count`` events, written by the given members of staff."""
    received = receive(by=staff[0])
    for n in range(count - 1):
        services.case_add_note(
            case=received.case, by=staff[n % len(staff)], body=f"Update {n}.", customer_visible=True
        )
    assert received.case.events.filter(customer_visible=True).count() == count
    return received.tracking_token


def test_page_queries_do_not_grow_with_the_timeline(agent, quality_manager):
    few = _with_events(3, staff=[agent, quality_manager])
    many = _with_events(30, staff=[agent, quality_manager])

    assert _queries_of_page(Client(), few) == _queries_of_page(Client(), many)


def test_page_renders_in_simplified_chinese_by_browser_language(client, token):
    response = visit(client, token, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in text(response)


def test_page_renders_in_simplified_chinese_by_language_cookie(client, token):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = visit(client, token)

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in text(response)


def test_a_link_with_a_slash_added_by_a_mail_client_still_opens(client, token):
    response = client.get(link(token) + "/")

    assert response.status_code == 303
    assert response["Location"] == "/t/"


@pytest.mark.parametrize("bad", ["a/b", "A" * 43 + "/x", "A" * 43 + "//"])
def test_a_link_with_extra_path_gets_the_tracking_not_found_page(client, bad, not_found_page):
    response = client.get(link(bad))

    assert response.status_code == 404
    assert page_body(response) == not_found_page
    assert response["Cache-Control"] == "no-store"


def test_a_head_request_is_answered_like_a_get(client, token):
    assert client.head(link(token)).status_code == 303
