"""The customer's tracking link (the page: ``intake.views.tracking_page``)."""

from django.conf import settings


def tracking_url(token: str) -> str:
    return f"{settings.SITE_URL}/t/{token}"
