"""The outbox: who is told of an escalation and what they read, and that every email goes out
exactly once even when the mail server or the broker is down when it is written.

Email goes to Django's in-memory mailer (the test set-up swaps every mailer for it). A mail
server that is down is a real SMTP connection to a closed local port, and a broker that is down
is a real Redis URL nothing listens on."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings

from complaints.models import Tier
from escalation import notifications
from escalation.models import Escalation, Notification
from escalation.notifications import MAX_ATTEMPTS, notifications_deliver
from escalation.services import case_escalate_manually
from escalation.sweep import sweep
from escalation.tasks import deliver_notifications

from ..outages import refusing_mailers

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# ---------------------------------------------------------------- who and what


def test_an_escalation_emails_the_new_tiers_people_and_the_previous_owner(
    decide_case, agent, handler, department_head, foreign_head, quality_manager
):
    decide_case(days_ago=2)

    sweep()

    # The head of After-sales (tier 1) and the agent who owned the case; not the head of
    # another department, not the tier above.
    assert recipients() == ["agent@example.com", "head@example.com"]


def test_with_nobody_at_the_tier_the_escalation_goes_to_the_next_one_up(
    decide_case, agent, foreign_head, quality_manager
):
    decide_case(days_ago=2)  # After-sales has no head

    sweep()

    assert recipients() == ["agent@example.com", "quality@example.com"]


def test_the_escalation_email_names_the_case_the_tier_and_the_reason(decide_case, department_head):
    case = decide_case(days_ago=2)

    sweep()

    message = next(m for m in mail.outbox if m.to == ["head@example.com"])
    assert case.reference in message.subject
    assert "Department head" in message.subject
    assert case.reference in message.body
    assert "escalated to Department head" in message.body
    assert "Reason: Overdue" in message.body
    assert "Missed: “Decide finished”" in message.body
    assert f"/cases/{case.reference}/" in message.body


def test_each_email_s_message_id_comes_from_its_outbox_row(decide_case, department_head):
    """A notification sent again (a worker killed after the server took it, before the row was
    marked) carries the same Message-ID: the receiving mail system drops the copy."""
    decide_case(days_ago=2)

    sweep()

    rows = {row.recipient.email: row for row in Notification.objects.select_related("recipient")}
    for message in mail.outbox:
        row = rows[message.to[0]]
        assert message.extra_headers["Message-ID"] == f"<heed.notification.{row.pk}@heed.localhost>"
        assert message.extra_headers["Message-ID"] == notifications.message_id(row)


def test_a_notification_is_sent_once_however_often_delivery_runs(decide_case, department_head):
    decide_case(days_ago=2)
    sweep()
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert len(mail.outbox) == 2

    # The task queued after commit arriving late, twice (acks_late redelivery), and the sweep.
    assert deliver_notifications(ids) == 0
    assert deliver_notifications(ids) == 0
    assert notifications_deliver() == 0
    sweep()

    assert len(mail.outbox) == 2
    assert all(row.sent_at and row.attempts == 1 for row in Notification.objects.all())


# ---------------------------------------------------------------- the mail server is down


def test_a_refused_email_stays_in_the_outbox_and_is_retried_later(
    time_machine, decide_case, department_head
):
    time_machine.move_to(T0, tick=False)
    decide_case(days_ago=2)

    with override_settings(MAILERS=refusing_mailers()):
        result = sweep()

    assert result.sent == 0
    assert Escalation.objects.count() == 1  # the escalation itself stands
    rows = list(Notification.objects.all())
    assert len(rows) == 2
    for row in rows:
        assert row.sent_at is None
        assert row.attempts == 1
        assert "refused" in row.last_error.lower()
        assert row.next_attempt_at == T0 + timedelta(minutes=2)
    assert mail.outbox == []

    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)
    assert sweep().sent == 0  # not yet due again

    time_machine.move_to(T0 + timedelta(minutes=2), tick=False)
    assert sweep().sent == 2

    assert recipients() == ["agent@example.com", "head@example.com"]
    for row in Notification.objects.all():
        assert row.sent_at == T0 + timedelta(minutes=2)
        assert row.attempts == 2
        assert row.next_attempt_at is None


def test_the_retries_back_off_and_stop_after_max_attempts(
    time_machine, decide_case, department_head
):
    time_machine.move_to(T0, tick=False)
    decide_case(days_ago=2)
    now = T0
    waits = []

    with override_settings(MAILERS=refusing_mailers()):
        sweep()
        row = Notification.objects.order_by("pk").first()
        while row.next_attempt_at is not None:
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
            time_machine.move_to(now, tick=False)
            notifications_deliver()
            row.refresh_from_db()

    minutes = [wait // timedelta(minutes=1) for wait in waits]
    assert minutes == [2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert row.attempts == MAX_ATTEMPTS
    assert row.sent_at is None
    assert row.last_error

    # Given up: once the mail server works again, it is still not sent.
    time_machine.move_to(now + timedelta(days=1), tick=False)
    assert notifications_deliver() == 0
    assert mail.outbox == []
    row.refresh_from_db()
    assert (row.sent_at, row.attempts) == (None, MAX_ATTEMPTS)


# ---------------------------------------------------------------- the broker is down


def test_an_email_the_broker_could_not_queue_is_sent_by_the_next_sweep_exactly_once(
    decide_case, agent, department_head, broker_down, django_capture_on_commit_callbacks, caplog
):
    case = decide_case()
    started = time.monotonic()

    with (
        caplog.at_level(logging.WARNING, logger="escalation.notifications"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        case_escalate_manually(case=case, by=agent, note="The customer threatens to go public.")

    assert time.monotonic() - started < 10  # the publish gave up; it did not hang
    assert len(callbacks) == 1
    assert "Could not queue notifications" in caplog.text
    assert mail.outbox == []
    assert Notification.objects.filter(sent_at__isnull=True).count() == 2

    sweep()

    assert recipients() == ["agent@example.com", "head@example.com"]
    assert "escalated to Department head (Manual)" in mail.outbox[0].subject

    sweep()

    assert len(mail.outbox) == 2
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD
