"""The domain's defaults (escalation.defaults), the editors' permissions, and deadlines for
the open cases received before this app existed."""

from django.db import migrations

STEPS = ["receive", "listen", "analyse", "decide", "act", "confirm", "follow_up", "closed"]
MILESTONES = [("decided", "decided_within"), ("acted", "acted_within"), ("closed", "closed_within")]
MILESTONE_STEP = {"decided": "decide", "acted": "act", "closed": "follow_up"}


def seed(apps, schema_editor):
    from complaints.roles import permissions_create

    from escalation.defaults import defaults_seed, editors_grant

    Policy = apps.get_model("escalation", "Policy")
    defaults_seed(
        policy_model=Policy,
        limit_model=apps.get_model("escalation", "AuthorityLimit"),
        job_model=apps.get_model("escalation", "ScheduledJob"),
    )
    permissions_create(apps)  # Django makes them after all migrations: make them now
    editors_grant(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )

    # Open cases received before this app existed: calendar deadlines from the default policy.
    default = Policy.objects.get(is_default=True)
    Case = apps.get_model("complaints", "Case")
    Deadline = apps.get_model("escalation", "Deadline")
    for case in Case.objects.exclude(step="closed").filter(deadlines__isnull=True).iterator():
        rows = []
        for milestone, field in MILESTONES:
            due = case.received_at + getattr(default, field)
            met = STEPS.index(case.step) > STEPS.index(MILESTONE_STEP[milestone])
            rows.append(
                Deadline(
                    case=case,
                    round=case.reopen_count,
                    milestone=milestone,
                    policy=default,
                    policy_version=default.version,
                    clock="calendar",
                    starts_at=case.received_at,
                    due_at=due,
                    met_at=case.updated_at if met else None,
                    next_check_at=None if met else due,
                )
            )
        Deadline.objects.bulk_create(rows)
        open_due = [r.due_at for r in rows if r.met_at is None]
        Case.objects.filter(pk=case.pk).update(due_at=min(open_due) if open_due else None)


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0001_initial"),
        ("complaints", "0003_tier_due_at_event_kinds"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
