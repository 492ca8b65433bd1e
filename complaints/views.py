"""The agent's pages: case lists and the case page. Thin: parse, call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from . import contact, customer_actions, lifecycle, merging, repeats, selectors, services, signals
from .access import case_can_work, case_get_for_user, user_can_take_cases, user_can_view_cases
from .errors import AccessDenied, CaseConflict, CaseError, InvalidInput
from .filters import DEFAULT_SORT, SORTS, CaseFilter, sort_order
from .forms import (
    AssignForm,
    ContactAttemptForm,
    ContactPreferencesForm,
    EndingForm,
    FollowUpReviewForm,
    FollowUpSampleForm,
    MergeForm,
    NoteForm,
    StepForm,
)
from .models import Case, Step
from .paging import DeferredJoinPaginator

PAGE_SIZE = 25


def _require_staff(request: HttpRequest) -> None:
    if not user_can_view_cases(request.user):
        raise PermissionDenied


# The work lists, each a to-do list sorted by what is due first: the cases on my desk, those no
# one owns yet, my department's and every case: (title, cases, URL name). Who has which:
# ``_scopes``.
SCOPES = {
    "mine": (gettext_lazy("My cases"), selectors.my_cases, "complaints:my_cases"),
    "to_take": (gettext_lazy("To take"), selectors.waiting_to_be_taken, "complaints:to_take"),
    "department": (
        gettext_lazy("My department"),
        selectors.department_cases,
        "complaints:department_cases",
    ),
    "all": (gettext_lazy("All cases"), None, "complaints:all_cases"),
}


def _scopes(user) -> list[str]:
    """The tabs a user has: "To take" for those who may take cases (those who log them), "My
    department" for those in one."""
    return [
        scope
        for scope in SCOPES
        if (scope != "to_take" or user_can_take_cases(user))
        and (scope != "department" or user.department_id)
    ]


def _sort_links(request: HttpRequest, current: str) -> dict[str, dict]:
    """Each sortable column's link (the list's query with that sort, the other way round when
    it is the current one) and its state for ``aria-sort``."""
    links = {}
    for name in SORTS:
        query = request.GET.copy()
        query.pop("page", None)
        query["ordering"] = f"-{name}" if current == name else name
        state = (
            "ascending" if current == name else "descending" if current == f"-{name}" else "none"
        )
        links[name] = {"url": f"?{query.urlencode()}", "state": state}
    return links


