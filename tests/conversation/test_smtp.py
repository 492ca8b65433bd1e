"""Notices by email through a real SMTP server (aiosmtpd, started by the test on a port of its
own): what the customer's mail server receives — the envelope, the headers that thread their
answer back to the case, the text with its link — and what a server that refuses the recipient
does to the notice."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from conversation import replies
from conversation.models import Notice
from conversation.outbox import notices_deliver

from ..factories import CustomerFactory, receive_case
from ..workers import free_port

pytestmark = pytest.mark.django_db


class Inbox:
    """An SMTP server's handler: keeps what it is sent; refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_customers_server_receives_the_acknowledgement_with_the_headers_that_thread_answers(
    smtp, agent
):
    case = receive_case(by=agent, customer=CustomerFactory(email="li.na@example.com"))

    assert notices_deliver() == 1

    [(sender, recipients, message)] = smtp.received
    assert recipients == ["li.na@example.com"]
    assert sender == "complaints@heed.localhost"
    assert message["Reply-To"] == replies.reply_address(case)
    assert message["Message-ID"].startswith(f"<{case.reference}.")
    notice = Notice.objects.get(case=case)
    assert notice.provider_id == message["Message-ID"]
    # Derived from the outbox row: a notice sent again after a killed worker keeps its id.
    assert message["Message-ID"] == replies.message_id(case, notice=notice.pk)
    assert message["Message-ID"].endswith(f".n{notice.pk}@heed.localhost>")
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert case.reference in message["Subject"]
    assert re.search(r"/t/[A-Za-z0-9_-]{43}", body)
    # The customer's answer to that message reaches the case by its headers alone.
    assert replies.case_for_reply(recipients=[message["Reply-To"]], in_reply_to=[]) == case
    assert replies.case_for_reply(recipients=[], in_reply_to=[message["Message-ID"]]) == case


def test_a_recipient_the_server_refuses_fails_the_notice_at_once_with_its_answer(smtp, agent):
    case = receive_case(by=agent, customer=CustomerFactory(email="nobody@refused.example"))

    assert notices_deliver() == 0

    notice = Notice.objects.get(case=case)
    assert notice.status == Notice.Status.FAILED
    assert "No such mailbox" in notice.last_error
    assert smtp.received == []
