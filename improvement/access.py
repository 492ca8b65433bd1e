"""Who may see, record, change, move and verify which action. One place, used by the pages, the
API and the services alike.

- Everyone with a role sees every action (as every case): the lessons are the organisation's.
- Recording an action from a case, and linking a case to one, needs the right to work that
  case (``complaints.access``) and the case past Analyse (its root cause known) or closed.
- The owner moves it on: the owner named, or anyone of the owner department when no person is
  named; the head of the owner department and quality and general managers too.
- Changing its details and its cases: those, and whoever recorded it.
- Cancelling it: the owner department's head, a quality or a general manager.
- Acknowledging its escalation: someone of the tier it was escalated to (a department head
  of the action's department at tier 1), as for a case's escalation.
- Verifying it: a quality or general manager (tiers 2 and 3) who neither owns it (the owner
  named; with no person named, a member of the owner department) nor made its Done move:
  nobody marks their own work as effective.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from complaints import lifecycle
from complaints.access import case_can_work, user_can_view_cases
from complaints.models import Case, Step, Tier, User
from escalation.tiers import can_act_at_tier, user_tier

from . import statuses
from .models import Action, ActionEscalation, overdue_flag


def actions_visible_to(*, user: User) -> QuerySet[Action]:
    if not user_can_view_cases(user):
        return Action.objects.none()
    return Action.objects.all()


def _staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm("complaints.work_case"))


def _heads_department(user: User, action: Action) -> bool:
    return bool(
        user_tier(user) == Tier.DEPARTMENT_HEAD
        and user.department_id
        and user.department_id == action.department_id
    )


def action_can_progress(*, user: User, action: Action) -> bool:
    if not _staff(user):
        return False
    if user_tier(user) >= Tier.QUALITY_MANAGER or _heads_department(user, action):
        return True
    if action.owner_id is not None:
        return user.pk == action.owner_id
    return bool(user.department_id and user.department_id == action.department_id)


def action_can_edit(*, user: User, action: Action) -> bool:
    return action_can_progress(user=user, action=action) or (
        _staff(user) and user.pk == action.recorded_by_id
    )


def action_can_manage(*, user: User, action: Action) -> bool:
    return _staff(user) and (
        user_tier(user) >= Tier.QUALITY_MANAGER or _heads_department(user, action)
    )


def action_can_verify(*, user: User, action: Action) -> bool:
    if not (_staff(user) and user_tier(user) >= Tier.QUALITY_MANAGER):
        return False
    if user.pk in (action.owner_id, action.done_by_id):
        return False
    owned_by_my_department = bool(
        action.owner_id is None
        and user.department_id
        and user.department_id == action.department_id
    )
    return not owned_by_my_department


def action_may(*, user: User, action: Action, who: str) -> bool:
    """May the user make a move whose ``who`` (``improvement.statuses``) is this?"""
    return {
        statuses.OWNER: action_can_progress,
        statuses.OWNER_OR_VERIFIER: lambda **kw: (
            action_can_progress(**kw) or action_can_verify(**kw)
        ),
        statuses.MANAGER: action_can_manage,
        statuses.VERIFIER: action_can_verify,
    }[who](user=user, action=action)


def action_escalation_can_acknowledge(*, user: User, escalation: ActionEscalation) -> bool:
    """May the user acknowledge this escalation of an overdue action (whether or not someone
    did already)? The page's button and the service's check."""
    return can_act_at_tier(
        user=user,
        department_id=escalation.action.department_id,
        tier=min(escalation.to_tier, Tier.GENERAL_MANAGER),
    )


def action_moves_for(*, user: User, action: Action) -> list[statuses.Move]:
    """The status changes this user may make from the action's status, as the page's buttons
    and the API's ``moves`` offer them: not verifying, which is its own form and endpoint
    with its evidence (``action_can_verify``)."""
    return [
        move
        for move in statuses.moves_from(action.status)
        if move.via is None and action_may(user=user, action=action, who=move.who)
    ]


def case_past_analysis(case: Case) -> bool:
    """Its root cause is known: the case has finished Analyse (or is closed)."""
    return lifecycle.step_index(case.step) > lifecycle.step_index(Step.ANALYSE)


def case_can_record_action(*, user: User, case: Case) -> bool:
    return case_past_analysis(case) and case_can_work(user=user, case=case)


def action_get_for_user(*, user: User, pk: int, write: bool = False) -> Action:
    """The action, if the user may see it (404 otherwise), and, with ``write``, may change its
    details or cases (403); with ``is_overdue`` as the lists have it."""
    try:
        action = (
            actions_visible_to(user=user)
            .select_related("owner", "department", "recorded_by", "done_by")
            .annotate(is_overdue=overdue_flag())
            .get(pk=pk)
        )
    except (Action.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    if write and not action_can_edit(user=user, action=action):
        raise PermissionDenied
    return action
