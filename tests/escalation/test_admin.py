"""Time-limit policies, authority limits and the sweep's schedule are edited in the admin by the
quality manager; what the sweep writes is shown there read-only."""

from datetime import timedelta

import pytest

from complaints.roles import Role
from escalation.models import Deadline, Policy

from ..factories import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return staff(Role.QUALITY_MANAGER, username="qm_admin", is_staff=True)


def test_the_quality_manager_edits_a_policy_and_its_version_goes_up(client, editor):
    policy = Policy.objects.get(is_default=True)
    client.force_login(editor)
    url = f"/admin/escalation/policy/{policy.pk}/change/"
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "name": policy.name,
            "is_default": "on",
            "active": "on",
            "urgency": "",
            "category": "",
            "clock": "working",
            "decided_within": "8:00:00",
            "acted_within": "1 00:00:00",
            "closed_within": "3 00:00:00",
            "workday_starts": "09:00",
            "workday_ends": "18:00",
            "holiday_country": "CN",
            "time_zone": "Asia/Shanghai",
            "warn_at_percent": "75",
            "warn_before": "2:00:00",
            "renotify_every": "4:00:00",
            "pausable_milestones": ["decided", "acted"],
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    policy.refresh_from_db()
    assert (policy.clock, policy.decided_within, policy.version) == (
        "working",
        timedelta(hours=8),
        2,
    )
    assert policy.pausable_milestones == ["decided", "acted"]


def test_an_invalid_policy_is_refused_with_the_reason(client, editor):
    policy = Policy.objects.get(is_default=True)
    client.force_login(editor)

    response = client.post(
        f"/admin/escalation/policy/{policy.pk}/change/",
        {
            "name": policy.name,
            "is_default": "on",
            "active": "on",
            "urgency": "red",
            "clock": "calendar",
            "decided_within": "3 00:00:00",
            "acted_within": "1 00:00:00",
            "closed_within": "7 00:00:00",
            "workday_starts": "09:00",
            "workday_ends": "18:00",
            "holiday_country": "CN",
            "renotify_every": "4:00:00",
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "The default policy applies to every urgency and category." in page
    assert "The limits must be positive and in the order" in page
    policy.refresh_from_db()
    assert policy.version == 1


def test_the_sweep_schedule_and_authority_limits_are_editable(client, editor):
    client.force_login(editor)

    assert client.get("/admin/escalation/scheduledjob/").status_code == 200
    assert client.get("/admin/escalation/authoritylimit/").status_code == 200


def test_deadlines_are_shown_but_not_editable(client, editor, case):
    client.force_login(editor)
    deadline = Deadline.objects.filter(case=case).first()
    # The quality manager has no permission on deadlines; an administrator sees them read-only.
    assert client.get(f"/admin/escalation/deadline/{deadline.pk}/change/").status_code == 403
    admin = staff(Role.ADMINISTRATOR, username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/escalation/deadline/{deadline.pk}/change/").content.decode()
    assert 'name="_save"' not in page
