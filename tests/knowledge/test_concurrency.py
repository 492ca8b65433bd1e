"""Two quality managers at once, on PostgreSQL (SQLite serialises whole-database writes, so it
cannot show a lost update): saving the same article from the same version, one wins and the
other is told; turning the same case into a draft, one article is made and both get it.

Each thread opens its own connection; the flush after each test removes the roles, which
``factories.staff`` makes again."""

from __future__ import annotations

import pytest

from complaints.models import Case, User
from complaints.roles import Role
from knowledge import services
from knowledge.errors import ArticleConflict
from knowledge.models import Article

from ..databases import postgresql_only
from ..factories import staff
from ..threads import run_together
from .conftest import NOISY_DRUM

pytestmark = [
    pytest.mark.pg,
    pytest.mark.concurrency,
    postgresql_only("row locks across connections"),
    pytest.mark.django_db(transaction=True),
]


def test_two_editors_saving_the_same_version_at_once_one_wins_the_other_is_told():
    editors = [staff(Role.QUALITY_MANAGER, username=f"quality{i}").pk for i in range(2)]
    article_pk = services.article_create(by=User.objects.get(pk=editors[0]), data=NOISY_DRUM).pk

    def save(i, barrier):
        article = Article.objects.get(pk=article_pk)  # both read version 1
        barrier.wait()
        return services.article_update(
            article=article,
            by=User.objects.get(pk=editors[i]),
            data={"title_en": f"Editor {i}"},
            expected_version=1,
        )

    results, errors = run_together(2, save)

    assert len(results) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], ArticleConflict)
    article = Article.objects.get(pk=article_pk)
    assert article.version == 2
    assert article.title_en == f"Editor {editors.index(article.updated_by_id)}"
    assert article.versions.count() == 2


def test_turning_one_case_into_a_draft_twice_at_once_makes_one_article(closed_case):
    editors = [staff(Role.QUALITY_MANAGER, username=f"quality{i}").pk for i in range(2)]

    def draft(i, barrier):
        case = Case.objects.get(pk=closed_case.pk)
        barrier.wait()
        return services.article_draft_from_case(case=case, by=User.objects.get(pk=editors[i]))

    results, errors = run_together(2, draft)

    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].article.pk == results[1].article.pk
    assert Article.objects.filter(source_case=closed_case).count() == 1
