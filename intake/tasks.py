"""Celery tasks of intake: ids in, safe to run again (each run sends a fresh link)."""

from celery import shared_task

from .emails import tracking_link_email_send


@shared_task(
    name="intake.send_tracking_link",
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=10,
)
def send_tracking_link(case_id: int, kind: str, language: str | None = None) -> bool:
    """Email the customer a tracking link; a mail server that is down is retried with backoff."""
    return tracking_link_email_send(case_id=case_id, kind=kind, language=language)
