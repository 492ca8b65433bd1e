"""The honest endings (``lifecycle.ENDINGS``): a case closed without the customer's rating, each
with its reason, through the one guard of the lifecycle (``services.case_transition(...,
ending=...)``) on the case page and in the API alike:

- unreachable, at Follow up only, after ``FOLLOW_UP_ATTEMPTS`` attempts to reach the customer
  that did not reach them since the case last came to Follow up (``case_contact_record``), with
  nothing of theirs left unanswered and no rating of theirs saying they are satisfied;
- withdrawn, at any open step;
- not a complaint (spam), at Receive or Listen, by a department head or above (the case page
  offers it to no one else).

Each needs a note saying why. The customer is told of the first two (essential notices), of the
third nobody is; the open deadlines are superseded (neither met nor breached), so nothing
escalates a closed case. The customer's next message — the tracking page, an email answer, a
text — takes such a case up again at the step it ended at; a case closed with their rating takes
no more. No ending is a satisfaction figure."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from complaints import contact, customer_actions, lifecycle, services
from complaints.errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from complaints.models import Case, CaseEvent, ContactAttempt, Ending, Step
from conversation import replies
from conversation.models import Notice, NoticeKind
from escalation.models import Deadline, Escalation
from escalation.sweep import sweep
from reporting.figures import LiveFigures
from reporting.quality import outcomes

from ..api.conftest import case_url, error
from ..conversation.test_sms_inbound import TENCENT_SMS_URL
from ..conversation.test_sms_inbound import reply as text_in
from ..factories import CustomerFactory, receive, receive_case, walk
from ..intake.test_inbound_email import auth, post, postmark

pytestmark = pytest.mark.django_db

EMAIL = "li.na@example.com"
MOBILE = "+8613800138000"
WHY = "Called on Monday and Tuesday, morning and evening: no answer, voicemail full."
WITHDRAWN_WHY = "She called to say the shop replaced the drum; she withdraws it."
SPAM = "An advertisement for washing powder, not a complaint."
AGAIN = "The drum is loud again, please come back."
NOT_ANSWERED = "The customer's last message has no answer yet: write to them before closing."
NOT_PERMITTED = "Only a department head or a manager may close a case as not a complaint."
SATISFACTION = ("rated", "rating", "handling", "answered", "satisfied")

PHONE = ContactAttempt.Method.PHONE
NO_ANSWER = ContactAttempt.Result.NO_ANSWER
REACHED = ContactAttempt.Result.REACHED


# ---------------------------------------------------------------- helpers


def tried(case: Case, by, times: int = 1, *, result: str = NO_ANSWER, **kwargs) -> None:
    """``times`` attempts to reach the customer, each with ``result``."""
    for _ in range(times):
        services.case_contact_record(case=case, by=by, method=PHONE, result=result, **kwargs)


def end(case: Case, by, ending: str, note: str = WHY, **kwargs) -> CaseEvent:
    return services.case_transition(
        case=case, to=Step.CLOSED, by=by, ending=ending, note=note, **kwargs
    )


def unreachable(case: Case, by) -> CaseEvent:
    """Close a case at Follow up as unreachable, after the attempts the policy asks for."""
    tried(case, by, settings.FOLLOW_UP_ATTEMPTS)
    return end(case, by, Ending.UNREACHABLE)


def refused(action) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as caught:
        action()
    return caught.value


def notice_kinds(case: Case) -> list[str]:
    return list(Notice.objects.filter(case=case).values_list("kind", flat=True))


def page(client, user, case: Case) -> str:
    client.force_login(user)
    response = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, testid: str) -> str:
    """The HTML of the element marked ``data-testid=testid`` (to its closing tag)."""
    match = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.DOTALL)
    assert match, f"nothing marked {testid}"
    return " ".join(match.group(2).split())


def timeline_item(html: str, kind: str) -> str:
    match = re.search(
        rf'<li class="event[^"]*" data-kind="{kind}".*?</li>\s*</ul>', html, re.DOTALL
    )
    assert match, f"no {kind} event on the timeline"
    return " ".join(match.group(0).split())


def satisfaction() -> dict:
    """The dashboard's satisfaction and rating figures over every case (the live path)."""
    figures = LiveFigures(Case.objects.all()).outcomes()
    return {key: figures[key] for key in SATISFACTION}


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def tencent(settings):
    """Texts come in through Tencent's reply callback (as in tests/conversation/
    test_sms_inbound.py)."""
    settings.SMS_URL = TENCENT_SMS_URL


@pytest.fixture
def li_na(db):
    """A customer with an email address and a mobile number."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=MOBILE)


@pytest.fixture
def received(agent, li_na):
    """Li Na's complaint, logged by the agent (its owner), with its tracking token."""
    return receive(by=agent, customer=li_na)


