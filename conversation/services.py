"""Writes of the conversation that are not notices: the texts the notices are written from."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from complaints.errors import AccessDenied, InvalidInput
from complaints.models import User
from complaints.placeholders import template_problems

from .defaults import shipped_in
from .models import Channel, NoticeTemplate
from .render import NOTICE_PLACEHOLDERS
from .sms import SMS_MAX_CHARS

_CHANGE = "conversation.change_noticetemplate"


def notice_template_problems(
    *, channel: str, subject: str, body: str, provider_params: str = ""
) -> dict[str, list[str]]:
    """What is wrong with a notice's text, by field; empty when it can be saved."""
    problems: dict[str, list[str]] = {}
    if channel == Channel.EMAIL and not subject.strip():
        problems["subject"] = [_("An email needs a subject.")]
    for field, text in (("subject", subject), ("body", body)):
        found = template_problems(text, NOTICE_PLACEHOLDERS)
        if found:
            problems.setdefault(field, []).extend(found)
    if not body.strip():
        problems.setdefault("body", []).append(_("Write the text."))
    if "{link}" not in body:
        problems.setdefault("body", []).append(
            _("The text must carry the customer's link: put {link} in it.")
        )
    if channel == Channel.SMS and len(body) > SMS_MAX_CHARS // 2:
        problems.setdefault("body", []).append(
            _("Keep a text message under %(limit)d characters before its values are filled in.")
            % {"limit": SMS_MAX_CHARS // 2}
        )
    unknown = [
        name.strip()
        for name in provider_params.split(",")
        if name.strip() and name.strip() not in NOTICE_PLACEHOLDERS
    ]
    if unknown:
        problems["provider_params"] = [
            _("Not placeholders: %(names)s.") % {"names": ", ".join(unknown)}
        ]
    return problems


@transaction.atomic
def notice_template_save(*, template: NoticeTemplate, by: User) -> NoticeTemplate:
    """Save a notice's text (its kind, channel and language fixed); refused with what is wrong
    (an unknown placeholder, no link, an SMS too long)."""
    if not by.has_perm(_CHANGE):
        raise AccessDenied()
    problems = notice_template_problems(
        channel=template.channel,
        subject=template.subject,
        body=template.body,
        provider_params=template.provider_params,
    )
    if problems:
        raise InvalidInput(fields=problems)
    if template.channel == Channel.SMS:
        template.subject = ""
    template.updated_by = by
    template.save()
    return template


@transaction.atomic
def notice_templates_reset(*, templates, by: User) -> int:
    """Put the shipped text back into these notice texts. Returns how many changed."""
    if not by.has_perm(_CHANGE):
        raise AccessDenied()
    changed = 0
    for template in templates:
        subject, body = shipped_in(template.kind, template.channel, template.language)
        if (template.subject, template.body) != (subject, body):
            template.subject, template.body, template.updated_by = subject, body, by
            template.save(update_fields=["subject", "body", "updated_by", "updated_at"])
            changed += 1
    return changed
