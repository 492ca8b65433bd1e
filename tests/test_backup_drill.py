"""The backup and restore drill of the README ("Backup and restore"), performed for real on
PostgreSQL: the database dumped with ``pg_dump -Fc`` and the attachments folder copied, then
both restored into a new database and a new folder, and a Heed process started on them
(the same SECRET_KEY — the secrets are part of the backup) must serve the
case with its attachment and its tracking link, run the sweep and the rollup rebuild, and give
a new case the next reference. (The process runs with DEBUG on only so that it needs no
collected static files.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from complaints import services

from .databases import postgresql_only
from .factories import receive
from .workers import database_url, require

pytestmark = [
    postgresql_only("pg_dump and pg_restore"),
    pytest.mark.django_db(transaction=True),
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Run by the restored Heed: what a user and the jobs would do first, as JSON.
CHECK = """
import json
from django.test import Client
from complaints.models import Attachment, Case
from complaints.services import case_receive
from complaints.models import User
from escalation.sweep import sweep
from django.core.management import call_command

case = Case.objects.get(reference=REFERENCE)
attachment = Attachment.objects.get(case=case)
client = Client()
opened = client.get("/t/" + TOKEN, secure=True)
page = client.get("/t/", secure=True)
sweep()
call_command("rollup_rebuild", verbosity=0)
call_command("attachments_check")  # fails if a restored row lost its file
agent = User.objects.get(username=AGENT)
new = case_receive(
    by=agent, customer=case.customer, channel="phone", category="product_quality",
    description="After the restore.", desired_outcome="An answer.",
).case
print(json.dumps({
    "file": attachment.file.read().hex(),
    "opened": opened.status_code,
    "page": page.status_code,
    "reference_shown": REFERENCE in page.content.decode(),
    "new_reference": new.reference,
}))
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command[0]}: {result.stderr[-3000:]}"
    return result


def test_dump_restore_into_a_new_database_and_heed_serves_it(agent, tmp_path):
    require(shutil.which("pg_dump") is not None, "needs pg_dump (Debian's postgresql-client)")
    received = receive(by=agent)
    case = received.case
    services.case_add_note(
        case=case,
        by=agent,
        body="The photo of the drum.",
        files=[SimpleUploadedFile("drum.png", PNG, content_type="image/png")],
    )
    # 1. The backup: the database in pg_dump's custom format, and the attachments folder.
    backup = tmp_path / "backup"
    backup.mkdir()
    source = database_url()
    run(["pg_dump", "-Fc", "--no-owner", "-f", str(backup / "heed.dump"), "-d", source])
    shutil.copytree(settings.ATTACHMENTS_ROOT, backup / "attachments")

    # 2. The restore, into a new database and a new folder.
    restored = f"heed_restore_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        target = source.rsplit("/", 1)[0] + f"/{restored}"
        run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(backup / "heed.dump")]
        )
        attachments = tmp_path / "restored-attachments"
        shutil.copytree(backup / "attachments", attachments)

        # 3. Heed on what was restored.
        env = {
            **os.environ,
            "DATABASE_URL": target,
            "ATTACHMENTS_ROOT": str(attachments),
            "HEED_VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "true",  # static files as collected in development (not the drill's part)
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "testserver",
            "EMAIL_URL": "memorymail://",
            "REDIS_URL": "",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        script = (
            f"REFERENCE = {case.reference!r}; TOKEN = {received.tracking_token!r}; "
            f"AGENT = {agent.username!r}\n" + CHECK
        )
        result = run(
            [sys.executable, "manage.py", "shell", "-c", script], cwd=settings.BASE_DIR, env=env
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')

    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert bytes.fromhex(served["file"]) == PNG
    assert (served["opened"], served["page"], served["reference_shown"]) == (303, 200, True)
    year_month, number = case.reference.rsplit("-", 1)
    assert served["new_reference"] == f"{year_month}-{int(number) + 1:05d}"


def test_the_readme_says_how_to_back_up_and_restore():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("### Backup and restore", 1)[1].split("\n## ", 1)[0]
    for needed in ("pg_dump", "-Fc", "pg_restore", "attachments", "SECRET_KEY", "rollup_rebuild"):
        assert needed in section, needed
