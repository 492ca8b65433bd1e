"""The dashboard's filters (``ReportFilter``) and, for the list of cases behind a figure, the
same filters plus the figure's own (``ReportCaseFilter``). Every figure's link is the
dashboard's query with its figure's parameters added."""

from __future__ import annotations

from datetime import timedelta

import django_filters as filters
from django import forms
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateRangeField

from complaints.filters import AnyOfFilter, YesNoFilter
from complaints.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Department,
    Ending,
    Remedy,
    RootCause,
    Step,
    Tier,
    Urgency,
    Validity,
)
from config.forms import IsoDateRangeWidget
from escalation.models import Approval, Deadline, Escalation, ExternalReview, Milestone

# The dashboard's period when none is chosen.
DEFAULT_DAYS = 90


class BoundedDateRangeField(DateRangeField):
    """A period within sensible years: the databases' date arithmetic in a time zone overflows
    at the ends of the calendar (SQLite raises), and no complaint is older than 1900."""

    def clean(self, value):
        period = super().clean(value)
        if period:
            for end in (period.start, period.stop):
                if end is not None and not 1900 <= end.year <= 9000:
                    raise forms.ValidationError(_("Choose dates between 1900 and 9000."))
        return period


class BoundedDateFromToRangeFilter(filters.DateFromToRangeFilter):
    field_class = BoundedDateRangeField


# The dashboard's own parameters: what every figure link and the way back carry.
DASHBOARD_PARAMETERS = (
    "received_after",
    "received_before",
    "department",
    "category",
    "channel",
    "product",
    "urgency",
)


class ReportFilter(filters.FilterSet):
    received = BoundedDateFromToRangeFilter(
        label=_("Received between"), field_name="received_at", widget=IsoDateRangeWidget
    )
    department = filters.ModelChoiceFilter(
        label=_("Department"), queryset=Department.objects.order_by("name")
    )
    category = filters.ChoiceFilter(label=_("Category"), choices=Category.choices)
    channel = filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    product = filters.CharFilter(label=_("Product"), field_name="product", lookup_expr="iexact")
    urgency = filters.ChoiceFilter(label=_("Urgency"), choices=Urgency.choices)

    class Meta:
        model = Case
        fields: list[str] = []

    @staticmethod
    def default_data() -> dict[str, str]:
        """The last ``DEFAULT_DAYS`` days up to today, in the deployment's time zone."""
        today = timezone.localdate()
        return {
            "received_after": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "received_before": today.isoformat(),
        }


def remedy_q(code: str) -> Q:
    """The case's remedies include ``code``. remedy_types is a JSON list of codes: PostgreSQL
    tests containment on the binary JSON (several times faster than matching its text, which
    counts over a year of cases); SQLite, which has no JSON containment, matches "code" with
    its quotes in the text."""
    if connection.vendor == "postgresql":
        return Q(remedy_types__contains=[code])
    return Q(remedy_types__icontains=f'"{code}"')


def repeat_q() -> Q:
    """A repeat complaint: the case's customer had another case received in the 90 days
    before it (``Case.repeat_of``, kept by the core: ``complaints.repeats``)."""
    return Q(repeat_of__isnull=False)


DEADLINE_STATES = {
    "judged": Q(met_at__isnull=False) | Q(breached_at__isnull=False),
    # Met in time: by its due time. The sweep marks a breach within the minute, but a deadline
    # met late while it was not running (an outage) has no breached_at: its met_at tells.
    "met": Q(met_at__isnull=False, breached_at__isnull=True, met_at__lte=F("due_at")),
    "breached": Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at")),
    "open": Q(met_at__isnull=True, breached_at__isnull=True, superseded_at__isnull=True),
}


