"""Email in: mail to the complaints address becomes a case; an answer to one of our emails to a
customer, sent to the case's reply address (or answering its Message-ID), becomes the
customer's message on it (``conversation.replies``: matched by a secret, never by the From
address). Received through the mail providers' inbound webhooks, normalised by django-anymail
(``anymail.signals.inbound``).

Quoted history is trimmed; attachments are kept when their content is a type we take (the rest
are named in the message, not silently dropped). Each provider message id is taken in once."""

from __future__ import annotations

import logging
import re
import uuid

from anymail.inbound import AnymailInboundMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from complaints import customer_actions, services
from complaints.attachments import clean_name, sniff
from complaints.errors import AccessDenied, CaseError, TransitionRefused
from complaints.languages import language_guess
from complaints.models import Case, Category, Channel, User
from conversation import replies

from .authentication import authentication_failure
from .models import HeldEmail, InboundEmail

log = logging.getLogger(__name__)

# Where a reply's quoted history starts, in the clients our customers use.
_QUOTE_STARTS = [
    re.compile(r"^On .{0,200} wrote:\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^-{2,}\s*原始邮件\s*-{2,}"),
    re.compile(r"^在.{0,200}写道[:\uff1a]\s*$"),
    re.compile(r"^(From|发件人)\s*[:\uff1a].+$"),
]


def trim_quoted(text: str) -> str:
    """The new part of a reply: up to the first line that starts the quoted history, without
    the ``>`` lines."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if any(pattern.match(line.strip()) for pattern in _QUOTE_STARTS):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _files(message) -> tuple[list, list[str]]:
    """The attachments we take (by content), and the names of those we do not."""
    taken, refused = [], []
    # Inline parts too: some providers (Postmark's "ContentID": "") mark every attachment
    # inline, and a photo pasted into the mail is as much the customer's evidence.
    for part in [*message.attachments, *message.inlines]:
        if not part.get_filename():
            continue
        upload = part.as_uploaded_file()
        head = upload.read(16)
        upload.seek(0)
        if sniff(head):
            taken.append(upload)
        else:
            refused.append(clean_name(upload.name or "") + " " + _("(not a photo or PDF)"))
    return taken, refused


def email_receive(*, message, message_id: str | None, checked: bool = False) -> Case | None:
    """Take one inbound email in. Returns the case it went to (None if it was seen before, is
    held for an agent because its sender failed the provider's checks, or could not be taken in
    at all: then it is logged, and the provider is not asked to retry a message that will never
    fit). ``checked``: an agent released it (``held_email_release``)."""
    sender = message.from_email
    if sender is None or not sender.addr_spec:
        return None
    if message_id and InboundEmail.objects.filter(message_id=message_id[:255]).exists():
        return None  # a provider's retry of a message taken in before
    reason = "" if checked else authentication_failure(message)
    if reason:
        _hold(message, message_id, sender.addr_spec, reason)
        return None
    text = message.text or strip_tags(message.html or "")
    body = trim_quoted(text)[:4000]
    files, refused = _files(message)
    try:
        return _take_in(message, sender, body, files, refused, message_id)
    except CaseError as exc:
        if not files:
            log.warning("Inbound email %s not taken in: %s", message_id, exc.messages)
            return None
        # Too many or too big: take the mail in without its files, and say which.
        refused += [clean_name(upload.name or "") for upload in files]
        try:
            return _take_in(message, sender, body, [], refused, message_id)
        except CaseError as again:
            log.warning("Inbound email %s not taken in: %s", message_id, again.messages)
            return None


def _hold(message, message_id: str | None, sender: str, reason: str) -> None:
    """Keep the whole message for an agent (once per provider message id)."""
    text = message.text or strip_tags(message.html or "")
    HeldEmail.objects.get_or_create(
        message_id=(message_id or f"held:{uuid.uuid4()}")[:255],
        defaults={
            "sender": sender[:254],
            "subject": (message.subject or "")[:255],
            "text": text[:10000],
            "raw": message.as_string(),
            "reason": reason[:255],
        },
    )
    log.warning("Inbound email %s held: its sender failed the checks (%s).", message_id, reason)


def held_email_release(*, held: HeldEmail, by: User) -> Case | None:
    """An agent judged a held email genuine: it is taken in as any email is (an answer to its
    case, or a new case waiting to be taken). Returns the case it went to."""
    if not by.has_perm("complaints.add_case"):
        raise AccessDenied()
    with transaction.atomic():
        held = HeldEmail.objects.select_for_update().get(pk=held.pk)
        if held.released_at or held.discarded_at:
            raise TransitionRefused(_("Someone has already dealt with this email."))
        message = AnymailInboundMessage.parse_raw_mime(held.raw)
        case = email_receive(message=message, message_id=held.message_id, checked=True)
        held.released_at, held.decided_by, held.case = timezone.now(), by, case
        held.save(update_fields=["released_at", "decided_by", "case"])
    return case


def held_email_discard(*, held: HeldEmail, by: User) -> None:
    """An agent judged a held email forged or junk: it stays on record, taken in nowhere."""
    if not by.has_perm("complaints.add_case"):
        raise AccessDenied()
    updated = HeldEmail.objects.filter(
        pk=held.pk, released_at__isnull=True, discarded_at__isnull=True
    ).update(discarded_at=timezone.now(), decided_by=by)
    if not updated:
        raise TransitionRefused(_("Someone has already dealt with this email."))


def _take_in(message, sender, body, files, refused, message_id) -> Case | None:
    if refused:
        body += "\n\n" + _("Attachments not taken: %(names)s") % {"names": ", ".join(refused)}
    subject = (message.subject or "").strip()
    try:
        with transaction.atomic():
            case = _reply_to(message)
            if case is not None:
                customer_actions.case_customer_message(case=case, body=body, files=files)
                case = case.survivor  # a case merged into another: the one handling it
            else:
                customer = services.customer_get_or_create(
                    name=sender.display_name or sender.addr_spec.split("@")[0],
                    email=sender.addr_spec,
                    # A new customer is written to in the language of their email.
                    default_language=language_guess(subject, body),
                    update_contact=False,
                )
                case = customer_actions.case_receive_from_customer(
                    customer=customer,
                    channel=Channel.EMAIL,
                    category=Category.OTHER,
                    description=(f"{subject}\n\n{body}" if subject else body)[:5000]
                    or _("(The email had no text.)"),
                    desired_outcome=_("Not said yet: ask the customer."),
                    files=files,
                ).case
            if message_id:
                InboundEmail.objects.create(message_id=message_id[:255], case=case)
    except IntegrityError:
        return None  # taken in just now by a concurrent delivery of the same message
    return case


def _reply_to(message) -> Case | None:
    """The case an email answers: the one its reply address or Message-ID names, with a good
    secret (``conversation.replies``), if it takes the customer's messages (open, or closed
    without a rating: then taken up again) — for a case merged into another, the survivor (the
    message then goes to the survivor). A case closed with a rating, or no case, starts a new
    one."""
    recipients = [address.addr_spec for address in [*(message.to or []), *(message.cc or [])]] + [
        getattr(message, "envelope_recipient", None) or ""
    ]
    in_reply_to = [message.get("In-Reply-To", ""), message.get("References", "")]
    case = replies.case_for_reply(recipients=recipients, in_reply_to=in_reply_to)
    if case is None or not customer_actions.case_takes_customer_messages(case):
        return None
    return case
