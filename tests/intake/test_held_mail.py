"""Held mail: an inbound email whose sender failed the mail provider's checks (DMARC, or SPF with
no passing DKIM) is held, untouched, for an agent, who releases it (taken in as any email is) or
discards it. Where the provider reports nothing, mail is taken in as before."""

from __future__ import annotations

import pytest
from django.urls import reverse

from complaints import services
from complaints.models import Case, CaseEvent
from conversation import replies
from intake.models import HeldEmail

from ..factories import CustomerFactory
from .test_inbound_email import auth, post, postmark

pytestmark = pytest.mark.django_db

FAILED_DMARC = (
    "mx.heed.example; spf=pass smtp.mailfrom=example.com; dmarc=fail header.from=example.com"
)


def with_headers(payload: dict, *headers: tuple[str, str]) -> dict:
    payload["Headers"] = [*payload["Headers"], *({"Name": n, "Value": v} for n, v in headers)]
    return payload


@pytest.fixture
def leaks(agent) -> Case:
    return services.case_receive(
        by=agent,
        customer=CustomerFactory(email="li.na@example.com"),
        channel="phone",
        category="product_quality",
        description="Leaks.",
        desired_outcome="A new one.",
    ).case


def forged_answer(case: Case, **fields) -> dict:
    return with_headers(
        postmark(
            to=replies.reply_address(case), text="Please refund me to this account.", **fields
        ),
        ("Authentication-Results", FAILED_DMARC),
    )


def test_an_email_failing_dmarc_is_held_and_nothing_is_posted(client, leaks):
    response = post(client, forged_answer(leaks), **auth())

    assert response.status_code == 200  # the provider must not retry it
    held = HeldEmail.objects.get()
    assert (held.sender, held.reason) == ("li.na@example.com", "dmarc=fail")
    assert "refund me" in held.text
    assert not leaks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "held"),
    [
        ([("Received-SPF", "Fail (mailfrom) identity=mailfrom")], True),
        ([("X-Mailgun-Spf", "Fail"), ("X-Mailgun-Dkim-Check-Result", "Fail")], True),
        ([("Authentication-Results", "mx; spf=fail; dkim=pass header.d=example.com")], False),
        ([("Authentication-Results", "mx; spf=softfail; dkim=none")], False),
        ([("Authentication-Results", "mx; spf=fail; dkim=pass; dmarc=pass")], False),
        ([], False),
    ],
)
def test_what_the_provider_reports_decides_whether_an_email_is_held(client, leaks, headers, held):
    payload = with_headers(postmark(to=replies.reply_address(leaks), text="Hello."), *headers)

    post(client, payload, **auth())

    assert HeldEmail.objects.exists() is held
    assert leaks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists() is not held


def test_the_same_held_email_delivered_twice_is_held_once(client, leaks):
    post(client, forged_answer(leaks), **auth())
    post(client, forged_answer(leaks), **auth())

    assert HeldEmail.objects.count() == 1


def test_an_agent_sees_the_held_mail_and_its_count_in_the_navigation(client, agent, leaks):
    post(client, forged_answer(leaks, subject="Refund"), **auth())
    client.force_login(agent)

    page = client.get(reverse("intake:held_list")).content.decode()

    assert 'data-testid="held-email"' in page
    assert "Refund" in page and "dmarc=fail" in page
    assert 'data-testid="nav-held-mail"' in page


def test_releasing_takes_the_email_in_as_the_answer_to_its_case(client, agent, leaks):
    post(client, forged_answer(leaks), **auth())
    held = HeldEmail.objects.get()
    client.force_login(agent)

    response = client.post(reverse("intake:held_decide", args=[held.pk]), {"decision": "release"})

    assert response.status_code == 302
    message = leaks.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert message.note == "Please refund me to this account."
    held.refresh_from_db()
    assert (held.case, held.decided_by) == (leaks, agent)
    assert held.released_at is not None
    page = client.get(reverse("intake:held_list")).content.decode()
    assert 'data-testid="held-email"' not in page
    assert 'data-testid="nav-held-mail"' not in page


def test_a_released_new_email_becomes_a_case_waiting_to_be_taken(client, agent):
    post(client, with_headers(postmark(), ("Authentication-Results", FAILED_DMARC)), **auth())
    held = HeldEmail.objects.get()
    client.force_login(agent)

    client.post(reverse("intake:held_decide", args=[held.pk]), {"decision": "release"})

    case = Case.objects.get()
    assert case.owner is None and "leaks" in case.description


def test_discarding_keeps_the_email_on_record_and_takes_nothing_in(client, agent, leaks):
    post(client, forged_answer(leaks), **auth())
    held = HeldEmail.objects.get()
    client.force_login(agent)

    client.post(reverse("intake:held_decide", args=[held.pk]), {"decision": "discard"})

    held.refresh_from_db()
    assert held.discarded_at is not None and held.decided_by == agent
    assert not leaks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_an_email_already_dealt_with_is_not_released_again(client, agent, leaks):
    post(client, forged_answer(leaks), **auth())
    held = HeldEmail.objects.get()
    client.force_login(agent)
    client.post(reverse("intake:held_decide", args=[held.pk]), {"decision": "discard"})

    response = client.post(
        reverse("intake:held_decide", args=[held.pk]), {"decision": "release"}, follow=True
    )

    assert "Someone has already dealt with this email." in response.content.decode()
    assert not leaks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


@pytest.mark.parametrize("persona", ["handler", "outsider"])
def test_who_may_not_take_complaints_in_may_not_see_or_decide_held_mail(
    client, request, leaks, persona
):
    post(client, forged_answer(leaks), **auth())
    held = HeldEmail.objects.get()
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("intake:held_list")).status_code == 403
    decided = client.post(reverse("intake:held_decide", args=[held.pk]), {"decision": "release"})

    assert decided.status_code == 403
    held.refresh_from_db()
    assert held.released_at is None
