"""The roles' knowledge-base permissions: every role reads, quality managers and
administrators write; the migration that gives them adds them and keeps everything else (the
escalation app's admin permissions, whatever an administrator granted the roles); and
roles_sync passes over a permission whose model does not exist yet (as on a fresh database,
when complaints' 0002 runs before the later apps' tables)."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from complaints import roles
from complaints.roles import ROLE_PERMISSIONS, Role, roles_sync

pytestmark = pytest.mark.django_db


def permissions(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_every_permission_a_role_is_given_exists():
    for role, perms in ROLE_PERMISSIONS.items():
        for perm in perms:
            app_label, codename = perm.split(".")
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), (role, perm)


def test_each_role_has_exactly_its_knowledge_permissions():
    readers = {"knowledge.view_article"}
    writers = readers | {
        "knowledge.add_article",
        "knowledge.change_article",
        "knowledge.view_articleversion",
    }
    expected = {
        Role.AGENT: readers,
        Role.HANDLER: readers,
        Role.DEPARTMENT_HEAD: readers,
        Role.QUALITY_MANAGER: writers,
        Role.GENERAL_MANAGER: readers,
        Role.ADMINISTRATOR: writers,
    }
    for role, wanted in expected.items():
        assert {p for p in permissions(role) if p.startswith("knowledge.")} == wanted, role


def test_the_editing_roles_keep_their_escalation_admin_permissions():
    for role in (Role.QUALITY_MANAGER, Role.GENERAL_MANAGER, Role.ADMINISTRATOR):
        assert "escalation.change_policy" in permissions(role), role


def run_knowledge_roles_migration_again() -> None:
    """knowledge's 0002 as the migrate command runs it: its RunPython code with the
    historical models of that point (it changes no schema: no schema editor needed, which
    SQLite would not open inside the test's transaction)."""
    migration = importlib.import_module("knowledge.migrations.0002_roles").Migration
    state = MigrationLoader(connection).project_state(("knowledge", "0002_roles"))
    migration.operations[0].code(state.apps, None)


def test_the_migration_adds_the_knowledge_permissions_and_keeps_what_was_granted_by_hand():
    handler = Group.objects.get(name=Role.HANDLER)
    agent = Group.objects.get(name=Role.AGENT)
    by_hand = Permission.objects.get(content_type__app_label="complaints", codename="add_case")
    handler.permissions.add(by_hand)
    agent.permissions.remove(Permission.objects.get(codename="view_article"))
    other_roles = {role: permissions(role) for role in ROLE_PERMISSIONS if role != Role.AGENT}

    run_knowledge_roles_migration_again()

    assert "complaints.add_case" in permissions(Role.HANDLER)
    assert permissions(Role.AGENT) == set(ROLE_PERMISSIONS[Role.AGENT])
    assert {role: permissions(role) for role in other_roles} == other_roles


def test_roles_sync_passes_over_a_permission_not_made_yet(monkeypatch):
    wanted = {**ROLE_PERMISSIONS, Role.AGENT: [*ROLE_PERMISSIONS[Role.AGENT], "later.fly_kite"]}
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", wanted)

    roles_sync(group_model=Group, permission_model=Permission)

    assert permissions(Role.AGENT) == set(ROLE_PERMISSIONS[Role.AGENT])
