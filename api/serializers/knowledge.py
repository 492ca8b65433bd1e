"""The knowledge base's articles, the case's suggested articles, and a reply template filled in
for a case, as the API reads them (writing articles is for the knowledge base's own editor)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from complaints.models import Remedy, Tier
from knowledge.models import CONTENT_FIELDS, Article
from knowledge.selectors import Authority

from .common import BlankKeptMixin


class ArticleSummarySerializer(BlankKeptMixin, serializers.ModelSerializer):
    """An article in a list: both titles (show the one of your reader's language, else the
    other)."""

    class Meta:
        model = Article
        fields = [
            "id",
            "category",
            "root_cause",
            "status",
            "title_en",
            "title_zh",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


class ArticleSerializer(ArticleSummarySerializer):
    """The whole article in both languages. ``reply_template_*`` hold placeholders such as
    ``{customer_name}``; ask ``/cases/{reference}/articles/{id}/template/`` for one filled in."""

    remedies = serializers.ListField(
        child=serializers.ChoiceField(choices=Remedy.choices), read_only=True
    )
    authority_tier = serializers.SerializerMethodField(
        help_text="The lowest tier whose authority limit covers the usual remedy's value "
        "(null: above every tier's)."
    )

    class Meta(ArticleSummarySerializer.Meta):
        fields = [
            *ArticleSummarySerializer.Meta.fields,
            *(name for name in CONTENT_FIELDS if name not in ArticleSummarySerializer.Meta.fields),
            "authority_tier",
            "published_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Tier.choices, allow_null=True))
    def get_authority_tier(self, obj: Article) -> int | None:
        authority: Authority = self.context["authority"](obj)
        return authority.tier


class SuggestionSerializer(serializers.Serializer):
    article = ArticleSummarySerializer()
    score = serializers.FloatField(help_text="How well the article matches the case's words.")
    authority_tier = serializers.ChoiceField(choices=Tier.choices, allow_null=True)
    has_reply_template = serializers.BooleanField()


class FilledTemplateSerializer(serializers.Serializer):
    article = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The article's version that was filled in.")
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        help_text="The template's language (the one asked for, or "
        "the other when the article has none in it).",
    )
    text = serializers.CharField(help_text="The reply, ready to edit and send.")
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Placeholders the case has no value for yet, left in the text as written.",
    )
    source = serializers.CharField(
        help_text="Send it as the message's `source` when you post the reply, so that its "
        "timeline entry names the article."
    )


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Words to look for, in English or Chinese: the best match comes first.",
    )


class TemplateQuerySerializer(serializers.Serializer):
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        help_text="The customer's language (default: the one the case is written in).",
    )
