"""The knowledge base's pages: the list with search, an article, the editor, the history and a
version's changes, a reply template filled in for a case, and turning a case into a draft.
Thin: parse, call one service, render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from complaints.access import case_get_for_user
from complaints.errors import CaseConflict, CaseError
from complaints.models import Case
from complaints.placeholders import legend
from escalation.approvals import ceilings

from . import selectors, services
from .access import article_get_for_user, user_can_edit_articles, user_can_read_articles
from .forms import ArticleForm, ArticleSearchForm, FillForm, RestoreForm, StatusForm
from .models import Article, language_suffix

PAGE_SIZE = 25


def _require_reader(request: HttpRequest) -> None:
    if not user_can_read_articles(request.user):
        raise PermissionDenied


def _require_writer(request: HttpRequest) -> None:
    if not (
        user_can_edit_articles(request.user) and request.user.has_perm("knowledge.add_article")
    ):
        raise PermissionDenied


def _refuse(request: HttpRequest, exc: CaseError) -> None:
    for message in [str(m) for errors in exc.fields.values() for m in errors] or exc.messages:
        messages.error(request, message)


@login_required
@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    editor = user_can_edit_articles(request.user)
    form = ArticleSearchForm(request.GET or None, editor=editor)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.article_list(
        user=request.user,
        query=filters.get("q", ""),
        category=filters.get("category", ""),
        status=filters.get("status", ""),
    )
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "knowledge/article_list.html",
        {
            "form": form,
            "page_obj": page_obj,
            "query": query.urlencode(),
            "editor": editor,
            "can_create": editor and request.user.has_perm("knowledge.add_article"),
        },
    )


def _sections(article: Article) -> list[dict]:
    """The article's texts in the reader's language, each saying when it falls back."""
    labels = {
        "guidance": _("How to handle it"),
        "checks": _("What to check"),
        "reply_template": _("Reply template"),
    }
    reader = language_suffix(translation.get_language())
    sections = []
    for field, label in labels.items():
        body, suffix = article.localized(field)
        if body:
            sections.append(
                {"field": field, "label": label, "text": body, "fallback": suffix != reader}
            )
    return sections


@login_required
@require_GET
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk)
    editor = user_can_edit_articles(request.user)
    title, suffix = article.localized("title")
    return render(
        request,
        "knowledge/article_detail.html",
        {
            "article": article,
            "title": title,
            "title_fallback": suffix != language_suffix(translation.get_language()),
            "sections": _sections(article),
            "authority": selectors.authority_for(article.remedy_value_max, ceilings()),
            "uses": selectors.article_uses(article=article),
            "editor": editor,
            "status_form": StatusForm(initial={"version": article.version}),
            "placeholders": legend(),
        },
    )


def _form_page(
    request, form, article: Article | None, status: int = 200, conflict: bool = False
) -> HttpResponse:
    return render(
        request,
        "knowledge/article_form.html",
        {"form": form, "article": article, "placeholders": legend(), "conflict": conflict},
        status=status,
    )


def _add_errors(form, exc: CaseError) -> None:
    for name, errors in exc.fields.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)
    if not exc.fields:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
@require_http_methods(["GET", "POST"])
def article_create(request: HttpRequest) -> HttpResponse:
    _require_writer(request)
    if request.method == "GET":
        return _form_page(request, ArticleForm(initial=request.GET.dict()), None)
    form = ArticleForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, None, status=400)
    try:
        article = services.article_create(
            by=request.user, data=form.content(), note=form.cleaned_data["note"]
        )
    except CaseError as exc:
        _add_errors(form, exc)
        return _form_page(request, form, None, status=400)
    messages.success(request, _("The article was saved as a draft."))
    return redirect("knowledge:article_detail", pk=article.pk)


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk, write=True)
    if request.method == "GET":
        return _form_page(request, ArticleForm(instance=article), article)
    form = ArticleForm(request.POST, instance=article)
    if not form.is_valid() or not form.cleaned_data.get("version"):
        if form.is_valid():
            form.add_error(None, _("Reload the editor: it did not say which version you edited."))
        return _form_page(request, form, article, status=400)
    try:
        version = services.article_update(
            article=article,
            by=request.user,
            data=form.content(),
            expected_version=form.cleaned_data["version"],
            note=form.cleaned_data["note"],
        )
    except CaseConflict as exc:
        # Keep what the editor wrote, and let them save it over the newer version knowingly:
        # the form now names the current version, and the message links to what changed.
        article.refresh_from_db()
        data = request.POST.copy()
        data["version"] = str(article.version)
        form = ArticleForm(data, instance=article)
        form.is_valid()
        form.add_error(None, str(exc.messages[0]))
        return _form_page(request, form, article, status=409, conflict=True)
    except CaseError as exc:
        _add_errors(form, exc)
        return _form_page(request, form, article, status=400)
    if version is None:
        messages.info(request, _("Nothing changed."))
    else:
        messages.success(request, _("Saved as version %(number)s.") % {"number": version.number})
    return redirect("knowledge:article_detail", pk=article.pk)


@login_required
@require_POST
def article_status(request: HttpRequest, pk: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk, write=True)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Reload the page and try again."))
        return redirect("knowledge:article_detail", pk=article.pk)
    try:
        services.article_set_status(
            article=article,
            by=request.user,
            status=form.cleaned_data["status"],
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        _refuse(request, exc)
    else:
        if article.status == Article.Status.PUBLISHED:
            messages.success(request, _("Published: agents see it and cases suggest it."))
        else:
            messages.success(request, _("Retired: cases no longer suggest it."))
    return redirect("knowledge:article_detail", pk=article.pk)


@login_required
@require_GET
def article_history(request: HttpRequest, pk: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "knowledge/article_history.html",
        {
            "article": article,
            "versions": selectors.article_versions(article=article, user=request.user),
            "editor": user_can_edit_articles(request.user),
        },
    )


@login_required
@require_GET
def article_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk)
    view = selectors.version_view(article=article, number=number, user=request.user)
    return render(
        request,
        "knowledge/article_version.html",
        {
            "article": article,
            "view": view,
            "editor": user_can_edit_articles(request.user),
            "restore_form": RestoreForm(initial={"version": article.version}),
        },
    )


@login_required
@require_POST
def article_restore(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = article_get_for_user(user=request.user, pk=pk, write=True)
    form = RestoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Reload the page and try again."))
        return redirect("knowledge:article_version", pk=article.pk, number=number)
    try:
        version = services.article_restore(
            article=article,
            number=number,
            by=request.user,
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        _refuse(request, exc)
        return redirect("knowledge:article_version", pk=article.pk, number=number)
    messages.success(
        request,
        _("Version %(old)s restored as version %(new)s.") % {"old": number, "new": version.number},
    )
    return redirect("knowledge:article_detail", pk=article.pk)


@login_required
@require_GET
def article_fill(request: HttpRequest, pk: int, reference: str) -> HttpResponse:
    """The article's reply template filled in for the case: JSON for the case page's Insert
    button (static/knowledge/insert.js), a page to copy it from otherwise."""
    case = case_get_for_user(user=request.user, reference=reference)
    article = article_get_for_user(user=request.user, pk=pk)
    form = FillForm(request.GET)
    language = form.cleaned_data["language"] if form.is_valid() else ""
    filled = selectors.template_for_case(
        article=article, case=case, by=request.user, language=language or None
    )
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {
                "text": filled.text,
                "source": filled.source,
                "language": filled.language,
                "missing": filled.missing,
                "notice": _fill_notice(article, filled),
            }
        )
    else:
        response = render(
            request,
            "knowledge/article_fill.html",
            {"article": article, "case": case, "filled": filled, "form": form},
        )
    patch_vary_headers(response, ["Accept"])
    return response


def _fill_notice(article: Article, filled: selectors.FilledTemplate) -> str:
    notice = _("“%(title)s” is in the message box: read it through, then send it.") % {
        "title": article.title
    }
    if filled.missing:
        notice += " " + _("Not known yet for this case, complete it: %(missing)s.") % {
            "missing": _(", ").join(filled.missing_labels)
        }
    return notice


@login_required
@require_POST
def draft_from_case(request: HttpRequest, reference: str) -> HttpResponse:
    """A closed case that went well becomes an article draft, and the editor opens on it."""
    _require_writer(request)
    case: Case = case_get_for_user(user=request.user, reference=reference)
    try:
        drafted = services.article_draft_from_case(case=case, by=request.user)
    except CaseError as exc:
        _refuse(request, exc)
        return redirect("complaints:case_detail", reference=case.reference)
    if drafted.created:
        messages.success(
            request,
            _("A draft was made from %(reference)s: complete it, then publish it.")
            % {"reference": case.reference},
        )
        return redirect("knowledge:article_edit", pk=drafted.article.pk)
    messages.info(
        request,
        _("%(reference)s was turned into an article already: here it is.")
        % {"reference": case.reference},
    )
    return redirect("knowledge:article_detail", pk=drafted.article.pk)
