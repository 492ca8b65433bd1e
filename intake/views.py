"""The agent's New complaint screen and its customer lookup; the customer's tracking page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from complaints import contact, customer_actions, repeats, services
from complaints.access import case_get_for_user
from complaints.customer_actions import tracking_url
from complaints.errors import CaseError
from complaints.languages import language_guess, language_shipped
from complaints.models import Case, Category
from conversation.selectors import acknowledgement_channel

from . import ratelimit, tracking
from .forms import (
    CustomerAnswerForm,
    CustomerFollowUpForm,
    CustomerMessageForm,
    CustomerPreferencesForm,
    IntakeForm,
    LookupForm,
    LostLinkForm,
    PublicComplaintForm,
    RelatedLookupForm,
)
from .tracking import acknowledgement_context


def _show_refusal(form, exc: CaseError, rename: dict[str, str] | None = None) -> None:
    """A service's refusal on the form: each field's reasons on that field (or the form, when
    the form has no such field), and the general reasons when no field is named."""
    for name, errors in exc.fields.items():
        target = (rename or {}).get(name, name)
        for error in errors:
            form.add_error(target if target in form.fields else None, error)
    if not exc.fields:
        for message in exc.messages:
            form.add_error(None, message)


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
                    language=data["language"] or None,
                    preferred_channel=data["preferred_channel"] or None,
                    # A new customer writes in the language of the complaint they tell us.
                    default_language=language_guess(data["description"], data["desired_outcome"]),
                )
                received = services.case_receive(
                    by=request.user,
                    customer=customer,
                    **{name: data[name] for name in IntakeForm.Meta.fields},
                )
        except CaseError as exc:
            _show_refusal(form, exc, rename={"name": "customer_name"})
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


def _customer_typed(lookup: LookupForm):
    """The existing customer with the phone or email typed so far, if any."""
    if not lookup.is_valid():
        return None
    try:
        return services.customer_find(
            phone=lookup.cleaned_data["phone"], email=lookup.cleaned_data["email"]
        )
    except CaseError:
        return None  # still typing: not a phone number or email yet


@login_required
@permission_required("complaints.view_customer", raise_exception=True)
@require_GET
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """htmx: the customer fields of the intake form, filled in from the existing customer with
    the phone or email typed so far, with their open cases and those of the last 90 days (a
    repeat complaint: the agent opens them before logging a new one); else as typed."""
    customer = _customer_typed(LookupForm(request.GET))
    kept = ("customer_name", "customer_type", "language", "preferred_channel")
    initial = {name: request.GET.get(name, "") for name in kept}
    if customer:
        initial.update({"customer_name": customer.name, "customer_type": customer.type})
    recent = (
        repeats.customer_cases_for_intake(user=request.user, customer=customer) if customer else []
    )
    return render(
        request,
        "intake/partials/customer_fields.html",
        {
            "form": IntakeForm(initial=initial),
            "customer": customer,
            "recent": recent,
            "window_days": repeats.REPEAT_WINDOW.days,
        },
    )


@login_required
@permission_required("complaints.view_customer", raise_exception=True)
@require_GET
def related_cases(request: HttpRequest) -> HttpResponse:
    """htmx: the other open complaints about the order number (exactly) or the product
    (whatever the case of its letters) typed so far; this customer's are marked."""
    lookup = RelatedLookupForm(request.GET)
    rows = []
    if lookup.is_valid():
        rows = repeats.open_cases_related(
            user=request.user,
            order_number=lookup.cleaned_data["order_number"],
            product=lookup.cleaned_data["product"],
        )
    return render(
        request,
        "intake/partials/related_cases.html",
        {"related": rows, "customer": _customer_typed(lookup)},
    )


# ---------------------------------------------------------------- the customer's tracking page


def _customer_page(response: HttpResponse) -> HttpResponse:
    """Headers of every customer page: not indexed, not cached, no Referer leaves the site.
    (``same-origin``, not ``no-referrer``: under ``no-referrer`` browsers send ``Origin: null``
    with a form, and the CSRF check rightly refuses that. The token is never in the address of
    these pages; the one response whose address holds it, the link's, sends no Referer at all.)"""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def _no_referrer(response: HttpResponse) -> HttpResponse:
    """For the responses at the link's own address, which holds the token: no Referer at all."""
    response["Referrer-Policy"] = "no-referrer"
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    """The one answer for every link that does not open a case (malformed, unknown, renewed,
    expired): nothing tells which."""
    return _customer_page(render(request, "intake/tracking_not_found.html", status=404))


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "intake/too_many_requests.html", status=429)
    response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
    return _customer_page(response)