@login_required
@require_GET
def case_list(request: HttpRequest, scope: str) -> HttpResponse:
    """A work list (``SCOPES``; the URL names which)."""
    _require_staff(request)
    if scope not in _scopes(request.user):
        raise PermissionDenied
    title, scoped, _url = SCOPES[scope]
    qs = selectors.case_list(user=request.user, qs=scoped(user=request.user) if scoped else None)
    case_filter = CaseFilter(request.GET or None, queryset=qs)
    rows = case_filter.qs if case_filter.is_bound else qs
    if case_filter.is_bound and not case_filter.is_valid():
        rows = qs.none()
    sort = (case_filter.form.cleaned_data.get("ordering") if case_filter.is_bound else None) or []
    current = sort[0] if sort else DEFAULT_SORT
    page = DeferredJoinPaginator(
        rows.order_by(*(rows.query.order_by or sort_order(DEFAULT_SORT)), "-pk"),
        PAGE_SIZE,
        rows=lambda keys: selectors.case_list(
            user=request.user, qs=Case.objects.filter(pk__in=keys)
        ),
    )
    page_obj = page.get_page(request.GET.get("page"))
    selectors.cases_last_activity(page_obj.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    template = (
        "complaints/partials/case_table.html"
        if request.headers.get("HX-Target") == "case-table"
        else "complaints/case_list.html"
    )
    return render(
        request,
        template,
        {
            "scope": scope,
            "title": title,
            "tabs": [
                {"scope": name, "label": SCOPES[name][0], "url": reverse(SCOPES[name][2])}
                for name in _scopes(request.user)
            ],
            "filter": case_filter,
            "page_obj": page_obj,
            "query": query.urlencode(),
            "sort_links": _sort_links(request, current),
            "now": timezone.now(),
        },
    )


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The header's search box: a whole reference opens its case; anything else (a phone, an
    email, a name, an order number, words of the story) lists the matching cases among all."""
    _require_staff(request)
    typed = request.GET.get("q", "").strip()
    reference = selectors.case_reference_find(user=request.user, typed=typed)
    if reference:
        return redirect("complaints:case_detail", reference=reference)
    found = reverse("complaints:all_cases")
    return redirect(f"{found}?{urlencode({'q': typed})}" if typed else found)


def _merge_suggestion(case: Case) -> str:
    """The case to merge into, offered first: the one this case repeats, while it is open."""
    earlier = case.repeat_of
    return earlier.reference if earlier is not None and earlier.is_open else ""


def _detail_context(request: HttpRequest, case: Case, **forms) -> dict:
    can_work = case_can_work(user=request.user, case=case)
    order = lifecycle.ORDER
    current = order.index(case.step)
    now = timezone.now()
    merged = selectors.cases_merged_into(case=case)
    return {
        "case": case,
        # Repeats and merging: the case this one repeats, the other open cases of its customer
        # and about its order or product, the cases merged into it and their customers.
        "related": repeats.case_related(user=request.user, case=case),
        "merged_cases": merged,
        "other_customers": selectors.case_customers(case=case, merged=merged)[1:],
        "can_merge": can_work and case.is_open,
        "merge_form": forms.get("merge_form")
        or MergeForm(initial={"version": case.version, "into": _merge_suggestion(case)}),
        "now": now,
        "can_work": can_work,
        # A case no one owns yet (the public form, email in) is there to be taken.
        "can_take": case.owner_id is None and case.is_open and user_can_take_cases(request.user),
        "is_overdue": case.is_past_due(now),
        "steps": [
            {
                "code": code,
                "label": Step(code).label,
                "state": "done" if i < current else "current" if i == current else "todo",
            }
            for i, code in enumerate(order)
        ],
        "step_help": lifecycle.STEP_HELP[case.step],
        "moves": lifecycle.moves_from(case.step),
        "step_form": forms.get("step_form") or StepForm(case=case),
        "assign_form": forms.get("assign_form") or AssignForm(initial={"version": case.version}),
        "note_form": forms.get("note_form") or NoteForm(),
        "contact_form": forms.get("contact_form")
        or ContactPreferencesForm.for_customer(case.customer),
        "contact_attempt_form": forms.get("contact_attempt_form") or ContactAttemptForm(),
        "ending_form": forms.get("ending_form") or EndingForm(case=case, user=request.user),
        "attempts": list(case.contact_attempts.select_related("by").order_by("-at", "-pk")[:10]),
        "follow_up_attempts": lifecycle.follow_up_attempts(case)
        if case.step == Step.FOLLOW_UP
        else None,
        "attempts_needed": settings.FOLLOW_UP_ATTEMPTS,
        # The supervisor's review of this closing's follow-up, or the form to write it.
        "follow_up_review": case.follow_up_reviews.filter(closed_at=case.closed_at)
        .select_related("reviewed_by")
        .first()
        if case.step == Step.CLOSED
        else None,
        "can_review": case.step == Step.CLOSED
        and request.user.has_perm("complaints.add_followupreview"),
        "review_form": FollowUpReviewForm(),
        "timeline": selectors.case_timeline(case=case),
        "refusal": forms.get("refusal"),
        "tracking_link": request.session.pop(f"tracking-link:{case.reference}", None),
        # What the other apps show on the case page (the escalation app: deadlines, escalations).
        "sections": [
            html
            for _receiver, html in signals.case_page_sections.send(
                sender=Case, request=request, case=case
            )
            if html
        ],
    }


@login_required
@require_GET
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_get_for_user(user=request.user, reference=reference)
    if case.merged_into_id is not None:
        messages.info(
            request,
            _(
                "%(reference)s was merged into %(survivor)s, which handles it now, with its "
                "timeline, files and tracking links."
            )
            % {"reference": case.reference, "survivor": case.merged_into.reference},
        )
        return redirect("complaints:case_detail", reference=case.merged_into.reference)
    return render(request, "complaints/case_detail.html", _detail_context(request, case))


def _refusal_status(exc: CaseError) -> int:
    return 409 if isinstance(exc, CaseConflict) else 400 if isinstance(exc, InvalidInput) else 422


def _refused(request, case, exc: CaseError, **forms) -> HttpResponse:
    status = _refusal_status(exc)
    for form in forms.values():
        for name, errors in exc.fields.items():
            if name in form.fields:
                for error in errors:
                    form.add_error(name, error)
    if isinstance(exc, CaseConflict):
        case.refresh_from_db()
        forms = {}
    context = _detail_context(request, case, refusal=exc, **forms)
    return render(request, "complaints/case_detail.html", context, status=status)


@login_required
@require_POST
def case_step(request: HttpRequest, reference: str) -> HttpResponse:
    """Save the current step's data, and with ``to`` move the case on."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = StepForm(request.POST, case=case)
    if not form.is_valid():
        return render(
            request,
            "complaints/case_detail.html",
            _detail_context(request, case, step_form=form),
            status=400,
        )
    to = form.cleaned_data["to"]
    try:
        if to:
            services.case_transition(
                case=case,
                to=to,
                by=request.user,
                data=form.step_data(),
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
            messages.success(
                request,
                _("%(reference)s is now at %(step)s.")
                % {"reference": case.reference, "step": case.get_step_display()},
            )
        else:
            services.case_update(
                case=case,
                by=request.user,
                data=form.step_data(),
                expected_version=form.cleaned_data["version"],
            )
            messages.success(request, _("Saved."))
    except CaseError as exc:
        return _refused(request, case, exc, step_form=form)
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_assign(request: HttpRequest, reference: str) -> HttpResponse:
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "complaints/case_detail.html",
            _detail_context(request, case, assign_form=form),
            status=400,
        )
    try:
        services.case_assign(
            case=case,
            by=request.user,
            person=form.cleaned_data["person"],
            department=form.cleaned_data["department"],
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        return _refused(request, case, exc, assign_form=form)
    messages.success(request, _("The case was handed over."))
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_take(request: HttpRequest, reference: str) -> HttpResponse:
    """Take a case no one owns (sent by the customer through the public form)."""
    case = case_get_for_user(user=request.user, reference=reference)
    try:
        customer_actions.case_take(case=case, by=request.user)
    except CaseError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(reference)s is now yours.") % {"reference": case.reference})
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_customer_preferences(request: HttpRequest, reference: str) -> HttpResponse:
    """How the case's customer hears from us, changed by someone who may work the case (the
    customer said so on the phone)."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = ContactPreferencesForm.for_customer(case.customer, request.POST)
    if not form.is_valid():
        return render(
            request,
            "complaints/case_detail.html",
            _detail_context(request, case, contact_form=form),
            status=400,
        )
    try:
        contact.customer_preferences_set(case=case, by=request.user, **form.cleaned_data)
    except CaseError as exc:
        return _refused(request, case, exc, contact_form=form)
    messages.success(request, _("The customer's contact preferences are saved."))
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_contact(request: HttpRequest, reference: str) -> HttpResponse:
    """Record an attempt to reach the customer."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = ContactAttemptForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "complaints/case_detail.html",
            _detail_context(request, case, contact_attempt_form=form),
            status=400,
        )
    try:
        services.case_contact_record(case=case, by=request.user, **form.cleaned_data)
    except CaseError as exc:
        return _refused(request, case, exc, contact_attempt_form=form)
    messages.success(request, _("The attempt to reach the customer is recorded."))
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_ending(request: HttpRequest, reference: str) -> HttpResponse:
    """Close the case without the customer's rating: unreachable, withdrawn, not a complaint."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = EndingForm(request.POST, case=case, user=request.user)
    if not form.is_valid():
        return render(
            request,
            "complaints/case_detail.html",
            _detail_context(request, case, ending_form=form),
            status=400,
        )
    try:
        services.case_transition(
            case=case,
            to=Step.CLOSED,
            ending=form.cleaned_data["ending"],
            by=request.user,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        return _refused(request, case, exc, ending_form=form)
    messages.success(
        request,
        _("%(reference)s is closed: %(ending)s.")
        % {"reference": case.reference, "ending": case.get_ending_display()},
    )
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@permission_required("complaints.add_followupreview", raise_exception=True)
@require_GET
def follow_up_reviews(request: HttpRequest) -> HttpResponse:
    """The supervisor's review of follow-ups (客户服务主管审阅): a sample of the cases closed
    lately, not reviewed yet, each with how it ended and how the customer was reached."""
    sample_form = FollowUpSampleForm(request.GET or None)
    sample = sample_form.sample()
    page = Paginator(selectors.follow_ups_to_review(**sample), 10).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "complaints/follow_up_reviews.html",
        {
            "sample_form": sample_form,
            "days": sample["days"],
            "coverage": selectors.follow_up_review_coverage(**sample),
            "page_obj": page,
            "query": query.urlencode(),
            "review_form": FollowUpReviewForm(),
            "latest": selectors.follow_up_reviews_latest(),
        },
    )


@login_required
@require_POST
def case_follow_up_review(request: HttpRequest, reference: str) -> HttpResponse:
    """Mark the follow-up of a closed case reviewed, with a comment; back to the page it was
    reviewed from (the sample or the case page)."""
    case = case_get_for_user(user=request.user, reference=reference)
    form = FollowUpReviewForm(request.POST)
    back = (
        redirect(f"{reverse('complaints:follow_up_reviews')}?{request.POST.get('sample', '')}")
        if request.POST.get("sample") is not None
        else redirect("complaints:case_detail", reference=case.reference)
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back
    try:
        services.case_follow_up_review(
            case=case, by=request.user, comment=form.cleaned_data["comment"]
        )
    except AccessDenied:
        raise PermissionDenied from None
    except CaseError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return back
    messages.success(
        request, _("The follow-up of %(reference)s is reviewed.") % {"reference": case.reference}
    )
    return back


@login_required
@require_POST
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    """Add an internal note or a customer message. With htmx, answers with the new timeline."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = NoteForm(request.POST, request.FILES)
    error = None
    if form.is_valid():
        try:
            services.case_add_note(
                case=case,
                by=request.user,
                body=form.cleaned_data["body"],
                customer_visible=form.cleaned_data["customer_visible"],
                files=form.cleaned_data["files"],
                source=form.cleaned_data["source"],
            )
        except CaseError as exc:
            error = exc
            for name, errors in exc.fields.items():
                for message in errors:
                    form.add_error(name if name in form.fields else None, message)
    if request.headers.get("HX-Request"):
        context = _detail_context(
            request, case, note_form=NoteForm() if form.is_valid() and not error else form
        )
        context["refusal"] = error
        status = 200 if form.is_valid() and not error else 400
        return render(request, "complaints/partials/conversation.html", context, status=status)
    if not form.is_valid() or error:
        context = _detail_context(request, case, note_form=form, refusal=error)
        return render(request, "complaints/case_detail.html", context, status=400)
    return redirect("complaints:case_detail", reference=case.reference)


