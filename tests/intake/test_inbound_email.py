"""Email in, through a mail provider's inbound webhook (Postmark's JSON, as Postmark posts it,
read by django-anymail): new mail becomes a case; an answer sent to a case's reply address (or
answering its Message-ID) becomes the customer's message on it, matched by the address's secret
and never by the From address; quoted history is trimmed; attachments are kept; a webhook
delivered twice adds nothing; without the webhook's password nothing is taken in."""

import base64
import json

import pytest
from django.conf import settings

from complaints import services
from complaints.models import Attachment, Case, CaseEvent, Channel, Step
from conversation import replies

from ..factories import CustomerFactory, walk

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/inbound/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def auth() -> dict:
    secret = base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {secret}"}


def postmark(
    *,
    sender="li.na@example.com",
    name="Li Na",
    subject="Broken kettle",
    text="The kettle I bought leaks.",
    message_id="883953f4-6105-42a2-a16a-77a8eac79483",
    attachments=(),
    to="complaints@heed.example",
    in_reply_to="",
) -> dict:
    """An inbound message in Postmark's webhook format (postmarkapp.com/developer/webhooks/
    inbound-webhook), trimmed to the fields that matter here."""
    headers = [
        {"Name": "Return-Path", "Value": f"<{sender}>"},
        {"Name": "X-Spam-Status", "Value": "No"},
        {"Name": "Message-ID", "Value": f"<{message_id}@mail.example.com>"},
    ]
    if in_reply_to:
        headers += [
            {"Name": "In-Reply-To", "Value": in_reply_to},
            {"Name": "References", "Value": in_reply_to},
        ]
    return {
        "FromName": name,
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": name, "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": "complaints@heed.example",
        "Subject": subject,
        "MessageID": message_id,
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Mon, 23 Nov 2026 09:30:00 +0800",
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": headers,
        "Attachments": list(attachments),
    }


def attachment(name: str, content: bytes, content_type: str) -> dict:
    return {
        "Name": name,
        "Content": base64.b64encode(content).decode(),
        "ContentType": content_type,
        "ContentLength": len(content),
        "ContentID": "",
    }


def post(client, payload: dict, **headers):
    return client.post(URL, json.dumps(payload), content_type="application/json", **headers)


def test_new_mail_becomes_a_case_waiting_to_be_taken(client):
    response = post(client, postmark(), **auth())

    assert response.status_code == 200
    case = Case.objects.get()
    assert (case.channel, case.step, case.owner, case.customer.email) == (
        Channel.EMAIL,
        Step.RECEIVE,
        None,
        "li.na@example.com",
    )
    assert case.customer.name == "Li Na"
    assert "Broken kettle" in case.description
    assert "The kettle I bought leaks." in case.description


def answer(case: Case, **fields) -> dict:
    """The customer's answer to one of our emails about ``case``: to its reply address."""
    return postmark(to=replies.reply_address(case), **fields)


def test_an_answer_to_the_reply_address_is_the_customers_message_on_that_case(client, agent):
    customer = CustomerFactory(email="li.na@example.com")
    case = services.case_receive(
        by=agent,
        customer=customer,
        channel="phone",
        category="product_quality",
        description="Leaks.",
        desired_outcome="A new one.",
    ).case
    reply = answer(
        case,
        subject=f"Re: We have received your complaint {case.reference}",
        text=(
            "It leaks again this morning.\n\n"
            "On Mon, 23 Nov 2026 at 09:00, Heed <complaints@heed.example> wrote:\n"
            "> Dear Li Na,\n> Thank you for telling us."
        ),
    )

    post(client, reply, **auth())

    assert Case.objects.count() == 1
    message = case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert message.note == "It leaks again this morning."
    assert message.by_customer


@pytest.mark.parametrize(
    "quoted",
    [
        "---- 原始邮件 ----\n发件人: Heed\n您好",
        "在 2026年11月23日 09:00，Heed 写道：\n> 您好",  # noqa: RUF001 (as Chinese mail clients write it)
        "-----Original Message-----\nFrom: Heed",
        "> only quoted lines\n> here",
    ],
)
def test_quoted_history_is_trimmed_in_the_clients_customers_use(client, agent, quoted):
    case = services.case_receive(
        by=agent,
        customer=CustomerFactory(email="li.na@example.com"),
        channel="email",
        category="product_quality",
        description="Leaks.",
        desired_outcome="A new one.",
    ).case

    post(client, answer(case, subject="Re: your complaint", text=f"New photo.\n{quoted}"), **auth())

    assert case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == "New photo."


@pytest.fixture
def sparks(agent) -> Case:
    return services.case_receive(
        by=agent,
        customer=CustomerFactory(email="li.na@example.com"),
        channel="phone",
        category="safety",
        description="Sparks.",
        desired_outcome="Refund.",
    ).case


def test_someone_else_naming_a_reference_starts_a_case_of_their_own(client, sparks):
    post(
        client, postmark(sender="stranger@example.com", subject=f"Re: {sparks.reference}"), **auth()
    )

    assert not sparks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert Case.objects.filter(customer__email="stranger@example.com").count() == 1


