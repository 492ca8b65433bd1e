"""The navigation's queue count for managers: escalations and approvals waiting for their
tier, and what other apps escalate to it (``queue_*`` counts of ``complaints.navigation``)."""

from complaints import navigation

from .selectors import queue_tiers


def queue_counts_nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not queue_tiers(user):
        return {}
    counts = navigation.for_request(request)

    def queue() -> dict[str, int]:
        waiting = {k: v for k, v in counts().items() if k.startswith("queue_")}
        return {**waiting, "total": sum(waiting.values())}

    return {"queue_counts": queue}
