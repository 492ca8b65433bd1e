"""The languages Heed ships (``settings.LANGUAGES``: English and Simplified Chinese) and which of
them a text is written in: the customer's language when nobody said it (an email in), the
language a reply is suggested in."""

from __future__ import annotations

import re

from django.conf import settings

# CJK Unified Ideographs with extension A and the compatibility block: the characters of
# Simplified (and Traditional) Chinese text.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{CJK}]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def cjk_count(text: str) -> int:
    return sum(len(run) for run in _CJK_RUN.findall(text or ""))


def language_guess(*texts: str) -> str:
    """``zh-hans`` when the text is mostly Chinese, else ``en``. A Chinese character carries
    about a word, so a few Latin letters (a product code, an English brand) do not make a
    Chinese text English."""
    text = " ".join(t for t in texts if t)
    chinese = cjk_count(text)
    latin = len(_LATIN_LETTER.findall(text))
    return "zh-hans" if chinese and chinese * 3 >= latin else "en"


def language_shipped(code: str | None) -> str:
    """The shipped language a language code means (``zh-CN``, ``zh_Hans``, ``zh`` → ``zh-hans``;
    ``en-GB`` → ``en``), or the deployment's default for one we do not ship."""
    code = (code or "").strip().lower().replace("_", "-")
    shipped = [language for language, _name in settings.LANGUAGES]
    if code in shipped:
        return code
    if code.startswith("zh"):
        return "zh-hans"
    base = code.split("-")[0]
    return base if base in shipped else settings.LANGUAGE_CODE