def test_a_forged_sender_naming_the_reference_reaches_no_case(client, sparks):
    """The From address is the customer's, but the mail went to the plain complaints address:
    anyone can write a From. It waits to be taken as a new case, and the customer's case is
    untouched."""
    forged = postmark(sender="li.na@example.com", subject=f"Re: {sparks.reference}", text="Lies.")

    post(client, forged, **auth())

    assert not sparks.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    new = Case.objects.exclude(pk=sparks.pk).get()
    assert (new.owner, new.channel) == (None, Channel.EMAIL)


@pytest.mark.parametrize(
    "tag",
    [
        "{reference}.0000000000000000",  # a made-up secret
        "{reference}.{other}",  # the secret of another case
        "C209901-99999.{secret}",  # a real secret under a reference it was not made for
    ],
)
def test_a_reply_address_whose_secret_does_not_check_out_reaches_no_case(
    client, agent, sparks, tag
):
    other = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="safety",
        description="Smoke.",
        desired_outcome="Refund.",
    ).case
    secret = replies.reply_address(sparks).split(".")[1].split("@")[0]
    other_secret = replies.reply_address(other).split(".")[1].split("@")[0]
    address = "complaints+" + tag.format(
        reference=sparks.reference, other=other_secret, secret=secret
    )

    post(client, postmark(to=f"{address}@heed.example", text="Hello?"), **auth())

    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert Case.objects.count() == 3


def test_whoever_answers_from_the_reply_address_reaches_the_case_as_its_customer(client, sparks):
    """The secret is what matches, not the sender: the customer's answer from another address
    of theirs (their phone's mail, a relative's) reaches their case."""
    post(client, answer(sparks, sender="li.na.phone@example.com", text="From my phone."), **auth())

    assert sparks.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == "From my phone."
    assert Case.objects.count() == 1


def test_an_answer_to_our_message_id_reaches_the_case_when_the_address_was_lost(client, sparks):
    """Some clients answer to the plain address; the In-Reply-To they keep names the case."""
    reply = postmark(in_reply_to=replies.message_id(sparks), text="Answered from the web mail.")

    post(client, reply, **auth())

    assert sparks.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == (
        "Answered from the web mail."
    )


def test_a_reply_address_made_before_the_secret_key_was_rotated_still_reaches_the_case(
    client, sparks, settings
):
    address = replies.reply_address(sparks)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"

    post(client, postmark(to=address, text="Still here."), **auth())

    assert sparks.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == "Still here."


def test_our_emails_to_the_customer_carry_the_reply_address_and_a_message_id_of_the_case(
    sparks, mailoutbox
):
    from conversation.outbox import notices_deliver

    notices_deliver()

    [acknowledgement] = mailoutbox
    assert acknowledgement.reply_to == [replies.reply_address(sparks)]
    assert acknowledgement.reply_to[0].startswith(f"complaints+{sparks.reference}.")
    assert acknowledgement.extra_headers["Message-ID"].startswith(f"<{sparks.reference}.")


def test_a_reply_to_a_closed_case_starts_a_new_one(client, agent, after_sales, handler):
    case = services.case_receive(
        by=agent,
        customer=CustomerFactory(email="li.na@example.com"),
        channel="phone",
        category="safety",
        description="Sparks.",
        desired_outcome="Refund.",
    ).case
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    post(client, answer(case, subject=f"Re: {case.reference}", text="It happened again."), **auth())

    assert Case.objects.count() == 2


def test_attachments_are_kept_and_those_we_do_not_take_are_named(client):
    payload = postmark(
        attachments=[
            attachment("leak.png", PNG, "image/png"),
            attachment("invoice.exe", b"MZ\x90\x00binary", "application/octet-stream"),
        ]
    )

    post(client, payload, **auth())

    case = Case.objects.get()
    [kept] = Attachment.objects.filter(case=case)
    assert (kept.name, kept.content_type) == ("leak.png", "image/png")
    assert "invoice.exe" in case.description


def test_the_same_message_delivered_twice_is_taken_in_once(client):
    post(client, postmark(), **auth())
    post(client, postmark(), **auth())

    assert Case.objects.count() == 1


def test_without_the_webhook_password_nothing_is_taken_in(client):
    response = post(client, postmark())

    assert response.status_code in (400, 401, 403)
    assert not Case.objects.exists()


def test_a_wrong_webhook_password_is_refused(client):
    wrong = base64.b64encode(b"heed:guess").decode()

    response = post(client, postmark(), HTTP_AUTHORIZATION=f"Basic {wrong}")

    assert response.status_code in (400, 401, 403)
    assert not Case.objects.exists()


def test_mail_with_too_many_files_is_taken_in_without_them_and_says_so(client, settings):
    settings.ATTACHMENTS_PER_CASE = 1
    payload = postmark(
        attachments=[attachment(f"photo{i}.png", PNG, "image/png") for i in range(2)]
    )

    response = post(client, payload, **auth())

    assert response.status_code == 200
    case = Case.objects.get()
    assert not Attachment.objects.exists()
    assert "photo0.png" in case.description and "photo1.png" in case.description