@login_required
@require_POST
def case_merge(request: HttpRequest, reference: str) -> HttpResponse:
    """Merge this case into another. Without ``confirm``: both cases side by side, with any
    reason the merge would be refused (nothing is written); confirmed: the merge, then the
    surviving case's page."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    form = MergeForm(request.POST)
    survivor = None
    if form.is_valid():
        try:
            survivor = case_get_for_user(user=request.user, reference=form.cleaned_data["into"])
        except Http404:
            form.add_error("into", _("No case has this reference."))
    if survivor is None:
        context = _detail_context(request, case, merge_form=form)
        return render(request, "complaints/case_detail.html", context, status=400)
    data = form.cleaned_data
    context = {"case": case, "survivor": survivor, "form": form}
    if not data["confirm"]:
        try:
            reasons = merging.merge_refusals(survivor=survivor, absorbed=case, by=request.user)
        except CaseError as exc:
            reasons = exc.messages
        context["reasons"] = reasons
        return render(
            request, "complaints/merge_confirm.html", context, status=422 if reasons else 200
        )
    try:
        merging.case_merge(
            survivor=survivor,
            absorbed=case,
            by=request.user,
            note=data["note"],
            expected_version=data["version"],
            survivor_version=data["into_version"],
        )
    except CaseError as exc:
        context["reasons"] = exc.messages
        return render(
            request, "complaints/merge_confirm.html", context, status=_refusal_status(exc)
        )
    messages.success(
        request,
        _("%(reference)s was merged into %(survivor)s.")
        % {"reference": case.reference, "survivor": survivor.reference},
    )
    return redirect("complaints:case_detail", reference=survivor.reference)


@login_required
@require_GET
def case_attachment(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    """A file on the case or on a case merged into it, for whoever may see the case; always a
    download, never shown inline (with the content type its content was checked to be)."""
    case = case_get_for_user(user=request.user, reference=reference)
    attachment = get_object_or_404(selectors.case_attachments(case=case), pk=pk)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
