"""``manage.py attachments_check``: rows whose file is gone are named and fail the command;
files no row names are counted, and with --clean those older than a day are deleted."""

from __future__ import annotations

import os
import re
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from complaints import services

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def check(*args: str) -> str:
    out = StringIO()
    call_command("attachments_check", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def attached(case, agent):
    services.case_add_note(
        case=case,
        by=agent,
        body="Photo.",
        files=[SimpleUploadedFile("drum.png", PNG, content_type="image/png")],
    )
    return case.attachments.get()


def orphans(report: str) -> int:
    return int(re.search(r"(\d+) files no row names", report).group(1))


def test_rows_and_files_that_agree_pass(attached):
    # (The test process's folder also holds files of earlier tests, whose rows rolled back.)
    assert "0 rows without their file" in check()


def test_a_row_whose_file_is_gone_is_named_and_fails(attached, case):
    Path(attached.file.path).unlink()

    with pytest.raises(CommandError, match="1 attachment rows have lost their file"):
        check()


def test_orphans_older_than_a_day_are_cleaned_younger_ones_kept(attached):
    root = Path(attached.file.storage.location)
    before = orphans(check())
    old, young = root / "999" / "old-orphan", root / "999" / "young-orphan"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))

    counted = check()
    cleaned = check("--clean")

    assert orphans(counted) == before + 2
    assert "(1 older than a day deleted)" in cleaned
    assert not old.exists() and young.exists()
    assert Path(attached.file.path).exists()