@pytest.fixture
def case(received) -> Case:
    return received.case


@pytest.fixture
def following_up(case, at) -> Case:
    return at(Step.FOLLOW_UP)


# ---------------------------------------------------------------- contact attempts


def test_a_contact_attempt_is_recorded_with_the_step_the_case_is_at(following_up, agent):
    attempt = services.case_contact_record(
        case=following_up, by=agent, method=PHONE, result=NO_ANSWER, note="Rang twice."
    )

    attempt.refresh_from_db()
    assert (attempt.case, attempt.by, attempt.method, attempt.result, attempt.note) == (
        following_up,
        agent,
        "phone",
        "no_answer",
        "Rang twice.",
    )
    assert attempt.step == Step.FOLLOW_UP


def test_a_contact_attempt_writes_a_contacted_event_with_how_and_the_result(case, agent):
    attempt = services.case_contact_record(
        case=case, by=agent, method=ContactAttempt.Method.VISIT, result=REACHED, note="At home."
    )

    event = case.events.get(kind=CaseEvent.Kind.CONTACTED)
    assert (event.actor, event.note, event.at) == (agent, "At home.", attempt.at)
    assert event.changes == {"method": [None, "visit"], "result": [None, "reached"]}
    assert attempt.step == Step.RECEIVE


def test_the_contacted_event_shows_on_the_timeline_with_the_labels(client, case, agent):
    tried(case, agent, note="Voicemail.")

    item = timeline_item(page(client, agent, case), "contacted")

    assert "Customer contacted" in item
    assert '<span class="label">how:</span> Phone call' in item
    assert '<span class="label">result:</span> No answer' in item
    assert "Voicemail." in item


def test_an_attempt_made_earlier_is_recorded_at_that_time(case, agent):
    earlier = timezone.now() - timedelta(hours=3)

    services.case_contact_record(case=case, by=agent, method=PHONE, result=NO_ANSWER, at=earlier)

    assert ContactAttempt.objects.get(case=case).at == earlier
    assert case.events.get(kind=CaseEvent.Kind.CONTACTED).at == earlier


def test_an_attempt_with_an_unknown_method_or_result_or_in_the_future_is_refused_with_fields(
    case, agent
):
    with pytest.raises(InvalidInput) as caught:
        services.case_contact_record(
            case=case,
            by=agent,
            method="pigeon",
            result="maybe",
            at=timezone.now() + timedelta(hours=1),
        )

    assert set(caught.value.fields) == {"method", "result", "at"}
    assert caught.value.fields["at"] == ["It cannot have happened in the future."]
    assert not ContactAttempt.objects.exists()
    assert not case.events.filter(kind=CaseEvent.Kind.CONTACTED).exists()


def test_an_attempt_on_a_closed_case_is_refused(case, at, agent):
    at(Step.CLOSED)

    refusal = refused(lambda: tried(case, agent))

    assert refusal.messages == ["The case is no longer open: there is no one to reach for it."]
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize("persona", ["outsider", "foreign_handler"])
def test_an_attempt_by_someone_who_may_not_work_the_case_is_refused(case, persona, request):
    user = request.getfixturevalue(persona)

    with pytest.raises(AccessDenied):
        tried(case, user)

    assert not ContactAttempt.objects.exists()


# ---------------------------------------------------------------- contact attempts: the case page


def test_the_case_page_records_an_attempt(client, following_up, agent):
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_contact", args=[following_up.reference]),
        {"method": "phone", "result": "left_message", "note": "Left a voicemail."},
    )

    assert response.status_code == 302
    attempt = ContactAttempt.objects.get(case=following_up)
    assert (attempt.by, attempt.method, attempt.result, attempt.note) == (
        agent,
        "phone",
        "left_message",
        "Left a voicemail.",
    )


def test_the_case_page_lists_the_attempts_and_counts_those_at_follow_up(
    client, following_up, agent
):
    tried(following_up, agent, note="Rang at nine.")
    tried(following_up, agent, result=REACHED)

    html = page(client, agent, following_up)

    attempts = section(html, "contact-attempts")
    assert "Phone call: No answer" in attempts
    assert "Phone call: Reached the customer" in attempts
    assert "Rang at nine." in attempts
    assert section(html, "follow-up-attempts") == (
        f'<small class="muted">Follow-up attempts that did not reach them: 1 of the '
        f"{settings.FOLLOW_UP_ATTEMPTS} before the case may close as unreachable.</small>"
    )


