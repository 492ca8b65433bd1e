"""The notices' texts as shipped, in the source language (translated by the message catalogue):
what a notice says when no quality manager has changed its text (``NoticeTemplate``).

Emails tell the whole of it; SMS texts are short (they name the reference and carry the link,
nothing private: a text message is read on a lock screen). Each uses only the placeholders its
kind always has a value for (``conversation.render``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Channel, NoticeKind


@dataclass(frozen=True)
class Text:
    subject: Promise | str
    body: Promise


EMAIL: dict[str, Text] = {
    NoticeKind.ACKNOWLEDGEMENT: Text(
        _("We have received your complaint {reference}"),
        _(
            "Dear {customer_name},\n\n"
            "Thank you for telling us. We received your complaint on {received_date}; its "
            "reference number is {reference}.\n"
            "By {plan_by} we will have looked into it and will contact you with what we "
            "propose. We aim to have it fully handled by {handled_by}, and we will then check "
            "with you that you are satisfied.\n\n"
            "Follow your complaint, write to us, and tell us whether you agree, here:\n"
            "{link}\n\n"
            "Keep this link to yourself: anyone who has it can see your complaint."
        ),
    ),
    NoticeKind.LOST_LINK: Text(
        _("Your link to complaint {reference}"),
        _(
            "Dear {customer_name},\n\n"
            "Here is a new link to follow your complaint {reference}:\n"
            "{link}\n\n"
            "Keep this link to yourself: anyone who has it can see your complaint. If you did "
            "not ask for it, you can ignore this message."
        ),
    ),
    NoticeKind.MESSAGE: Text(
        _("A message about your complaint {reference}"),
        _(
            "Dear {customer_name},\n\n"
            "{agent_name} wrote to you about your complaint {reference}:\n\n"
            "{message}\n\n"
            "Answer this email, or read and answer it here:\n"
            "{link}"
        ),
    ),
    NoticeKind.DECISION: Text(
        _("Our decision on your complaint {reference}: do you agree?"),
        _(
            "Dear {customer_name},\n\n"
            "We have decided how to handle your complaint {reference}:\n\n"
            "{decision}\n\n"
            "Please tell us whether you agree, here:\n"
            "{link}\n\n"
            "If you do not agree, tell us why and we will look at it again."
        ),
    ),
    NoticeKind.RATING: Text(
        _("How did we do with your complaint {reference}?"),
        _(
            "Dear {customer_name},\n\n"
            "We have done what we agreed for your complaint {reference}. Are you satisfied "
            "with how it was handled?\n\n"
            "Please rate the handling and the outcome here; it takes a minute:\n"
            "{link}"
        ),
    ),
    NoticeKind.RATING_REMINDER: Text(
        _("Reminder: how did we do with your complaint {reference}?"),
        _(
            "Dear {customer_name},\n\n"
            "We would still like to know whether you are satisfied with how we handled your "
            "complaint {reference}. Please tell us here:\n"
            "{link}"
        ),
    ),
    NoticeKind.REOPENED: Text(
        _("We are looking at your complaint {reference} again"),
        _(
            "Dear {customer_name},\n\n"
            "You told us you are not satisfied, so we are looking at your complaint "
            "{reference} again, at a higher level.\n"
            "By {plan_by} we will contact you with what we propose; we aim to have it handled "
            "by {handled_by} at the latest.\n\n"
            "Follow it here:\n"
            "{link}"
        ),
    ),
    NoticeKind.EXTENDED: Text(
        _("A new date for your complaint {reference}"),
        _(
            "Dear {customer_name},\n\n"
            "While we were waiting for information, the time did not count against your "
            "complaint {reference}. We are going on with it now and aim to have it handled by "
            "{handled_by} at the latest.\n\n"
            "Follow it here:\n"
            "{link}"
        ),
    ),
    NoticeKind.CLOSED: Text(
        _("Your complaint {reference} is closed"),
        _(
            "Dear {customer_name},\n\n"
            "Your complaint {reference} has been handled and is now closed. Thank you for "
            "telling us: it helps us do better.\n\n"
            "You can still read it here:\n"
            "{link}"
        ),
    ),
    NoticeKind.CLOSED_UNREACHABLE: Text(
        _("Your complaint {reference} is closed: we could not reach you"),
        _(
            "Dear {customer_name},\n\n"
            "We tried several times to reach you about your complaint {reference}, to check "
            "that you are satisfied, and could not. So we have closed it.\n\n"
            "If something is still wrong, answer this email or write to us here, and we will "
            "take it up again:\n"
            "{link}"
        ),
    ),
    NoticeKind.CLOSED_WITHDRAWN: Text(
        _("Your complaint {reference} is withdrawn"),
        _(
            "Dear {customer_name},\n\n"
            "As you asked, we have closed your complaint {reference}.\n\n"
            "If you want us to take it up again, answer this email or write to us here:\n"
            "{link}"
        ),
    ),
    NoticeKind.LINK_RENEWED: Text(
        _("A new link to your complaint {reference}"),
        _(
            "Dear {customer_name},\n\n"
            "We have made a new link to follow your complaint {reference}; the earlier links no "
            "longer work:\n"
            "{link}\n\n"
            "Keep this link to yourself: anyone who has it can see your complaint."
        ),
    ),
}

SMS: dict[str, Text] = {
    NoticeKind.ACKNOWLEDGEMENT: Text(
        "",
        _(
            "{reference}: we have your complaint and will contact you by {plan_by} at the "
            "latest. {link}"
        ),
    ),
    NoticeKind.LOST_LINK: Text("", _("Your link to complaint {reference}: {link}")),
    NoticeKind.MESSAGE: Text("", _("{reference}: {agent_name} wrote to you. Read it: {link}")),
    NoticeKind.DECISION: Text(
        "", _("{reference}: our decision is ready. Do you agree? Tell us: {link}")
    ),
    NoticeKind.RATING: Text("", _("{reference}: are you satisfied? Rate us: {link}")),
    NoticeKind.RATING_REMINDER: Text(
        "", _("{reference}: please tell us whether you are satisfied: {link}")
    ),
    NoticeKind.REOPENED: Text(
        "",
        _(
            "{reference}: we are looking at it again and will contact you by {plan_by} at the "
            "latest. {link}"
        ),
    ),
    NoticeKind.EXTENDED: Text(
        "",
        _(
            "{reference}: we are going on with it and aim to finish by {handled_by} at the "
            "latest. {link}"
        ),
    ),
    NoticeKind.CLOSED: Text("", _("{reference}: your complaint is closed. Thank you. {link}")),
    NoticeKind.CLOSED_UNREACHABLE: Text(
        "", _("{reference}: we could not reach you, so we closed it. Write to us: {link}")
    ),
    NoticeKind.CLOSED_WITHDRAWN: Text(
        "", _("{reference}: withdrawn as you asked. To take it up again: {link}")
    ),
    NoticeKind.LINK_RENEWED: Text(
        "", _("{reference}: your new link (the old one no longer works): {link}")
    ),
}

SHIPPED = {Channel.EMAIL: EMAIL, Channel.SMS: SMS}

# Under every email that is not essential: how to hear less.
ESSENTIAL_ONLY_FOOTER = _(
    "To hear from us only when we need your answer, open your link and choose “Only essential "
    "messages”."
)


def shipped(kind: str, channel: str) -> Text:
    return SHIPPED[channel][kind]


def shipped_in(kind: str, channel: str, language: str) -> tuple[str, str]:
    """The shipped subject and text of a notice, in ``language``."""
    text = shipped(kind, channel)
    with translation.override(language):
        return str(text.subject), str(text.body)


def templates_seed(*, template_model) -> None:
    """A row of every notice's shipped text, for every kind, channel and language, where there is
    none yet (quality managers edit these rows); never changes a row that exists. Written by
    migration 0002 (with its historical model) and by the tests after a flush."""
    for channel, texts in SHIPPED.items():
        for kind in texts:
            for language, _name in settings.LANGUAGES:
                subject, body = shipped_in(kind, channel, language)
                template_model.objects.get_or_create(
                    kind=kind,
                    channel=channel,
                    language=language,
                    defaults={"subject": subject, "body": body},
                )


JOBS = [
    {"name": "conversation-outbox", "task": "conversation.outbox"},
    {"name": "conversation-reminders", "task": "conversation.remind"},
]


def jobs_seed(*, job_model) -> None:
    """The outbox job's schedule row, editable in the admin like the sweep's; never changes a
    row that exists."""
    for job in JOBS:
        job_model.objects.get_or_create(name=job["name"], defaults=job)
