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

# What each role may do. Who may work which case is decided in complaints.access.
# Changing this needs a migration that runs roles_sync again (as 0002 does).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _WORK + _INTAKE + _READ_KNOWLEDGE,
    Role.HANDLER: _WORK + _READ_KNOWLEDGE,
    Role.DEPARTMENT_HEAD: _WORK + _INTAKE + _READ_KNOWLEDGE,
    Role.QUALITY_MANAGER: _WORK + _INTAKE + _MANAGE + _READ_KNOWLEDGE + _WRITE_KNOWLEDGE,
    Role.GENERAL_MANAGER: _WORK + _INTAKE + _MANAGE + _READ_KNOWLEDGE,
    Role.ADMINISTRATOR: _WORK
    + _INTAKE
    + _MANAGE
    + _READ_KNOWLEDGE
    + _WRITE_KNOWLEDGE
    + [
        "complaints.add_department",
        "complaints.change_department",
        "complaints.add_user",
        "complaints.change_user",
        "auth.view_group",
    ],
}


def roles_sync(*, group_model, permission_model) -> None:
    """Create each role's group with exactly its permissions. Takes the models so that the
    migration can pass its historical ones. A permission whose model is not migrated yet is
    left out: on a fresh database 0002 runs before the later apps' tables exist, and the
    migration that adds a model's permissions here runs this again (tests check that each one
    listed exists in the end)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = group_model.objects.get_or_create(name=str(role))
        # Q() alone would match every permission: a role without any gets none.
        wanted = Q(pk__in=[])
        for app_label, codename in (perm.split(".") for perm in perms):
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(permission_model.objects.filter(wanted))
