"""The navigation's counts for the signed-in user (``complaints.navigation``)."""

from . import navigation
from .access import user_can_view_cases


def navigation_counts(request):
    user = getattr(request, "user", None)
    if user is None or not user_can_view_cases(user):
        return {}
    # Lazy (pages without the navigation pay nothing) and read once for every app's counts:
    # the template reads nav_counts twice, and each read of a callable calls it.
    return {"nav_counts": navigation.for_request(request)}
