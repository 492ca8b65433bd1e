"""Heed's URLs."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from django.views import defaults

from api import errors as api_errors
from config import health, metrics
from intake import views as intake_views
from intake.urls import tracking_urlpatterns


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("robots.txt", robots),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("account/api-tokens/", include("api.pages")),
    path("intake/", include("intake.urls")),
    path("escalations/", include("escalation.urls")),
    path("actions/", include("improvement.urls")),
    path("reports/", include("reporting.urls")),
    path("knowledge/", include("knowledge.urls")),
    path("t/", include(tracking_urlpatterns)),
    # Text messages from customers, through the SMS provider's webhook (conversation.inbound).
    path("sms/", include("conversation.urls")),
    path("complain/", intake_views.complain, name="complain"),
    path("complain/thanks/", intake_views.complain_thanks, name="complain_thanks"),
    path("", include("complaints.urls")),
]


# Errors outside a view's own handling: the API answers in its format, the pages with HTML.
def _api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _api(request):
        return api_errors.api_bad_request(request, exception)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _api(request):
        return api_errors.api_permission_denied(request, exception)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if _api(request):
        return api_errors.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api(request):
        return api_errors.api_server_error(request)
    return defaults.server_error(request)


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error

if settings.ANYMAIL["WEBHOOK_SECRET"]:
    urlpatterns.append(path("anymail/", include("anymail.urls")))
