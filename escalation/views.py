"""The managers' escalation queue and the case page's time-limit actions. Thin: parse, call one
service, redirect with what happened (or why it was refused)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from complaints import selectors as case_selectors
from complaints.access import case_get_for_user
from complaints.errors import CaseError
from complaints.models import Case, Tier

from . import approvals, selectors, services, signals
from .forms import (
    DecisionForm,
    NoteOnlyForm,
    OutcomeForm,
    PauseForm,
    QueueForm,
    ReassignForm,
    ReferForm,
)
from .models import Approval, Escalation, ExternalReview
from .tiers import user_tier


def _refuse(request: HttpRequest, exc: CaseError) -> None:
    # The fields' messages first: an error raised with fields only has just the generic
    # "Some of the data is not valid." as its message, which would hide what to fix.
    for message in [str(m) for errors in exc.fields.values() for m in errors] or exc.messages:
        messages.error(request, message)


def _form_errors(request: HttpRequest, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _back_to_case(case: Case) -> HttpResponse:
    return redirect("complaints:case_detail", reference=case.reference)


def _require_queue(request: HttpRequest) -> None:
    if not selectors.queue_tiers(request.user):
        raise PermissionDenied


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """My tier's escalations, the cases at risk, the approvals waiting. With htmx (it polls every
    minute) only the lists are sent."""
    _require_queue(request)
    form = QueueForm(request.GET or None)
    within = (form.cleaned_data.get("within") if form.is_valid() else None) or 24
    escalations = list(selectors.escalation_queue(user=request.user))
    now = timezone.now()
    context = {
        "form": form,
        "within": within,
        "now": now,
        "escalations": escalations,
        "at_risk": list(
            selectors.at_risk(user=request.user, within=timedelta(hours=within), now=now)[:100]
        ),
        "approvals": list(selectors.approvals_waiting(user=request.user)),
        "reassign_form": ReassignForm(allowed_ids=[e.pk for e in escalations]),
        "tier_labels": [Tier(t).label for t in selectors.queue_tiers(request.user)],
        # What other apps escalate to the same tiers (corrective actions).
        "sections": [
            html
            for _receiver, html in signals.queue_sections.send(
                sender=None, request=request, now=now
            )
            if html
        ],
    }
    template = (
        "escalation/partials/queue_lists.html"
        if request.headers.get("HX-Request")
        else "escalation/queue.html"
    )
    return render(request, template, context)


def _escalation_for(request: HttpRequest, pk: int) -> Escalation:
    escalation = get_object_or_404(Escalation.objects.select_related("case"), pk=pk)
    # Visible to whoever may see the case; the service decides who may act on it.
    case_get_for_user(user=request.user, reference=escalation.case.reference)
    return escalation


def _next(request: HttpRequest, case: Case | None = None) -> HttpResponse:
    """Back where the action came from: the case page, or the queue (if the user has one)."""
    has_queue = bool(selectors.queue_tiers(request.user))
    if case is not None and (request.POST.get("next") == "case" or not has_queue):
        return _back_to_case(case)
    return redirect("escalation:queue")


@login_required
@require_POST
def escalation_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = _escalation_for(request, pk)
    try:
        services.escalation_acknowledge(escalation=escalation, by=request.user)
    except CaseError as exc:
        _refuse(request, exc)
    else:
        messages.success(
            request, _("%(reference)s: acknowledged.") % {"reference": escalation.case.reference}
        )
    return _next(request, escalation.case)


@login_required
@require_POST
def escalation_take(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = _escalation_for(request, pk)
    try:
        services.escalation_take(escalation=escalation, by=request.user)
    except CaseError as exc:
        _refuse(request, exc)
        return _next(request, escalation.case)
    messages.success(
        request, _("%(reference)s is now yours.") % {"reference": escalation.case.reference}
    )
    return _back_to_case(escalation.case)


@login_required
@require_POST
def escalations_reassign(request: HttpRequest) -> HttpResponse:
    """Reassign one or many escalated cases (the queue's bulk action)."""
    _require_queue(request)
    mine = {e.pk: e for e in selectors.escalation_queue(user=request.user)}
    form = ReassignForm(request.POST, allowed_ids=list(mine))
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("escalation:queue")
    chosen = [mine[pk] for pk in form.cleaned_data["escalations"]]
    try:
        done = services.escalations_reassign(
            escalations=chosen,
            by=request.user,
            person=form.cleaned_data["person"],
            department=form.cleaned_data["department"],
            instruction=form.cleaned_data["instruction"],
        )
    except CaseError as exc:
        _refuse(request, exc)
    else:
        messages.success(request, _("%(count)d case(s) reassigned.") % {"count": done})
    return redirect("escalation:queue")


@login_required
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(Approval.objects.select_related("case"), pk=pk)
    case_get_for_user(user=request.user, reference=approval.case.reference)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _next(request, approval.case)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        approvals.approval_decide(
            approval=approval, by=request.user, approve=approve, note=form.cleaned_data["note"]
        )
    except CaseError as exc:
        _refuse(request, exc)
    else:
        messages.success(
            request,
            (
                _("%(reference)s: remedy approved.")
                if approve
                else _("%(reference)s: remedy declined.")
            )
            % {"reference": approval.case.reference},
        )
    return _next(request, approval.case)


# ---------------------------------------------------------------- from the case page


def _case_action(request: HttpRequest, reference: str, form_class, action) -> HttpResponse:
    case = case_get_for_user(user=request.user, reference=reference)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        _form_errors(request, form)
        return _back_to_case(case)
    try:
        message = action(case, form.cleaned_data if form is not None else {})
    except CaseError as exc:
        _refuse(request, exc)
    else:
        messages.success(request, message)
    return _back_to_case(case)


@login_required
@require_POST
def case_pause(request: HttpRequest, reference: str) -> HttpResponse:
    def act(case, data):
        services.case_pause(case=case, by=request.user, reason=data["reason"], note=data["note"])
        return _("The clock is stopped.")

    return _case_action(request, reference, PauseForm, act)


@login_required
@require_POST
def case_resume(request: HttpRequest, reference: str) -> HttpResponse:
    def act(case, data):
        if services.case_resume(case=case, by=request.user) is None:
            return _("The clock was running.")
        return _("The clock runs again; the stopped time is credited to the deadlines.")

    return _case_action(request, reference, None, act)


@login_required
@require_POST
def case_request_approval(request: HttpRequest, reference: str) -> HttpResponse:
    def act(case, data):
        approvals.approval_request(case=case, by=request.user, note=request.POST.get("note", ""))
        return _("Approval requested.")

    return _case_action(request, reference, None, act)


@login_required
@require_POST
def case_escalate(request: HttpRequest, reference: str) -> HttpResponse:
    def act(case, data):
        services.case_escalate_manually(case=case, by=request.user, note=data["note"])
        return _("The case was escalated.")

    return _case_action(request, reference, NoteOnlyForm, act)


@login_required
@require_POST
def case_refer(request: HttpRequest, reference: str) -> HttpResponse:
    def act(case, data):
        services.case_refer_external(
            case=case, by=request.user, reviewer=data["reviewer"], reason=data["reason"]
        )
        return _("The case was referred to external review.")

    return _case_action(request, reference, ReferForm, act)


@login_required
@require_POST
def review_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(ExternalReview.objects.select_related("case"), pk=pk)

    def act(case, data):
        services.external_review_record_outcome(
            review=review, by=request.user, outcome=data["outcome"]
        )
        return _("The outcome is recorded.")

    return _case_action(request, review.case.reference, OutcomeForm, act)


@login_required
@require_GET
def case_file(request: HttpRequest, reference: str) -> HttpResponse:
    """The complete case file for an external reviewer, as one ZIP download: ``case-file.html``
    with the case, every decision, the whole timeline (notes and messages included), the
    deadlines and escalations, and every attached file under ``attachments/``. Quality and
    general managers only."""
    case = case_get_for_user(user=request.user, reference=reference)
    if user_tier(request.user) < Tier.QUALITY_MANAGER:
        raise PermissionDenied
    context = selectors.case_escalation_panel(case=case, user=request.user, now=timezone.now())
    context["timeline"] = case_selectors.case_timeline(case=case)
    context["generated_at"] = timezone.now()
    files = list(case.attachments.all())
    # Numbered, so that two files of the same name do not overwrite each other.
    context["files"] = [(f"attachments/{i:02d}-{f.name}", f) for i, f in enumerate(files, 1)]
    html = render_to_string("escalation/case_file.html", context, request=request)
    # Closed by FileResponse once sent; spills to disk past 20 MB.
    archive = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("case-file.html", html)
        for path, attachment in context["files"]:
            with attachment.file.open("rb") as source, bundle.open(path, "w") as target:
                shutil.copyfileobj(source, target)
    archive.seek(0)
    return FileResponse(
        archive,
        as_attachment=True,
        filename=f"{slugify(case.reference)}-case-file.zip",
        content_type="application/zip",
    )
