"""Outbound webhooks: who is told of which case events (``Subscription``), and every event
written for them (``Delivery``: the outbox the sender works from and the delivery log the
admin shows)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Case


class Event(models.TextChoices):
    """What a subscription can ask to be told of. The codes are the ``type`` of the payload and
    the ``Heed-Event`` header: a public interface, never renamed."""

    CASE_CREATED = "case.created", _("A case was received")
    CASE_STEP_CHANGED = "case.step_changed", _("A case moved to another step")
    CASE_ESCALATED = "case.escalated", _("A case was escalated")
    CASE_CLOSED = "case.closed", _("A case was closed")
    CASE_MERGED = "case.merged", _("A case was merged into another")


# The admin's test delivery ("send a test ping"): sent whatever the subscription's events.
PING = "ping"


def secret_new() -> str:
    """A signing secret: 256 bits from ``secrets``."""
    return secrets.token_urlsafe(32)


def events_validate(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event."), code="required")
    unknown = [code for code in value if code not in Event.values]
    if unknown:
        raise ValidationError(
            _("Unknown events: %(events)s."),
            code="invalid",
            params={"events": ", ".join(map(str, unknown))},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("An event is listed twice."), code="invalid")


class Subscription(models.Model):
    """A receiver of webhooks: Heed posts each event it lists, signed with its secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where Heed posts the events: an http or https address."),
    )
    events = models.JSONField(
        _("events"),
        default=list,
        validators=[events_validate],
        help_text=_("The events this receiver is sent."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=secret_new,
        editable=False,
        help_text=_(
            "The receiver checks each request's Heed-Signature header with it. Rotate it from "
            "the list of subscriptions; the old one keeps signing for a day."
        ),
    )
    # After a rotation the old secret signs too (a second v1 in the header) until this time,
    # so that the receiver can switch without losing a delivery.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(
        _("old secret valid until"), null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "An inactive subscription is sent nothing; what it already had waits until it is "
            "active again."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    def signing_secrets(self, *, at: datetime | None = None) -> list[str]:
        """The secrets a request is signed with now: the current one, and the previous one
        during the day after a rotation."""
        at = at or timezone.now()
        if self.previous_secret and self.previous_secret_until and at < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


class Delivery(models.Model):
    """One event for one subscription, written in the transaction of the change it reports:
    pending until the receiver answers 2xx (delivered) or the attempts run out (failed)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        # Deleting a subscription deletes its log (the admin lists what goes first); to stop
        # sending but keep the log, make it inactive.
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.CharField(
        _("event"), max_length=40, choices=[*Event.choices, (PING, _("Test ping"))]
    )
    # The same on every retry and for every subscription sent the event (Heed-Delivery):
    # receivers de-duplicate on it.
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    payload = models.JSONField(_("payload"))
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        null=True,  # a test ping has no case
        blank=True,
        # PROTECT, like the case's own events: the log says what was sent about which case.
        # A case with a history cannot be deleted anyway (CaseEvent protects it).
        on_delete=models.PROTECT,
        related_name="webhook_deliveries",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Pending: when to send next (also pushed forward while a sender holds the row, as its
    # lease). Null once delivered or given up.
    next_attempt_at = models.DateTimeField(
        _("next attempt"), null=True, blank=True, default=timezone.now
    )
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", next_attempt_at__isnull=False)
                | (~Q(status="pending") & Q(next_attempt_at__isnull=True)),
                name="webhook_delivery_pending_has_next_attempt",
            ),
        ]
        indexes = [
            # The sender's claim (webhooks.delivery._claim): pending rows whose next attempt
            # has come, oldest first. Only pending rows are indexed, so the index stays as
            # small as the backlog however long the log grows.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id}"
