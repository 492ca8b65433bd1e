"""Who reads the reports: managers — department heads (their own department's cases only),
quality managers and general managers (everything). The same tiers as escalation."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from complaints.access import cases_visible_to
from complaints.models import Case, Department, Tier, User
from escalation.tiers import answered_for_q, user_tier


def user_can_read_reports(user: User) -> bool:
    return user_tier(user) >= Tier.DEPARTMENT_HEAD


def departments_reported_to(*, user: User) -> QuerySet[Department]:
    """The departments a reader may filter by: a department head their own; the others all."""
    if user_tier(user) == Tier.DEPARTMENT_HEAD:
        return Department.objects.filter(pk=user.department_id)
    return Department.objects.order_by("name")


def report_filter_limited(report_filter, *, user: User):
    """The filter's department choices cut to what the reader may see (the cases are cut by
    ``cases_reported_to`` anyway: this keeps the other departments' names out of the form)."""
    for name in ("department", "responsible_department"):
        if name in report_filter.filters:
            report_filter.filters[name].queryset = departments_reported_to(user=user)
    return report_filter


def cases_reported_to(*, user: User) -> QuerySet[Case]:
    """The cases whose figures the user may read: a department head those their department
    answers for (responsible, or received there before analysis named one); the others all.
    A case merged into another is no complaint of its own (``complaints.merging``): the
    survivor counts for both."""
    if not user_can_read_reports(user):
        raise PermissionDenied
    return cases_visible_to(user=user).filter(answered_for_q(user), merged_into__isnull=True)
