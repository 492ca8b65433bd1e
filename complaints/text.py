"""Reading text in English and Chinese: which language a text is in, its search terms, and its
pieces for a word-by-word diff.

Chinese is written without spaces between words, and PostgreSQL has no Chinese parser (its
default one reads a whole run of Chinese characters as one "word"). So Chinese text is searched
by its character bigrams — 洗衣机噪音 is 洗衣 衣机 机噪 噪音 — which find a two-character word
wherever it stands, without a dictionary; English is searched by its words."""

from __future__ import annotations

import re

from complaints.languages import CJK

_CJK_RUN = re.compile(f"[{CJK}]+")
_WORD = re.compile(r"[a-z0-9]+")
# For diffs: one Chinese character, a run of other word characters, a run of spaces, or any
# other single character.
_DIFF_PIECE = re.compile(f"[{CJK}]|[^\\W{CJK}]+|\\s+|[^\\w\\s]", re.UNICODE)

# Words too common to tell articles apart (PostgreSQL's English configuration drops the same
# and more; this keeps them out of the SQLite fallback's overlap and out of the query).
_STOP = """a an and are as at be been but by can could did do does for from had has have he
her his i if in into is it its me my no not of on or our she so than that the their them then
there they this to too was we were what when which who will with would you your very just after
again also all any because before about up down out over only own same some such"""
STOP_WORDS = frozenset(_STOP.split())
# Bounds on a query's terms: a long description yields at most this many of each.
MAX_WORDS = 40
MAX_BIGRAMS = 60


def bigrams(text: str) -> list[str]:
    """The character bigrams of each run of Chinese characters (a lone character by itself), in
    order, without repeats."""
    seen: dict[str, None] = {}
    for run in _CJK_RUN.findall(text or ""):
        if len(run) == 1:
            seen.setdefault(run)
        for i in range(len(run) - 1):
            seen.setdefault(run[i : i + 2])
    return list(seen)


def words(text: str) -> list[str]:
    """The lower-cased Latin words and numbers of at least two characters, without stop words
    or repeats, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(_CJK_RUN.sub(" ", (text or "").lower())):
        if len(word) > 1 and word not in STOP_WORDS:
            seen.setdefault(word)
    return list(seen)


def terms(text: str) -> tuple[list[str], list[str]]:
    """A text's search terms: its words and its Chinese bigrams, each bounded."""
    return words(text)[:MAX_WORDS], bigrams(text)[:MAX_BIGRAMS]


def bigram_document(text: str) -> str:
    """The text as PostgreSQL's simple configuration should index it: its Chinese bigrams and
    its words, separated by spaces."""
    return " ".join([*bigrams(text), *words(text)])


def diff_pieces(text: str) -> list[str]:
    """The text cut into the pieces a diff compares: words, single Chinese characters, spaces
    and punctuation. Joined, they give the text back."""
    return _DIFF_PIECE.findall(text or "")
