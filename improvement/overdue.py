"""Overdue actions in the escalation engine: when an action is due, warned and breached, and the
two passes it registers with the deadline sweep (``escalation.sources``) — the actions that are
due, and their escalations nobody acknowledged. The same run, the same tier ladder and
membership (``escalation.tiers``), the same notification outbox, and once per breach by the
unique constraint on ``ActionEscalation`` (action, round), as a case's by its deadline's."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from complaints.models import Tier
from escalation.models import Notification
from escalation.notifications import notify
from escalation.policies import policy_for
from escalation.sources import NotificationSubject, SweepPass, register_pass, register_subject
from escalation.sweep import RETRY_FAILED, Planned
from escalation.tiers import next_tier, tier_members_for

from .models import WORKING_STATUSES, Action, ActionEscalation, ActionEvent

# The owner is warned from the start of the day before the due date.
WARN_DAYS_BEFORE = 1


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in TIME_ZONE (the zone people read due dates and periods in); also
    the selectors' half-year bounds."""
    # zoneinfo resolves a midnight that a DST change skips or repeats (fold=0: the first).
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def next_check(action: Action) -> datetime | None:
    """The next moment the sweep has something to do for this action, or None."""
    if action.status not in WORKING_STATUSES or action.breached_at is not None:
        return None
    points = [action.due_at]
    if action.warn_at and not action.warned_at:
        points.append(action.warn_at)
    return min(points)


def schedule(action: Action, *, now: datetime) -> None:
    """Set when the action is overdue (the end of its due date), when its owner is warned (no
    warning if that moment has passed already) and the sweep's next check. A new due date is a
    new round: its breach escalates again, from the tier the action is at."""
    action.due_at = local_midnight(action.due_on + timedelta(days=1))
    warn_at = local_midnight(action.due_on - timedelta(days=WARN_DAYS_BEFORE))
    action.warn_at = warn_at if warn_at > now else None
    action.warned_at = None
    action.breached_at = None
    action.next_check_at = next_check(action)


def renotify_every() -> timedelta:
    """How often an unacknowledged escalation is reminded: as the cases of the default
    time-limit policy (no urgency or category of its own)."""
    return policy_for(urgency="", category="").renotify_every


def tier_people(action: Action, tier: int):
    """The people standing at a tier for this action: its owner at tier 0 (or, with no person
    named, the head of its department), then the ladder as for a case of that department."""
    return tier_members_for(
        tier=min(tier, Tier.GENERAL_MANAGER),
        department_id=action.department_id,
        handler_ids=[action.owner_id],
    )


def _planned(action_name: str, action: Action, from_tier: int, to_tier: int, due=None):
    return Planned(action_name, action.reference, "", due, from_tier, to_tier)


# ---------------------------------------------------------------- the due actions


def _due(now: datetime):
    return (
        Action.objects.filter(next_check_at__lte=now)
        .select_related("owner", "department")
        .order_by("next_check_at", "pk")
    )


def _escalate(action: Action, now: datetime) -> Planned | None:
    action.breached_at = action.due_at
    # A warning still pending when the due date passed is moot: the escalation says more.
    action.warned_at = action.warned_at or (now if action.warn_at else None)
    action.next_check_at = None
    from_tier = action.tier
    to_tier = next_tier(from_tier)
    try:
        with transaction.atomic():
            escalation = ActionEscalation.objects.create(
                action=action,
                round=action.round,
                from_tier=from_tier,
                to_tier=to_tier,
                due_at=action.due_at,
                at=now,
                next_notify_at=now + renotify_every(),
            )
    except IntegrityError:
        # This breach was escalated already (a sweep that raced past the rest).
        action.save(update_fields=["breached_at", "warned_at", "next_check_at"])
        return None
    action.tier = to_tier
    action.save(update_fields=["breached_at", "warned_at", "next_check_at", "tier"])
    ActionEvent.objects.create(
        action=action,
        kind=ActionEvent.Kind.ESCALATED,
        at=now,
        changes={"tier": [from_tier, to_tier]},
    )
    recipients = list(tier_people(action, to_tier))
    if action.owner_id and action.owner not in recipients:
        recipients.append(action.owner)
    notify(kind=Notification.Kind.ESCALATED, subject=escalation, recipients=recipients)
    return _planned("escalate", action, from_tier, to_tier, action.due_at)


