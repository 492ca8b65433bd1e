"""Settings of a Celery worker started by a test (tests/workers.py): config.settings as the
environment gives it, with every Redis key (broker and cache) under the test's own prefix."""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES

_prefix = os.environ["HEED_TEST_KEY_PREFIX"]
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": _prefix}
CACHES["default"]["KEY_PREFIX"] = _prefix.rstrip(":")
