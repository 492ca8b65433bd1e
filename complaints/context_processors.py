"""The navigation's counts for the signed-in user."""

from functools import cache

from .access import user_can_view_cases
from .selectors import navigation_counts


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user_can_view_cases(user):
        return {}
    # Lazy (pages without the navigation pay nothing) and computed once: the template reads
    # nav_counts twice, and each read of a callable calls it.
    return {"nav_counts": cache(lambda: navigation_counts(user=user))}
