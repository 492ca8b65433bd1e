"""The actions' pages: the list, recording one, an action with its forms. Thin: parse, call one
service, render (or redirect with what happened)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from complaints.access import case_get_for_user, cases_visible_to, user_can_view_cases
from complaints.errors import AccessDenied, CaseConflict, CaseError, InvalidInput

from . import selectors, services
from .access import (
    action_can_edit,
    action_can_verify,
    action_escalation_can_acknowledge,
    action_get_for_user,
    action_moves_for,
    case_can_record_action,
)
from .filters import ActionFilter
from .forms import EditForm, LinkForm, RecordForm, StatusForm, UnlinkForm, VerifyForm
from .models import OPEN_STATUSES, Action, ActionEscalation, Status

PAGE_SIZE = 25


def _require_staff(request: HttpRequest) -> None:
    if not user_can_view_cases(request.user):
        raise PermissionDenied


def _status_of(exc: CaseError) -> int:
    if isinstance(exc, CaseConflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, AccessDenied):
        return 403
    return 422


def _errors_to_form(form, exc: CaseError) -> None:
    for name, errors in exc.fields.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


@login_required
@require_GET
def action_list(request: HttpRequest) -> HttpResponse:
    """The actions, open ones by default, filtered, sorted and paginated."""
    _require_staff(request)
    qs = selectors.action_list(user=request.user)
    action_filter = ActionFilter(request.GET or None, queryset=qs)
    rows = action_filter.qs if not action_filter.is_bound or action_filter.is_valid() else qs.none()
    page = Paginator(rows.order_by(*rows.query.order_by or ["due_on"], "pk"), PAGE_SIZE)
    page_obj = page.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = (
        "improvement/partials/action_table.html"
        if request.headers.get("HX-Target") == "action-table"
        else "improvement/action_list.html"
    )
    return render(
        request,
        template,
        {
            "filter": action_filter,
            "page_obj": page_obj,
            "query": query.urlencode(),
            "now": timezone.now(),
            "can_record": request.user.has_perm("complaints.work_case"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_new(request: HttpRequest) -> HttpResponse:
    """Record an action, from a case page (``?case=``, its analysis filled in) or the list."""
    _require_staff(request)
    if request.method == "POST":
        form = RecordForm(request.POST)
        if form.is_valid():
            try:
                cases = selectors.cases_by_reference(
                    user=request.user,
                    references=selectors.references_in(form.cleaned_data["cases"]),
                )
                action = services.action_record(by=request.user, cases=cases, **form.details())
            except CaseError as exc:
                _errors_to_form(form, exc)
                return render(
                    request, "improvement/action_new.html", {"form": form}, status=_status_of(exc)
                )
            messages.success(
                request, _("%(reference)s is recorded.") % {"reference": action.reference}
            )
            return redirect("improvement:action_detail", pk=action.pk)
        return render(request, "improvement/action_new.html", {"form": form}, status=400)
    initial = {"kind": "corrective"}
    case = None
    if request.GET.get("case"):
        case = case_get_for_user(user=request.user, reference=request.GET["case"])
        initial |= {
            "cases": case.reference,
            "root_cause": case.root_cause_category,
            "cause": case.root_cause_analysis,
            "department": case.department_id,
            "owner": case.responsible_person_id,
        }
        if not case_can_record_action(user=request.user, case=case):
            messages.error(
                request,
                _(
                    "An action can be recorded from %(reference)s once it has finished Analyse, "
                    "by someone who may work it."
                )
                % {"reference": case.reference},
            )
    return render(
        request, "improvement/action_new.html", {"form": RecordForm(initial=initial), "case": case}
    )


def _detail_context(request: HttpRequest, action: Action, **extra) -> dict:
    user = request.user
    can_edit = action_can_edit(user=user, action=action) and action.status in OPEN_STATUSES
    escalations = list(
        action.escalations.select_related("acknowledged_by", "action").order_by("-at")
    )
    for escalation in escalations:
        escalation.can_acknowledge = (
            escalation.acknowledged_at is None
            and action_escalation_can_acknowledge(user=user, escalation=escalation)
        )
    verification = (
        getattr(action, "verification", None) if action.status == Status.VERIFIED else None
    )
    return {
        "action": action,
        "now": timezone.now(),
        "is_overdue": action.is_overdue,
        "links": list(
            action.links.select_related("case", "case__customer").order_by("linked_at", "pk")
        ),
        "history": selectors.action_history(action=action),
        "moves": action_moves_for(user=user, action=action),
        "can_edit": can_edit,
        "can_verify": action.status == Status.DONE and action_can_verify(user=user, action=action),
        "verification": verification,
        "escalations": escalations,
        "status_form": extra.pop("status_form", None)
        or StatusForm(initial={"version": action.version}),
        "verify_form": extra.pop("verify_form", None)
        or VerifyForm(initial={"version": action.version}),
        "link_form": extra.pop("link_form", None) or LinkForm(initial={"version": action.version}),
        "edit_form": extra.pop("edit_form", None)
        or EditForm(instance=action, initial={"version": action.version}),
        **extra,
    }


@login_required
@require_GET
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk)
    return render(request, "improvement/action_detail.html", _detail_context(request, action))


def _refused(request: HttpRequest, action: Action, exc: CaseError, **forms) -> HttpResponse:
    for form in forms.values():
        _errors_to_form(form, exc)
    if isinstance(exc, CaseConflict):
        action = action_get_for_user(user=request.user, pk=action.pk)  # as it is now
        forms = {}
    context = _detail_context(request, action, refusal=exc, **forms)
    return render(request, "improvement/action_detail.html", context, status=_status_of(exc))


def _invalid(request: HttpRequest, action: Action, **forms) -> HttpResponse:
    context = _detail_context(request, action, **forms)
    return render(request, "improvement/action_detail.html", context, status=400)


def _done(request: HttpRequest, action: Action, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("improvement:action_detail", pk=action.pk)


@login_required
@require_POST
def action_status(request: HttpRequest, pk: int) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _invalid(request, action, status_form=form)
    try:
        services.action_transition(
            action=action,
            to=form.cleaned_data["to"],
            by=request.user,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        return _refused(request, action, exc, status_form=form)
    return _done(
        request,
        action,
        _("%(reference)s is now %(status)s.")
        % {"reference": action.reference, "status": action.get_status_display().lower()},
    )


@login_required
@require_POST
def action_verify(request: HttpRequest, pk: int) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return _invalid(request, action, verify_form=form)
    data = form.cleaned_data
    try:
        services.action_verify(
            action=action,
            by=request.user,
            note=data["note"],
            window_days=data["window_days"],
            same_department=data["same_department"],
            same_product=data["same_product"],
            override_reason=data["override_reason"],
            expected_version=data["version"],
        )
    except CaseError as exc:
        return _refused(request, action, exc, verify_form=form)
    return _done(request, action, _("%(reference)s is verified.") % {"reference": action.reference})


@login_required
@require_POST
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk, write=True)
    form = EditForm(request.POST, instance=action)
    if not form.is_valid():
        return _invalid(request, action, edit_form=form)
    try:
        event = services.action_update(
            action=action,
            by=request.user,
            data=form.details(),
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        return _refused(request, action, exc, edit_form=form)
    return _done(request, action, _("Saved.") if event else _("Nothing changed."))


@login_required
@require_POST
def action_link(request: HttpRequest, pk: int) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk, write=True)
    form = LinkForm(request.POST)
    if not form.is_valid():
        return _invalid(request, action, link_form=form)
    try:
        [case] = selectors.cases_by_reference(
            user=request.user, references=[form.cleaned_data["reference"]], field="reference"
        )
        services.action_link_case(
            action=action, case=case, by=request.user, expected_version=form.cleaned_data["version"]
        )
    except CaseError as exc:
        return _refused(request, action, exc, link_form=form)
    return _done(
        request,
        action,
        _("%(case)s is linked to %(reference)s.")
        % {"case": case.reference, "reference": action.reference},
    )


@login_required
@require_POST
def action_unlink(request: HttpRequest, pk: int, reference: str) -> HttpResponse:
    action = action_get_for_user(user=request.user, pk=pk, write=True)
    case = get_object_or_404(cases_visible_to(user=request.user), reference=reference)
    form = UnlinkForm(request.POST)
    if not form.is_valid():
        return _invalid(request, action)
    try:
        services.action_unlink_case(
            action=action, case=case, by=request.user, expected_version=form.cleaned_data["version"]
        )
    except CaseError as exc:
        return _refused(request, action, exc)
    return _done(
        request,
        action,
        _("%(case)s is no longer linked to %(reference)s.")
        % {"case": case.reference, "reference": action.reference},
    )


@login_required
@require_POST
def escalation_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """From the managers' queue or the action's page; back where it came from."""
    _require_staff(request)
    escalation = get_object_or_404(ActionEscalation.objects.select_related("action"), pk=pk)
    try:
        services.action_escalation_acknowledge(escalation=escalation, by=request.user)
    except CaseError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(reference)s: acknowledged.") % {"reference": escalation.action.reference},
        )
    if request.POST.get("next") == "queue":
        return redirect("escalation:queue")
    return redirect("improvement:action_detail", pk=escalation.action_id)
