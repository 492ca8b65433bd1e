"""The navigation's counts for the signed-in user."""

from .access import user_can_view_cases
from .selectors import navigation_counts


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user_can_view_cases(user):
        return {}
    return {"nav_counts": lambda: navigation_counts(user=user)}