def test_the_case_page_counts_follow_up_attempts_only_at_follow_up(client, case, agent):
    tried(case, agent)

    html = page(client, agent, case)

    assert "Phone call: No answer" in section(html, "contact-attempts")
    assert 'data-testid="follow-up-attempts"' not in html


def test_the_case_page_refuses_an_attempt_without_a_result_and_says_why(client, case, agent):
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_contact", args=[case.reference]), {"method": "phone"}
    )

    assert response.status_code == 400
    assert "This field is required." in section(response.content.decode(), "contact-attempts")
    assert not ContactAttempt.objects.exists()


def test_the_case_page_refuses_an_attempt_on_a_closed_case(client, case, at, agent):
    at(Step.CLOSED)
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_contact", args=[case.reference]),
        {"method": "phone", "result": "no_answer"},
    )

    assert response.status_code == 422
    assert "there is no one to reach for it" in section(response.content.decode(), "refusal")
    assert not ContactAttempt.objects.exists()


def test_the_case_page_refuses_an_attempt_by_a_handler_of_another_department(
    client, case, foreign_handler
):
    client.force_login(foreign_handler)

    response = client.post(
        reverse("complaints:case_contact", args=[case.reference]),
        {"method": "phone", "result": "no_answer"},
    )

    assert response.status_code == 403
    assert not ContactAttempt.objects.exists()


# ---------------------------------------------------------------- contact attempts: the API


def test_the_api_records_an_attempt_and_answers_201_with_it(api, following_up, agent):
    response = api(agent).post(
        case_url(following_up, "contacts"),
        {"method": "sms", "result": "no_answer", "note": "Texted."},
        format="json",
    )

    assert response.status_code == 201, response.content
    attempt = ContactAttempt.objects.get(case=following_up)
    body = response.json()
    assert set(body) == {"id", "at", "by", "method", "result", "note", "step"}
    assert body["id"] == attempt.pk
    assert (body["by"], body["method"], body["result"], body["note"], body["step"]) == (
        "agent",
        "sms",
        "no_answer",
        "Texted.",
        "follow_up",
    )


def test_the_api_lists_the_attempts_oldest_first(api, case, agent, foreign_handler):
    earlier = timezone.now() - timedelta(hours=2)
    tried(case, agent, result=REACHED)
    tried(case, agent, at=earlier)

    response = api(foreign_handler).get(case_url(case, "contacts"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["result"], row["by"], row["step"]) for row in rows] == [
        ("no_answer", "agent", "receive"),
        ("reached", "agent", "receive"),
    ]


def test_the_api_refuses_an_attempt_with_an_unknown_method(api, case, agent):
    refusal = error(
        api(agent).post(
            case_url(case, "contacts"), {"method": "pigeon", "result": "no_answer"}, format="json"
        ),
        400,
        "invalid",
    )

    assert set(refusal["fields"]) == {"method"}
    assert not ContactAttempt.objects.exists()


def test_the_api_refuses_an_attempt_in_the_future(api, case, agent):
    later = (timezone.now() + timedelta(days=1)).isoformat()

    refusal = error(
        api(agent).post(
            case_url(case, "contacts"),
            {"method": "phone", "result": "no_answer", "at": later},
            format="json",
        ),
        400,
        "invalid",
    )

    assert refusal["fields"] == {"at": ["It cannot have happened in the future."]}
    assert not ContactAttempt.objects.exists()


def test_the_api_refuses_an_attempt_on_a_closed_case_with_409(api, case, at, agent):
    at(Step.CLOSED)

    error(
        api(agent).post(
            case_url(case, "contacts"), {"method": "phone", "result": "no_answer"}, format="json"
        ),
        409,
        "refused",
    )
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize("persona", ["foreign_handler", "outsider"])
def test_the_api_refuses_an_attempt_by_a_persona_who_may_not_work_the_case(
    api, case, persona, request
):
    user = request.getfixturevalue(persona)

    response = api(user).post(
        case_url(case, "contacts"), {"method": "phone", "result": "no_answer"}, format="json"
    )

    error(response, 403, "permission_denied")
    assert not ContactAttempt.objects.exists()


# ---------------------------------------------------------------- unreachable


def test_unreachable_is_refused_before_the_attempts_the_policy_asks_for(following_up, agent):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS - 1)

    refusal = refused(lambda: end(following_up, agent, Ending.UNREACHABLE))

    assert set(refusal.fields) == {"contact_attempts"}
    assert refusal.messages[0].startswith("Try to reach the customer first")
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.FOLLOW_UP, "")


def test_unreachable_follows_the_number_of_attempts_the_deployment_sets(
    following_up, agent, settings
):
    settings.FOLLOW_UP_ATTEMPTS = 1
    tried(following_up, agent)

    end(following_up, agent, Ending.UNREACHABLE)

    following_up.refresh_from_db()
    assert following_up.ending == Ending.UNREACHABLE


