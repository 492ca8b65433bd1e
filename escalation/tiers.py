"""Who stands at each tier: 0 handler → 1 department head → 2 quality manager → 3 general
manager (4 is external review, outside the organisation).

The ladder and its membership are the same for everything the engine escalates: a case, or a
corrective action (``improvement``). ``tier_members_for`` and ``can_act_at_tier`` take the
department that answers and the people who stand at tier 0; the case versions below derive
them from the case."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from complaints.models import Case, Tier, User
from complaints.roles import Role, role_names

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
            names = role_names(user)
            cached = max(
                (tier for role, tier in _TIER_OF_ROLE.items() if str(role) in names),
                default=Tier.HANDLER,
            )
        user._heed_tier = cached
    return cached


def case_department_id(case: Case) -> int | None:
    """The department whose head answers for the case: the responsible one, or, before analysis
    names it, the department of whoever received it (``answered_by_q`` in SQL)."""
    if case.department_id:
        return case.department_id
    return case.receiver.department_id if case.receiver_id else None


def answered_by_q(department_id: int | None, prefix: str = "") -> Q:
    """``case_department_id(case) == department_id`` as a filter of cases (``prefix``: the
    path to the case, e.g. ``case__``). No department answers for nothing: without the guard,
    ``receiver__department_id=None`` would match every case not analysed yet."""
    if department_id is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}department_id": department_id}) | Q(
        **{f"{prefix}department__isnull": True, f"{prefix}receiver__department_id": department_id}
    )


def answered_for_q(user: User, prefix: str = "") -> Q:
    """The cases a manager answers for: a department head those their department answers for
    (none, without a department); quality and general managers, and everyone else, all (what
    else they may see is the caller's rule)."""
    if user_tier(user) == Tier.DEPARTMENT_HEAD:
        return answered_by_q(user.department_id, prefix)
    return Q()


def can_act_at_tier(*, user: User, department_id: int | None, tier: int) -> bool:
    """May this person act at this tier for something their department answers for
    (acknowledge, take, approve)? A department head only for their own department; quality and
    general managers for all."""
    mine = user_tier(user)
    if mine < tier or mine == Tier.HANDLER:
        return False
    if mine == Tier.DEPARTMENT_HEAD:
        return bool(user.department_id and user.department_id == department_id)
    return True


def can_act_for_tier(*, user: User, case: Case, tier: int) -> bool:
    """``can_act_at_tier`` for the department that answers for the case."""
    return can_act_at_tier(user=user, department_id=case_department_id(case), tier=tier)


def tier_members_for(
    *, tier: int, department_id: int | None, handler_ids: Iterable[int | None]
) -> list[User]:
    """The people to tell when something reaches a tier: at tier 0 the handlers named
    (``handler_ids``), at tier 1 the head of ``department_id``, above it the quality and then
    the general managers. Nobody at the tier (no head in the department, say) → the next tier
    up, so an escalation is never told to no one."""
    handlers = [pk for pk in handler_ids if pk]
    for level in range(max(tier, Tier.HANDLER), Tier.EXTERNAL_REVIEW):
        people = User.objects.filter(is_active=True)
        if level == Tier.HANDLER:
            people = people.filter(pk__in=handlers) if handlers else people.none()
        else:
            role = {1: Role.DEPARTMENT_HEAD, 2: Role.QUALITY_MANAGER, 3: Role.GENERAL_MANAGER}[
                level
            ]
            people = people.filter(groups__name=str(role))
            if level == Tier.DEPARTMENT_HEAD:
                people = people.filter(department_id=department_id)
        found = list(people.distinct())  # one query a tier, not "exists?" and then "who?"
        if found:
            return found
    return list(
        User.objects.filter(is_active=True, groups__name=str(Role.GENERAL_MANAGER)).distinct()
    )


def tier_members(*, case: Case, tier: int) -> list[User]:
    """``tier_members_for`` a case: its owner and responsible person at tier 0, the head of
    the department that answers for it at tier 1."""
    return tier_members_for(
        tier=tier,
        department_id=case_department_id(case),
        handler_ids=(case.owner_id, case.responsible_person_id),
    )
