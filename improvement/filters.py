"""The actions list's filters (django-filter, like the case list's)."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from complaints.filters import YesNoFilter
from complaints.forms import staff_who_work_cases
from complaints.models import Department, RootCause

from .models import OPEN_STATUSES, Action, Kind, Status, overdue_q


class ActionFilter(filters.FilterSet):
    """Without a status chosen, the list shows the open actions (open, in progress, done and
    waiting for verification)."""

    q = filters.CharFilter(label=_("Search"), method="search")
    status = filters.MultipleChoiceFilter(
        label=_("Status"), choices=Status.choices, method="filter_status"
    )
    kind = filters.ChoiceFilter(label=_("Kind"), choices=Kind.choices)
    root_cause = filters.ChoiceFilter(label=_("Root cause"), choices=RootCause.choices)
    owner = filters.ModelChoiceFilter(
        label=pgettext_lazy("action", "Owner"), queryset=staff_who_work_cases()
    )
    department = filters.ModelChoiceFilter(label=_("Department"), queryset=Department.objects.all())
    overdue = YesNoFilter(label=_("Overdue"), method="filter_overdue")
    ordering = filters.OrderingFilter(
        label=_("Sort by"),
        fields=(("due_on", "due"), ("recorded_at", "recorded"), ("status", "status")),
        field_labels={
            "due_on": _("Due date"),
            "recorded_at": _("Recorded"),
            "status": _("Status"),
            # django-filter formats its own descending labels once, at import, in English.
            "-due": _("Due date (descending)"),
            "-recorded": _("Recorded (descending)"),
            "-status": _("Status (descending)"),
        },
    )

    class Meta:
        model = Action
        fields: list[str] = []

    @property
    def qs(self):
        qs = super().qs
        if not (self.is_bound and self.form.cleaned_data.get("status")):
            qs = qs.filter(status__in=OPEN_STATUSES)
        return qs

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=value) if value else queryset

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(cause__icontains=value)
            | Q(plan__icontains=value)
            | Q(links__case__reference__iexact=value)
        ).distinct()

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())
