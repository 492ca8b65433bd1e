# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The knowledge base in the REST API: published articles (list, search, filter, one), a case's
suggested articles and a reply template filled in for it; each persona allowed or refused, the
one error format, a message posted with the template's ``source``, and the query counts."""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import Article

from ..api.conftest import V1, case_url, error, queries
from ..factories import receive_case
from .conftest import NOISY_DRUM

pytestmark = pytest.mark.django_db

READERS = ["agent", "handler", "department_head", "quality_manager", "general_manager"]


def template_url(case, article) -> str:
    return case_url(case, f"articles/{article.pk}/template")


@pytest.mark.parametrize("persona", READERS)
def test_every_staff_role_reads_published_articles(api, request, article, draft, case, persona):
    client = api(request.getfixturevalue(persona))

    listed = client.get(f"{V1}/articles/")
    one = client.get(f"{V1}/articles/{article.pk}/")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [article.pk]  # no draft
    assert one.status_code == 200
    body = one.json()
    assert body["title_zh"] == NOISY_DRUM["title_zh"]
    assert body["remedies"] == ["apology", "repair"]
    assert body["remedy_value_max"] == "300.00"
    assert body["authority_tier"] == 0
    assert body["reply_template_en"] == NOISY_DRUM["reply_template_en"]
    assert client.get(case_url(case, "suggestions")).status_code == 200
    assert client.get(template_url(case, article)).status_code == 200


def test_a_draft_is_not_found_even_for_its_editor(api, quality_manager, draft, case):
    client = api(quality_manager)

    error(client.get(f"{V1}/articles/{draft.pk}/"), 404, "not_found")
    error(client.get(template_url(case, draft)), 404, "not_found")


def test_a_user_without_a_role_and_an_anonymous_caller_are_refused(api, outsider, article, case):
    error(api(outsider).get(f"{V1}/articles/"), 403, "permission_denied")
    error(api(outsider).get(case_url(case, "suggestions")), 403, "permission_denied")
    error(api().get(f"{V1}/articles/{article.pk}/"), 401, "not_authenticated")
    error(api().get(template_url(case, article)), 401, "not_authenticated")


def test_articles_are_searched_and_filtered(api, agent, make_article):
    drum = make_article()
    billing = make_article(
        category="price_billing", title_en="Charged twice", title_zh="重复扣款", guidance_en="R."
    )
    client = api(agent)

    def ids(**query):
        response = client.get(f"{V1}/articles/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(q="charged twice") == [billing.pk]
    assert ids(q="扣款") == [billing.pk]
    assert ids(category="product_quality") == [drum.pk]
    assert ids(root_cause="materials", q="drum") == [drum.pk]
    error(client.get(f"{V1}/articles/", {"category": "weather"}), 400, "invalid")
    error(client.get(f"{V1}/articles/", {"q": "x" * 201}), 400, "invalid")


def test_the_suggestions_are_the_case_pages(api, agent, article, make_article, case):
    make_article(category="safety", title_en="Burns")

    response = api(agent).get(case_url(case, "suggestions"))

    assert response.status_code == 200
    rows = response.json()
    assert [row["article"]["id"] for row in rows] == [article.pk]
    assert rows[0]["authority_tier"] == 0
    assert rows[0]["has_reply_template"] is True
    assert isinstance(rows[0]["score"], float)


def test_the_template_is_filled_in_for_the_case_in_the_language_asked(api, agent, article, case):
    response = api(agent).get(template_url(case, article), {"language": "zh-hans"})

    assert response.status_code == 200
    body = response.json()
    assert body["article"] == article.pk
    assert body["version"] == 2
    assert body["language"] == "zh-hans"
    assert body["text"].startswith(f"{case.customer.name}，您好！")
    assert body["missing"] == []
    assert body["source"] == f"knowledge:{article.pk}:2"
    error(api(agent).get(template_url(case, article), {"language": "fr"}), 400, "invalid")


def test_a_case_the_caller_may_not_see_is_not_found(api, agent, article):
    error(api(agent).get(case_url("C000000-00000", "suggestions")), 404, "not_found")
    error(
        api(agent).get(f"{V1}/cases/C000000-00000/articles/{article.pk}/template/"),
        404,
        "not_found",
    )


def test_a_message_posted_with_the_templates_source_names_the_article(api, agent, article, case):
    client = api(agent)
    filled = client.get(template_url(case, article)).json()

    response = client.post(
        case_url(case, "messages"),
        {"body": filled["text"], "customer_visible": True, "source": filled["source"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["changes"] == {"source": [None, filled["source"]]}
    bad = client.post(
        case_url(case, "messages"), {"body": "Hi", "source": "not a source"}, format="json"
    )
    error(bad, 400, "invalid")
    assert case.events.filter(kind="message").count() == 1


@pytest.mark.parametrize("address", ["articles", "suggestions"])
def test_list_endpoints_query_count_does_not_grow_with_the_articles(
    api, agent, make_article, case, address
):
    client = api(agent)
    make_article()
    path = f"{V1}/articles/?q=drum" if address == "articles" else case_url(case, "suggestions")
    queries(client, path)
    few = queries(client, path)
    for i in range(30):
        make_article(title_en=f"Drum {i}", remedy_value_max=str(i * 700))

    assert queries(client, path) == few


def test_a_retired_article_leaves_the_api(api, agent, article, quality_manager):
    services.article_set_status(
        article=article, by=quality_manager, status=Article.Status.RETIRED, expected_version=2
    )

    error(api(agent).get(f"{V1}/articles/{article.pk}/"), 404, "not_found")
    case = receive_case(by=agent)
    assert api(agent).get(case_url(case, "suggestions")).json() == []
