"""Celery tasks of the API."""

from celery import shared_task

from .idempotency import idempotency_keys_purge


@shared_task(name="api.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Run by beat daily; safe to run twice."""
    return idempotency_keys_purge()