def test_an_attempt_that_reached_the_customer_does_not_count_towards_unreachable(
    following_up, agent
):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS - 1)
    tried(following_up, agent, result=REACHED)

    assert lifecycle.follow_up_attempts(following_up) == settings.FOLLOW_UP_ATTEMPTS - 1
    refused(lambda: end(following_up, agent, Ending.UNREACHABLE))


def test_attempts_before_follow_up_do_not_count_towards_unreachable(case, at, agent):
    tried(case, agent, settings.FOLLOW_UP_ATTEMPTS)  # at Receive
    at(Step.FOLLOW_UP)

    assert lifecycle.follow_up_attempts(case) == 0
    refused(lambda: end(case, agent, Ending.UNREACHABLE))


def test_attempts_before_a_reopening_do_not_count_towards_unreachable(following_up, at, agent):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    customer_actions.case_customer_follow_up(
        case=following_up, handling=2, outcome=1, satisfied=False, comment="Still loud."
    )
    at(Step.FOLLOW_UP)  # the new round's Follow up

    assert lifecycle.follow_up_attempts(following_up) == 0
    refused(lambda: end(following_up, agent, Ending.UNREACHABLE))

    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    end(following_up, agent, Ending.UNREACHABLE)
    following_up.refresh_from_db()
    assert following_up.ending == Ending.UNREACHABLE


def test_unreachable_needs_a_note_saying_what_was_tried(following_up, agent):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)

    refusal = refused(lambda: end(following_up, agent, Ending.UNREACHABLE, note="  "))

    assert refusal.fields == {"note": ["Say what was tried."]}
    following_up.refresh_from_db()
    assert following_up.step == Step.FOLLOW_UP


def test_unreachable_is_refused_while_a_message_of_the_customers_waits_for_an_answer(
    following_up, agent
):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    customer_actions.case_customer_message(case=following_up, body="Who is calling me?")
    following_up.refresh_from_db()

    refusal = refused(lambda: end(following_up, agent, Ending.UNREACHABLE))

    assert refusal.messages == [NOT_ANSWERED]
    following_up.refresh_from_db()
    assert following_up.step == Step.FOLLOW_UP


def test_unreachable_is_refused_once_the_customer_rated_it_and_is_satisfied(following_up, agent):
    customer_actions.case_customer_message(case=following_up, body="One more question.")
    customer_actions.case_customer_follow_up(
        case=following_up, handling=5, outcome=5, satisfied=True
    )
    services.case_add_note(case=following_up, by=agent, body="The answer.", customer_visible=True)
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    following_up.refresh_from_db()
    assert (following_up.step, following_up.awaiting_reply_since) == (Step.FOLLOW_UP, None)

    refusal = refused(lambda: end(following_up, agent, Ending.UNREACHABLE))

    assert refusal.messages == [
        "The customer rated it and is satisfied: answer them if a message of theirs waits, "
        "then close the case as rated."
    ]
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.FOLLOW_UP, "")


def test_unreachable_after_the_attempts_closes_the_case_with_the_note(
    following_up, agent, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)

    event = unreachable(following_up, agent)

    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.CLOSED, Ending.UNREACHABLE)
    assert following_up.closed_at == event.at
    assert (event.kind, event.from_step, event.to_step, event.actor) == (
        CaseEvent.Kind.STEP,
        Step.FOLLOW_UP,
        Step.CLOSED,
        agent,
    )
    assert event.note == WHY
    assert event.changes["ending"] == ["", "unreachable"]
    # No rating was had: none is recorded.
    assert following_up.satisfaction_rating is None
    assert following_up.follow_up_satisfied is None


def test_unreachable_tells_the_customer_it_is_closed_and_why(following_up, agent):
    event = unreachable(following_up, agent)

    notice = Notice.objects.get(kind=NoticeKind.CLOSED_UNREACHABLE)
    assert (notice.case, notice.event, notice.status, notice.address) == (
        following_up,
        event,
        Notice.Status.PENDING,
        EMAIL,
    )
    assert NoticeKind.CLOSED not in notice_kinds(following_up)


def test_unreachable_is_told_even_to_a_customer_who_wants_essential_messages_only(
    following_up, agent
):
    contact.customer_preferences_set(case=following_up, by=None, essential_only=True)

    unreachable(following_up, agent)

    notice = Notice.objects.get(kind=NoticeKind.CLOSED_UNREACHABLE)
    assert (notice.status, notice.skipped_because) == (Notice.Status.PENDING, "")


