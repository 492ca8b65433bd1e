"""EMAIL_URL, each kind the README documents, read into Django's mailer at start-up: a process
started with it sends an email where the URL says (``filemail:///folder`` into that absolute
folder — django-environ alone made it relative to the working directory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SEND = (
    "from django.core.mail import send_mail; from django.conf import settings; "
    "print(settings.MAILERS['default']); "
    "print('SENT', send_mail('Subject', 'Body', 'heed@example.com', ['li.na@example.com']))"
)


def started_with(email_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EMAIL_URL": email_url, "HEED_VAR_DIR": str(tmp_path / "var")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEND],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_filemail_writes_into_the_absolute_folder_the_url_names(tmp_path):
    folder = tmp_path / "mail out"  # a space, escaped in the URL
    result = started_with(f"filemail://{str(folder).replace(' ', '%20')}", tmp_path)

    assert result.returncode == 0, result.stderr
    assert "SENT 1" in result.stdout
    [written] = list(folder.iterdir())
    assert "Subject: Subject" in written.read_text()


@pytest.mark.parametrize("email_url", ["consolemail://", "memorymail://", "dummymail://"])
def test_the_other_local_mailers_start_and_send(email_url, tmp_path):
    result = started_with(email_url, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "SENT 1" in result.stdout
