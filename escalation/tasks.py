"""Celery tasks: ids in, services called, safe to run twice (acks_late may redeliver)."""

from __future__ import annotations

from celery import shared_task

from .notifications import notifications_deliver
from .sweep import sweep


@shared_task(name="escalation.sweep")
def sweep_deadlines() -> dict[str, int]:
    """Run by beat every ``SWEEP_INTERVAL`` seconds (settings). The emails it writes are
    rendered and sent by ``deliver_notifications`` tasks, on any worker."""
    result = sweep(workers_send=True)
    return {
        "warned": result.count("warn"),
        "escalated": result.count("escalate"),
        "reminded": result.count("remind"),
        "sent": result.sent,
    }


@shared_task(name="escalation.deliver_notifications")
def deliver_notifications(ids: list[int]) -> int:
    """Send these notifications now. One that fails stays in the outbox for the sweep."""
    return notifications_deliver(ids=ids)
