"""The navigation's count of held mail, for those who may take complaints in."""

from functools import cache


def held_mail_nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("complaints.add_case"):
        return {}
    from .held import held_waiting

    # Lazy: pages without the navigation pay nothing.
    return {"held_mail_count": cache(lambda: held_waiting().count())}
