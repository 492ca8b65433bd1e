"""The customer's tracking link. The tracking page itself is built by the customer-side work."""

from django.conf import settings


def tracking_url(token: str) -> str:
    return f"{settings.SITE_URL}/t/{token}"
