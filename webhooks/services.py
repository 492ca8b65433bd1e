"""What staff do to webhooks in the admin: rotate a subscription's secret, send it a test
ping, send deliveries again. The outbox itself is written by ``webhooks.outbox``."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Delivery, Subscription, secret_new
from .outbox import deliveries_enqueue_on_commit, ping_write

# How long the old secret keeps signing (a second v1 in Heed-Signature) after a rotation.
ROTATION_GRACE = timedelta(hours=24)


@transaction.atomic
def subscription_secret_rotate(*, subscription: Subscription) -> Subscription:
    """Sign with a new secret from now on. The old one signs too for ``ROTATION_GRACE``, so a
    receiver that checks either secret refuses nothing while it switches; a second rotation
    within that day ends the first old secret's grace at once."""
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    locked.previous_secret = locked.secret
    locked.previous_secret_until = timezone.now() + ROTATION_GRACE
    locked.secret = secret_new()
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return locked


@transaction.atomic
def subscription_ping(*, subscription: Subscription) -> Delivery:
    """Queue a signed test delivery (type ``ping``) to the subscription's URL, logged and
    retried like any other, whatever events the subscription lists. An inactive
    subscription's ping waits, like the rest of its deliveries, until it is active again."""
    return ping_write(subscription=subscription)


@transaction.atomic
def deliveries_retry_now(*, deliveries: QuerySet[Delivery]) -> int:
    """Send these deliveries again now. Pending ones are brought forward; failed ones are
    pending again with a fresh allowance of attempts (their last error and status code stay
    until the next attempt). Delivered ones are left alone. Returns how many were queued."""
    now = timezone.now()
    # Locked by pk alone: the admin's queryset joins the (nullable) case, which PostgreSQL
    # will not lock FOR UPDATE.
    pks = list(
        Delivery.objects.select_for_update()
        .filter(
            pk__in=list(deliveries.values_list("pk", flat=True)),
            status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED],
        )
        .values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=pks, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=now
    )
    Delivery.objects.filter(pk__in=pks, status=Delivery.Status.PENDING).update(next_attempt_at=now)
    if pks:
        deliveries_enqueue_on_commit(pks)
    return len(pks)
