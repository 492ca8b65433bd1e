"""What the conversation keeps: the notices to customers (the outbox), the texts they are written
from, and which inbound messages were taken in."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, CaseEvent, Customer


class NoticeKind(models.TextChoices):
    """What a notice tells the customer (``conversation.notices.NOTICE_FOR``: which event
    causes which)."""

    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    LOST_LINK = "lost_link", _("Link asked for again")
    MESSAGE = "message", _("Message from staff")
    DECISION = "decision", _("Decision waiting for agreement")
    RATING = "rating", _("Request to rate")
    RATING_REMINDER = "rating_reminder", _("Reminder to rate")
    REOPENED = "reopened", _("Reopened, with new dates")
    EXTENDED = "extended", _("Promised date moved")
    CLOSED = "closed", _("Closed")
    CLOSED_UNREACHABLE = "closed_unreachable", _("Closed: could not be reached")
    CLOSED_WITHDRAWN = "closed_withdrawn", _("Closed: withdrawn")
    LINK_RENEWED = "link_renewed", _("New tracking link")


# Sent even to a customer who asked for essential messages only: the acknowledgement, the
# decision they must agree to, the closing (the three), and the links they need to reach
# their case at all (asked for again, or renewed by staff because the old one went astray).
ESSENTIAL = frozenset(
    {
        NoticeKind.ACKNOWLEDGEMENT,
        NoticeKind.LOST_LINK,
        NoticeKind.DECISION,
        NoticeKind.CLOSED,
        NoticeKind.CLOSED_UNREACHABLE,
        NoticeKind.CLOSED_WITHDRAWN,
        NoticeKind.LINK_RENEWED,
    }
)


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Notice(models.Model):
    """One message to a customer, written in the transaction of the change it tells (the
    outbox) and sent after commit by Celery, or by the ``conversation-outbox`` job every minute
    when the broker or the provider was down (``conversation.outbox``). Its text is rendered
    when it is sent, with a tracking link minted for this message alone; what was sent is kept
    with the link masked.

    A notice that cannot be sent (no address for any channel, essential messages only) is
    written all the same, as skipped with why: the case's timeline says the customer was not
    told, and why."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent")

    class Skip(models.TextChoices):
        NO_ADDRESS = "no_address", _("no email address or mobile number")
        NO_SMS = "no_sms", _("only a mobile number, and no SMS provider is set up")
        ESSENTIAL_ONLY = "essential_only", _("the customer asked for essential messages only")

    # The customer's own case: the link opens it (for a case merged into another, the survivor).
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notices")
    # What it tells: the event it is about (on the case, or on the case it was merged into).
    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="notices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    # The email address or E.164 number, as it was when the notice was written.
    address = models.CharField(_("address"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    skipped_because = models.CharField(max_length=20, choices=Skip.choices, blank=True)
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    # When a sender may next take it: null once sent, failed or skipped (the partial index below
    # is what the outbox job reads); pushed forward while a sender holds it (a lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    # The provider's id of the message (an SMS's SID, an email's Message-ID).
    provider_id = models.CharField(max_length=255, blank=True)
    # What was sent, with the link masked: the timeline shows it, the API returns it.
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("notice to a customer")
        verbose_name_plural = _("notices to customers")
        indexes = [
            # The outbox job: pending notices by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notice_due",
            ),
            # A case's notices, for its timeline and the API.
            models.Index(fields=["case", "created_at"], name="notice_case"),
            # The timeline's notices of its events.
            models.Index(fields=["event"], name="notice_event"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending") | Q(next_attempt_at__isnull=True),
                name="notice_due_only_while_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status="skipped") | ~Q(skipped_because=""),
                name="notice_skipped_says_why",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.customer_id} ({self.channel or '—'}, {self.status})"

    @property
    def address_masked(self) -> str:
        return mask(self.address)

    @property
    def is_late(self) -> bool:
        """Due and still not sent after ``READY_OUTBOX_MAX_AGE`` seconds: the broker, the worker
        or the mail or SMS service is behind (what /readyz reports too). One waiting out its
        retry backoff is not late. ``late_q`` is the same rule in SQL."""
        if self.status != self.Status.PENDING or self.next_attempt_at is None:
            return False
        return self.next_attempt_at < timezone.now() - late_after()


def late_after() -> timedelta:
    """How long a message may stay due and unsent before it is late: the one rule of the
    timeline's mark (``Notice.is_late``), the pages' "delayed" notes (``late_q``) and /readyz's
    outbox check."""
    return timedelta(seconds=settings.READY_OUTBOX_MAX_AGE)


def late_q() -> Q:
    """Unsent messages due longer ago than ``late_after()``: a customer's ``Notice`` or a staff
    email (``escalation.Notification``, whose ``next_attempt_at`` is null once sent or given
    up; a notice's only while pending, so a read of notices adds ``status=PENDING`` to use its
    partial index ``notice_due``)."""
    return Q(next_attempt_at__lt=timezone.now() - late_after())


def mask(address: str) -> str:
    """An address as the timeline and the API show it: enough to recognise, not to copy
    (l***@example.com, +86 138****8000)."""
    if not address:
        return ""
    if "@" in address:
        local, _at, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 6:
        return "*" * len(address)
    return f"{address[:-8]}****{address[-4:]}" if len(address) > 8 else f"****{address[-4:]}"


class ReceivedSms(models.Model):
    """One text message a customer sent us, by its provider's id: a provider's webhook called
    twice (they retry) takes nothing in the second time."""

    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=255)
    sender = models.CharField(max_length=20)
    # The case it went to (none: a STOP, or nothing could be done with it).
    case = models.ForeignKey(Case, null=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("text message received")
        verbose_name_plural = _("text messages received")
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="received_sms_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_id}"


class RatingReminder(models.Model):
    """The reminders to rate of a case waiting at Follow up for the customer's rating: written
    when it reaches Follow up, and sent by the ``conversation-reminders`` job on the working days
    ``FOLLOW_UP_REMINDER_DAYS`` after that, until the customer rates or the case moves on
    (``conversation.reminders``)."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="rating_reminder"
    )
    # The event of the case reaching Follow up: what the reminders are notices of.
    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    sent = models.PositiveSmallIntegerField(default=0)
    # When the next reminder is due; null once none is (rated, moved on, all sent).
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The reminders job: the reminders due (few rows: cases waiting for a rating).
            models.Index(
                fields=["due_at"], condition=Q(due_at__isnull=False), name="rating_reminder_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.sent} sent, next {self.due_at}"


class NoticeTemplate(models.Model):
    """The text of one kind of notice in one language for one channel, edited by quality managers
    in the admin (with a preview). Placeholders as in the knowledge base's reply templates, plus
    the notice's own (``conversation.render.NOTICE_PLACEHOLDERS``: the link, the message…).
    Without a row, the text shipped with Heed is used (``conversation.defaults``)."""

    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("Emails only.")
    )
    body = models.TextField(_("text"), max_length=4000)
    # Providers in mainland China send only templates they approved beforehand: the id of the
    # approved template, and the placeholders whose values fill its parameters, in order.
    provider_template_id = models.CharField(
        _("provider's template id"),
        max_length=60,
        blank=True,
        help_text=_("SMS through a provider that sends approved templates only (Tencent Cloud)."),
    )
    provider_params = models.CharField(
        _("provider's template parameters"),
        max_length=200,
        blank=True,
        help_text=_(
            "Placeholder names in the order of the approved template's parameters, "
            "separated by commas, e.g. reference,link."
        ),
    )
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["kind", "channel", "language"]
        verbose_name = _("notice text")
        verbose_name_plural = _("notice texts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel", "language"], name="notice_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_channel_display()} · {self.language}"
