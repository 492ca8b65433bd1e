"""Finding articles by the words of a text: the case page's suggestions and the knowledge
base's search box.

On PostgreSQL each article keeps a weighted ``search_vector`` (title A, guidance and checks B,
reply template C), written by the services with every change and indexed with GIN (migration
0001), and a text is matched with a ``tsquery`` of its terms joined by OR, ranked by
``ts_rank``. English is read with the ``english`` configuration (stemmed: "bangs" finds
"bang"); Chinese, which PostgreSQL cannot cut into words, as character bigrams with the
``simple`` one (``complaints.text``). On SQLite the same terms are counted in Python (title
words three times), over the articles the category already narrows down to: one query either
way, however many articles there are.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import or_

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Case as CaseWhen
from django.db.models import F, Q, QuerySet, Value, When

from complaints import text
from complaints.models import Case
from complaints.search import full_text

from .models import Article

# How many articles the case page suggests.
SUGGESTIONS = 3
_WEIGHTS = (("A", ("title",)), ("B", ("guidance", "checks")), ("C", ("reply_template",)))
# SQLite's fallback: a term found in the title counts this much more than one in the body.
_FALLBACK_WEIGHTS = {"A": 3.0, "B": 1.0, "C": 0.5}


# A reply template's placeholders say nothing about the complaint ({customer_name} is not a
# word to match), so they are not indexed.
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _texts(article: Article, suffix: str, fields: tuple[str, ...]) -> str:
    joined = "\n".join(getattr(article, f"{name}_{suffix}") for name in fields)
    return _PLACEHOLDER.sub(" ", joined)


def search_vector_refresh(*, article: Article) -> None:
    """Write the article's search vector from its content (PostgreSQL only; called by the
    services in the transaction that changes the article)."""
    if not full_text():
        return
    parts = []
    for weight, fields in _WEIGHTS:
        parts.append(
            SearchVector(Value(_texts(article, "en", fields)), config="english", weight=weight)
        )
        chinese = text.bigram_document(_texts(article, "zh", fields))
        parts.append(SearchVector(Value(chinese), config="simple", weight=weight))
    Article.objects.filter(pk=article.pk).update(search_vector=reduce(lambda a, b: a + b, parts))


def _stem(word: str) -> str:
    """A rough English stem for the SQLite fallback (PostgreSQL stems properly): the plural,
    then -ing, -ed or a final e, so that rattle, rattles, rattled and rattling meet."""
    for suffixes in (("es", "s"), ("ing", "ed", "e")):
        for suffix in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    return word


def _query(words: list[str], bigrams: list[str]) -> SearchQuery | None:
    """Any of the terms. Words are [a-z0-9]+ and bigrams Chinese characters only, so joining
    them with | is always a valid raw tsquery."""
    parts = []
    if words:
        joined = " | ".join(words)
        parts.append(SearchQuery(joined, config="english", search_type="raw"))
        # Latin words in the Chinese fields (product codes) are indexed unstemmed.
        parts.append(SearchQuery(joined, config="simple", search_type="raw"))
    if bigrams:
        parts.append(SearchQuery(" | ".join(bigrams), config="simple", search_type="raw"))
    return reduce(or_, parts) if parts else None


def _fallback_score(article: Article, words: list[str], bigrams: list[str]) -> float:
    wanted = {_stem(w) for w in words} | set(bigrams)
    if not wanted:
        return 0.0
    score = 0.0
    for weight, fields in _WEIGHTS:
        body = _texts(article, "en", fields) + "\n" + _texts(article, "zh", fields)
        found = {_stem(w) for w in text.words(body)} | set(text.bigrams(body))
        score += _FALLBACK_WEIGHTS[weight] * len(wanted & found)
    return score


def case_text(case: Case) -> str:
    """The words of a case that say what it is about."""
    return "\n".join([case.product, case.description, case.customer_account])


def suggestions_for_case(*, case: Case, limit: int = SUGGESTIONS) -> list[Article]:
    """The best published articles for the case: of its category; once the root cause is
    known, those written for it first, then those for any cause (never one for another cause);
    then by how well they match the words of the case (each gets ``score``); newest first
    among equals. One query."""
    qs = Article.objects.filter(status=Article.Status.PUBLISHED, category=case.category).defer(
        "search_vector"
    )
    cause = case.root_cause_category
    if cause:
        qs = qs.filter(Q(root_cause="") | Q(root_cause=cause))
        cause_first = CaseWhen(When(root_cause=cause, then=1), default=0)
    else:
        cause_first = Value(0)
    qs = qs.annotate(cause_first=cause_first)
    words, bigrams = text.terms(case_text(case))
    if full_text():
        query = _query(words, bigrams)
        rank = SearchRank(F("search_vector"), query) if query is not None else Value(0.0)
        ordered = qs.annotate(score=rank).order_by("-cause_first", "-score", "-updated_at", "-pk")
        return list(ordered[:limit])
    rows = list(qs)
    for article in rows:
        article.score = _fallback_score(article, words, bigrams)
    rows.sort(key=lambda a: (-a.cause_first, -a.score, -a.updated_at.timestamp(), -a.pk))
    return rows[:limit]


def articles_search(qs: QuerySet[Article], query: str) -> QuerySet[Article] | list[Article]:
    """The articles of ``qs`` that match the words typed, best first. On PostgreSQL a queryset
    (the GIN index finds the matches); on SQLite a list, scored in Python. Typed text without
    a single term (punctuation, stop words) is looked for in the titles as it is."""
    words, bigrams = text.terms(query)
    if not (words or bigrams):
        typed = query.strip()
        return qs.filter(Q(title_en__icontains=typed) | Q(title_zh__icontains=typed))
    if full_text():
        tsquery = _query(words, bigrams)
        return (
            qs.filter(search_vector=tsquery)
            .annotate(score=SearchRank(F("search_vector"), tsquery))
            .order_by("-score", "-updated_at", "-pk")
        )
    found = []
    for article in qs.defer("search_vector"):
        article.score = _fallback_score(article, words, bigrams)
        if article.score > 0:
            found.append(article)
    found.sort(key=lambda a: (-a.score, -a.updated_at.timestamp(), -a.pk))
    return found