class ReportCaseFilter(ReportFilter):
    """The cases behind one figure of the dashboard."""

    step = AnyOfFilter(label=_("Step"), choices=Step.choices)
    milestone = filters.ChoiceFilter(
        label=_("Milestone"), choices=Milestone.choices, method="by_deadline"
    )
    deadline = filters.ChoiceFilter(
        label=_("Deadline"),
        choices=[
            ("met", _("Met")),
            ("breached", _("Breached")),
            ("open", _("Still open")),
            ("judged", _("Met or breached")),
        ],
        method="by_deadline",
    )
    escalated_to = filters.TypedChoiceFilter(
        label=_("Escalated to tier"), choices=Tier.choices, coerce=int, method="by_escalation"
    )
    escalation_reason = filters.ChoiceFilter(
        label=_("Escalation reason"), choices=Escalation.Reason.choices, method="by_escalation"
    )
    left_step = filters.ChoiceFilter(
        label=_("Left the step"), choices=Step.choices, method="by_left_step"
    )
    reopened = YesNoFilter(label=_("Reopened"), method="by_reopened")
    approval_waiting = YesNoFilter(label=_("Approval waiting"), method="by_approval_waiting")
    in_external_review = YesNoFilter(label=_("In external review"), method="by_external_review")
    repeat = YesNoFilter(label=_("Repeat complainant"), method="by_repeat")
    root_cause_category = filters.ChoiceFilter(label=_("Root cause"), choices=RootCause.choices)
    validity = filters.ChoiceFilter(label=_("Validity"), choices=Validity.choices)
    remedy = filters.ChoiceFilter(label=_("Remedy"), choices=Remedy.choices, method="by_remedy")
    remedied = YesNoFilter(label=_("With a remedy"), method="by_remedied")
    satisfied = YesNoFilter(label=_("Satisfied"), field_name="follow_up_satisfied")
    ending = filters.ChoiceFilter(label=_("Ended"), choices=Ending.choices)
    rating = filters.NumberFilter(label=_("Rating"), field_name="satisfaction_rating")
    responsible_department = filters.ModelChoiceFilter(
        label=_("Responsible department"),
        queryset=Department.objects.all(),
        field_name="department",
    )

    def by_deadline(self, queryset, name, value):
        # Applied once, for both parameters together.
        if name != "milestone" and self.form.cleaned_data.get("milestone"):
            return queryset
        milestone = self.form.cleaned_data.get("milestone")
        state = self.form.cleaned_data.get("deadline")
        deadlines = Deadline.objects.filter(case_id=OuterRef("pk"))
        if milestone:
            deadlines = deadlines.filter(milestone=milestone)
        if state:
            deadlines = deadlines.filter(DEADLINE_STATES[state])
        return queryset.filter(Exists(deadlines))

    def by_escalation(self, queryset, name, value):
        if name != "escalated_to" and self.form.cleaned_data.get("escalated_to") not in (None, ""):
            return queryset
        escalations = Escalation.objects.filter(case_id=OuterRef("pk"))
        tier = self.form.cleaned_data.get("escalated_to")
        reason = self.form.cleaned_data.get("escalation_reason")
        if tier not in (None, ""):
            escalations = escalations.filter(to_tier=tier)
        if reason:
            escalations = escalations.filter(reason=reason)
        return queryset.filter(Exists(escalations))

    def by_left_step(self, queryset, name, value):
        # A finished stay in a step is a move out of it (the time-in-step figures' stays).
        moves = CaseEvent.objects.filter(
            case_id=OuterRef("pk"), kind__in=["step", "reopened"], from_step=value
        )
        return queryset.filter(Exists(moves))

    def by_approval_waiting(self, queryset, name, value):
        if value is None:
            return queryset
        pending = Approval.objects.filter(case_id=OuterRef("pk"), status=Approval.Status.PENDING)
        return queryset.filter(Exists(pending)) if value else queryset.exclude(Exists(pending))

    def by_external_review(self, queryset, name, value):
        if value is None:
            return queryset
        open_reviews = ExternalReview.objects.filter(case_id=OuterRef("pk"), outcome_at=None)
        found = Exists(open_reviews)
        return queryset.filter(found) if value else queryset.exclude(found)

    def by_reopened(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(reopen_count__gt=0) if value else queryset.filter(reopen_count=0)

    def by_repeat(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(repeat_q()) if value else queryset.exclude(repeat_q())

    def by_remedied(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(remedy_types=[]) if value else queryset.filter(remedy_types=[])

    def by_remedy(self, queryset, name, value):
        return queryset.filter(remedy_q(value))
