"""The domain's defaults as data: the 1/3/7-day policy, a stricter one for red urgency, the
tiers' authority limits, the sweep's schedule row, and who may edit them. Written by migration
0002 (which passes its historical models) and again by the tests after a flush."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

POLICIES = [
    {
        "name": "1/3/7 days",
        "is_default": True,
        "decided_within": timedelta(days=1),
        "acted_within": timedelta(days=3),
        "closed_within": timedelta(days=7),
    },
    {
        "name": "Red urgency",
        "urgency": "red",
        "decided_within": timedelta(hours=8),
        "acted_within": timedelta(days=2),
        "closed_within": timedelta(days=5),
        "warn_before": timedelta(hours=1),
        "renotify_every": timedelta(hours=1),
    },
]
# Tier → highest remedy value it may decide alone (None: no limit).
CEILINGS = {0: Decimal("500"), 1: Decimal("2000"), 2: Decimal("10000"), 3: None}
JOBS = [{"name": "sweep-deadlines", "task": "escalation.sweep"}]

# The roles that edit policies, limits and the schedule in the admin.
EDITORS = ["quality_manager", "general_manager", "administrator"]
EDIT_PERMISSIONS = [
    "view_policy",
    "add_policy",
    "change_policy",
    "view_authoritylimit",
    "change_authoritylimit",
    "view_scheduledjob",
    "change_scheduledjob",
]


def defaults_seed(*, policy_model, limit_model, job_model) -> None:
    """Create whichever defaults are missing; never changes what exists. (A migration's
    historical model may not have every field yet: those it lacks are left to the migration
    that adds them.)"""
    fields = {f.name for f in policy_model._meta.get_fields()}
    for policy in POLICIES:
        known = {name: value for name, value in policy.items() if name in fields}
        policy_model.objects.get_or_create(name=policy["name"], defaults=known)
    for tier, ceiling in CEILINGS.items():
        limit_model.objects.get_or_create(tier=tier, defaults={"ceiling": ceiling})
    for job in JOBS:
        job_model.objects.get_or_create(name=job["name"], defaults=job)


def editors_grant(*, group_model, permission_model) -> None:
    """Give the editing roles their admin permissions (which must exist already)."""
    permissions = list(
        permission_model.objects.filter(
            content_type__app_label="escalation", codename__in=EDIT_PERMISSIONS
        )
    )
    for group in group_model.objects.filter(name__in=EDITORS):
        group.permissions.add(*permissions)