@pytest.mark.parametrize("step", [s for s in Case.OPEN_STEPS if s != Step.FOLLOW_UP])
def test_unreachable_is_refused_at_any_step_but_follow_up(case, at, agent, step):
    at(step)
    tried(case, agent, settings.FOLLOW_UP_ATTEMPTS)

    refusal = refused(lambda: end(case, agent, Ending.UNREACHABLE))

    assert refusal.messages == [
        f"A case at {Step(step).label} cannot be closed as “Customer unreachable”."
    ]
    case.refresh_from_db()
    assert (case.step, case.ending) == (step, "")


# ---------------------------------------------------------------- withdrawn


@pytest.mark.parametrize("step", Case.OPEN_STEPS)
def test_withdrawn_closes_the_case_from_any_open_step_with_the_note(
    case, at, agent, step, time_machine
):
    at(step)
    time_machine.move_to(timezone.now(), tick=False)

    event = end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY)

    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.CLOSED, Ending.WITHDRAWN)
    assert case.closed_at == event.at
    assert (event.from_step, event.to_step, event.note) == (step, Step.CLOSED, WITHDRAWN_WHY)


def test_withdrawn_tells_the_customer_it_is_withdrawn(case, at, agent):
    at(Step.DECIDE)

    event = end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY)

    notice = Notice.objects.get(kind=NoticeKind.CLOSED_WITHDRAWN)
    assert (notice.case, notice.event, notice.status) == (case, event, Notice.Status.PENDING)
    assert NoticeKind.CLOSED not in notice_kinds(case)


def test_withdrawn_needs_a_note_saying_how_the_customer_withdrew_it(case, agent):
    refusal = refused(lambda: end(case, agent, Ending.WITHDRAWN, note=""))

    assert list(refusal.fields) == ["note"]
    assert refusal.messages[0].startswith("Say how the customer withdrew it")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


# ---------------------------------------------------------------- not a complaint


@pytest.mark.parametrize("step", [Step.RECEIVE, Step.LISTEN])
@pytest.mark.parametrize("persona", ["department_head", "quality_manager", "general_manager"])
def test_a_head_or_manager_closes_a_case_at_receive_or_listen_as_not_a_complaint(
    case, at, agent, after_sales, persona, step, request
):
    user = request.getfixturevalue(persona)
    services.case_assign(case=case, by=agent, department=after_sales)  # the head's department
    at(step)

    event = end(case, user, Ending.NOT_A_COMPLAINT, note=SPAM)

    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.CLOSED, Ending.NOT_A_COMPLAINT)
    assert (event.actor, event.from_step, event.note) == (user, step, SPAM)


@pytest.mark.parametrize("persona", ["agent", "handler"])
def test_an_agent_or_handler_may_not_close_a_case_as_not_a_complaint(
    case, agent, after_sales, persona, request
):
    user = request.getfixturevalue(persona)
    services.case_assign(case=case, by=agent, department=after_sales)  # the handler's too

    refusal = refused(lambda: end(case, user, Ending.NOT_A_COMPLAINT, note=SPAM))

    assert refusal.messages == [NOT_PERMITTED]
    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.RECEIVE, "")


def test_not_a_complaint_needs_a_note_saying_why(case, quality_manager):
    refusal = refused(lambda: end(case, quality_manager, Ending.NOT_A_COMPLAINT, note=""))

    assert refusal.fields == {"note": ["Say why this is not a complaint."]}


@pytest.mark.parametrize("step", [Step.ANALYSE, Step.DECIDE, Step.FOLLOW_UP])
def test_not_a_complaint_is_refused_once_the_analysis_began(case, at, quality_manager, step):
    at(step)

    refusal = refused(lambda: end(case, quality_manager, Ending.NOT_A_COMPLAINT, note=SPAM))

    assert refusal.messages == [
        f"A case at {Step(step).label} cannot be closed as “Not a complaint (spam)”."
    ]


def test_not_a_complaint_tells_nobody(case, quality_manager):
    before = Notice.objects.count()

    end(case, quality_manager, Ending.NOT_A_COMPLAINT, note=SPAM)

    assert Notice.objects.count() == before


# ---------------------------------------------------------------- rated, unknown, stale


def test_the_usual_close_with_the_customers_rating_ends_as_rated(case, at):
    at(Step.CLOSED)

    case.refresh_from_db()
    assert case.ending == Ending.RATED
    assert case.events.get(to_step=Step.CLOSED).changes["ending"] == ["", "rated"]


def test_the_customers_own_rating_on_the_tracking_page_ends_as_rated(following_up):
    customer_actions.case_customer_follow_up(
        case=following_up, handling=5, outcome=5, satisfied=True
    )

    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.CLOSED, Ending.RATED)


