# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""The knowledge base's pages over HTTP: who may open and do what (each persona, each view), the
editor's refusals (stale version, bad placeholders) that keep what was typed and write nothing,
the history and a version's changes, a template filled in for a case, turning a case into a
draft, the case page's panel, the message that names its article, and the query counts."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services as case_services
from complaints.models import CaseEvent, Step
from knowledge import selectors, services
from knowledge.forms import ArticleForm
from knowledge.models import Article

from ..databases import postgresql_only
from ..factories import CustomerFactory, receive_case, walk
from .conftest import NOISY_DRUM

pytestmark = pytest.mark.django_db

READERS = ["agent", "handler", "department_head", "quality_manager", "general_manager"]


def url(name: str, *args) -> str:
    return reverse(f"knowledge:{name}", args=args)


def case_url(case) -> str:
    return reverse("complaints:case_detail", args=[case.reference])


def text(response) -> str:
    """What the page says, without its tags, spaces collapsed."""
    visible = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", unescape(visible)).replace(" .", ".").replace(" :", ":")


def html(response) -> str:
    return response.content.decode()


def form_post(article: Article | None = None, **overrides) -> dict:
    """What the browser sends from the editor as it was rendered, with the user's changes."""
    form = ArticleForm(instance=article) if article else ArticleForm(initial=NOISY_DRUM)
    data: dict = {}
    for field in form:
        value = field.value()
        if value in (None, "", []):
            continue
        data[field.name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    data.update(overrides)
    return data


def query_count(client, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200, response.status_code
    return len(queries)


# ---------------------------------------------------------------- who may open what


@pytest.mark.parametrize("persona", READERS)
def test_every_staff_role_reads_published_articles(client, request, article, persona):
    client.force_login(request.getfixturevalue(persona))

    for address in (
        url("article_list"),
        url("article_detail", article.pk),
        url("article_history", article.pk),
        url("article_version", article.pk, 2),
    ):
        assert client.get(address).status_code == 200, address
    assert NOISY_DRUM["title_en"] in text(client.get(url("article_list")))


def test_a_user_without_a_role_reads_nothing(client, outsider, article):
    client.force_login(outsider)

    assert client.get(url("article_list")).status_code == 403
    assert client.get(url("article_detail", article.pk)).status_code == 404
    assert "nav-knowledge" not in client.get("/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client, article):
    response = client.get(url("article_detail", article.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "general_manager"])
def test_drafts_are_for_the_editors_eyes_only(client, request, draft, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url("article_detail", draft.pk)).status_code == 404
    assert client.get(url("article_history", draft.pk)).status_code == 404
    assert "Drum noise (draft)" not in text(client.get(url("article_list")))


def test_the_quality_manager_sees_drafts_and_filters_by_status(client, quality_manager, draft):
    client.force_login(quality_manager)

    assert client.get(url("article_detail", draft.pk)).status_code == 200
    page = text(client.get(url("article_list"), {"status": "draft"}))
    assert "Drum noise (draft)" in page


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "general_manager"])
def test_only_editors_may_open_the_editor_or_change_an_article(client, request, article, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url("article_create")).status_code == 403
    assert client.post(url("article_create"), form_post()).status_code == 403
    assert client.get(url("article_edit", article.pk)).status_code == 403
    assert client.post(url("article_edit", article.pk), form_post(article)).status_code == 403
    assert (
        client.post(url("article_status", article.pk), {"status": "retired", "version": 2})
    ).status_code == 403
    assert client.post(url("article_restore", article.pk, 1), {"version": 2}).status_code == 403
    article.refresh_from_db()
    assert (article.version, article.status) == (2, "published")
    assert Article.objects.count() == 1
    assert "edit-article" not in client.get(url("article_detail", article.pk)).content.decode()


def test_state_changes_are_post_only(client, quality_manager, article, closed_case):
    client.force_login(quality_manager)

    assert client.get(url("article_status", article.pk)).status_code == 405
    assert client.get(url("article_restore", article.pk, 1)).status_code == 405
    assert client.get(url("draft_from_case", closed_case.reference)).status_code == 405


# ---------------------------------------------------------------- the editor


def test_the_quality_manager_writes_an_article_and_publishes_it(client, quality_manager):
    client.force_login(quality_manager)

    response = client.post(url("article_create"), form_post(note="From the training binder"))

    article = Article.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("article_detail", article.pk)
    assert article.status == "draft"
    assert article.reply_template_zh == NOISY_DRUM["reply_template_zh"]
    assert article.versions.get().note == "From the training binder"

    client.post(url("article_status", article.pk), {"status": "published", "version": 1})

    article.refresh_from_db()
    assert article.status == "published"
    page = text(client.get(url("article_detail", article.pk)))
    assert "Published: agents see it" in page


def test_an_unknown_placeholder_is_shown_on_its_field_and_nothing_is_saved(
    client, quality_manager, article
):
    client.force_login(quality_manager)
    typed = "Dear {customer}, see {tracking_link}"

    response = client.post(
        url("article_edit", article.pk), form_post(article, reply_template_en=typed)
    )

    assert response.status_code == 400
    page = text(response)
    assert "Unknown placeholder: {customer}, {tracking_link}." in page
    assert typed in page  # what the editor typed is still there
    article.refresh_from_db()
    assert article.version == 2
    assert article.reply_template_en == NOISY_DRUM["reply_template_en"]


def test_saving_over_someone_elses_newer_version_is_refused_keeping_what_was_typed(
    client, quality_manager, article
):
    client.force_login(quality_manager)
    opened = form_post(article)  # the editor opens version 2
    services.article_update(
        article=article, by=quality_manager, data={"checks_en": "Theirs."}, expected_version=2
    )

    response = client.post(url("article_edit", article.pk), {**opened, "title_en": "Mine"})

    assert response.status_code == 409
    assert "Someone else changed this article while you were editing it." in text(response)
    page = html(response)
    assert 'value="Mine"' in page
    assert url("article_version", article.pk, 3) in page  # what they changed
    assert 'name="version" value="3"' in page  # saving again is a knowing choice
    article.refresh_from_db()
    assert (article.version, article.title_en, article.checks_en) == (
        3,
        NOISY_DRUM["title_en"],
        "Theirs.",
    )

    client.post(url("article_edit", article.pk), {**opened, "title_en": "Mine", "version": "3"})
    article.refresh_from_db()
    assert (article.version, article.title_en) == (4, "Mine")


def test_an_edit_without_its_version_is_refused(client, quality_manager, article):
    client.force_login(quality_manager)
    data = form_post(article, title_en="Mine")
    del data["version"]

    assert client.post(url("article_edit", article.pk), data).status_code == 400
    article.refresh_from_db()
    assert article.version == 2


def test_the_history_lists_every_version_and_a_version_shows_what_it_changed(
    client, quality_manager, article
):
    services.article_update(
        article=article,
        by=quality_manager,
        data={"guidance_en": "Apologise, then replace the bearing the same day."},
        expected_version=2,
        note="Same day now",
    )
    client.force_login(quality_manager)

    history = client.get(url("article_history", article.pk))
    assert html(history).count('data-testid="version-row"') == 3
    assert "Same day now" in text(history)
    page = client.get(url("article_version", article.pk, 3)).content.decode()
    assert (
        "Apologise, then<del> book an engineer to</del> replace the bearing <del>within</del>"
        "<ins>the</ins> <del>two</del><ins>same</ins> <del>days</del><ins>day</ins>."
    ) in page
    assert 'data-testid="change-title_en"' not in page  # unchanged fields are not listed
    assert 'data-testid="restore-version"' not in page  # the current one


@pytest.fixture
def published_after_drafts(quality_manager, make_article):
    """An article whose drafts held what its published version does not (the customer's
    name and what they were told, as a draft from a case does): v1 created and v2 edited as
    drafts, v3 published."""
    article = make_article(
        publish=False, reply_template_en="Dear Li Na, your refund of 300 is on its way."
    )
    services.article_update(
        article=article,
        by=quality_manager,
        data={"reply_template_en": "Dear {customer_name}, your refund is on its way."},
        expected_version=1,
    )
    services.article_set_status(
        article=article, by=quality_manager, status="published", expected_version=2
    )
    article.refresh_from_db()
    assert [(v.number, v.status) for v in article.versions.order_by("number")] == [
        (1, "draft"),
        (2, "draft"),
        (3, "published"),
    ]
    return article


def version_rows(response) -> list[str]:
    """The version numbers the history page lists, newest first."""
    return re.findall(r'data-testid="version-row" data-number="(\d+)"', html(response))


@pytest.mark.parametrize("persona", ["agent", "handler", "department_head", "general_manager"])
def test_readers_who_do_not_edit_see_only_the_versions_that_were_published(
    client, request, published_after_drafts, persona
):
    article = published_after_drafts
    client.force_login(request.getfixturevalue(persona))

    history = client.get(url("article_history", article.pk))
    published = client.get(url("article_version", article.pk, 3))

    assert version_rows(history) == ["3"]
    for number in (1, 2):
        assert client.get(url("article_version", article.pk, number)).status_code == 404
    # Its changes are shown from nothing: not from the draft before it.
    assert published.status_code == 200
    assert "Li Na" not in html(published)
    assert "The first version" in text(published)


@pytest.mark.parametrize("persona", ["quality_manager", "administrator"])
def test_editors_see_every_version_with_its_drafts(
    client, request, published_after_drafts, persona
):
    article = published_after_drafts
    client.force_login(request.getfixturevalue(persona))

    history = client.get(url("article_history", article.pk))
    first = client.get(url("article_version", article.pk, 1))
    published = client.get(url("article_version", article.pk, 3))

    assert version_rows(history) == ["3", "2", "1"]
    assert "Li Na" in html(first)
    assert "What changed since version 2" in text(published)


def test_the_history_and_a_version_read_in_a_fixed_number_of_queries(
    client, agent, quality_manager, article
):
    client.force_login(agent)
    few = query_count(client, url("article_history", article.pk))
    for number in range(2, 12):
        services.article_update(
            article=article,
            by=quality_manager,
            data={"checks_en": f"Check {number}."},
            expected_version=number,
        )

    assert query_count(client, url("article_history", article.pk)) == few


def test_restoring_a_version_from_its_page(client, quality_manager, article):
    services.article_update(
        article=article, by=quality_manager, data={"title_en": "Oops"}, expected_version=2
    )
    client.force_login(quality_manager)
    assert (
        'data-testid="restore-version"'
        in client.get(url("article_version", article.pk, 2)).content.decode()
    )

    response = client.post(url("article_restore", article.pk, 2), {"version": 3})

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.version, article.title_en) == (4, NOISY_DRUM["title_en"])


