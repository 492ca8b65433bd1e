"""Who may see and who may work which case. One place, used by views and the API alike."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .models import Case, User


def user_can_view_cases(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm("complaints.view_case"))


def user_can_take_cases(user: User) -> bool:
    """Those who log complaints (``complaints.add_case``) take the cases no one owns yet: the
    "To take" list and its count, the case page's Take button, ``case_take``."""
    return bool(user.is_active and user.has_perm("complaints.add_case"))


def cases_visible_to(*, user: User) -> QuerySet[Case]:
    """Every member of staff with a role sees every case: whoever picks up the phone when a
    customer calls back must be able to find theirs. A user without a role sees none."""
    if not user_can_view_cases(user):
        return Case.objects.none()
    return Case.objects.all()


def cases_workable_by(*, user: User) -> QuerySet[Case]:
    """The cases a user may change: managers all; others those they received, own or are
    responsible for, and those of their department."""
    qs = cases_visible_to(user=user)
    if not user.has_perm("complaints.work_case"):
        return qs.none()
    if user.has_perm("complaints.work_all_cases"):
        return qs
    mine = Q(receiver=user) | Q(owner=user) | Q(responsible_person=user)
    if user.department_id:
        mine |= Q(department_id=user.department_id)
    return qs.filter(mine)


def case_can_work(*, user: User, case: Case) -> bool:
    """May the user change the case? Nobody may change a case merged into another: its
    survivor is worked instead."""
    if case.merged_into_id is not None:
        return False
    if not (user.is_authenticated and user.is_active and user.has_perm("complaints.work_case")):
        return False
    if user.has_perm("complaints.work_all_cases"):
        return True
    if user.pk in (case.receiver_id, case.owner_id, case.responsible_person_id):
        return True
    return bool(user.department_id and user.department_id == case.department_id)


def case_get_for_user(*, user: User, reference: str, write: bool = False) -> Case:
    """The case, if the user may see it (404 otherwise: no probing which references exist),
    and, with ``write``, may change it (403; a case merged into another says which to work on
    instead)."""
    if "\x00" in reference:  # no reference has one, and PostgreSQL refuses to compare it
        raise Http404
    try:
        case = (
            cases_visible_to(user=user)
            .select_related(
                "customer",
                "receiver",
                "owner",
                "department",
                "responsible_person",
                "repeat_of",
                "merged_into",
            )
            .get(reference=reference)
        )
    except Case.DoesNotExist:
        raise Http404 from None
    if write and case.merged_into_id is not None:
        raise PermissionDenied(
            _("%(reference)s was merged into %(survivor)s: work on %(survivor)s instead.")
            % {"reference": case.reference, "survivor": case.merged_into.reference}
        )
    if write and not case_can_work(user=user, case=case):
        raise PermissionDenied
    return case
