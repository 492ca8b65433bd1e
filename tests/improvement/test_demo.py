"""The demo data (``manage.py seed_demo``) carries corrective and preventive actions, made
through the services by the ``demo_seeded`` hook: one of each status a first reader meets."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from complaints import signals
from complaints.roles import Role
from improvement.models import Action, Verification

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_action_in_each_status(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path

    call_command("seed_demo")

    assert sorted(Action.objects.values_list("status", flat=True)) == [
        "done",
        "in_progress",
        "open",
        "verified",
    ]
    for action in Action.objects.all():
        assert action.cases.exists()
        assert all(case.root_cause_category == action.root_cause for case in action.cases.all())
    assert Verification.objects.get().by.username == "quality"
    assert "Demo logins" in capsys.readouterr().out


def test_the_demo_hook_without_cases_or_handler_records_nothing(quality_manager):
    # complaints.signals documents demo_seeded(users, cases); a sender that leaves ``cases``
    # out (or has no handler) must not break the other receivers' seeding.
    signals.demo_seeded.send(sender=None, users={Role.QUALITY_MANAGER: quality_manager})
    signals.demo_seeded.send(sender=None, users={Role.QUALITY_MANAGER: quality_manager}, cases=[])

    assert not Action.objects.exists()
