"""The navigation's count of held mail, for those who may take complaints in."""

from complaints import navigation


def held_mail_nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("complaints.add_case"):
        return {}
    counts = navigation.for_request(request)
    # Lazy: pages without the navigation pay nothing.
    return {"held_mail_count": lambda: counts().get("held_mail", 0)}
