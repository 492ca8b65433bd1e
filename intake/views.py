"""The agent's New complaint screen and its customer lookup."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from complaints import services
from complaints.errors import CaseError

from .forms import IntakeForm, LookupForm
from .links import tracking_url


@login_required
@permission_required("complaints.add_case", raise_exception=True)
@require_http_methods(["GET", "POST"])
def new_case(request: HttpRequest) -> HttpResponse:
    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                customer = services.customer_get_or_create(
                    name=data["customer_name"],
                    phone=data["phone"],
                    email=data["email"],
                    type=data["customer_type"] or None,
                )
                received = services.case_receive(
                    by=request.user,
                    customer=customer,
                    **{name: data[name] for name in IntakeForm.Meta.fields},
                )
        except CaseError as exc:
            for name, errors in exc.fields.items():
                target = "customer_name" if name == "name" else name
                for error in errors:
                    form.add_error(target if target in form.fields else None, error)
            for message in exc.messages if not exc.fields else []:
                form.add_error(None, message)
        else:
            case = received.case
            # Shown once on the case page: only the token's digest is kept.
            request.session[f"tracking-link:{case.reference}"] = tracking_url(
                received.tracking_token
            )
            messages.success(
                request,
                _("Complaint %(reference)s logged. Read the reference to the customer.")
                % {"reference": case.reference},
            )
            return redirect("complaints:case_detail", reference=case.reference)
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/new_case.html", _context(form), status=status)


def _context(form: IntakeForm, **extra) -> dict:
    case_fields = ["channel", "category", "urgency", "product", "order_number", "quantity"]
    return {"form": form, "case_fields": [form[name] for name in case_fields], **extra}


@login_required
@permission_required("complaints.view_customer", raise_exception=True)
@require_GET
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """htmx: the customer fields of the intake form, filled in from the existing customer with
    the phone or email typed so far (with their latest cases), else as the agent typed them."""
    lookup = LookupForm(request.GET)
    customer = None
    if lookup.is_valid():
        try:
            customer = services.customer_find(
                phone=lookup.cleaned_data["phone"], email=lookup.cleaned_data["email"]
            )
        except CaseError:
            customer = None  # still typing: not a phone number or email yet
    initial = {
        "customer_name": request.GET.get("customer_name", ""),
        "customer_type": request.GET.get("customer_type", ""),
    }
    if customer:
        initial = {"customer_name": customer.name, "customer_type": customer.type}
    recent = customer.cases.order_by("-received_at")[:5] if customer else []
    return render(
        request,
        "intake/partials/customer_fields.html",
        {"form": IntakeForm(initial=initial), "customer": customer, "recent": recent},
    )
