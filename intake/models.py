"""What intake keeps of its own: which inbound emails it has already taken in."""

from django.db import models
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