@require_safe
def tracking_open(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email or the agent: trade the token for a cookie and redirect, so that
    the token leaves the address bar."""
    if ratelimit.over_limit(request, "tracking"):
        return _no_referrer(_too_many(request))
    token = tracking.token_from_path(token)
    case = tracking.case_for_token(token)
    if case is None:
        return _no_referrer(_not_found(request))
    response = redirect("tracking:page")
    response.status_code = 303
    _set_tracking_cookie(request, response, token)
    return _no_referrer(_customer_page(response))


def _set_tracking_cookie(request: HttpRequest, response: HttpResponse, token: str) -> None:
    response.set_cookie(
        tracking.COOKIE_NAME,
        tracking.cookie_value(token),
        max_age=tracking.COOKIE_MAX_AGE,
        path=tracking.COOKIE_PATH,
        # Over HTTPS (always, in production: the proxy says so) the cookie never travels in clear.
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _tracked_case(request: HttpRequest):
    return tracking.case_for_cookie(request.COOKIES.get(tracking.COOKIE_NAME))


def _tracking_render(request: HttpRequest, case, status: int = 200, **forms) -> HttpResponse:
    """The tracking page, with fresh forms except those given (a refused one, with why)."""
    context = {
        **tracking.tracking_view(case=case),
        "message_form": CustomerMessageForm(),
        "answer_form": CustomerAnswerForm(),
        "follow_up_form": CustomerFollowUpForm(),
        "preferences_form": CustomerPreferencesForm.for_customer(case.customer),
        **forms,
    }
    return _customer_page(render(request, "intake/tracking.html", context, status=status))


@require_safe
def tracking_page(request: HttpRequest) -> HttpResponse:
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    if case is None:
        return _not_found(request)
    return _tracking_render(request, case)


@require_POST
def tracking_message(request: HttpRequest) -> HttpResponse:
    """The customer writes on their case from the tracking page."""
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    if case is None:
        return _not_found(request)
    form = CustomerMessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            customer_actions.case_customer_message(
                case=case, body=form.cleaned_data["body"], files=form.cleaned_data["files"]
            )
        except CaseError as exc:
            _show_refusal(form, exc)
        else:
            messages.success(request, _("Thank you: your message is on your complaint."))
            response = redirect("tracking:page")
            response.status_code = 303
            return _customer_page(response)
    return _tracking_render(request, case, status=400, message_form=form)


@require_POST
def tracking_preferences(request: HttpRequest) -> HttpResponse:
    """The customer says how they want to hear from us: language, channel, essential only. The
    link's own customer's record (for a case merged into another customer's, still theirs)."""
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    if case is None:
        return _not_found(request)
    form = CustomerPreferencesForm.for_customer(case.customer, request.POST)
    if form.is_valid():
        try:
            contact.customer_preferences_set(
                case=case,
                by=None,
                language=form.cleaned_data["language"],
                preferred_channel=form.cleaned_data["preferred_channel"],
                essential_only=form.cleaned_data["essential_only"],
            )
        except CaseError as exc:
            _show_refusal(form, exc)
        else:
            # The page itself follows the language chosen from now on.
            translation.activate(form.cleaned_data["language"])
            messages.success(request, _("Thank you: we will tell you as you asked."))
            response = redirect("tracking:page")
            response.status_code = 303
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                form.cleaned_data["language"],
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
            )
            return _customer_page(response)
    return _tracking_render(request, case, status=400, preferences_form=form)


# ---------------------------------------------------------------- the agent's side of the link


@login_required
@require_POST
def tracking_renew(request: HttpRequest, reference: str) -> HttpResponse:
    """Issue a new tracking link; the old one stops working. The new one is shown once."""
    case = case_get_for_user(user=request.user, reference=reference, write=True)
    try:
        token = customer_actions.case_tracking_renew(case=case, by=request.user)
    except CaseError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        request.session[f"tracking-link:{case.reference}"] = tracking_url(token)
        messages.success(request, _("A new tracking link was issued; the old one no longer works."))
    return redirect("complaints:case_detail", reference=case.reference)


@require_http_methods(["GET", "HEAD", "POST"])
def tracking_lost(request: HttpRequest) -> HttpResponse:
    """The reference and an email or phone number → a new link to that address, by email or SMS.
    The answer is the same whether or not anything matched, so the form tells nobody which
    references exist."""
    # Only the requests that may send an email count.
    if request.method == "POST" and ratelimit.over_limit(
        request, "lost-link", limit=settings.LOST_LINK_RATE_LIMIT
    ):
        return _too_many(request)
    form = LostLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case = tracking.case_for_lost_link(
            reference=form.cleaned_data["reference"], contact=form.cleaned_data["contact"]
        )
        if case is not None:
            customer_actions.case_link_request(
                case=case, channel="email" if "@" in form.cleaned_data["contact"] else "sms"
            )
        response = render(request, "intake/tracking_lost_sent.html")
        return _customer_page(response)
    status = 400 if request.method == "POST" else 200
    return _customer_page(
        render(request, "intake/tracking_lost.html", {"form": form}, status=status)
    )


def _customer_step_action(request: HttpRequest, form_class, act, done: str) -> HttpResponse:
    """A customer's answer from the tracking page: the form, one service, back to the page."""
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    if case is None:
        return _not_found(request)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            act(case, form.cleaned_data)
        except CaseError as exc:
            _show_refusal(form, exc)
        else:
            messages.success(request, done)
            response = redirect("tracking:page")
            response.status_code = 303
            return _customer_page(response)
    refused = "answer_form" if form_class is CustomerAnswerForm else "follow_up_form"
    return _tracking_render(request, case, status=400, **{refused: form})


@require_POST
def tracking_answer(request: HttpRequest) -> HttpResponse:
    """At Confirm: the customer agrees with the decision, or says why not."""
    return _customer_step_action(
        request,
        CustomerAnswerForm,
        lambda case, data: customer_actions.case_customer_answer(
            case=case, agree=data["agree"], reason=data["reason"]
        ),
        _("Thank you for your answer."),
    )


@require_POST
def tracking_follow_up(request: HttpRequest) -> HttpResponse:
    """At Follow up: the customer rates the handling and the outcome."""
    return _customer_step_action(
        request,
        CustomerFollowUpForm,
        lambda case, data: customer_actions.case_customer_follow_up(
            case=case,
            handling=data["handling"],
            outcome=data["outcome"],
            satisfied=data["satisfied"],
            comment=data["comment"],
        ),
        _("Thank you for your rating."),
    )


@require_safe
def tracking_download(request: HttpRequest) -> HttpResponse:
    """The customer's case as one printable file: what the tracking page shows, in full."""
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    if case is None:
        return _not_found(request)
    context = {**tracking.tracking_view(case=case), "generated_at": timezone.now()}
    response = render(request, "intake/tracking_download.html", context)
    reference = context["complaint"].reference
    response["Content-Disposition"] = f'attachment; filename="complaint-{reference}.html"'
    return _customer_page(response)


@require_safe
def tracking_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """A file of the customer's case, through their cookie only; always a download."""
    if ratelimit.over_limit(request, "tracking"):
        return _too_many(request)
    case = _tracked_case(request)
    attachment = tracking.attachment_for_customer(case=case, pk=pk) if case else None
    if attachment is None:
        return _not_found(request)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    return _customer_page(response)


# ---------------------------------------------------------------- the public complaint form


@require_http_methods(["GET", "HEAD", "POST"])
def complain(request: HttpRequest) -> HttpResponse:
    """Anyone may complain, without an account. Robots are kept out without third parties: a
    per-address limit and a honeypot field (a filled one gets the thank-you page, and nothing
    is created)."""
    if request.method == "POST" and ratelimit.over_limit(
        request, "complain", limit=settings.PUBLIC_FORM_RATE_LIMIT
    ):
        return _too_many(request)
    form = PublicComplaintForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:  # a robot: it is thanked, and nothing is created
            return _customer_page(redirect_303("complain_thanks"))
        try:
            with transaction.atomic():
                customer = services.customer_get_or_create(
                    name=data["name"],
                    phone=data["phone"],
                    email=data["email"],
                    # A new customer hears from us in the language of the form they filled in.
                    default_language=language_shipped(translation.get_language()),
                    update_contact=False,
                )
                received = customer_actions.case_receive_from_customer(
                    customer=customer,
                    category=data["category"] or Category.OTHER,
                    description=data["description"],
                    desired_outcome=data["desired_outcome"],
                    product=data["product"],
                    order_number=data["order_number"],
                    files=data["files"],
                )
        except CaseError as exc:
            _show_refusal(form, exc)
        else:
            # Redirect after the POST, so that reloading the thank-you page sends nothing again.
            # The link is shown once, from the session; this browser follows the case at once.
            typed = {
                services.email_normalize(data["email"]),
                services.phone_normalize(data["phone"]),
            } - {""}
            request.session[THANKS_SESSION_KEY] = {
                "reference": received.case.reference,
                "link": tracking_url(received.tracking_token),
                # Only if the address typed is the one the acknowledgement goes to.
                "sent_by": acknowledgement_channel(case=received.case, addresses=typed),
            }
            response = redirect_303("complain_thanks")
            _set_tracking_cookie(request, response, received.tracking_token)
            return _customer_page(response)
    status = 400 if request.method == "POST" else 200
    return _customer_page(render(request, "intake/complain.html", {"form": form}, status=status))


THANKS_SESSION_KEY = "complain-thanks"


def redirect_303(name: str) -> HttpResponse:
    response = redirect(name)
    response.status_code = 303
    return response


@require_safe
def complain_thanks(request: HttpRequest) -> HttpResponse:
    """After the public form: the reference, the acknowledgement and the link, shown once."""
    sent = request.session.pop(THANKS_SESSION_KEY, None)
    context = {}
    if sent:
        case = Case.objects.select_related("customer").filter(reference=sent["reference"]).first()
        if case is not None:
            context = {
                "case": case,
                "link": sent["link"],
                "sent_by": sent.get("sent_by", ""),
                **acknowledgement_context(case=case),
            }
    return _no_referrer(_customer_page(render(request, "intake/complain_thanks.html", context)))