@pytest.mark.parametrize("ending", ["rated", "lost_interest"])
def test_rated_or_an_unknown_ending_is_refused_by_the_guard(following_up, agent, ending):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)

    refusal = refused(lambda: end(following_up, agent, ending))

    assert refusal.messages == ["There is no such way to close a case."]
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.FOLLOW_UP, "")


def test_an_ending_names_closed_as_the_step_it_goes_to(case, agent):
    refusal = refused(
        lambda: services.case_transition(
            case=case, to=Step.LISTEN, by=agent, ending=Ending.WITHDRAWN, note=WITHDRAWN_WHY
        )
    )

    assert refusal.messages == [
        "A case at Receive cannot be closed as “Withdrawn by the customer”."
    ]
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_an_ending_on_a_stale_version_is_refused_as_a_conflict(case, agent):
    seen = case.version
    services.case_update(case=case, by=agent, data={"product": "Washing machine W-300"})

    with pytest.raises(CaseConflict):
        end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY, expected_version=seen)

    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def transition(client, case: Case, **data):
    case.refresh_from_db()
    return client.post(
        case_url(case, "transition"),
        {"to": "closed", "version": case.version, **data},
        format="json",
    )


def test_the_api_closes_a_case_as_withdrawn_with_the_note(api, case, agent):
    response = transition(api(agent), case, ending="withdrawn", note=WITHDRAWN_WHY)

    assert response.status_code == 200, response.content
    assert (response.json()["step"], response.json()["ending"]) == ("closed", "withdrawn")
    case.refresh_from_db()
    assert case.ending == Ending.WITHDRAWN
    assert case.events.get(to_step=Step.CLOSED).note == WITHDRAWN_WHY


def test_the_api_refuses_an_ending_not_open_at_the_step_with_409_and_why(
    api, following_up, quality_manager
):
    refusal = error(
        transition(api(quality_manager), following_up, ending="not_a_complaint", note=SPAM),
        409,
        "refused",
    )

    assert refusal["message"] == (
        "A case at Follow up cannot be closed as “Not a complaint (spam)”."
    )
    following_up.refresh_from_db()
    assert following_up.step == Step.FOLLOW_UP


def test_the_api_refuses_unreachable_before_the_attempts_with_409_and_the_field(
    api, following_up, agent
):
    refusal = error(
        transition(api(agent), following_up, ending="unreachable", note=WHY), 409, "refused"
    )

    assert set(refusal["fields"]) == {"contact_attempts"}


@pytest.mark.parametrize("ending", ["rated", "lost_interest"])
def test_the_api_refuses_rated_or_an_unknown_ending(api, following_up, agent, ending):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)

    response = transition(api(agent), following_up, ending=ending, note=WHY)

    # The API's ``ending`` accepts only the endings a transition may close by: anything else
    # is refused as invalid input (400) before the guard is asked (which would say 409).
    refusal = error(response, 400, "invalid")
    assert set(refusal["fields"]) == {"ending"}
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.FOLLOW_UP, "")


def test_the_api_refuses_an_ending_on_a_stale_version_as_a_conflict(api, case, agent):
    seen = case.version
    services.case_update(case=case, by=agent, data={"product": "Washing machine W-300"})

    error(
        transition(api(agent), case, ending="withdrawn", note=WITHDRAWN_WHY, version=seen),
        409,
        "conflict",
    )
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


# ---------------------------------------------------------------- endings: the case page


def ending_post(client, user, case: Case, **data):
    client.force_login(user)
    return client.post(
        reverse("complaints:case_ending", args=[case.reference]),
        {"version": case.version, "note": WHY, **data},
    )


def test_the_case_page_offers_the_endings_open_at_the_step(client, following_up, agent):
    endings = section(page(client, agent, following_up), "endings")

    assert 'value="unreachable"' in endings
    assert 'value="withdrawn"' in endings
    assert 'value="not_a_complaint"' not in endings
    assert 'value="rated"' not in endings


def test_the_case_page_closes_a_case_as_unreachable_and_shows_how_it_ended(
    client, following_up, agent
):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    following_up.refresh_from_db()

    response = ending_post(client, agent, following_up, ending="unreachable")

    assert response.status_code == 302
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.CLOSED, Ending.UNREACHABLE)
    html = page(client, agent, following_up)
    assert section(html, "case-ending") == "<strong>Customer unreachable</strong>"
    assert f"{following_up.reference} is closed: Customer unreachable." in html


def test_the_case_page_shows_the_refusal_of_unreachable_before_the_attempts(
    client, following_up, agent
):
    response = ending_post(client, agent, following_up, ending="unreachable")

    assert response.status_code == 422
    assert "Try to reach the customer first" in section(response.content.decode(), "refusal")
    following_up.refresh_from_db()
    assert following_up.step == Step.FOLLOW_UP


