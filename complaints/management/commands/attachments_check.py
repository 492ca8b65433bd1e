"""``manage.py attachments_check``: do the attachments' rows and files agree?

- A row whose file is missing (a lost volume, a restore without the files): listed with its
  case, and the command exits 1, so that a monitor or the backup drill notices.
- A file no row names (an upload whose transaction rolled back leaves one): counted; with
  ``--clean``, those older than a day are deleted (younger ones may belong to an upload still
  being saved).

Reads the rows in batches and walks ATTACHMENTS_ROOT once: fit for hundreds of thousands."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from complaints.models import Attachment

ORPHAN_AGE_SECONDS = 24 * 3600


class Command(BaseCommand):
    help = "Report attachment rows whose file is missing, and files no row names (--clean)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Delete the files no row names that are older than a day.",
        )

    def handle(self, *args, clean: bool = False, **options) -> None:
        # Where the attachments' storage keeps them (ATTACHMENTS_ROOT, read when Heed started).
        root = Path(Attachment._meta.get_field("file").storage.location)
        on_disk = (
            {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}
            if root.is_dir()
            else set()
        )
        named: set[str] = set()
        missing: list[str] = []
        rows = Attachment.objects.values_list("pk", "file", "case__reference").order_by("pk")
        for pk, name, reference in rows.iterator(chunk_size=2000):
            named.add(name)
            if name not in on_disk:
                missing.append(f"  {reference} attachment {pk}: {name}")
        orphans = sorted(on_disk - named)
        removed = 0
        if clean:
            cutoff = time.time() - ORPHAN_AGE_SECONDS
            for name in orphans:
                path = root / name
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        self.stdout.write(
            f"{len(named)} attachment rows, {len(on_disk)} files in {root}: "
            f"{len(missing)} rows without their file, {len(orphans)} files no row names"
            + (f" ({removed} older than a day deleted)" if clean else "")
        )
        if missing:
            self.stdout.write("\n".join(missing))
            raise CommandError(f"{len(missing)} attachment rows have lost their file.")
