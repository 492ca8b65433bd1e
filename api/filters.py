"""The API's list filters: the case list's own (``complaints.filters.CaseFilter``, the same
filters the pages offer) plus what integrations ask for."""

from datetime import UTC

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget

from complaints.filters import AnyOfFilter, CaseFilter
from complaints.models import Customer, Tier
from complaints.services import phone_normalize
from escalation.models import Approval, Escalation
from escalation.selectors import approvals_waiting, escalation_queue
from improvement.filters import ActionFilter


class IdFilter(filters.Filter):
    """An id: a whole number a database can hold (NumberFilter's decimal would read 6.5 as
    customer 6, and a number beyond 64 bits makes SQLite fail)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, turned into UTC as DRF's DateTimeField does. One with an offset the
    database does not take (PostgreSQL: up to ±15:59; Python allows ±23:59) or that leaves the
    years 1 to 9999 once in UTC is refused as not a date (400), not sent to the database (500)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcDateTimeField(), UtcDateTimeField()), *args, **kwargs)


class DateTimeRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    """``?<name>_after=`` and ``?<name>_before=``, ISO 8601 moments (``UtcDateTimeField``)."""

    field_class = UtcDateTimeRangeField


class ApiCaseFilter(CaseFilter):
    tier = AnyOfFilter(label=_("Tier"), choices=Tier.choices)
    customer = IdFilter(label=_("Customer"), field_name="customer_id")


class CustomerFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("Search"), method="search")
    phone = filters.CharFilter(label=_("Phone"), method="by_phone")
    email = filters.CharFilter(label=_("Email"), field_name="email", lookup_expr="iexact")
    type = filters.ChoiceFilter(label=_("Type"), choices=Customer.Type.choices)

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__icontains=value) | Q(email__icontains=value)
        )

    def by_phone(self, queryset, name, value):
        """Read as the New complaint screen reads it ("138 0013 8000" is +8613800138000);
        what is no phone number is refused (400) rather than finding nobody."""
        phone = phone_normalize(value)
        return queryset.filter(phone=phone) if phone else queryset


class EscalationFilter(filters.FilterSet):
    tier = AnyOfFilter(label=_("To tier"), field_name="to_tier", choices=Tier.choices)
    reason = AnyOfFilter(label=_("Reason"), choices=Escalation.Reason.choices)
    acknowledged = filters.BooleanFilter(
        label=_("Acknowledged"), field_name="acknowledged_at", lookup_expr="isnull", exclude=True
    )
    case = filters.CharFilter(label=_("Case"), field_name="case__reference")
    queue = filters.BooleanFilter(
        label=_("In my escalation queue"),
        method="in_queue",
        help_text=_("Waiting for my tier, as on the escalation queue page."),
    )
    at = DateTimeRangeFilter(label=_("Escalated between"))
    ordering = filters.OrderingFilter(fields=(("at", "at"), ("to_tier", "tier")))

    class Meta:
        model = Escalation
        fields: list[str] = []

    def in_queue(self, queryset, name, value):
        if value is None:
            return queryset
        queue = escalation_queue(user=self.request.user).values("pk")
        return queryset.filter(pk__in=queue) if value else queryset.exclude(pk__in=queue)


class ApprovalFilter(filters.FilterSet):
    status = AnyOfFilter(label=_("Status"), choices=Approval.Status.choices)
    case = filters.CharFilter(label=_("Case"), field_name="case__reference")
    queue = filters.BooleanFilter(
        label=_("Waiting for my tier"),
        method="in_queue",
        help_text=_("Waiting for my decision, as on the escalation queue page."),
    )

    class Meta:
        model = Approval
        fields: list[str] = []

    def in_queue(self, queryset, name, value):
        if value is None:
            return queryset
        waiting = approvals_waiting(user=self.request.user).values("pk")
        return queryset.filter(pk__in=waiting) if value else queryset.exclude(pk__in=waiting)


class ApiActionFilter(ActionFilter):
    """The actions list's own filters (``improvement.filters``; without ``status``, the open
    actions) and the actions of one case."""

    case = filters.CharFilter(label=_("Case"), method="by_case")

    def by_case(self, queryset, name, value):
        return queryset.filter(links__case__reference=value.strip())
