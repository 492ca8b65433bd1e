"""Settings of a Celery worker started by a test (tests/workers.py): config.settings as the
environment gives it, with every Redis key (broker and cache) under the test's own prefix when
it shares a Redis (HEED_TEST_KEY_PREFIX; none on a Redis of the test's own)."""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES

_prefix = os.environ.get("HEED_TEST_KEY_PREFIX", "")
if _prefix:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": _prefix}
    CACHES["default"]["KEY_PREFIX"] = _prefix.rstrip(":")
