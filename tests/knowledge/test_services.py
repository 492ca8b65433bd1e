# ruff: noqa: RUF001  (Chinese text is written with Chinese punctuation)
"""Writing articles: each change a numbered version with who and when, stale edits refused,
bad input refused with nothing written, publishing and retiring, restoring, who may write, the
text shown in the reader's language, and a case that went well turned into a draft."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from complaints.errors import AccessDenied, InvalidInput
from complaints.models import CaseEvent, Step
from knowledge import services
from knowledge.errors import ArticleConflict
from knowledge.models import Article, ArticleVersion

from ..factories import receive_case, walk
from .conftest import NOISY_DRUM

pytestmark = pytest.mark.django_db


def numbers(article: Article) -> list[tuple[int, str]]:
    return list(article.versions.order_by("number").values_list("number", "kind"))


# ---------------------------------------------------------------- versions


def test_a_new_article_is_a_draft_at_version_1_kept_as_its_first_version(quality_manager):
    article = services.article_create(by=quality_manager, data=NOISY_DRUM, note="First write-up")

    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert article.version == 1
    first = article.versions.get()
    assert (first.number, first.kind, first.by, first.note) == (
        1,
        ArticleVersion.Kind.CREATED,
        quality_manager,
        "First write-up",
    )
    assert first.content["title_zh"] == "洗衣机滚筒噪音大"
    assert first.content["remedy_value_max"] == "300.00"


def test_each_edit_keeps_the_previous_content_as_a_numbered_version(article, quality_manager):
    services.article_update(
        article=article,
        by=quality_manager,
        data={"guidance_en": "Replace the bearing the same day."},
        expected_version=2,
        note="Same day now",
    )

    article.refresh_from_db()
    assert article.version == 3
    assert article.guidance_en == "Replace the bearing the same day."
    assert article.title_en == NOISY_DRUM["title_en"]  # what was not sent is kept
    assert article.updated_by == quality_manager
    assert numbers(article) == [(1, "created"), (2, "published"), (3, "edited")]
    old = article.versions.get(number=2)
    assert old.content["guidance_en"] == NOISY_DRUM["guidance_en"]
    assert old.status == Article.Status.PUBLISHED


def test_saving_the_same_content_makes_no_version(article, quality_manager):
    version = services.article_update(
        article=article,
        by=quality_manager,
        data={"title_en": NOISY_DRUM["title_en"] + "  "},
        expected_version=2,
    )

    assert version is None
    article.refresh_from_db()
    assert article.version == 2


def test_an_edit_made_from_an_older_version_is_refused_and_changes_nothing(
    article, quality_manager, make_article
):
    services.article_update(
        article=article, by=quality_manager, data={"title_en": "Theirs"}, expected_version=2
    )

    with pytest.raises(ArticleConflict):
        services.article_update(
            article=article, by=quality_manager, data={"title_en": "Mine"}, expected_version=2
        )

    article.refresh_from_db()
    assert article.title_en == "Theirs"
    assert article.version == 3
    assert article.versions.count() == 3


def test_publishing_and_retiring_are_versions_too(make_article, quality_manager):
    article = make_article(publish=False)

    services.article_set_status(
        article=article, by=quality_manager, status="published", expected_version=1
    )
    services.article_set_status(
        article=article, by=quality_manager, status="retired", expected_version=2
    )
    services.article_set_status(
        article=article, by=quality_manager, status="published", expected_version=3
    )

    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.published_at is not None
    assert numbers(article) == [
        (1, "created"),
        (2, "published"),
        (3, "retired"),
        (4, "published"),
    ]


def test_an_article_without_guidance_cannot_be_published(make_article, quality_manager):
    article = make_article(publish=False, guidance_en="", guidance_zh="")

    with pytest.raises(InvalidInput) as refused:
        services.article_set_status(
            article=article, by=quality_manager, status="published", expected_version=1
        )

    assert "how to handle" in refused.value.messages[0]
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert article.version == 1


def test_publishing_twice_is_refused(article, quality_manager):
    with pytest.raises(InvalidInput):
        services.article_set_status(
            article=article, by=quality_manager, status="published", expected_version=2
        )


def test_an_old_version_is_restored_as_a_new_one(article, quality_manager):
    services.article_update(
        article=article,
        by=quality_manager,
        data={"title_en": "Wrong title", "remedies": ["gift"], "remedy_value_max": None},
        expected_version=2,
    )

    services.article_restore(article=article, number=2, by=quality_manager, expected_version=3)

    article.refresh_from_db()
    assert article.version == 4
    assert article.title_en == NOISY_DRUM["title_en"]
    assert article.remedies == ["apology", "repair"]
    assert article.remedy_value_max == Decimal("300.00")
    assert article.status == Article.Status.PUBLISHED
    restored = article.versions.get(number=4)
    assert (restored.kind, restored.restored_from) == ("restored", 2)
    assert article.versions.get(number=3).content["title_en"] == "Wrong title"  # kept


def test_restoring_from_a_stale_page_or_a_missing_version_is_refused(article, quality_manager):
    with pytest.raises(ArticleConflict):
        services.article_restore(article=article, number=1, by=quality_manager, expected_version=1)
    with pytest.raises(InvalidInput):
        services.article_restore(article=article, number=9, by=quality_manager, expected_version=2)
    article.refresh_from_db()
    assert article.version == 2


def test_versions_are_append_only(article):
    version = article.versions.first()
    with pytest.raises(TypeError):
        version.save()
    with pytest.raises(TypeError):
        article.versions.update(note="rewritten")
    with pytest.raises(TypeError):
        article.versions.all().delete()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"reply_template_en": "Dear {name}, {tracking_link}"}, "reply_template_en", "{name}"),
        ({"reply_template_zh": "您好 {customer_name"}, "reply_template_zh", "brace"),
        ({"title_en": "", "title_zh": ""}, "title_en", "title"),
        ({"category": "weather"}, "category", "category"),
        ({"root_cause": "luck"}, "root_cause", "root cause"),
        ({"remedies": ["apology", "free_car"]}, "remedies", "remedies"),
        ({"remedy_value_max": "-5"}, "remedy_value_max", "between"),
        ({"remedy_value_max": "1.005"}, "remedy_value_max", "decimal"),
        ({"remedy_value_max": "lots"}, "remedy_value_max", "amount"),
        ({"title_en": "x" * 201}, "title_en", "200"),
        ({"reply_template_en": "x" * 4001}, "reply_template_en", "4000"),
    ],
)
def test_bad_content_is_refused_with_the_field_and_nothing_is_written(
    article, quality_manager, change, field, says
):
    with pytest.raises(InvalidInput) as refused:
        services.article_update(
            article=article, by=quality_manager, data=change, expected_version=2
        )

    assert says in " ".join(refused.value.fields[field])
    article.refresh_from_db()
    assert article.version == 2
    assert article.versions.count() == 2
    assert article.title_en == NOISY_DRUM["title_en"]


def test_a_new_article_with_an_unknown_placeholder_is_not_created(quality_manager):
    with pytest.raises(InvalidInput) as refused:
        services.article_create(
            by=quality_manager, data={**NOISY_DRUM, "reply_template_en": "Hi {first_name}"}
        )

    assert "{first_name}" in refused.value.fields["reply_template_en"][0]
    assert not Article.objects.exists()
    assert not ArticleVersion.objects.exists()


# ---------------------------------------------------------------- who may write


@pytest.mark.parametrize(
    "persona", ["agent", "handler", "department_head", "general_manager", "outsider"]
)
def test_only_quality_managers_and_administrators_write_articles(request, article, persona):
    user = request.getfixturevalue(persona)

    with pytest.raises(AccessDenied):
        services.article_create(by=user, data=NOISY_DRUM)
    with pytest.raises(AccessDenied):
        services.article_update(
            article=article, by=user, data={"title_en": "X"}, expected_version=2
        )
    with pytest.raises(AccessDenied):
        services.article_set_status(article=article, by=user, status="retired", expected_version=2)
    with pytest.raises(AccessDenied):
        services.article_restore(article=article, number=1, by=user, expected_version=2)

    assert Article.objects.count() == 1
    article.refresh_from_db()
    assert article.version == 2


def test_an_administrator_writes_articles_too(article):
    from complaints.roles import Role

    from ..factories import staff

    admin = staff(Role.ADMINISTRATOR, username="admin")
    services.article_update(article=article, by=admin, data={"title_en": "Ok"}, expected_version=2)

    article.refresh_from_db()
    assert article.updated_by == admin


# ---------------------------------------------------------------- languages


def test_an_article_is_shown_in_the_readers_language_else_in_the_other(make_article):
    article = make_article(checks_zh="", title_en="")

    with translation.override("zh-hans"):
        assert article.title == "洗衣机滚筒噪音大"
        assert article.checks == NOISY_DRUM["checks_en"]  # no Chinese yet: the English
    with translation.override("en"):
        assert article.title == "洗衣机滚筒噪音大"  # no English title: the Chinese
        assert article.guidance == NOISY_DRUM["guidance_en"]
    assert article.localized("checks", "zh-hans") == (NOISY_DRUM["checks_en"], "en")


# ---------------------------------------------------------------- from a case


def test_a_case_that_went_well_becomes_a_draft_prefilled_from_it(closed_case, quality_manager):
    drafted = services.article_draft_from_case(case=closed_case, by=quality_manager)

    assert drafted.created
    article = drafted.article
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT
    assert article.source_case == closed_case
    assert article.versions.get().kind == ArticleVersion.Kind.DRAFTED
    assert (article.category, article.root_cause) == ("product_quality", "materials")
    assert article.title_en == "Product quality: The drum is loud."
    assert article.title_zh == ""
    assert "Repair within two days." in article.guidance_en  # the decision
    assert "Repaired on site." in article.guidance_en  # the actions
    assert "Bearing batch faulty." in article.checks_en  # the report
    assert article.remedies == ["repair", "apology"]
    assert article.remedy_value_max == Decimal("120.00")
    assert article.reply_template_en == (
        "Dear {customer_name}, the engineer repaired your machine (order {order_number}, case "
        "{reference}). Thank you {{for}} your patience."
    )


def test_turning_a_case_into_a_draft_twice_gives_the_first_draft(closed_case, quality_manager):
    first = services.article_draft_from_case(case=closed_case, by=quality_manager)
    second = services.article_draft_from_case(case=closed_case, by=quality_manager)

    assert not second.created
    assert second.article.pk == first.article.pk
    assert Article.objects.count() == 1


def test_a_case_written_in_chinese_becomes_a_chinese_draft(
    agent, handler, after_sales, quality_manager
):
    case = receive_case(by=agent, description="洗衣机滚筒噪音很大，晚上无法使用。")
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    article = services.article_draft_from_case(case=case, by=quality_manager).article

    assert article.title_zh == "产品质量: 洗衣机滚筒噪音很大，晚上无法使用。"
    assert article.title_en == ""
    assert article.guidance_zh.startswith("处理决定\nRepair within two days.")  # labels in Chinese


@pytest.mark.parametrize("rating", [None, 3])
def test_only_a_closed_case_with_a_satisfied_customer_becomes_a_draft(
    agent, handler, after_sales, quality_manager, rating
):
    open_case = walk(
        receive_case(by=agent), to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler
    )
    with pytest.raises(InvalidInput):
        services.article_draft_from_case(case=open_case, by=quality_manager)
    # Closed (follow-up said satisfied), but with a low rating and no "satisfied" recorded.
    walk(open_case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    open_case.follow_up_satisfied = None
    open_case.satisfaction_rating = rating

    with pytest.raises(InvalidInput):
        services.article_draft_from_case(case=open_case, by=quality_manager)
    assert not Article.objects.exists()


@pytest.mark.parametrize("persona", ["agent", "handler", "general_manager"])
def test_only_quality_managers_turn_cases_into_drafts(request, closed_case, persona):
    with pytest.raises(AccessDenied):
        services.article_draft_from_case(case=closed_case, by=request.getfixturevalue(persona))
    assert not Article.objects.exists()


def test_a_draft_made_from_a_case_does_not_touch_the_case(closed_case, quality_manager):
    events = closed_case.events.count()
    version = closed_case.version

    services.article_draft_from_case(case=closed_case, by=quality_manager)

    closed_case.refresh_from_db()
    assert closed_case.events.count() == events
    assert closed_case.version == version
    assert not CaseEvent.objects.filter(case=closed_case, kind="note").exists()
