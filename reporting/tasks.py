"""Celery tasks: services called, safe to run twice (acks_late may redeliver)."""

from __future__ import annotations

from celery import shared_task

from .early_warning import spikes_detect_and_notify


@shared_task(name="reporting.early_warning")
def early_warning() -> int:
    """Run by beat every hour (``reporting-early-warning``): record this week's new spikes and
    email the quality managers those not notified yet. Returns how many spikes were new."""
    return len(spikes_detect_and_notify())
