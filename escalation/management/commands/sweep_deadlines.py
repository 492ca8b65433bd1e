"""Run one deadline sweep now, or forecast one: ``--dry-run --as-of 2026-12-01T09:00``."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from complaints.models import Tier
from escalation.models import Milestone
from escalation.sweep import sweep


class Command(BaseCommand):
    help = "Warn and escalate the cases whose deadlines are due (one sweep of the Celery job)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what the sweep would do, and write nothing.",
        )
        parser.add_argument(
            "--as-of",
            help="Sweep as if it were this moment (ISO 8601; without an offset, in TIME_ZONE). "
            "Only with --dry-run: a real sweep always runs at the present.",
        )

    def handle(self, *args, dry_run: bool, as_of: str | None, **options):
        now = timezone.now()
        if as_of:
            if not dry_run:
                raise CommandError("--as-of forecasts: use it with --dry-run.")
            try:
                parsed = parse_datetime(as_of)
            except ValueError:  # well formed but no such moment: 2026-02-30T09:00
                parsed = None
            if parsed is None:
                raise CommandError(f"Not a date and time: {as_of!r} (try 2026-12-01T09:00).")
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            now = parsed
        result = sweep(now=now, dry_run=dry_run)
        verb = "would" if dry_run else "did"
        self.stdout.write(f"Sweep at {timezone.localtime(result.now):%Y-%m-%d %H:%M %Z} ({verb}):")
        for action in result.actions:
            milestone = Milestone(action.milestone).label if action.milestone else "-"
            tiers = (
                f"{Tier(action.from_tier).label} -> {Tier(action.to_tier).label}"
                if action.action != "warn"
                else Tier(action.to_tier).label
            )
            due = (
                f" due {timezone.localtime(action.due_at):%Y-%m-%d %H:%M}" if action.due_at else ""
            )
            self.stdout.write(
                f"  {action.action:<9} {action.reference:<16} {milestone}{due}  {tiers}"
            )
        self.stdout.write(
            f"{result.count('warn')} warned, {result.count('escalate')} escalated, "
            f"{result.count('remind')} reminded, {result.sent} notifications sent."
        )
