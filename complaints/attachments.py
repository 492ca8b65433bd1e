"""Files attached to a case by the customer or by staff: what may be uploaded, judged by the
file's content (its first bytes), never by its name or the type the browser claims; stored under
a random name outside the web root, and served only by views that check who is asking."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import InvalidInput

# Content type → the signatures a file of that type starts with.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}
ALLOWED_DESCRIPTION = gettext_lazy("photos (JPEG, PNG, GIF, WebP) and PDF documents")


def sniff(head: bytes) -> str | None:
    """The content type the file's first bytes show, if it is one we accept."""
    for content_type, signatures in SIGNATURES.items():
        if head.startswith(signatures):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_name(name: str) -> str:
    """The uploaded file's name as shown and offered on download: no path, no control
    characters, not too long."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')
    return (name.strip() or "file")[:120]


def validate(files: list[UploadedFile], *, already: int) -> list[tuple[UploadedFile, str]]:
    """Each file with the content type its content shows; refused with the reason when one is
    too big, of a type we do not take, or one too many for the case."""
    errors = []
    if already + len(files) > settings.ATTACHMENTS_PER_CASE:
        errors.append(
            _("A complaint can have at most %(count)d files.")
            % {"count": settings.ATTACHMENTS_PER_CASE}
        )
    checked = []
    for upload in files:
        name = clean_name(upload.name or "")
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            errors.append(
                _("%(name)s is too big: files may be up to %(size)d MB.")
                % {"name": name, "size": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            )
            continue
        upload.seek(0)
        content_type = sniff(upload.read(16))
        upload.seek(0)
        if content_type is None:
            errors.append(
                _("%(name)s is not a file we can take: please send %(allowed)s.")
                % {"name": name, "allowed": ALLOWED_DESCRIPTION}
            )
            continue
        checked.append((upload, content_type))
    if errors:
        raise InvalidInput(fields={"files": errors})
    return checked


# The system check's tag: run by manage.py check / migrate, and by config.wsgi before gunicorn
# serves (a web container whose attachments volume is missing or read-only refuses to start).
CHECK_TAG = "attachments"


@checks.register(CHECK_TAG)
def attachments_root_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The folder the attachments are stored in (``ATTACHMENTS_ROOT``) can be written to, or
    made: a case saved with a file that cannot be kept would lose it."""
    root = Path(settings.ATTACHMENTS_ROOT)
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return []
    return [
        checks.Error(
            f"The attachments folder {root} cannot be written to (its nearest existing folder "
            f"is {existing}).",
            hint="Mount a writable volume there (docker-compose.yml: attachments) or set "
            "ATTACHMENTS_ROOT to a folder this user may write.",
            id="heed.E001",
        )
    ]
