"""Every change to articles: create, edit, publish, retire, restore an old version, draft one
from a case. Views and admin actions call these; nothing else writes the models. Each runs in
one transaction, with the article's row locked, and keeps the new content as the next
numbered version."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from complaints.errors import AccessDenied, InvalidInput
from complaints.languages import language_guess
from complaints.models import Case, CaseEvent, Category, Remedy, RootCause, Step, User
from complaints.placeholders import template_problems, template_unfill

from . import search
from .access import user_can_edit_articles
from .errors import ArticleConflict
from .models import CONTENT_FIELDS, Article, ArticleVersion, language_suffix

_TEXT_FIELDS = [name for name in CONTENT_FIELDS if name.endswith(("_en", "_zh"))]


def _require_editor(by: User, perm: str = "knowledge.change_article") -> None:
    if not (user_can_edit_articles(by) and by.has_perm(perm)):
        raise AccessDenied(_("Only quality managers may write articles."))


def _remedies(value: Any, errors: dict[str, list[str]]) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or any(code not in Remedy.values for code in value):
        errors["remedies"] = [_("Choose remedies from the list.")]
        return []
    return list(dict.fromkeys(value))


def _value(value: Any, errors: dict[str, list[str]]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors["remedy_value_max"] = [_("Give an amount, e.g. 500.00.")]
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        errors["remedy_value_max"] = [_("Give an amount between 0 and 9,999,999,999.99.")]
        return None
    if int(amount.as_tuple().exponent) < -2:
        errors["remedy_value_max"] = [_("Give the amount in at most two decimal places.")]
        return None
    return amount.quantize(Decimal("0.01"))


def _cleaned(data: dict[str, Any]) -> dict[str, Any]:
    """The content an editor sent, checked: known category, root cause and remedies, lengths,
    a title in at least one language, reply templates whose placeholders all exist. Refuses
    with every problem at once, per field."""
    unknown = sorted(set(data) - set(CONTENT_FIELDS))
    if unknown:
        raise InvalidInput(fields={name: [_("Unknown field.")] for name in unknown})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = data.get(name) or ""
        if not isinstance(value, str):
            errors[name] = [_("Write text here.")]
            continue
        value = value.strip()
        limit = Article._meta.get_field(name).max_length
        try:
            MaxLengthValidator(limit)(value)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
        clean[name] = value
    clean["category"] = data.get("category") or ""
    if clean["category"] not in Category.values:
        errors["category"] = [_("Choose a category.")]
    clean["root_cause"] = data.get("root_cause") or ""
    if clean["root_cause"] and clean["root_cause"] not in RootCause.values:
        errors["root_cause"] = [_("Choose a root cause from the list, or none.")]
    clean["remedies"] = _remedies(data.get("remedies"), errors)
    clean["remedy_value_max"] = _value(data.get("remedy_value_max"), errors)
    if not (clean.get("title_en") or clean.get("title_zh")):
        errors.setdefault("title_en", []).append(_("Give the article a title, in either language."))
    for name in ("reply_template_en", "reply_template_zh"):
        for problem in template_problems(clean.get(name, "")):
            errors.setdefault(name, []).append(problem)
    if errors:
        raise InvalidInput(fields=errors)
    return clean


def _version(
    article: Article, *, kind: str, by: User, note: str = "", restored_from: int | None = None
) -> ArticleVersion:
    note = (note or "").strip()
    if len(note) > ArticleVersion._meta.get_field("note").max_length:
        raise InvalidInput(fields={"note": [_("Keep it under 300 characters.")]})
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        kind=kind,
        status=article.status,
        content=article.content(),
        restored_from=restored_from,
        note=note,
        by=by,
        at=article.updated_at,
    )


def _lock(article: Article, *, by: User, expected_version: int) -> Article:
    """The article's row, locked until the transaction ends, if nobody changed it since the
    editor read it (``expected_version``) and the editor may change it."""
    _require_editor(by)
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if locked.version != expected_version:
        raise ArticleConflict()
    return locked


def _save(
    locked: Article,
    *,
    by: User,
    kind: str,
    note: str = "",
    restored_from: int | None = None,
) -> ArticleVersion:
    locked.version += 1
    locked.updated_by = by
    locked.updated_at = timezone.now()
    version = _version(locked, kind=kind, by=by, note=note, restored_from=restored_from)
    locked.save()
    search.search_vector_refresh(article=locked)
    return version


@transaction.atomic
def article_create(
    *,
    by: User,
    data: dict[str, Any],
    note: str = "",
    source_case: Case | None = None,
) -> Article:
    """A new article, as a draft (version 1). Only quality managers (and administrators)."""
    _require_editor(by, "knowledge.add_article")
    now = timezone.now()
    article = Article(
        **_cleaned(data),
        source_case=source_case,
        created_by=by,
        updated_by=by,
        created_at=now,
        updated_at=now,
    )
    article.save()
    kind = ArticleVersion.Kind.DRAFTED if source_case else ArticleVersion.Kind.CREATED
    _version(article, kind=kind, by=by, note=note)
    search.search_vector_refresh(article=article)
    return article


@transaction.atomic
def article_update(
    *, article: Article, by: User, data: dict[str, Any], expected_version: int, note: str = ""
) -> ArticleVersion | None:
    """Save the editor's content as the next version (None when nothing changed); fields not
    in ``data`` keep their content. Refused when someone saved the article since the editor
    opened it: nobody's edit is lost silently."""
    locked = _lock(article, by=by, expected_version=expected_version)
    before = locked.content()
    for name, value in _cleaned({**before, **data}).items():
        setattr(locked, name, value)
    if locked.content() == before:
        return None
    version = _save(locked, by=by, kind=ArticleVersion.Kind.EDITED, note=note)
    article.refresh_from_db()
    return version


