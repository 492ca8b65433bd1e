"""The reporting app's stored rows: the early warning's record (``reporting.early_warning``),
one row per spike, per dimension value and week, which is also the outbox of its email; and the
daily rollup (``reporting.rollup``), the dashboard's figures added up per day of receipt,
which Celery keeps up to date and the dashboard reads instead of the cases when it can."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Department, Ending, Remedy, RootCause, Step, Tier, Validity
from escalation.models import Escalation, Milestone


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


# ---------------------------------------------------------------- the daily rollup


class Level(models.TextChoices):
    """Which dimensions a rollup row is kept by, besides the day (see ``reporting.rollup``)."""

    ALL = "all", _("Whole organisation")
    DEPARTMENT = "department", _("Department")
    CATEGORY = "category", _("Department and category")
    CHANNEL = "channel", _("Department and channel")
    URGENCY = "urgency", _("Department and urgency")
    CELL = "cell", _("Department, category, channel and urgency")


class _DailyRow(models.Model):
    """What every rollup row is kept by: the local day the cases were received (in TIME_ZONE)
    and, below the whole organisation, the department that answers for them: the responsible
    one, or for a case not analysed yet, none and the receiver's (``intake_department``; the
    department heads' scope, ``reporting.access.cases_reported_to``)."""

    day = models.DateField()
    level = models.CharField(max_length=10, choices=Level.choices)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    intake_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


def figure_names() -> dict[str, bool]:
    """The additive figures a ``DailyFigures`` row keeps, one column each (``reporting.rollup``
    says how each is counted): name → whether it is money (a sum in cents)."""
    names = dict.fromkeys(
        [
            "cases",
            "closed",
            "reopened",
            "repeats",
            "rated",
            "rating_sum",
            "handling_rated",
            "handling_sum",
            "answered",
            "satisfied",
            "remedied",
            *(f"ended_{code}" for code in Ending.values),
            *(f"root_cause_{code}" for code in RootCause.values),
            *(f"validity_{code}" for code in Validity.values),
            *(f"remedy_{code}" for code in Remedy.values),
            *(
                f"deadlines{state}_{milestone}"
                for milestone in Milestone.values
                for state in ("", "_met", "_breached", "_open")
            ),
            *(
                f"{kind}_{tier}_{reason}"
                for tier in Tier.values
                for reason in Escalation.Reason.values
                for kind in ("escalations", "escalated_cases")
            ),
        ],
        False,
    )
    names["remedied_cents"] = True
    names.update({f"remedy_cents_{code}": True for code in Remedy.values})
    return names


class DailyFigures(_DailyRow):
    """The additive figures of the cases received on one day, per department and, at the finer
    levels, category, channel and urgency ('' where the level does not keep one): one column
    per figure (``figure_names``, added below), counts and sums in cents."""

    category = models.CharField(max_length=30, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    urgency = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        indexes = [
            # Every read: one level over a period, then the filters' values.
            models.Index(fields=["level", "day"], name="rollup_figures_level_day"),
            models.Index(
                fields=["level", "category", "channel", "urgency", "day"],
                condition=Q(level="cell"),
                name="rollup_figures_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.level} {self.department_id} {self.category}{self.channel}"


for _name, _money in figure_names().items():
    DailyFigures.add_to_class(
        _name, models.BigIntegerField(default=0) if _money else models.IntegerField(default=0)
    )


class DailyStays(_DailyRow):
    """The finished stays in one step of the cases received on one day, in buckets of length
    (``reporting.rollup.BUCKETS_PER_DOUBLING`` a doubling), with their number and the shortest
    and longest: what the percentiles of the time in each step are read from. ``bucket``
    ``RUNNING`` holds the stays still running."""

    RUNNING = -1

    step = models.CharField(max_length=10, choices=Step.choices)
    bucket = models.SmallIntegerField()
    stays = models.PositiveIntegerField()
    shortest = models.FloatField(null=True)
    longest = models.FloatField(null=True)

    class Meta:
        verbose_name = _("daily stays")
        verbose_name_plural = _("daily stays")
        indexes = [models.Index(fields=["level", "day"], name="rollup_stays_level_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.level} {self.department_id} {self.step} {self.bucket}"


class DailyProducts(_DailyRow):
    """The cases received on one day per product (lower-cased, as the product filter matches
    them), with one spelling of it to show."""

    product = models.CharField(max_length=200)
    label = models.CharField(max_length=200)
    cases = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("daily products")
        verbose_name_plural = _("daily products")
        indexes = [models.Index(fields=["level", "day"], name="rollup_products_level_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.level} {self.department_id} {self.product}"


class RollupState(models.Model):
    """The one row that says what the rollup holds: built for which time zone and definition,
    and up to when changes have been taken in. Locked by every refresh, so that two never
    write the same days at once."""

    time_zone = models.CharField(max_length=60)
    # The rollup's definition (``reporting.rollup.DEFINITION``): a new one is built afresh.
    definition = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField(null=True, blank=True)
    # Changes made before this moment are in the rollup (``rollup.rollup_catch_up``).
    fresh_as_of = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"rollup as of {self.fresh_as_of}"
