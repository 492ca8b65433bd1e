"""Celery tasks: ids in, services called, safe to run twice (acks_late may redeliver): a row is
sent only by the sender that claimed it, and only while it is pending."""

from __future__ import annotations

from celery import shared_task

from .delivery import deliveries_send


@shared_task(name="webhooks.deliver")
def deliver(ids: list[int]) -> int:
    """Send these deliveries now (queued after the commit that wrote them). One that fails,
    or that this task never gets to, waits for the retry job."""
    return deliveries_send(ids=ids)


@shared_task(name="webhooks.retry")
def retry() -> int:
    """Run by beat every minute (``webhooks-retry``): send every pending delivery that is due,
    whether its first attempt failed or was never queued (the broker was down)."""
    return deliveries_send()
