"""/api/v1/articles/: the published articles of the knowledge base, searched and filtered; and,
for a case, the articles the case page suggests and a reply template filled in. The same access
rules and selectors as the pages (``knowledge.access``, ``knowledge.selectors``)."""

from __future__ import annotations

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from complaints.access import case_get_for_user
from complaints.models import Category, RootCause
from escalation.approvals import ceilings
from knowledge import search, selectors
from knowledge.access import articles_visible_to
from knowledge.models import Article

from ..permissions import ReadsArticles
from ..serializers import (
    ArticleSerializer,
    FilledTemplateSerializer,
    SearchQuerySerializer,
    SuggestionSerializer,
    TemplateQuerySerializer,
)


class ArticleFilter(filters.FilterSet):
    category = filters.ChoiceFilter(choices=Category.choices)
    root_cause = filters.ChoiceFilter(choices=RootCause.choices)

    class Meta:
        model = Article
        fields: list[str] = []


def _published(user):
    return articles_visible_to(user=user).filter(status=Article.Status.PUBLISHED)


@extend_schema(tags=["knowledge base"])
@extend_schema_view(
    list=extend_schema(summary="Find published articles", parameters=[SearchQuerySerializer]),
    retrieve=extend_schema(summary="A published article"),
)
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ReadsArticles]
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter

    def get_queryset(self):
        return _published(self.request.user).defer("search_vector").order_by("-updated_at", "-pk")

    def get_serializer_context(self):
        limits = ceilings()
        return {
            **super().get_serializer_context(),
            "authority": lambda article: selectors.authority_for(article.remedy_value_max, limits),
        }

    def list(self, request):
        qs = self.filter_queryset(self.get_queryset())
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data.get("q", "")
        rows = search.articles_search(qs, query) if query.strip() else qs
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class _CaseArticlesView(GenericAPIView):
    permission_classes = [ReadsArticles]
    filter_backends: list = []
    pagination_class = None

    def _case(self, reference: str):
        return case_get_for_user(user=self.request.user, reference=reference)


@extend_schema(
    tags=["knowledge base"],
    summary="The articles suggested for a case",
    description="As on the case page: published articles of the case's category (and root "
    "cause, once known), ranked by the words of the case.",
    responses=SuggestionSerializer(many=True),
)
class CaseSuggestionsView(_CaseArticlesView):
    serializer_class = SuggestionSerializer

    def get(self, request, reference: str):
        found = selectors.suggestions(case=self._case(reference))
        data = [
            {
                "article": s.article,
                "score": float(getattr(s.article, "score", 0.0) or 0.0),
                "authority_tier": s.authority.tier,
                "has_reply_template": s.has_template,
            }
            for s in found
        ]
        return Response(SuggestionSerializer(data, many=True).data)


@extend_schema(
    tags=["knowledge base"],
    summary="An article's reply template filled in for a case",
    description="The placeholders replaced by the case's values, dates in the customer's "
    "language. 404 when the article has no reply template.",
    parameters=[TemplateQuerySerializer],
    responses=FilledTemplateSerializer,
)
class CaseTemplateView(_CaseArticlesView):
    serializer_class = FilledTemplateSerializer

    def get(self, request, reference: str, pk: int):
        case = self._case(reference)
        params = TemplateQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        article = _published(request.user).filter(pk=pk).first()
        if article is None:
            raise Http404
        filled = selectors.template_for_case(
            article=article,
            case=case,
            by=request.user,
            language=params.validated_data.get("language") or None,
        )
        return Response(
            FilledTemplateSerializer(
                {
                    "article": article.pk,
                    "version": article.version,
                    "language": filled.language,
                    "text": filled.text,
                    "missing": filled.missing,
                    "source": filled.source,
                }
            ).data
        )
