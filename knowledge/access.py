"""Who may read and who may write articles. One place, used by the pages and the API alike:
every staff role reads published articles, and of their history the versions that were
published; quality managers and administrators (the ``knowledge.change_article`` permission)
also see drafts, retired articles and every version, and write them. (A draft is not for
every reader: one drafted from a case holds that customer's last message.)"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from complaints.models import User

from .models import Article, ArticleVersion


def user_can_read_articles(user: User) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.has_perm("knowledge.view_article")
    )


def user_can_edit_articles(user: User) -> bool:
    return user_can_read_articles(user) and user.has_perm("knowledge.change_article")


def articles_visible_to(*, user: User) -> QuerySet[Article]:
    if not user_can_read_articles(user):
        return Article.objects.none()
    if user_can_edit_articles(user):
        return Article.objects.all()
    return Article.objects.filter(status=Article.Status.PUBLISHED)


def article_versions_visible_to(*, user: User, article: Article) -> QuerySet[ArticleVersion]:
    """The article's versions the user may read: all of them for those who may edit articles,
    only those whose status was published for the other readers."""
    versions = ArticleVersion.objects.filter(article=article)
    if user_can_edit_articles(user):
        return versions
    if user_can_read_articles(user):
        return versions.filter(status=Article.Status.PUBLISHED)
    return versions.none()


def article_get_for_user(*, user: User, pk: int, write: bool = False) -> Article:
    """The article, if the user may read it (404 otherwise: a draft's number says nothing to
    an agent), and, with ``write``, may change it (403)."""
    try:
        article = articles_visible_to(user=user).select_related("source_case").get(pk=pk)
    except Article.DoesNotExist:
        raise Http404 from None
    if write and not user_can_edit_articles(user):
        raise PermissionDenied
    return article
