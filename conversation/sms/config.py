"""Reading ``SMS_URL`` into a backend: the scheme names the backend module, the rest of the URL
its options. Each provider's module parses its own part (``from_url``); this module owns the
scheme table, the shared URL helpers and the cache of the backend for the current setting."""

import ipaddress
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import SmsBackend

# Imported on first use: a console or locmem deployment never loads the provider libraries.
BACKENDS = {
    "console": "conversation.sms.console.ConsoleBackend",
    "locmem": "conversation.sms.locmem.LocmemBackend",
    "file": "conversation.sms.filebased.FileBackend",
    "twilio": "conversation.sms.twilio.TwilioBackend",
    "tencent": "conversation.sms.tencent.TencentBackend",
}


def sms_backend() -> SmsBackend:
    """The backend for the current ``settings.SMS_URL``, read again whenever the setting changes
    (tests override it), built once per value."""
    return backend_for(getattr(settings, "SMS_URL", "console://"))


@lru_cache(maxsize=8)
def backend_for(url: str) -> SmsBackend:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS:
        # Never repeat the URL itself: it holds the provider's secrets.
        raise ImproperlyConfigured(
            f"SMS_URL's scheme {scheme + '://' if scheme else '(none)'} is not one of "
            f"{', '.join(s + '://' for s in BACKENDS)}"
        )
    return import_string(BACKENDS[scheme]).from_url(parts)


def url_query(parts: SplitResult) -> dict[str, str]:
    """The URL's query as a dict. A literal "+" stays a plus (``from=+15005550006`` means what it
    says), unlike HTML forms' rules where it would be a space; %2B works too."""
    query: dict[str, str] = {}
    for pair in parts.query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            query[unquote(name)] = unquote(value)
    return query


def url_credentials(parts: SplitResult, scheme: str, names: str) -> tuple[str, str]:
    """The user:password part of the URL, percent-decoded; both are required."""
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not user or not password:
        raise ImproperlyConfigured(f"SMS_URL {scheme}:// needs {names} before the host")
    return user, password


def url_api_base(parts: SplitResult, scheme: str) -> str:
    """scheme://host[:port] of the provider's API. HTTPS always, except on the loopback
    interface: the tests run a plain-HTTP stand-in for the provider there, and a request that
    never leaves the machine needs no TLS."""
    host = parts.hostname
    if not host:
        raise ImproperlyConfigured(f"SMS_URL {scheme}:// needs the API's host after the @")
    try:
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise ImproperlyConfigured(f"SMS_URL {scheme}:// has an invalid port") from exc
    netloc = parts.netloc.rpartition("@")[2]
    return f"{'http' if is_loopback(host) else 'https'}://{netloc}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