def _publishable(article: Article) -> list[str]:
    if not (article.guidance_en or article.guidance_zh):
        return [_("Write how to handle it, in either language, before publishing.")]
    return []


@transaction.atomic
def article_set_status(
    *, article: Article, by: User, status: str, expected_version: int
) -> ArticleVersion:
    """Publish (agents see it and the case page suggests it), retire (it stays readable for
    editors, never suggested), or publish again. Each is a new version, so the history says
    who did it and when."""
    if status not in (Article.Status.PUBLISHED, Article.Status.RETIRED):
        raise InvalidInput(_("An article can be published or retired."))
    locked = _lock(article, by=by, expected_version=expected_version)
    if locked.status == status:
        raise InvalidInput(
            _("The article is already published.")
            if status == Article.Status.PUBLISHED
            else _("The article is already retired.")
        )
    if status == Article.Status.PUBLISHED:
        problems = _publishable(locked)
        if problems:
            raise InvalidInput(*problems)
        locked.published_at = timezone.now()
    locked.status = status
    kind = (
        ArticleVersion.Kind.PUBLISHED
        if status == Article.Status.PUBLISHED
        else ArticleVersion.Kind.RETIRED
    )
    version = _save(locked, by=by, kind=kind)
    article.refresh_from_db()
    return version


@transaction.atomic
def article_restore(
    *, article: Article, number: int, by: User, expected_version: int
) -> ArticleVersion:
    """Make an earlier version's content the article's again, as a new version (the versions
    in between stay in the history). The status does not change."""
    locked = _lock(article, by=by, expected_version=expected_version)
    old = ArticleVersion.objects.filter(article=locked, number=number).first()
    if old is None:
        raise InvalidInput(_("This article has no version %(number)s.") % {"number": number})
    if number == locked.version:
        raise InvalidInput(_("This is the current version already."))
    for name, value in _cleaned({**locked.content(), **old.content}).items():
        setattr(locked, name, value)
    version = _save(locked, by=by, kind=ArticleVersion.Kind.RESTORED, restored_from=number)
    article.refresh_from_db()
    return version


# ---------------------------------------------------------------- from a case


def case_has_good_outcome(case: Case) -> bool:
    """A closed case whose customer was satisfied: worth keeping as the way to handle the
    next one."""
    return case.step == Step.CLOSED and (
        case.follow_up_satisfied is True or (case.satisfaction_rating or 0) >= 4
    )


def _sections(*pairs: tuple[str, str]) -> str:
    """Labelled paragraphs, for those whose text is not empty."""
    return "\n\n".join(f"{label}\n{body.strip()}" for label, body in pairs if body.strip())


def _fit(value: str, field: str) -> str:
    return Truncator(value).chars(Article._meta.get_field(field).max_length)


def draft_content(case: Case) -> dict[str, Any]:
    """An article's content from a case that went well, in the language the customer wrote
    in: the category and root cause; the decision and the actions as how to handle it; the
    analysis and the report as what to check; the remedies and their value; the last message
    to the customer as the reply template, with their name, the reference and the order
    number turned back into placeholders."""
    message = (
        case.events.filter(kind=CaseEvent.Kind.MESSAGE, customer_visible=True)
        .order_by("-at", "-pk")
        .values_list("note", flat=True)
        .first()
        or ""
    )
    language = language_guess(case.description, case.customer_account, message)
    suffix = language_suffix(language)
    with translation.override(language):
        first_line = (case.description.strip().splitlines() or [""])[0]
        title = f"{case.get_category_display()}: {Truncator(first_line).chars(120)}"
        guidance = _sections(
            (_("Decision"), case.remedy_plan), (_("Actions taken"), case.actions_taken)
        )
        checks = _sections(
            (_("Root-cause analysis"), case.root_cause_analysis),
            (_("Investigation report"), case.report),
        )
    reply = template_unfill(message[:3500], case=case)
    content: dict[str, Any] = {
        "category": case.category,
        "root_cause": case.root_cause_category,
        "remedies": [code for code in case.remedy_types if code in Remedy.values],
        "remedy_value_max": case.remedy_value,
        f"title_{suffix}": _fit(title, f"title_{suffix}"),
        f"guidance_{suffix}": _fit(guidance, f"guidance_{suffix}"),
        f"checks_{suffix}": _fit(checks, f"checks_{suffix}"),
        f"reply_template_{suffix}": reply if not template_problems(reply) else "",
    }
    return content


@dataclass(frozen=True)
class Drafted:
    article: Article
    # False: the case had been turned into an article already; this is that one.
    created: bool


def article_draft_from_case(*, case: Case, by: User) -> Drafted:
    """Turn a closed case with a good outcome into a new article draft linked to it (quality
    managers). A case makes one article only: asked again, even by two people at once, the
    answer is the article it already made."""
    _require_editor(by, "knowledge.add_article")
    existing = Article.objects.filter(source_case=case).first()
    if existing is not None:
        return Drafted(article=existing, created=False)
    if not case_has_good_outcome(case):
        raise InvalidInput(
            _("Only a closed case whose customer was satisfied can become an article.")
        )
    try:
        with transaction.atomic():
            article = article_create(by=by, data=draft_content(case), source_case=case)
    except IntegrityError:
        # Someone else drafted it in the meantime (the unique constraint on source_case).
        return Drafted(article=Article.objects.get(source_case=case), created=False)
    return Drafted(article=article, created=True)
