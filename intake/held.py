"""The agents' page of held mail (/intake/held/): emails whose sender failed the mail provider's
checks, each released (taken in as any email is) or discarded by an agent."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from complaints.errors import CaseError

from .inbound import held_email_discard, held_email_release
from .models import HeldEmail


def held_waiting():
    """The emails still held, oldest first (the partial index held_email_waiting)."""
    return HeldEmail.objects.filter(released_at__isnull=True, discarded_at__isnull=True)


def navigation_querysets(user) -> dict:
    """The header's count of held mail (``complaints.navigation``), for who may take it in."""
    return {"held_mail": held_waiting()} if user.has_perm("complaints.add_case") else {}


@login_required
@permission_required("complaints.add_case", raise_exception=True)
@require_GET
def held_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(held_waiting().order_by("received_at", "pk"), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "intake/held_list.html", {"page_obj": page})


@login_required
@permission_required("complaints.add_case", raise_exception=True)
@require_POST
def held_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Release (``release``) or discard (``discard``) one held email."""
    held = get_object_or_404(HeldEmail, pk=pk)
    try:
        if request.POST.get("decision") == "release":
            case = held_email_release(held=held, by=request.user)
            if case is None:
                messages.warning(request, _("The email could not be taken in: see the log."))
            else:
                messages.success(
                    request,
                    _("The email was taken in: it is on %(reference)s.")
                    % {"reference": case.reference},
                )
        elif request.POST.get("decision") == "discard":
            held_email_discard(held=held, by=request.user)
            messages.success(request, _("The email was discarded."))
        else:
            messages.error(request, _("Choose to release or to discard the email."))
    except CaseError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("intake:held_list")
