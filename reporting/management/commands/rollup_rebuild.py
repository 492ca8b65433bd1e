"""Build the dashboard's daily rollup afresh, or recompute its last days: ``--days 400``."""

import time

from django.core.management.base import BaseCommand, CommandError

from reporting.rollup import rollup_rebuild


class Command(BaseCommand):
    help = (
        "Build the dashboard's daily rollup from the cases (every day), or recompute only the "
        "last --days days. Celery does both by itself; this is for after an import or a restore."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            help="Recompute only the last this many days (the nightly job does 400).",
        )

    def handle(self, *args, days: int | None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        began = time.monotonic()
        run = rollup_rebuild(days_back=days, force=days is None)
        what = "built afresh" if run.full else "recomputed"
        self.stdout.write(f"Rollup {what}: {run.days} days in {time.monotonic() - began:.1f} s.")
