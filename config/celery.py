"""The Celery app. The broker is Redis when REDIS_URL is set, else kombu's filesystem transport."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("heed")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id carried into tasks and their log lines (signals connected on import).
from config import request_id  # noqa: E402, F401
