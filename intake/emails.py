"""Emails to the customer carrying a tracking link: the acknowledgement every case gets, and the
link sent again when the customer lost theirs.

The link is minted when the email is sent (``tracking_token_issue``) and exists nowhere but in
that email: no token is stored, queued or logged. The new token and the sending share one
transaction, so a send that fails leaves no link behind, and the task is retried."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from complaints.models import Case
from complaints.services import tracking_token_issue
from escalation.models import Deadline, Milestone

from .links import tracking_url

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "acknowledgement"
LOST_LINK = "lost_link"
KINDS = (ACKNOWLEDGEMENT, LOST_LINK)


def acknowledgement_context(*, case: Case) -> dict:
    """What the acknowledgement says (the email, and the agent reading it out): the reference,
    what happens next and by when, from the case's deadlines."""
    due = {
        d.milestone: d.due_at
        for d in Deadline.objects.filter(case=case, round=case.reopen_count, superseded_at=None)
    }
    return {
        "case": case,
        "plan_by": due.get(Milestone.DECIDED),
        "handled_by": due.get(Milestone.CLOSED),
    }


def tracking_link_email_send(*, case_id: int, kind: str, language: str | None = None) -> bool:
    """Send the customer a new tracking link of the case; False if there is no email address
    to send it to."""
    if kind not in KINDS:
        raise ValueError(kind)
    with transaction.atomic():
        case = Case.objects.select_related("customer").get(pk=case_id)
        if not case.customer.email:
            return False
        token = tracking_token_issue(case=case)
        context = {**acknowledgement_context(case=case), "link": tracking_url(token), "kind": kind}
        with translation.override(language or settings.LANGUAGE_CODE):
            subject = render_to_string("intake/email/tracking_subject.txt", context)
            body = render_to_string("intake/email/tracking_body.txt", context)
        EmailMessage(subject=" ".join(subject.split()), body=body, to=[case.customer.email]).send()
    return True


def tracking_link_email_queue(*, case: Case, kind: str, language: str | None = None) -> None:
    """After the transaction commits, send the link by a Celery task; if the broker cannot be
    reached, send it from here instead."""
    from .tasks import send_tracking_link

    def queue() -> None:
        try:
            send_tracking_link.delay(case.pk, kind, language)
        except Exception:
            log.warning("Broker unreachable: sending the %s of %s directly.", kind, case.pk)
            try:
                tracking_link_email_send(case_id=case.pk, kind=kind, language=language)
            except Exception:
                log.exception("The %s of %s could not be sent.", kind, case.pk)

    transaction.on_commit(queue)