def test_a_stale_status_change_is_refused_with_a_message(client, quality_manager, article):
    client.force_login(quality_manager)

    response = client.post(
        url("article_status", article.pk), {"status": "retired", "version": 1}, follow=True
    )

    assert "Someone else changed this article" in text(response)
    article.refresh_from_db()
    assert article.status == "published"


def test_a_reader_in_chinese_reads_the_chinese_text_and_is_told_of_a_fallback(
    client, agent, make_article
):
    article = make_article(checks_zh="")
    client.force_login(agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    page = text(client.get(url("article_detail", article.pk)))

    assert "洗衣机滚筒噪音大" in page
    assert NOISY_DRUM["guidance_zh"] in page
    assert NOISY_DRUM["checks_en"] in page  # no Chinese yet
    assert "知识库" in page


# ---------------------------------------------------------------- filled in for a case


def test_the_template_is_filled_in_for_the_case_as_json_for_the_insert_button(
    client, agent, article, case
):
    client.force_login(agent)

    response = client.get(
        url("article_fill", article.pk, case.reference),
        {"language": "zh-hans"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert "Accept" in response["Vary"]
    body = response.json()
    assert body["language"] == "zh-hans"
    assert body["text"].startswith(f"{case.customer.name}，您好！关于 {case.reference}：")
    assert "{" not in body["text"]
    assert body["source"] == f"knowledge:{article.pk}:2"
    assert body["missing"] == []
    assert NOISY_DRUM["title_en"] in body["notice"]


def test_without_script_the_filled_in_text_is_a_page_to_copy_from(client, agent, article, case):
    client.force_login(agent)

    page = client.get(url("article_fill", article.pk, case.reference))

    assert f"Dear {case.customer.name}, about {case.reference}:" in text(page)
    assert 'data-testid="filled-text"' in html(page)


def test_a_template_without_a_value_for_a_placeholder_says_what_to_complete(
    client, agent, make_article, case
):
    article = make_article(reply_template_en="Order {order_number}, {remedies}.")
    case_services.case_update(case=case, by=agent, data={"order_number": ""})
    client.force_login(agent)

    body = client.get(
        url("article_fill", article.pk, case.reference), headers={"Accept": "application/json"}
    ).json()

    assert body["text"] == "Order {order_number}, {remedies}."
    assert body["missing"] == ["order_number", "remedies"]
    assert "the order number, the remedies decided" in body["notice"]


def test_filling_needs_a_case_and_an_article_the_user_may_see(
    client, agent, outsider, article, draft, case, make_article
):
    client.force_login(outsider)
    assert client.get(url("article_fill", article.pk, case.reference)).status_code == 404
    client.force_login(agent)
    assert client.get(url("article_fill", draft.pk, case.reference)).status_code == 404
    assert client.get(url("article_fill", article.pk, "C000000-00000")).status_code == 404
    silent = make_article(reply_template_en="", reply_template_zh="")
    assert client.get(url("article_fill", silent.pk, case.reference)).status_code == 404


def test_the_template_language_defaults_to_the_customers(client, agent, article):
    customer = CustomerFactory(language="zh-hans")
    chinese = receive_case(by=agent, customer=customer, description="The drum is loud.")
    client.force_login(agent)

    body = client.get(
        url("article_fill", article.pk, chinese.reference), headers={"Accept": "application/json"}
    ).json()

    assert body["language"] == "zh-hans"


# ---------------------------------------------------------------- the case page


def test_the_case_page_suggests_the_article_with_a_button_to_insert_its_reply(
    client, agent, article, case
):
    client.force_login(agent)

    page = client.get(case_url(case)).content.decode()

    panel = page[page.index('data-testid="knowledge-panel"') :]
    assert f'data-article="{article.pk}"' in panel
    assert NOISY_DRUM["title_en"] in panel
    assert "within a handler's authority (up to 500.00)" in panel
    assert url("article_fill", article.pk, case.reference) in panel
    assert "knowledge/insert.js" in panel
    assert '<option value="en" selected>' in panel
    assert 'name="source"' in page  # the message form's hidden field


def test_who_may_read_the_case_but_not_work_it_sees_suggestions_without_insert(
    client, foreign_handler, article, case
):
    client.force_login(foreign_handler)

    page = client.get(case_url(case)).content.decode()

    assert f'data-article="{article.pk}"' in page
    assert 'data-testid="insert-template"' not in page


def test_a_case_page_without_articles_says_so(client, agent, case):
    client.force_login(agent)

    assert 'data-testid="no-suggestions"' in client.get(case_url(case)).content.decode()


def test_the_case_page_query_count_does_not_grow_with_the_articles(
    client, agent, case, make_article
):
    make_article()
    client.force_login(agent)
    client.get(case_url(case))
    few = query_count(client, case_url(case))
    for i in range(25):
        make_article(title_en=f"Drum article {i}", remedy_value_max=str(100 * i))

    assert query_count(client, case_url(case)) == few


def test_a_closed_case_that_went_well_offers_the_quality_manager_a_draft(
    client, quality_manager, agent, closed_case
):
    client.force_login(agent)
    assert 'data-testid="knowledge-panel"' not in client.get(case_url(closed_case)).content.decode()
    client.force_login(quality_manager)
    assert 'data-testid="draft-from-case"' in client.get(case_url(closed_case)).content.decode()

    response = client.post(url("draft_from_case", closed_case.reference))

    article = Article.objects.get(source_case=closed_case)
    assert response["Location"] == url("article_edit", article.pk)
    page = text(client.get(case_url(closed_case)))
    assert "This case was turned into an article:" in page
    assert 'data-testid="draft-from-case"' not in page
    again = client.post(url("draft_from_case", closed_case.reference), follow=True)
    assert "was turned into an article already" in text(again)
    assert again.redirect_chain[-1][0] == url("article_detail", article.pk)
    assert Article.objects.count() == 1


def test_a_case_that_is_not_closed_cannot_be_drafted(client, quality_manager, case):
    client.force_login(quality_manager)

    response = client.post(url("draft_from_case", case.reference), follow=True)

    assert "Only a closed case whose customer was satisfied" in text(response)
    assert not Article.objects.exists()


@pytest.mark.parametrize("persona", ["agent", "handler", "general_manager"])
def test_only_the_quality_manager_drafts_from_a_case(client, request, closed_case, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(url("draft_from_case", closed_case.reference)).status_code == 403
    assert not Article.objects.exists()


def test_a_published_article_drafted_from_a_case_is_linked_for_everyone(
    client, agent, quality_manager, closed_case
):
    article = services.article_draft_from_case(case=closed_case, by=quality_manager).article
    client.force_login(agent)
    assert 'data-testid="drafted-article"' not in client.get(case_url(closed_case)).content.decode()

    services.article_set_status(
        article=article, by=quality_manager, status="published", expected_version=1
    )

    assert 'data-testid="drafted-article"' in client.get(case_url(closed_case)).content.decode()


# ---------------------------------------------------------------- the message names its article


def test_a_message_sent_from_a_template_names_the_article_on_the_timeline(
    client, agent, article, case
):
    client.force_login(agent)
    source = f"knowledge:{article.pk}:2"

    response = client.post(
        reverse("complaints:case_note", args=[case.reference]),
        {"body": "Dear Li, edited by me.", "customer_visible": "on", "source": source},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    event = case.events.get(kind=CaseEvent.Kind.MESSAGE)
    assert event.changes == {"source": [None, source]}
    assert event.note == "Dear Li, edited by me."
    assert f"written from: the knowledge base's article {article.pk}, version 2" in text(response)
    page = text(client.get(url("article_detail", article.pk)))
    assert "Its reply template was used once." in page


@postgresql_only("the index is made on PostgreSQL only (knowledge's 0003)")
@pytest.mark.pg
def test_on_postgresql_an_articles_use_count_reads_its_index_not_the_event_table(
    agent, article, make_article, case
):
    # Not another article's messages (the prefix ends with its colon), nor notes without a source.
    others = [make_article(title_en=f"Other {n}") for n in range(10)]
    for source in (f"knowledge:{article.pk}:1", f"knowledge:{article.pk}:2", ""):
        case_services.case_add_note(case=case, by=agent, body="Hello", source=source)
    case_services.case_add_note(
        case=case, by=agent, body="Hello", source=f"knowledge:{others[-1].pk}:2"
    )
    with CaptureQueriesContext(connection) as queries:
        assert selectors.article_uses(article=article) == 2
    [count] = queries.captured_queries

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner choose
        cursor.execute("EXPLAIN " + count["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "caseevent_source_value" in plan, plan


def test_a_message_with_a_malformed_source_is_refused_and_not_written(client, agent, case):
    client.force_login(agent)

    response = client.post(
        reverse("complaints:case_note", args=[case.reference]),
        {"body": "Hello", "customer_visible": "on", "source": "<script>"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert not case.events.filter(kind=CaseEvent.Kind.MESSAGE).exists()


# ---------------------------------------------------------------- the list


def test_the_list_searches_and_filters_by_category(client, agent, make_article):
    drum = make_article()
    billing = make_article(
        category="price_billing", title_en="Charged twice", title_zh="重复扣款", guidance_en="R."
    )
    client.force_login(agent)

    assert (
        f'data-article="{billing.pk}"'
        in client.get(url("article_list"), {"q": "charged"}).content.decode()
    )
    only_drum = client.get(url("article_list"), {"category": "product_quality"}).content.decode()
    assert f'data-article="{drum.pk}"' in only_drum
    assert f'data-article="{billing.pk}"' not in only_drum
    assert client.get(url("article_list"), {"category": "weather"}).status_code == 200


@pytest.mark.parametrize("query", ["", "?q=drum+bearing", "?q=噪音&category=product_quality"])
def test_the_list_query_count_does_not_grow_with_the_articles(
    client, quality_manager, make_article, query
):
    make_article()
    client.force_login(quality_manager)
    client.get(url("article_list") + query)
    few = query_count(client, url("article_list") + query)
    for i in range(30):
        make_article(title_en=f"Drum bearing {i}", publish=bool(i % 2))

    assert query_count(client, url("article_list") + query) == few


def test_the_navigation_links_to_the_knowledge_base_for_staff(client, handler):
    client.force_login(handler)

    assert 'data-testid="nav-knowledge"' in client.get("/").content.decode()


def test_an_article_page_says_whose_authority_its_usual_remedy_needs(client, agent, make_article):
    article = make_article(remedy_value_max="1500")
    client.force_login(agent)

    page = text(client.get(url("article_detail", article.pk)))

    assert "needs the authority of: Department head (up to 2,000.00)" in page


def test_walked_cases_still_get_their_panel(client, agent, handler, after_sales, article):
    case = walk(
        receive_case(by=agent), to=Step.ACT, by=agent, department=after_sales, person=handler
    )
    client.force_login(handler)

    assert f'data-article="{article.pk}"' in client.get(case_url(case)).content.decode()