def test_the_case_page_offers_not_a_complaint_only_to_a_head_or_above(
    client, case, agent, quality_manager
):
    assert 'value="not_a_complaint"' not in section(page(client, agent, case), "endings")
    assert 'value="not_a_complaint"' in section(page(client, quality_manager, case), "endings")


def test_the_case_page_refuses_a_forged_not_a_complaint_by_an_agent(client, case, agent):
    response = ending_post(client, agent, case, ending="not_a_complaint", note=SPAM)

    # Not offered to an agent, the choice is refused by the form before the guard is asked.
    assert response.status_code == 400
    assert "Select a valid choice. not_a_complaint is not one of the available choices." in section(
        response.content.decode(), "endings"
    )
    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.RECEIVE, "")


@pytest.mark.parametrize("ending", ["rated", "lost_interest"])
def test_the_case_page_refuses_rated_or_an_unknown_ending(client, following_up, agent, ending):
    tried(following_up, agent, settings.FOLLOW_UP_ATTEMPTS)
    following_up.refresh_from_db()

    response = ending_post(client, agent, following_up, ending=ending)

    assert response.status_code == 400
    endings = section(response.content.decode(), "endings")
    assert f"Select a valid choice. {ending} is not one of the available choices." in endings
    following_up.refresh_from_db()
    assert (following_up.step, following_up.ending) == (Step.FOLLOW_UP, "")


def test_the_case_page_refuses_an_ending_on_a_stale_version(client, case, agent):
    stale = case.version
    services.case_update(case=case, by=agent, data={"product": "Washing machine W-300"})
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_ending", args=[case.reference]),
        {"version": stale, "ending": "withdrawn", "note": WITHDRAWN_WHY},
    )

    assert response.status_code == 409
    assert "Someone else changed this case" in section(response.content.decode(), "refusal")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_the_case_page_needs_a_note_for_an_ending(client, case, agent):
    response = ending_post(client, agent, case, ending="withdrawn", note="")

    assert response.status_code == 400
    assert "This field is required." in section(response.content.decode(), "endings")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


# ---------------------------------------------------------------- deadlines


def open_deadlines(case: Case) -> int:
    return Deadline.objects.filter(case=case, met_at=None, superseded_at=None).count()


def test_closing_by_an_ending_supersedes_the_open_deadlines_and_clears_the_due_date(
    case, at, agent
):
    at(Step.DECIDE)
    case.refresh_from_db()
    still_open = set(
        Deadline.objects.filter(case=case, met_at=None, superseded_at=None).values_list(
            "milestone", flat=True
        )
    )
    assert still_open == {"decided", "acted", "closed"} and case.due_at is not None

    event = end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY)

    case.refresh_from_db()
    assert open_deadlines(case) == 0
    # What was still to do is moot: neither met by the closing nor ever breached.
    superseded = Deadline.objects.filter(case=case, superseded_at=event.at)
    assert set(superseded.values_list("milestone", flat=True)) == still_open
    assert not superseded.exclude(met_at=None).exists()
    assert not Deadline.objects.filter(case=case, met_at=event.at).exists()
    assert case.due_at is None


def test_nothing_escalates_a_case_closed_by_an_ending(case, agent, time_machine):
    end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY)
    time_machine.move_to(timezone.now() + timedelta(days=30))

    sweep()

    assert not Escalation.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert case.tier == 0


# ---------------------------------------------------------------- taken up again


def _unreachable(case, at, agent, quality_manager) -> str:
    at(Step.FOLLOW_UP)
    unreachable(case, agent)
    return Step.FOLLOW_UP


def _withdrawn(case, at, agent, quality_manager) -> str:
    at(Step.DECIDE)
    end(case, agent, Ending.WITHDRAWN, note=WITHDRAWN_WHY)
    return Step.DECIDE


def _not_a_complaint(case, at, agent, quality_manager) -> str:
    at(Step.LISTEN)
    end(case, quality_manager, Ending.NOT_A_COMPLAINT, note=SPAM)
    return Step.LISTEN


ENDED = {
    "unreachable": _unreachable,
    "withdrawn": _withdrawn,
    "not_a_complaint": _not_a_complaint,
}


@pytest.fixture(params=list(ENDED))
def ended(request, case, at, agent, quality_manager) -> str:
    """The case closed by one of the reopenable endings; the step it ended at."""
    step = ENDED[request.param](case, at, agent, quality_manager)
    case.refresh_from_db()
    assert case.ending == request.param
    return step


