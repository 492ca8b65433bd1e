"""Outside services made to fail for real, for the tests of what Heed does when they are down:
a mail server that refuses connections, a broker nothing listens on."""

import socket
from contextlib import contextmanager

from config.celery import app


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refusing_mailers() -> dict:
    """MAILERS whose default mailer is SMTP to a local port that refuses connections."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }


def _forget_broker_connections() -> None:
    # Celery makes its connection pool once, for the broker configured at the first publish.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_unreachable():
    """Context: Celery publishes to a Redis URL nothing listens on; its publish retry policy
    (CELERY_TASK_PUBLISH_RETRY_POLICY) gives up within about a second."""
    saved = {name: app.conf[name] for name in ("broker_url", "broker_connection_timeout")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_connection_timeout=1)
    _forget_broker_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        _forget_broker_connections()
