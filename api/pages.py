"""The one page of the API app, at /account/api-tokens/ (outside /api/, which answers in JSON): a
member of staff's own tokens (make one, see when each was last used, revoke one they lost track
of)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from complaints.access import user_can_view_cases

from .models import ApiToken
from .tokens import api_token_issue, api_token_revoke

app_name = "api_tokens"


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("What is it for?"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. the CRM connection")}),
    )


def _require_staff(request: HttpRequest) -> None:
    if not user_can_view_cases(request.user):
        raise PermissionDenied


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _row, new_token = api_token_issue(user=request.user, name=form.cleaned_data["name"])
        form = TokenForm()
    rows = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    return render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": rows, "new_token": new_token},
        status=400 if request.method == "POST" and new_token is None else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_staff(request)
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token)
    messages.success(request, _("The token was revoked. Programs using it are signed out."))
    return redirect("api_tokens:list")


urlpatterns = [
    path("", tokens, name="list"),
    path("<int:pk>/revoke/", token_revoke, name="revoke"),
]