def assert_taken_up_again(case: Case, step: str, body: str) -> None:
    """The case is back at ``step``, by the customer, with their message waiting on us."""
    case.refresh_from_db()
    assert (case.step, case.ending, case.closed_at) == (step, "", None)
    back = case.events.filter(kind=CaseEvent.Kind.STEP, from_step=Step.CLOSED).get()
    assert (back.to_step, back.by_customer, back.actor) == (step, True, None)
    message = case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert body in message.note
    assert message.pk > back.pk
    assert case.awaiting_reply_since == message.at


def test_a_message_on_the_tracking_page_takes_an_ended_case_up_again_where_it_ended(
    client, received, case, ended
):
    assert client.get(f"/t/{received.tracking_token}").status_code == 303

    response = client.post("/t/message/", {"body": AGAIN})

    assert response.status_code == 303
    assert_taken_up_again(case, ended, AGAIN)


def test_an_email_answer_takes_an_ended_case_up_again_where_it_ended(client, case, ended):
    response = post(
        client,
        postmark(sender=EMAIL, to=replies.reply_address(case), subject="Re: closed", text=AGAIN),
        **auth(),
    )

    assert response.status_code == 200
    assert Case.objects.count() == 1
    assert_taken_up_again(case, ended, AGAIN)


def test_a_text_takes_the_customers_ended_case_up_again_where_it_ended(
    client,
    tencent,
    case,
    ended,
):
    response = text_in(client, AGAIN)

    assert response.status_code == 200
    assert Case.objects.count() == 1
    assert_taken_up_again(case, ended, AGAIN)


# What the tracking page says of a case ended without a rating.
WORDING = {
    "unreachable": "We tried to reach you to check you are satisfied, and could not, so we "
    "closed your complaint. Write to us here and we will take it up again.",
    "withdrawn": "You withdrew your complaint, so we closed it. Write to us here if you want us "
    "to take it up again.",
    "not_a_complaint": "We did not record this as a complaint.",
}


def test_the_tracking_page_of_an_ended_case_says_how_it_ended_and_lets_the_customer_write(
    client, received, case, ended
):
    client.get(f"/t/{received.tracking_token}")

    html = client.get("/t/").content.decode()

    case.refresh_from_db()
    assert WORDING[case.ending] in section(html, "tracking-now")
    assert 'data-testid="tracking-write"' in html


def test_a_case_closed_with_the_customers_rating_takes_no_message_on_the_tracking_page(
    client, received, case, at
):
    at(Step.CLOSED)
    client.get(f"/t/{received.tracking_token}")
    assert 'data-testid="tracking-write"' not in client.get("/t/").content.decode()

    response = client.post("/t/message/", {"body": AGAIN})

    assert response.status_code == 400
    assert 'data-testid="tracking-write"' not in response.content.decode()
    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.CLOSED, Ending.RATED)
    assert not case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_an_email_answer_to_a_case_closed_with_a_rating_starts_a_new_case(client, case, at):
    at(Step.CLOSED)

    post(client, postmark(sender=EMAIL, to=replies.reply_address(case), text=AGAIN), **auth())

    case.refresh_from_db()
    assert (case.step, case.ending) == (Step.CLOSED, Ending.RATED)
    new = Case.objects.exclude(pk=case.pk).get()
    assert (new.customer, new.step) == (case.customer, Step.RECEIVE)
    assert AGAIN in new.description


def test_a_case_taken_up_again_at_follow_up_counts_attempts_afresh(case, at, agent):
    at(Step.FOLLOW_UP)
    unreachable(case, agent)
    customer_actions.case_customer_message(case=case, body=AGAIN)
    services.case_add_note(case=case, by=agent, body="We will call.", customer_visible=True)
    case.refresh_from_db()

    assert lifecycle.follow_up_attempts(case) == 0
    refused(lambda: end(case, agent, Ending.UNREACHABLE))


# ---------------------------------------------------------------- reports


def test_a_case_closed_as_unreachable_adds_nothing_to_the_satisfaction_figures(
    agent, after_sales, handler, li_na
):
    rated = receive_case(by=agent, customer=li_na)
    walk(rated, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    ended = receive_case(by=agent, customer=CustomerFactory())
    walk(ended, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    before = satisfaction()

    unreachable(ended, agent)

    assert (
        satisfaction()
        == before
        == {
            "rated": 1,
            "rating": 5,
            "handling": None,
            "answered": 1,
            "satisfied": 1,
        }
    )
    table = {
        row.values["key"]: row.values["value"] for row in outcomes(cases=Case.objects.all()).rows
    }
    assert (table["rating"], table["satisfied"], table["rated"]) == (5, 1.0, 1)
