"""The API's permission classes: thin wrappers around ``complaints.access`` and the roles'
Django permissions, the same checks the pages make (no second copy of the rules)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from complaints.access import user_can_view_cases
from knowledge.access import user_can_read_articles


class WorksWithCases(BasePermission):
    """Staff with a role (``complaints.view_case``). Which case they may change is decided per
    case by ``case_get_for_user(write=True)`` and the services."""

    def has_permission(self, request, view) -> bool:
        return user_can_view_cases(request.user)


class CustomerAccess(BasePermission):
    """Reading customers needs ``view_customer``; adding them ``add_customer`` (agents)."""

    def has_permission(self, request, view) -> bool:
        perm = "view_customer" if request.method in SAFE_METHODS else "add_customer"
        return user_can_view_cases(request.user) and request.user.has_perm(f"complaints.{perm}")


class ReadsArticles(BasePermission):
    """Staff whose role reads the knowledge base (``knowledge.view_article``: every role)."""

    def has_permission(self, request, view) -> bool:
        return user_can_read_articles(request.user)
