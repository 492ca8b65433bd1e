"""Who stands at each tier: 0 handler → 1 department head → 2 quality manager → 3 general
manager (4 is external review, outside the organisation)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from complaints.models import Case, Tier, User
from complaints.roles import Role

_TIER_OF_ROLE = {
    Role.GENERAL_MANAGER: Tier.GENERAL_MANAGER,
    Role.QUALITY_MANAGER: Tier.QUALITY_MANAGER,
    Role.DEPARTMENT_HEAD: Tier.DEPARTMENT_HEAD,
}


def next_tier(tier: int) -> int:
    """One tier up, but an overdue case goes no higher than the general manager: external
    review (tier 4) is a manager's decision, never the clock's."""
    return min(tier + 1, Tier.GENERAL_MANAGER) if tier < Tier.GENERAL_MANAGER else tier


def user_tier(user: User) -> int:
    """The highest tier a member of staff stands at (a handler or agent: 0)."""
    if not (user.is_authenticated and user.is_active):
        return Tier.HANDLER
    cached = getattr(user, "_heed_tier", None)
    if cached is None:
        if user.is_superuser:
            cached = Tier.GENERAL_MANAGER
        else:
            names = set(user.groups.values_list("name", flat=True))
            cached = max(
                (tier for role, tier in _TIER_OF_ROLE.items() if str(role) in names),
                default=Tier.HANDLER,
            )
        user._heed_tier = cached
    return cached


def _case_department_id(case: Case) -> int | None:
    """The department whose head answers for the case: the responsible one, or, before analysis
    names it, the department of whoever received it."""
    if case.department_id:
        return case.department_id
    return case.receiver.department_id if case.receiver_id else None


def can_act_for_tier(*, user: User, case: Case, tier: int) -> bool:
    """May this person act on the case at this tier (acknowledge, take, approve)? A department
    head only for their own department's cases; quality and general managers for all."""
    mine = user_tier(user)
    if mine < tier or mine == Tier.HANDLER:
        return False
    if mine == Tier.DEPARTMENT_HEAD:
        return bool(user.department_id and user.department_id == _case_department_id(case))
    return True


def tier_members(*, case: Case, tier: int) -> QuerySet[User]:
    """The people to tell when the case reaches a tier. Nobody at the tier (no head in the
    department, say) → the next tier up, so an escalation is never told to no one."""
    for level in range(max(tier, Tier.HANDLER), Tier.EXTERNAL_REVIEW):
        people = User.objects.filter(is_active=True)
        if level == Tier.HANDLER:
            people = (
                people.filter(Q(pk=case.owner_id) | Q(pk=case.responsible_person_id))
                if (case.owner_id or case.responsible_person_id)
                else people.none()
            )
        else:
            role = {1: Role.DEPARTMENT_HEAD, 2: Role.QUALITY_MANAGER, 3: Role.GENERAL_MANAGER}[
                level
            ]
            people = people.filter(groups__name=str(role))
            if level == Tier.DEPARTMENT_HEAD:
                people = people.filter(department_id=_case_department_id(case))
        people = people.distinct()
        if people.exists():
            return people
    return User.objects.filter(is_active=True, groups__name=str(Role.GENERAL_MANAGER)).distinct()
