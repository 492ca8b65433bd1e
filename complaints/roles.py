"""Staff roles. Each is a Django group (created by migration 0002) with the permissions it needs."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    HANDLER = "handler", _("Handler")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    GENERAL_MANAGER = "general_manager", _("General manager")
    ADMINISTRATOR = "administrator", _("Administrator")


_WORK = ["complaints.view_case", "complaints.work_case", "complaints.view_customer"]
_INTAKE = ["complaints.add_case", "complaints.add_customer", "complaints.change_customer"]
_MANAGE = ["complaints.work_all_cases", "complaints.view_department", "complaints.view_user"]
# The handling knowledge base (knowledge/): every role reads it, quality managers write it
# (and see the versions in the admin too).
_READ_KNOWLEDGE = ["knowledge.view_article"]
_WRITE_KNOWLEDGE = [
    "knowledge.add_article",
    "knowledge.change_article",
    "knowledge.view_articleversion",
]
# The customer-service supervisor's review of follow-ups (客户服务主管审阅): quality managers.
_REVIEW_FOLLOW_UPS = ["complaints.add_followupreview", "complaints.view_followupreview"]
# What the customer is told (conversation/): quality managers edit the notices' texts in the
# admin and read the notices sent.
_NOTICE_TEXTS = [
    "conversation.view_noticetemplate",
    "conversation.change_noticetemplate",
    "conversation.view_notice",
]

# What each role may do. Who may work which case is decided in complaints.access.
# Adding to this needs a migration that adds the new permissions with roles_grant (as
# knowledge's 0002 does): roles_sync sets each role to exactly this list, which is right for a
# fresh database (complaints' 0002) but would drop whatever an administrator granted since.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _WORK + _INTAKE + _READ_KNOWLEDGE,
    Role.HANDLER: _WORK + _READ_KNOWLEDGE,
    Role.DEPARTMENT_HEAD: _WORK + _INTAKE + _READ_KNOWLEDGE,
    Role.QUALITY_MANAGER: _WORK
    + _INTAKE
    + _MANAGE
    + _READ_KNOWLEDGE
    + _WRITE_KNOWLEDGE
    + _NOTICE_TEXTS
    + _REVIEW_FOLLOW_UPS,
    Role.GENERAL_MANAGER: _WORK + _INTAKE + _MANAGE + _READ_KNOWLEDGE,
    Role.ADMINISTRATOR: _WORK
    + _INTAKE
    + _MANAGE
    + _READ_KNOWLEDGE
    + _WRITE_KNOWLEDGE
    + _NOTICE_TEXTS
    + _REVIEW_FOLLOW_UPS
    + [
        "complaints.add_department",
        "complaints.change_department",
        "complaints.add_user",
        "complaints.change_user",
        "auth.view_group",
    ],
}


def _listed(permission_model, perms: list[str], app_label: str | None = None):
    # Q() alone would match every permission: a role without any gets none.
    wanted = Q(pk__in=[])
    for label, codename in (perm.split(".") for perm in perms):
        if app_label is None or label == app_label:
            wanted |= Q(content_type__app_label=label, codename=codename)
    return permission_model.objects.filter(wanted)


def roles_sync(*, group_model, permission_model) -> None:
    """Create each role's group with exactly its permissions: for a fresh database (complaints'
    0002). Takes the models so that the migration can pass its historical ones. A permission
    whose model is not migrated yet is left out: on a fresh database 0002 runs before the later
    apps' tables exist, and the migration of the app that brings it adds it (``roles_grant``;
    tests check that each one listed exists in the end)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=str(role))
        group.permissions.set(_listed(permission_model, perms))


def roles_grant(*, group_model, permission_model, app_label: str) -> None:
    """Add to each existing role group the permissions of ``app_label`` that this module gives
    it, and take nothing away: what an administrator granted or withdrew otherwise stays as it
    is. For the migration of an app whose permissions the roles list."""
    for group in group_model.objects.filter(name__in=[str(role) for role in ROLE_PERMISSIONS]):
        group.permissions.add(*_listed(permission_model, ROLE_PERMISSIONS[group.name], app_label))


def roles_grant_migrated(apps, app_label: str) -> None:
    """For the migration that adds ``app_label``'s permissions to the roles: creates them (from
    the historical models) and grants them with ``roles_grant``."""
    permissions_create(apps)  # Django makes them after all migrations: make them now
    roles_grant(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        app_label=app_label,
    )


def permissions_create(apps) -> None:
    """For a migration: Django creates permissions after all migrations, so a migration that
    grants them creates them first (each app's, from the historical models)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None


def role_names(user) -> frozenset[str]:
    """The names of the user's roles (their groups), read once for each user object (a
    request's user: the page's panels ask several times). Who gives someone a role gives it to
    a fresh object; a request already under way sees the roles it started with."""
    cached = getattr(user, "_heed_roles", None)
    if cached is None:
        # .all(): groups prefetched with the users (a timeline's actors) cost no query here.
        cached = frozenset(group.name for group in user.groups.all()) if user.pk else frozenset()
        user._heed_roles = cached
    return cached
