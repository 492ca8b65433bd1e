"""The test suite's settings: config.settings as the environment gives it, with what only tests
need. pytest-django loads this module (pyproject.toml); processes the tests start (the Celery
worker, manage.py) use config.settings itself."""

import os
import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import CACHES, STORAGES

# Uploads go to a directory of this test process's own.
ATTACHMENTS_ROOT = Path(tempfile.mkdtemp(prefix="heed-test-attachments-"))
STORAGES["attachments"]["OPTIONS"]["location"] = str(ATTACHMENTS_ROOT)

# Tasks queued by tests (after commit) go nowhere: never into the developer's or CI's broker,
# where a running worker would act on ids from the test database. The worker tests start real
# workers outside pytest, on keys of their own (tests/workers.py).
CELERY_BROKER_URL = "memory://"

# Each test process (pytest-xdist runs several) counts its rate limits under keys of its own,
# so that one process's counts and clearing (tests/caches.py) never reach another's.
CACHES["default"]["KEY_PREFIX"] = f"heed-test-{os.getpid()}"

# Text messages are kept in conversation.sms.outbox, as emails are in mail.outbox.
SMS_URL = "locmem://"

# The fast password hasher. Django's test set-up swaps every mailer for the in-memory one.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
