"""The Simplified Chinese catalogue (locale/zh_Hans) is complete, compiled and in use.

If a test here fails after you added or changed a string, run `make messages`, translate the new
entries in locale/zh_Hans/LC_MESSAGES/django.po (no fuzzy flags), run `make messages` again to
compile, and commit both django.po and django.mo.
"""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
LC_MESSAGES = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# The command `make messages` runs; the coverage test runs the same one on a copy of the code.
MAKEMESSAGES = [
    "makemessages",
    "-l",
    "zh_Hans",
    "--ignore=.venv",
    "--ignore=node_modules",
    "--ignore=tests",
    "--no-obsolete",
]
# Python %-placeholders: %(name)s, %(limit)d, %s, %d ... (%% is a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
STEP_NAMES_ZH = ["受理", "倾听", "分析", "决定", "行动", "确认", "回访", "已结案"]


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text.replace("%%", "")))


def _translations(entries) -> dict:
    """{(context, msgid, msgid_plural): translation(s)} for comparing a .po with a .mo."""
    table = {}
    for entry in entries:
        if not entry.msgid:  # the header
            continue
        key = (entry.msgctxt, entry.msgid, entry.msgid_plural or None)
        if entry.msgid_plural:
            table[key] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            table[key] = entry.msgstr
    return table


def _describe(entries) -> str:
    return "\n".join(
        f"  {e.msgid!r} ({', '.join(f for f, _ in e.occurrences[:2])})" for e in entries
    )


@pytest.fixture(scope="module")
def po():
    assert PO_PATH.exists(), f"{PO_PATH} is missing: run `make messages`"
    return polib.pofile(str(PO_PATH))


def test_catalogue_header_declares_chinese_with_one_plural_form(po):
    assert po.metadata["Language"] == "zh_Hans"
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert not po.metadata_is_fuzzy


def test_every_entry_is_translated_and_none_is_fuzzy(po):
    entries = [e for e in po if not e.obsolete]
    assert entries, "the catalogue is empty"
    problems = {
        "Untranslated": [e for e in entries if not e.translated() and "fuzzy" not in e.flags],
        "Fuzzy (check the translation, then drop the flag)": [
            e for e in entries if "fuzzy" in e.flags
        ],
        "Chinese has one plural form (keep only msgstr[0])": [
            e for e in entries if e.msgid_plural and set(e.msgstr_plural) != {0}
        ],
    }
    report = "\n".join(f"{what}:\n{_describe(found)}" for what, found in problems.items() if found)
    assert not report, report


def test_translations_keep_every_placeholder_and_tag(po):
    """Named placeholders may move, but the translation uses each one the English uses and no
    other (the code passes no other), and keeps the HTML tags."""
    problems = []
    for entry in po:
        if entry.obsolete or not entry.msgid:
            continue
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        expected = set().union(*(_placeholders(source) for source in sources))
        tags = sorted(HTML_TAG.findall(entry.msgid))
        for target in targets:
            if set(_placeholders(target)) != expected:
                problems.append(f"{entry.msgid!r}: {target!r} should use {sorted(expected)}")
            if sorted(HTML_TAG.findall(target)) != tags:
                problems.append(f"{entry.msgid!r}: {target!r} should keep the tags {tags}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_matches_the_po_file(po):
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run `make messages`"
    compiled = _translations(polib.mofile(str(MO_PATH)))
    source = _translations(e for e in po if e.translated() and not e.obsolete)
    stale = sorted(k[1] for k in source.keys() ^ compiled.keys()) + sorted(
        k[1] for k in source.keys() & compiled.keys() if source[k] != compiled[k]
    )
    assert not stale, (
        "django.mo is out of date with django.po (run `make messages`):\n"
        + "\n".join(f"  {m!r}" for m in stale[:20])
    )


def _copy_translatable_sources(destination: Path) -> None:
    """The files makemessages reads (.py, .html, .txt), without what it is told to ignore, so it
    can run on a copy and never touch the real locale directory."""
    skip = {".venv", "node_modules", "tests", "locale", "var", "staticfiles", "__pycache__"}
    for dirpath, dirnames, filenames in os.walk(BASE_DIR, onerror=lambda error: None):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".")]
        target = destination / Path(dirpath).relative_to(BASE_DIR)
        for filename in filenames:
            if filename.endswith((".py", ".html", ".txt")):
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(dirpath) / filename, target / filename)


def test_catalogue_covers_every_translatable_string_in_the_code(po, tmp_path):
    """Runs `make messages`'s makemessages on a copy of the code and the catalogue: it must find
    nothing new, nothing changed and nothing gone.

    makemessages always writes into a `locale` directory it finds under the working directory (a
    LOCALE_PATHS override is not enough), hence the copy.
    """
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed; CI installs it")
    project = tmp_path / "project"
    _copy_translatable_sources(project)
    copy_dir = project / "locale" / "zh_Hans" / "LC_MESSAGES"
    copy_dir.mkdir(parents=True)
    shutil.copy2(PO_PATH, copy_dir / "django.po")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "HEED_VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    regenerated = polib.pofile(str(copy_dir / "django.po"))
    entries = [e for e in regenerated if not e.obsolete]
    missing = [e for e in entries if not e.translated() or "fuzzy" in e.flags]
    assert not missing, (
        "Strings in the code that locale/zh_Hans/LC_MESSAGES/django.po does not translate "
        "(run `make messages`, translate them, run it again):\n" + _describe(missing)
    )
    in_code = {(e.msgctxt, e.msgid) for e in entries}
    gone = sorted(e.msgid for e in po if not e.obsolete and (e.msgctxt, e.msgid) not in in_code)
    assert not gone, "Entries no longer in the code (run `make messages`):\n" + "\n".join(
        f"  {m!r}" for m in gone
    )


def _progress_labels(html: str) -> list[str]:
    progress = re.search(r'<ol class="progress"[^>]*>(.*?)</ol>', html, re.S)
    assert progress, "the case page has no progress bar"
    return [label.strip() for label in re.findall(r"<li[^>]*>(.*?)</li>", progress.group(1), re.S)]


def test_pages_render_in_chinese_for_a_chinese_reader(client, agent, case):
    assert client.login(username=agent.username, password="pw-for-tests")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    home = client.get("/")
    assert home.status_code == 200
    text = home.content.decode()
    assert '<html lang="zh-hans">' in text
    assert "我的案件" in text
    assert "My cases" not in text

    page = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert page.status_code == 200
    assert _progress_labels(page.content.decode()) == STEP_NAMES_ZH


def test_pages_stay_english_for_an_english_reader(client, agent, case):
    assert client.login(username=agent.username, password="pw-for-tests")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert _progress_labels(page.content.decode())[0] == "Receive"
