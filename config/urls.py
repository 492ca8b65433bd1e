"""Heed's URLs."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache

from intake import views as intake_views
from intake.urls import tracking_urlpatterns


@never_cache
def healthz(request):
    """For load balancers and compose health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /\n", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("robots.txt", robots),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("intake/", include("intake.urls")),
    path("escalations/", include("escalation.urls")),
    path("t/", include(tracking_urlpatterns)),
    path("complain/", intake_views.complain, name="complain"),
    path("complain/thanks/", intake_views.complain_thanks, name="complain_thanks"),
    path("", include("complaints.urls")),
]

if settings.ANYMAIL["WEBHOOK_SECRET"]:
    urlpatterns.append(path("anymail/", include("anymail.urls")))
