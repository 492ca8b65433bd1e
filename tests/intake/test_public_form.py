"""Anyone may complain through the public form, without an account; the case waits for an agent
to take it. Robots meet a rate limit and a honeypot."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints import customer_actions
from complaints.errors import AccessDenied, TransitionRefused
from complaints.models import Attachment, Case, CaseEvent, Channel, Step
from intake.tracking import COOKIE_NAME

from ..factories import public_form, walk

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


complaint = public_form  # the form as a customer fills it in


def test_the_form_is_open_to_anyone(client):
    response = client.get("/complain/")

    assert response.status_code == 200
    assert 'data-testid="complain"' in response.content.decode()
    assert response["X-Robots-Tag"].startswith("noindex")


def test_a_complaint_from_the_form_becomes_a_case_waiting_to_be_taken(client):
    response = client.post("/complain/", complaint(), follow=True)

    assert response.redirect_chain == [("/complain/thanks/", 303)]
    case = Case.objects.get()
    assert (case.channel, case.step, case.owner, case.customer.phone) == (
        Channel.WEB_FORM,
        Step.RECEIVE,
        None,
        "+8613800138000",
    )
    page = response.content.decode()
    assert case.reference in page
    assert "/t/" in page
    received = case.events.get(kind=CaseEvent.Kind.RECEIVED)
    assert (received.actor, received.by_customer) == (None, True)
    assert set(case.deadlines.values_list("milestone", flat=True)) == {
        "responded",
        "decided",
        "acted",
        "closed",
    }


def test_after_the_form_the_browser_can_follow_the_case_straight_away(client):
    client.post("/complain/", complaint())

    assert COOKIE_NAME in client.cookies
    page = client.get("/t/").content.decode()
    assert Case.objects.get().reference in page


def test_a_photo_sent_with_the_form_is_kept_on_the_case(client):
    client.post(
        "/complain/",
        {**complaint(), "files": [SimpleUploadedFile("leak.png", PNG, "image/png")]},
    )

    attachment = Attachment.objects.get()
    assert attachment.event.kind == CaseEvent.Kind.RECEIVED
    assert "leak.png" in client.get("/t/").content.decode()


def test_a_file_that_is_not_a_photo_refuses_the_whole_complaint(client):
    response = client.post(
        "/complain/",
        {**complaint(), "files": [SimpleUploadedFile("leak.png", b"MZ\x90\x00", "image/png")]},
    )

    assert response.status_code == 400
    assert "is not a file we can take" in response.content.decode()
    assert not Case.objects.exists()


def test_a_complaint_needs_a_way_to_answer(client):
    response = client.post("/complain/", complaint(phone="", email=""))

    assert response.status_code == 400
    assert "phone number or an email address" in response.content.decode()
    assert not Case.objects.exists()


def test_what_happened_and_what_they_want_are_required(client):
    response = client.post("/complain/", complaint(description="", desired_outcome=""))

    assert response.status_code == 400
    assert not Case.objects.exists()


def test_a_filled_honeypot_gets_thanks_and_creates_nothing(client):
    response = client.post("/complain/", complaint(website="http://spam.example"), follow=True)

    assert response.status_code == 200
    assert 'data-testid="complain-thanks"' in response.content.decode()
    assert not Case.objects.exists()


def test_the_form_is_rate_limited_per_address(client, settings):
    settings.PUBLIC_FORM_RATE_LIMIT = 2
    for i in range(2):
        assert client.post("/complain/", complaint(email=f"c{i}@example.com")).status_code == 303

    response = client.post("/complain/", complaint(email="c3@example.com"))

    assert response.status_code == 429
    assert Case.objects.count() == 2


def test_reloading_the_thank_you_page_sends_nothing_again_and_hides_the_link(client):
    first = client.post("/complain/", complaint(), follow=True).content.decode()

    again = client.get("/complain/thanks/").content.decode()

    assert Case.objects.count() == 1
    assert "/t/" in first
    assert "/t/" not in again.split('data-testid="complain-thanks"')[1]


def test_what_the_customer_typed_is_rendered_inert(client):
    thanks = client.post(
        "/complain/",
        complaint(name="<img src=x onerror=alert(1)>", description="<script>alert(1)</script>"),
        follow=True,
    ).content.decode()
    printable = client.get("/t/download/").content.decode()

    for page in (thanks, printable):
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in printable


# ---------------------------------------------------------------- an agent takes it


@pytest.fixture
def waiting(client):
    client.post("/complain/", complaint())
    client.cookies.clear()
    return Case.objects.get()


def test_agents_see_how_many_cases_wait_to_be_taken(client, agent, waiting):
    client.force_login(agent)

    page = client.get("/").content.decode()

    assert 'data-testid="nav-unassigned"' in page
    listed = client.get("/cases/?unassigned=true").content.decode()
    assert waiting.reference in listed


def test_an_agent_takes_the_case_and_owns_it(client, agent, waiting):
    client.force_login(agent)

    response = client.post(f"/cases/{waiting.reference}/take/", follow=True)

    waiting.refresh_from_db()
    assert waiting.owner == agent
    assert "is now yours" in response.content.decode()
    event = waiting.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert event.changes == {"owner": [None, agent.pk]}


def test_a_case_already_taken_cannot_be_taken_again(agent, other_agent, waiting):
    customer_actions.case_take(case=waiting, by=agent)

    with pytest.raises(TransitionRefused, match="already taken"):
        customer_actions.case_take(case=waiting, by=other_agent)

    waiting.refresh_from_db()
    assert waiting.owner == agent


def test_a_handler_who_does_not_take_complaints_cannot_take_one(handler, waiting):
    with pytest.raises(AccessDenied):
        customer_actions.case_take(case=waiting, by=handler)


def test_once_taken_the_agent_works_it_like_their_own(agent, after_sales, handler, waiting):
    customer_actions.case_take(case=waiting, by=agent)

    walk(waiting, to=Step.DECIDE, by=agent, department=after_sales, person=handler)

    waiting.refresh_from_db()
    assert waiting.step == Step.DECIDE


def test_the_form_never_changes_an_existing_customers_contact_details(client):
    """Anyone could otherwise add their own address to someone else's record (matched by a
    phone number) and have that customer's tracking links sent to it."""
    from complaints.models import Customer

    victim = Customer.objects.create(name="Li Na", phone="+8613800138000")

    response = client.post(
        "/complain/", complaint(email="attacker@example.com"), follow=True
    ).content.decode()

    victim.refresh_from_db()
    assert victim.email == ""
    assert Case.objects.get().customer == victim
    assert "We have also emailed you the link." not in response
