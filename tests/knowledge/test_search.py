# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""Suggestions for a case and the search box: only published articles of the case's category,
those for its root cause first, ranked by the words of the case — in English and in Chinese —
with PostgreSQL's full-text search (stored weighted vectors, a GIN index) or, on SQLite, a word
overlap counted in Python; one query however many articles there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints import services as case_services
from complaints.models import Step
from knowledge import search, services
from knowledge.models import Article

from ..factories import receive_case, walk
from .conftest import pg_only, sqlite_only

pytestmark = pytest.mark.django_db


# Only what each test article is about: no checks, no templates, no second language.
BLANK = {
    "title_zh": "",
    "guidance_zh": "",
    "checks_en": "",
    "checks_zh": "",
    "reply_template_en": "",
    "reply_template_zh": "",
    "root_cause": "",
}


@pytest.fixture
def make(make_article):
    return lambda **content: make_article(**{**BLANK, **content})


@pytest.fixture
def library(make):
    """Published product-quality articles about different things, a draft and a retired one
    that match every word, and one of another category."""
    made = {
        "drum": make(title_en="Drum bangs on the spin cycle", guidance_en="Check the bearing."),
        "door": make(title_en="Door seal leaking water", guidance_en="Replace the seal."),
        "zh_drum": make(title_en="", title_zh="滚筒噪音很大", guidance_zh="检查轴承，必要时维修。"),
        "draft": make(publish=False, title_en="Drum bangs spin cycle draft"),
        "billing": make(category="price_billing", title_en="Drum bangs spin billing"),
    }
    retired = make(title_en="Drum bangs spin cycle old")
    services.article_set_status(
        article=retired, by=retired.created_by, status="retired", expected_version=2
    )
    made["retired"] = retired
    return made


def suggested(case) -> list[int]:
    return [a.pk for a in search.suggestions_for_case(case=case)]


def test_only_published_articles_of_the_cases_category_are_suggested(agent, library):
    case = receive_case(by=agent, description="The drum bangs on every spin.")

    found = suggested(case)

    assert library["drum"].pk == found[0]
    assert set(found) <= {library[k].pk for k in ("drum", "door", "zh_drum")}
    for excluded in ("draft", "retired", "billing"):
        assert library[excluded].pk not in found


def test_the_words_of_the_description_rank_the_suggestions(agent, library):
    leaking = receive_case(by=agent, description="Water is leaking from the door seal.")

    assert suggested(leaking)[0] == library["door"].pk


def test_a_chinese_description_finds_the_chinese_article(agent, library):
    case = receive_case(by=agent, description="洗衣机的滚筒噪音非常大。", product="")

    assert suggested(case)[0] == library["zh_drum"].pk


def test_once_the_root_cause_is_known_its_articles_come_first_and_other_causes_go(
    agent, handler, after_sales, library, make
):
    people = make(title_en="Engineer was late", root_cause="people", guidance_en="Call.")
    materials = make(title_en="Faulty part batch", root_cause="materials", guidance_en="Fix.")
    case = receive_case(by=agent, description="The drum bangs on every spin.")
    assert people.pk in [a.pk for a in search.suggestions_for_case(case=case, limit=10)]

    walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)  # materials
    case.refresh_from_db()
    found = [a.pk for a in search.suggestions_for_case(case=case, limit=10)]

    assert case.root_cause_category == "materials"
    assert found[0] == materials.pk  # for this root cause, though its words do not match
    assert found[1] == library["drum"].pk  # then for any cause, by the words
    assert people.pk not in found


def test_a_case_whose_words_match_nothing_still_gets_its_categorys_newest_articles(agent, library):
    case = receive_case(by=agent, description="Unhappy.", product="")

    found = suggested(case)

    assert len(found) == search.SUGGESTIONS
    assert found[0] == library["zh_drum"].pk  # the newest published of the category


