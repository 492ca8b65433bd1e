# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The knowledge base's cast: the shared personas (tests/conftest.py), articles written and
published through the services by the quality manager, and cases that went well."""

from __future__ import annotations

import pytest
from django.db import connection

from complaints import services as case_services
from complaints.models import Case, Step
from complaints.roles import Role
from knowledge import services
from knowledge.models import Article

# The API tests' cache clearing, for test_api.py.
from ..api.conftest import _cache_cleared  # noqa: F401
from ..databases import postgresql_only
from ..factories import receive_case, staff, walk

# An article as a quality manager writes it: both languages, a template with placeholders.
NOISY_DRUM = {
    "category": "product_quality",
    "root_cause": "materials",
    "title_en": "Noisy washing machine drum",
    "title_zh": "洗衣机滚筒噪音大",
    "guidance_en": "Apologise, then book an engineer to replace the bearing within two days.",
    "guidance_zh": "先致歉，再安排工程师两天内更换轴承。",
    "checks_en": "The bearing batch and the purchase date.",
    "checks_zh": "轴承批次和购买日期。",
    "remedies": ["apology", "repair"],
    "remedy_value_max": "300",
    "reply_template_en": "Dear {customer_name}, about {reference}: we repair it by "
    "{next_due_date}. {agent_name}",
    "reply_template_zh": "{customer_name}，您好！关于 {reference}：我们将在 {next_due_date} "
    "之前维修。{agent_name}",
}

pg_only = postgresql_only("full-text search")


def sqlite_only(test):
    """A test of the SQLite fallback: marked ``sqlite`` (CI runs those apart, on SQLite) and
    skipped on PostgreSQL."""
    skipped = pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="the SQLite fallback (run without DATABASE_URL; CI runs it apart, -m sqlite)",
    )
    return pytest.mark.sqlite(skipped(test))


@pytest.fixture
def administrator(db):
    """An administrator: writes the knowledge base, as the quality manager does."""
    return staff(Role.ADMINISTRATOR, username="administrator")


@pytest.fixture
def make_article(quality_manager):
    """``make_article(**content)``: an article by the quality manager, published unless
    ``publish=False``; content from NOISY_DRUM unless given."""

    def make(*, publish: bool = True, **overrides) -> Article:
        article = services.article_create(by=quality_manager, data={**NOISY_DRUM, **overrides})
        if publish:
            services.article_set_status(
                article=article,
                by=quality_manager,
                status=Article.Status.PUBLISHED,
                expected_version=article.version,
            )
        article.refresh_from_db()
        return article

    return make


@pytest.fixture
def article(make_article) -> Article:
    """The published noisy-drum article (version 2: created, published)."""
    return make_article()


@pytest.fixture
def draft(make_article) -> Article:
    return make_article(publish=False, title_en="Drum noise (draft)", title_zh="")


@pytest.fixture
def closed_case(agent, handler, after_sales) -> Case:
    """A case worked to closed with the customer satisfied (rating 5), after a message to
    Li Na that names her, the reference and the order number."""
    case = receive_case(by=agent, order_number="SO-7781")
    case.customer.name = "Li Na"
    case.customer.save()
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    case_services.case_add_note(
        case=case,
        by=agent,
        body=f"Dear Li Na, the engineer repaired your machine (order SO-7781, case "
        f"{case.reference}). Thank you {{for}} your patience.",
        customer_visible=True,
    )
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    return case
