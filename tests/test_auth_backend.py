"""config.auth.Backend: the same permissions as Django's ModelBackend, in one query."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import User
from complaints.roles import Role
from config.auth import Backend

from .factories import staff

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [Role.AGENT, Role.HANDLER, Role.QUALITY_MANAGER, None])
def test_the_permissions_are_djangos(role):
    user = staff(role)
    user.user_permissions.add(Permission.objects.get(codename="view_department"))  # their own
    ours = Backend().get_all_permissions(_fresh(user))
    assert ours == ModelBackend().get_all_permissions(_fresh(user))
    assert "complaints.view_department" in ours


def test_a_superuser_has_every_permission_and_an_inactive_user_none():
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    assert Backend().get_all_permissions(_fresh(admin)) == ModelBackend().get_all_permissions(
        _fresh(admin)
    )
    gone = staff(Role.AGENT, is_active=False)
    assert Backend().get_all_permissions(_fresh(gone)) == set()


def test_one_query_and_then_none():
    user = _fresh(staff(Role.AGENT))
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("complaints.add_case")
        assert not user.has_perm("complaints.work_all_cases")
    assert len(queries) == 1
