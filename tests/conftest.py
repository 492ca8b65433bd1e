"""Shared personas (healthchecks' hc/test.py style): every view and service gets its allowed and
its refused test against the same cast."""

import os

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from api.tokens import api_token_issue
from complaints.roles import Role

from .factories import DepartmentFactory, receive_case, roles_restore, staff
from .outages import broker_unreachable


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """A test database of this process's own (test_heed_<pid>) on a shared PostgreSQL server, so
    that two runs at once (CI and a developer, two developers), and the processes of a
    parallel run (each its own pid), never drop each other's. (pytest-django's own suffix,
    test_heed_gw0, is the same in two parallel runs at once.)"""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _seeded_data_restored(request, django_db_blocker):
    """A transactional test (journeys, concurrency, the Celery worker) ends with a flush that
    deletes what the migrations seed: the roles, the time-limit policies, the authority limits,
    the sweep's, the webhook retry job's, the early warning's and the outbox's schedules, the
    notices' texts. Each test that uses
    the database finds them back first."""
    uses_db = request.node.get_closest_marker("django_db") is not None or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if uses_db:
        from conversation.defaults import jobs_seed as conversation_jobs_seed
        from conversation.defaults import templates_seed
        from conversation.models import NoticeTemplate
        from escalation.defaults import defaults_seed, editors_grant
        from escalation.models import AuthorityLimit, Policy, ScheduledJob
        from reporting.defaults import jobs_seed as reporting_jobs_seed
        from webhooks.defaults import jobs_seed

        request.getfixturevalue("django_db_setup")  # the test database, never the real one
        with django_db_blocker.unblock():
            if not Policy.objects.filter(is_default=True).exists():
                roles_restore()
                defaults_seed(
                    policy_model=Policy, limit_model=AuthorityLimit, job_model=ScheduledJob
                )
                editors_grant(group_model=Group, permission_model=Permission)
                jobs_seed(job_model=ScheduledJob)
                reporting_jobs_seed(job_model=ScheduledJob)
                conversation_jobs_seed(job_model=ScheduledJob)
                templates_seed(template_model=NoticeTemplate)
    yield


@pytest.fixture(autouse=True)
def _language_restored():
    """A request in another language (LocaleMiddleware) leaves that language active in the
    thread; the next test starts in the default one, whatever ran before it."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def broker_down():
    """The Celery broker is down for this test (tests/outages.py)."""
    with broker_unreachable():
        yield


@pytest.fixture
def after_sales(db):
    return DepartmentFactory(name="After-sales", code="after-sales")


@pytest.fixture
def logistics(db):
    return DepartmentFactory(name="Logistics", code="logistics")


@pytest.fixture
def agent(db, after_sales):
    """An agent who receives complaints (and owns the cases they log)."""
    return staff(Role.AGENT, username="agent")


@pytest.fixture
def other_agent(db):
    return staff(Role.AGENT, username="other_agent")


@pytest.fixture
def handler(db, after_sales):
    return staff(Role.HANDLER, after_sales, username="handler")


@pytest.fixture
def department_head(db, after_sales):
    """The head of the department responsible for the case."""
    return staff(Role.DEPARTMENT_HEAD, after_sales, username="head")


@pytest.fixture
def foreign_handler(db, logistics):
    """A handler of another department: may read cases, not work them."""
    return staff(Role.HANDLER, logistics, username="foreign_handler")


@pytest.fixture
def quality_manager(db):
    return staff(Role.QUALITY_MANAGER, username="quality")


@pytest.fixture
def general_manager(db):
    return staff(Role.GENERAL_MANAGER, username="gm")


@pytest.fixture
def outsider(db):
    """A user with no role at all: sees nothing."""
    return staff(None, username="outsider")


@pytest.fixture
def case(agent):
    """A case the agent has just logged (step: receive)."""
    return receive_case(by=agent)


@pytest.fixture
def api(db):
    """``api(persona)``: a client of the API that sends ``Authorization: Bearer <token>`` with a
    token issued to the persona, as an integration does; ``api()``: an anonymous one (the
    customer's tracking JSON)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _row, token = api_token_issue(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make
