"""The early warning's record (``reporting.early_warning``): one row per spike, per dimension
value and week, which is also the outbox of its email. Every other figure of the reporting app
is computed when read and stored nowhere."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from complaints.models import Category


class Dimension(models.TextChoices):
    """What a spike is counted by."""

    CATEGORY = "category", _("Category")
    PRODUCT = "product", _("Product")
    DEPARTMENT = "department", _("Responsible department")


class Spike(models.Model):
    """A dimension value whose cases this week passed the early-warning threshold. Written once
    per value and week (the unique constraint), so the quality managers are emailed once per
    spike however often the detection runs; ``notified_at`` stays empty until the email has
    gone out, and the next run retries it."""

    dimension = models.CharField(_("by"), max_length=20, choices=Dimension.choices)
    # The machine value: a category code, a product name lower-cased (products are matched
    # case-insensitively, as the dashboard's product filter does), a department's id.
    value = models.CharField(_("value"), max_length=200)
    # What people read: the product as typed on a case, the department's name at detection.
    label = models.CharField(_("label"), max_length=200, blank=True)
    # The Monday the week starts on, in the deployment's time zone (TIME_ZONE).
    week = models.DateField(_("week of"))
    count = models.PositiveIntegerField(_("cases this week"))
    baseline = models.FloatField(_("usual cases a week"))
    threshold = models.FloatField(_("threshold"))
    detected_at = models.DateTimeField(_("detected"), default=timezone.now)
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)
    last_error = models.TextField(_("last sending error"), blank=True)

    class Meta:
        ordering = ["-week", "dimension", "-count"]
        verbose_name = _("spike")
        verbose_name_plural = _("spikes")
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "value", "week"], name="spike_once_per_value_and_week"
            ),
        ]
        indexes = [
            # The outbox: the spikes still to be emailed (early_warning.spikes_deliver).
            models.Index(
                fields=["week"], condition=Q(notified_at__isnull=True), name="spike_unnotified"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.value} {self.week}"

    @property
    def value_display(self) -> str | Promise:
        if self.dimension == Dimension.CATEGORY:
            return Category(self.value).label if self.value in Category.values else self.value
        return self.label or self.value

    def cases_query(self) -> dict[str, str]:
        """The dashboard's and the case list's parameters for the cases of this spike."""
        return spike_cases_query(
            dimension=self.dimension, value=self.value, label=self.label, week=self.week
        )


def spike_cases_query(*, dimension: str, value: str, label: str, week) -> dict[str, str]:
    """``reporting.filters.ReportFilter``/``ReportCaseFilter`` parameters: the value, and the
    week from Monday to Sunday (dates in TIME_ZONE, as the filters read them)."""
    # The product filter matches case-insensitively: any spelling selects them all.
    params = {"product": label or value} if dimension == Dimension.PRODUCT else {dimension: value}
    params["received_after"] = week.isoformat()
    params["received_before"] = (week + timedelta(days=6)).isoformat()
    return params