def _handle(action: Action, now: datetime) -> Planned | None:
    if action.status in WORKING_STATUSES and action.breached_at is None and now >= action.due_at:
        return _escalate(action, now)
    warn = bool(
        action.status in WORKING_STATUSES
        and action.warn_at
        and not action.warned_at
        and now >= action.warn_at
    )
    if warn:
        action.warned_at = now
    action.next_check_at = next_check(action)
    action.save(update_fields=["warned_at", "next_check_at"])
    if not warn:
        return None
    ActionEvent.objects.create(action=action, kind=ActionEvent.Kind.WARNED, at=now)
    notify(
        kind=Notification.Kind.WARNING,
        subject=action,
        recipients=tier_people(action, Tier.HANDLER),
    )
    return _planned("warn", action, action.tier, action.tier, action.due_at)


def _forecast(action: Action, now: datetime) -> Planned | None:
    if action.status not in WORKING_STATUSES:
        return None
    if action.breached_at is None and now >= action.due_at:
        return _planned("escalate", action, action.tier, next_tier(action.tier), action.due_at)
    if action.warn_at and not action.warned_at and now >= action.warn_at:
        return _planned("warn", action, action.tier, action.tier, action.due_at)
    return None


def _postpone(action: Action, now: datetime) -> None:
    Action.objects.filter(pk=action.pk).update(next_check_at=now + RETRY_FAILED)


# ---------------------------------------------------------------- reminders


def _due_reminders(now: datetime):
    return (
        ActionEscalation.objects.filter(next_notify_at__lte=now)
        .select_related("action", "action__owner", "action__department")
        .order_by("next_notify_at", "pk")
    )


def _reminder_moot(escalation: ActionEscalation) -> bool:
    # Done, verified or cancelled since; or escalated further (the higher tier's escalation
    # reminds them).
    action = escalation.action
    return action.status not in WORKING_STATUSES or action.tier > escalation.to_tier


def reminders_rearm(action: Action, *, now: datetime) -> int:
    """An action back at work (done → in progress) is overdue again for the tier it is at: its
    escalations there that nobody acknowledged, whose reminders stopped while it was done
    (``_reminder_moot``), remind at the next sweep. Called by the move's service, in its
    transaction. The ones still scheduled keep their time."""
    return ActionEscalation.objects.filter(
        action=action,
        to_tier=action.tier,
        acknowledged_at__isnull=True,
        next_notify_at__isnull=True,
    ).update(next_notify_at=now)


def _remind(escalation: ActionEscalation, now: datetime) -> Planned | None:
    action = escalation.action
    if _reminder_moot(escalation):
        escalation.next_notify_at = None
        escalation.save(update_fields=["next_notify_at"])
        return None
    notify(
        kind=Notification.Kind.REMINDER,
        subject=escalation,
        recipients=tier_people(action, escalation.to_tier),
    )
    escalation.next_notify_at = now + renotify_every()
    escalation.save(update_fields=["next_notify_at"])
    return _planned("remind", action, escalation.to_tier, escalation.to_tier)


def _forecast_reminder(escalation: ActionEscalation, now: datetime) -> Planned | None:
    if _reminder_moot(escalation):
        return None
    return _planned("remind", escalation.action, escalation.to_tier, escalation.to_tier)


def _postpone_reminder(escalation: ActionEscalation, now: datetime) -> None:
    ActionEscalation.objects.filter(pk=escalation.pk).update(next_notify_at=now + RETRY_FAILED)


# ---------------------------------------------------------------- the emails


def _email(row: Notification) -> tuple[str, str]:
    subject = row.subject
    escalation = subject if isinstance(subject, ActionEscalation) else None
    action = escalation.action if escalation else subject
    context = {
        "row": row,
        "action": action,
        "escalation": escalation,
        "action_url": settings.SITE_URL + action.get_absolute_url(),
        "queue_url": settings.SITE_URL + reverse("escalation:queue"),
    }
    return (
        render_to_string("improvement/email/subject.txt", context).strip(),
        render_to_string("improvement/email/body.txt", context),
    )


def register() -> None:
    """Plug the actions into the escalation engine (``ImprovementConfig.ready``)."""
    register_pass(
        SweepPass(
            name="improvement.actions",
            due=_due,
            handle=_handle,
            postpone=_postpone,
            forecast=_forecast,
        )
    )
    register_pass(
        SweepPass(
            name="improvement.reminders",
            due=_due_reminders,
            handle=_remind,
            postpone=_postpone_reminder,
            forecast=_forecast_reminder,
        )
    )
    register_subject(
        NotificationSubject(
            model=Action,
            queryset=lambda: Action.objects.select_related("owner", "department"),
            email=_email,
        )
    )
    register_subject(
        NotificationSubject(
            model=ActionEscalation,
            queryset=lambda: ActionEscalation.objects.select_related(
                "action", "action__owner", "action__department"
            ),
            email=_email,
        )
    )