def test_a_match_in_the_title_outranks_one_in_the_body(agent, make):
    in_body = make(title_en="Machine trouble", guidance_en="The bearing rattles loudly.")
    in_title = make(title_en="Rattling bearings", guidance_en="Replace it.")
    case = receive_case(by=agent, description="It rattled, the bearing I think.", product="")

    found = search.suggestions_for_case(case=case)

    assert [a.pk for a in found[:2]] == [in_title.pk, in_body.pk]
    if search.full_text():  # ts_rank's weights: title A, body B
        assert found[0].score > found[1].score > 0
    else:  # the fallback counts a title word three times
        assert found[0].score == 3 * found[1].score
        assert not Article.objects.filter(search_vector__isnull=False).exists()


def test_suggestions_take_one_query_however_many_articles(agent, make_article):
    case = receive_case(by=agent, description="The drum bangs on every spin.")
    make_article()
    with CaptureQueriesContext(connection) as few:
        search.suggestions_for_case(case=case)
    for i in range(30):
        make_article(title_en=f"Drum article {i}")
    with CaptureQueriesContext(connection) as many:
        found = search.suggestions_for_case(case=case)

    assert len(found) == search.SUGGESTIONS
    assert len(few) == len(many) == 1


def test_the_search_box_finds_by_words_in_either_language(library):
    published = Article.objects.filter(status="published")

    assert [a.pk for a in search.articles_search(published, "leaking seal")] == [library["door"].pk]
    found = [a.pk for a in search.articles_search(published, "噪音")]
    assert found[0] == library["zh_drum"].pk
    assert not list(search.articles_search(published, "refrigerator"))


def test_text_without_a_search_term_is_looked_for_in_the_titles(library, make):
    labour = make(title_en="Parts & labour", guidance_en="Free.")
    published = Article.objects.filter(status="published")

    assert [a.pk for a in search.articles_search(published, " & ")] == [labour.pk]
    assert list(search.articles_search(published, "?!")) == []


# ---------------------------------------------------------------- PostgreSQL


@pg_only
@pytest.mark.pg
def test_on_postgresql_each_change_writes_the_articles_weighted_vector(article, quality_manager):
    article.refresh_from_db()
    assert "'noisi':1A" in article.search_vector  # English, stemmed, title weight A
    assert "'滚筒':" in article.search_vector  # Chinese bigrams
    assert "custom" not in article.search_vector  # placeholders are not words

    services.article_update(
        article=article, by=quality_manager, data={"title_en": "Leaking door"}, expected_version=2
    )
    article.refresh_from_db()
    assert "'leak':1A" in article.search_vector
    assert "noisi" not in article.search_vector


@pg_only
@pytest.mark.pg
def test_on_postgresql_the_search_box_uses_the_gin_index(library):
    qs = search.articles_search(Article.objects.all(), "drum spin")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()

    assert "article_search_vector" in plan


# ---------------------------------------------------------------- SQLite


@sqlite_only
def test_on_sqlite_english_plurals_and_tenses_still_match(agent, make):
    rattle = make(title_en="Rattle of the bearing", guidance_en="Fix it.")
    door = make(title_en="Door seal", guidance_en="Replace it.")
    case = receive_case(by=agent, description="It rattled; the bearings are worn.", product="")

    found = search.suggestions_for_case(case=case)

    assert [a.pk for a in found] == [rattle.pk, door.pk]  # door: newer, but no word matches
    assert (found[0].score, found[1].score) == (6.0, 0.0)  # rattl and bear, in the title


def test_a_suggested_article_edited_into_another_category_is_no_longer_suggested(
    agent, article, quality_manager
):
    case = receive_case(by=agent)
    assert suggested(case) == [article.pk]

    services.article_update(
        article=article, by=quality_manager, data={"category": "safety"}, expected_version=2
    )

    assert suggested(case) == []
    case_services.case_update(case=case, by=agent, data={"category": "safety"})
    case.refresh_from_db()
    assert suggested(case) == [article.pk]
