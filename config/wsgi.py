"""WSGI entry point (gunicorn config.wsgi). Before it serves, the checks of what a web process
must have at hand (``complaints.attachments``: a writable attachments folder) run, and a failed
one stops the start with its message instead of losing customers' files later."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _start_checks() -> None:
    from django.core import checks
    from django.core.management.base import SystemCheckError

    from complaints.attachments import CHECK_TAG

    errors = [m for m in checks.run_checks(tags=[CHECK_TAG]) if m.is_serious()]
    if errors:
        raise SystemCheckError("\n".join(str(error) for error in errors))


_start_checks()
