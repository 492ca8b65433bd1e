"""The navigation's queue count for managers."""

from functools import cache

from .selectors import queue_counts, queue_tiers


def queue_counts_nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not queue_tiers(user):
        return {}
    return {"queue_counts": cache(lambda: queue_counts(user=user))}
