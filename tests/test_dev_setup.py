"""The first steps a newcomer takes off the defaults (README "Set-up"): `make run` on a
DATABASE_URL naming a database that does not exist yet creates it; `PORT=8101 make run` makes
the links in emails and pages use that port; the development mailer says one line per email;
an expected refusal (403) is logged in one line, without a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection

from config.logs import ExpectedRefusals
from config.mail import SummaryBackend

from .databases import postgresql_only
from .workers import database_url

ROOT = settings.BASE_DIR


@postgresql_only("a database server to create the database in")
@pytest.mark.django_db(transaction=True)  # DROP DATABASE cannot run in a transaction
def test_database_create_makes_a_missing_database_once(tmp_path):
    name = f"heed_new_{uuid.uuid4().hex[:10]}"
    url = database_url().rsplit("/", 1)[0] + f"/{name}"
    env = {**os.environ, "DATABASE_URL": url, "HEED_VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def create() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "database_create"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        first, again = create(), create()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert first.returncode == 0, first.stderr
    assert f"Created the database {name}." in first.stdout
    assert (again.returncode, again.stdout) == (0, "")


def test_make_run_passes_its_port_into_the_links():
    """`make -n` prints what `make run` would run, with PORT=8101."""
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8101"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    [start] = [line for line in result.stdout.splitlines() if "honcho start" in line]
    assert 'SITE_URL="${SITE_URL:-http://127.0.0.1:8101}"' in start
    assert "-p 8101" in start
    assert "manage.py database_create" in result.stdout


def test_the_development_mailer_says_one_line_and_keeps_the_whole_email(tmp_path, capsys):
    backend = SummaryBackend(file_path=str(tmp_path))
    message = EmailMessage(
        "C202612-00001 received", "Line one.\n" * 40, "heed@example.com", ["li.na@example.com"]
    )

    assert backend.send_messages([message]) == 1

    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1
    assert printed[0].startswith("email to li.na@example.com: “C202612-00001 received”")
    [kept] = list(tmp_path.iterdir())
    assert str(kept) in printed[0]
    assert kept.read_text().count("Line one.") == 40


def test_without_email_url_development_uses_the_one_line_mailer(tmp_path):
    env = {**os.environ, "HEED_VAR_DIR": str(tmp_path), "DEBUG": "true"}
    env.pop("EMAIL_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = "from django.conf import settings; print(settings.MAILERS['default'])"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "config.mail.SummaryBackend" in result.stdout
    assert str(tmp_path / "mail") in result.stdout


def test_an_expected_refusal_is_logged_without_its_traceback():
    def record(status: int) -> logging.LogRecord:
        try:
            raise PermissionError("no")
        except PermissionError:
            made = logging.getLogger("django.request").makeRecord(
                "django.request",
                logging.WARNING,
                __file__,
                1,
                "Forbidden: %s",
                ("/x",),
                sys.exc_info(),
            )
        made.status_code = status
        return made

    refused, failed = record(403), record(500)
    ExpectedRefusals().filter(refused)
    ExpectedRefusals().filter(failed)

    assert refused.exc_info is None and refused.getMessage() == "Forbidden: /x"
    assert failed.exc_info is not None


def test_the_test_mailer_is_still_django_s(mailoutbox):
    """The one-line mailer is for `make run` only: the tests keep mail.outbox."""
    EmailMessage("s", "b", "a@example.com", ["b@example.com"]).send()

    assert len(mail.outbox) == 1
