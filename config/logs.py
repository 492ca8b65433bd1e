"""Logging: what the console shows, and how.

In production (``LOG_FORMAT=json``, the default with DEBUG off) each line is a JSON object —
time, level, logger, message, and the ``request_id`` of the request or task it belongs to
(``config.request_id``) — for a log collector; in development, plain lines.

A refusal Heed means to give (403, 404, 409 … raised as ``PermissionDenied`` or ``Http404``) is
logged by Django with its traceback, as if it were a fault: dozens of lines for "an agent opened
a case of another department". ``ExpectedRefusals`` keeps the one line that says so and drops
the traceback for every 4xx; a 5xx keeps it."""

from __future__ import annotations

import logging


class ExpectedRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name == "django.request" and status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class RequestIdFilter(logging.Filter):
    """Puts the current request's (or task's) id on the record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .request_id import current

        record.request_id = current.get()
        return True
