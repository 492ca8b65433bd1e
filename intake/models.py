"""What intake keeps of its own: which inbound emails it has already taken in, and those held
for an agent because their sender failed the provider's authentication checks."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Case


class InboundEmail(models.Model):
    """One email taken in, by its provider's message id: a webhook delivered twice (providers
    retry) adds nothing the second time."""

    message_id = models.CharField(max_length=255, unique=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")

    def __str__(self) -> str:
        return self.message_id


class HeldEmail(models.Model):
    """An email whose sender failed the checks the mail provider reports (DMARC, or SPF with no
    passing DKIM signature: ``intake.authentication``): its From address may be forged, so it
    is held, untouched, until an agent releases it (then it is taken in as any email is) or
    discards it. Nothing is lost: the whole message is kept as it came."""

    message_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    sender = models.CharField(_("from"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)
    # The message as it came (MIME), to take it in on release.
    raw = models.TextField()
    # What the provider reported, e.g. "dmarc=fail; spf=fail".
    reason = models.CharField(_("why it is held"), max_length=255)
    released_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["received_at", "pk"]
        verbose_name = _("held email")
        verbose_name_plural = _("held emails")
        indexes = [
            # The agents' list and the navigation count: the emails still held.
            models.Index(
                fields=["received_at"],
                condition=Q(released_at__isnull=True, discarded_at__isnull=True),
                name="held_email_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"
