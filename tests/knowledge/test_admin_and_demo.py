"""The admin shows articles and their versions read-only (the editor is where they are
written); what an editor types is escaped wherever it is shown; and the demo's seeding
(``demo_seeded``) publishes bilingual articles that the demo's cases are suggested."""

from __future__ import annotations

import pytest
from django.urls import reverse

from complaints import signals
from complaints.roles import Role
from knowledge import search
from knowledge.models import Article
from knowledge.seed import ARTICLES

from ..factories import receive_case, staff

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('xss')</script>"


@pytest.fixture
def admin_editor(db):
    return staff(Role.QUALITY_MANAGER, username="qm_admin", is_staff=True)


def test_the_admin_lists_and_shows_articles_but_changes_nothing(client, admin_editor, article):
    client.force_login(admin_editor)

    listed = client.get("/admin/knowledge/article/")
    shown = client.get(f"/admin/knowledge/article/{article.pk}/change/")
    versions = client.get("/admin/knowledge/articleversion/")

    assert listed.status_code == shown.status_code == versions.status_code == 200
    assert reverse("knowledge:article_detail", args=[article.pk]) in listed.content.decode()
    assert client.get("/admin/knowledge/article/add/").status_code == 403
    client.post(f"/admin/knowledge/article/{article.pk}/change/", {"title_en": "Changed"})
    article.refresh_from_db()
    assert (article.title_en, article.version) == ("Noisy washing machine drum", 2)


def test_what_an_editor_types_is_escaped_on_every_page(client, agent, make_article, case):
    article = make_article(title_en=SCRIPT, guidance_en=SCRIPT, reply_template_en=SCRIPT)
    client.force_login(agent)

    for address in (
        reverse("knowledge:article_list"),
        reverse("knowledge:article_detail", args=[article.pk]),
        reverse("knowledge:article_version", args=[article.pk, 2]),  # the published one
        reverse("complaints:case_detail", args=[case.reference]),
        reverse("knowledge:article_fill", args=[article.pk, case.reference]),
    ):
        page = client.get(address).content.decode()
        assert SCRIPT not in page, address
        assert "&lt;script&gt;" in page, address


def test_the_demo_seeding_publishes_bilingual_articles_the_demo_cases_are_suggested(
    agent, quality_manager
):
    signals.demo_seeded.send(sender=None, users={Role.QUALITY_MANAGER: quality_manager}, cases=[])

    articles = Article.objects.filter(status=Article.Status.PUBLISHED)
    assert articles.count() == len(ARTICLES)
    assert all(a.title_en and a.title_zh and a.reply_template_zh for a in articles)
    case = receive_case(by=agent, description="The drum makes a loud noise after two weeks.")
    assert search.suggestions_for_case(case=case)[0].title_en == "Noisy washing machine drum"

    signals.demo_seeded.send(sender=None, users={Role.QUALITY_MANAGER: quality_manager}, cases=[])
    assert Article.objects.count() == len(ARTICLES)  # seeded once
