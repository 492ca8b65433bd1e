"""Reads: the knowledge base's list, an article's history and a version's changes, the
authority a usual remedy needs, a reply template filled in for a case, and the case page's
panel."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from complaints import text
from complaints.access import case_can_work
from complaints.models import Case, CaseEvent, Category, Remedy, RootCause, Tier, User
from complaints.placeholders import PLACEHOLDERS, case_values, template_fill
from escalation.approvals import ceilings, tier_needed

from . import search
from .access import article_versions_visible_to, articles_visible_to, user_can_edit_articles
from .models import BILINGUAL_FIELDS, CONTENT_FIELDS, Article, ArticleVersion
from .services import case_has_good_outcome


def article_list(
    *, user: User, query: str = "", category: str = "", status: str = ""
) -> QuerySet[Article] | list[Article]:
    """The articles a user may read, filtered, best match first when searching (else the most
    recently changed first). One query (and a count for the page), however many there are."""
    qs = articles_visible_to(user=user).defer("search_vector")
    if category:
        qs = qs.filter(category=category)
    if status:
        qs = qs.filter(status=status)
    if query.strip():
        return search.articles_search(qs, query)
    return qs.order_by("-updated_at", "-pk")


# ---------------------------------------------------------------- authority


@dataclass(frozen=True)
class Authority:
    tier: int | None  # None: above every tier's ceiling
    label: str
    ceiling: Decimal | None


def authority_for(value: Decimal | None, limits: dict[int, Decimal | None]) -> Authority:
    """Whose authority (escalation's authority limits, 处置权限) the usual remedy needs."""
    tier = tier_needed(value or Decimal(0), limits)
    if tier is None:
        return Authority(tier=None, label=_("above every tier's authority"), ceiling=None)
    return Authority(tier=tier, label=str(Tier(tier).label), ceiling=limits.get(tier))


# ---------------------------------------------------------------- history


def article_versions(*, article: Article, user: User) -> list[ArticleVersion]:
    """The versions the user may read (``knowledge.access``), newest first: one query."""
    return list(
        article_versions_visible_to(user=user, article=article)
        .select_related("by")
        .order_by("-number")
    )


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str
    new: str
    # For texts: the pieces of the new text, each ("equal" | "delete" | "insert", text).
    pieces: list[tuple[str, str]]


def _label(name: str) -> str:
    return str(Article._meta.get_field(name).verbose_name)


def _shown(name: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if name == "category":
        return str(dict(Category.choices).get(value, value))
    if name == "root_cause":
        return str(dict(RootCause.choices).get(value, value))
    if name == "remedies":
        return _(", ").join(str(dict(Remedy.choices).get(code, code)) for code in value)
    return str(value)


def _pieces(old: str, new: str) -> list[tuple[str, str]]:
    a, b = text.diff_pieces(old), text.diff_pieces(new)
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            out.append(("delete", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", "".join(b[j1:j2])))
        if op == "equal":
            out.append(("equal", "".join(a[i1:i2])))
    return out


def content_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What differs between two versions' content, field by field; texts word by word (and
    Chinese character by character)."""
    changes = []
    for name in CONTENT_FIELDS:
        before, after = old.get(name), new.get(name)
        if before == after or (not before and not after):
            continue
        is_text = name.removesuffix("_en").removesuffix("_zh") in BILINGUAL_FIELDS
        changes.append(
            Change(
                field=name,
                label=_label(name),
                old=_shown(name, before),
                new=_shown(name, after),
                pieces=_pieces(before or "", after or "") if is_text else [],
            )
        )
    return changes


@dataclass(frozen=True)
class VersionView:
    version: ArticleVersion
    previous: ArticleVersion | None
    changes: list[Change]
    status_changed: bool


def version_view(*, article: Article, number: int, user: User) -> VersionView:
    """A version the user may read, with what it changed from the one before it that they may
    read (for a reader who does not edit: the previous published version, so that the changes
    shown say nothing of the drafts in between). 404 for a version they may not read."""
    found = list(
        article_versions_visible_to(user=user, article=article)
        .select_related("by")
        .filter(number__lte=number)
        .order_by("-number")[:2]
    )
    if not found or found[0].number != number:
        raise Http404
    version, previous = found[0], (found[1] if len(found) > 1 else None)
    return VersionView(
        version=version,
        previous=previous,
        changes=content_changes(previous.content if previous else {}, version.content),
        status_changed=previous is not None and previous.status != version.status,
    )


def article_uses(*, article: Article) -> int:
    """How many notes and messages were written from the article's reply template (their
    events name it as their source, ``knowledge:<article>:<version>``). On PostgreSQL the
    partial expression index ``caseevent_source_value`` (knowledge's migration 0003) answers
    it, not a scan of the event table: keep the lookup as it is, or change both together."""
    return CaseEvent.objects.filter(
        changes__source__1__startswith=f"knowledge:{article.pk}:"
    ).count()


# ---------------------------------------------------------------- a template for a case


@dataclass(frozen=True)
class FilledTemplate:
    article: Article
    language: str  # the language code of the template used
    text: str
    missing: list[str]
    # What the message form sends as its ``source``: the article and the version filled in.
    source: str

    @property
    def missing_labels(self) -> list[str]:
        return [str(PLACEHOLDERS[name]) for name in self.missing]


def template_for_case(
    *, article: Article, case: Case, by: User, language: str | None = None
) -> FilledTemplate:
    """The article's reply template filled in for the case, in ``language`` (by default the
    customer's), or in the other language when the article has none in it. 404 when the
    article has no reply template at all."""
    wanted = language or case.customer.language
    template, suffix = article.localized("reply_template", wanted)
    if not template:
        raise Http404
    code = "zh-hans" if suffix == "zh" else "en"
    filled = template_fill(template, case_values(case=case, by=by, language=code))
    return FilledTemplate(
        article=article,
        language=code,
        text=filled.text,
        missing=filled.missing,
        source=f"knowledge:{article.pk}:{article.version}",
    )


# ---------------------------------------------------------------- the case page


@dataclass(frozen=True)
class Suggestion:
    article: Article
    authority: Authority
    has_template: bool


def suggestions(*, case: Case) -> list[Suggestion]:
    """The case page's suggested articles with the authority their usual remedy needs: two
    queries (the articles, the authority limits) however many articles there are."""
    found = search.suggestions_for_case(case=case)
    limits = ceilings() if found else {}
    return [
        Suggestion(
            article=article,
            authority=authority_for(article.remedy_value_max, limits),
            has_template=bool(article.reply_template_en or article.reply_template_zh),
        )
        for article in found
    ]


def case_panel(*, case: Case, user: User) -> dict[str, Any] | None:
    """What the case page's knowledge-base panel shows, or None for nothing: for an open case
    the suggestions and the template language to fill them in; for a closed case that went
    well the article drafted from it, or the button that drafts one (quality managers)."""
    if case.is_open:
        return {
            "case": case,
            "suggestions": suggestions(case=case),
            "can_insert": case_can_work(user=user, case=case),
            "template_language": case.customer.language,
            "languages": settings.LANGUAGES,
        }
    if not case_has_good_outcome(case):
        return None
    drafted = Article.objects.filter(source_case=case).only("pk", "status", "title_en", "title_zh")
    drafted = drafted.first()
    can_draft = user_can_edit_articles(user) and user.has_perm("knowledge.add_article")
    if drafted is not None and not (can_draft or drafted.status == Article.Status.PUBLISHED):
        drafted = None  # a draft is for the editors' eyes only
    if drafted is None and not can_draft:
        return None
    return {"case": case, "drafted": drafted, "can_draft": can_draft}
