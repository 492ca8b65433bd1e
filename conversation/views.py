"""The SMS providers' inbound webhooks: ``/sms/<provider>/inbound/``. Only the provider that
``SMS_URL`` configures is open, and every call is authenticated with its secret
(``conversation.sms.inbound_parse``): Twilio's signature, Tencent's callback token."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .inbound import sms_receive
from .sms import InboundRefused, inbound_parse


@csrf_exempt  # the provider calls it; its signature or token authenticates the call
@require_POST
def sms_inbound(request: HttpRequest, provider: str) -> HttpResponse:
    if not settings.SMS_URL:
        raise Http404("No SMS provider is set up.")
    try:
        messages = inbound_parse(provider, request)
    except InboundRefused as exc:
        return HttpResponse(str(exc), status=exc.status, content_type="text/plain")
    for sms in messages:
        sms_receive(sms=sms, provider=provider)
    if provider == "tencent":
        return JsonResponse({"result": 0, "errmsg": "OK"})  # what Tencent's callback expects
    # Twilio: an empty TwiML answer (no reply message).
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
    )
