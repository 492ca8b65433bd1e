"""Articles of the handling knowledge base (受理知识库) and their numbered versions."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from complaints.models import AppendOnlyModel, Case, Category, Remedy, RootCause, User

# What a version keeps: everything an editor writes (status and metadata live beside it).
CONTENT_FIELDS = (
    "category",
    "root_cause",
    "title_en",
    "title_zh",
    "guidance_en",
    "guidance_zh",
    "checks_en",
    "checks_zh",
    "remedies",
    "remedy_value_max",
    "reply_template_en",
    "reply_template_zh",
)
# The fields written in both languages, without their suffix.
BILINGUAL_FIELDS = ("title", "guidance", "checks", "reply_template")


def language_suffix(language: str | None) -> str:
    """The suffix of an article's fields in a language: ``zh`` for Chinese (zh-hans, zh-cn …),
    ``en`` for anything else."""
    return "zh" if (language or "").lower().startswith("zh") else "en"


class Article(models.Model):
    """How to handle one kind of complaint — a category, and a root cause or any — in English
    and Simplified Chinese. Changed only through ``knowledge.services``: each change raises
    ``version`` and keeps the new content as an ``ArticleVersion``, so every earlier content
    stays readable and can be restored."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    root_cause = models.CharField(
        _("root cause"),
        max_length=20,
        choices=RootCause.choices,
        blank=True,
        help_text=_("Leave empty for any root cause."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200, blank=True)
    guidance_en = models.TextField(_("how to handle (English)"), max_length=10000, blank=True)
    guidance_zh = models.TextField(_("how to handle (Chinese)"), max_length=10000, blank=True)
    checks_en = models.TextField(_("what to check (English)"), max_length=5000, blank=True)
    checks_zh = models.TextField(_("what to check (Chinese)"), max_length=5000, blank=True)
    # Remedy codes (complaints.models.Remedy); the authority they need follows from the value.
    remedies = models.JSONField(_("usual remedies"), default=list, blank=True)
    remedy_value_max = models.DecimalField(
        _("usual highest remedy value"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Decides whose authority the usual remedy needs. Empty: no money involved."),
    )
    # Below a message's 5,000 characters, so that the filled-in text still fits in one.
    reply_template_en = models.TextField(_("reply template (English)"), max_length=4000, blank=True)
    reply_template_zh = models.TextField(_("reply template (Chinese)"), max_length=4000, blank=True)
    source_case = models.ForeignKey(
        Case,
        verbose_name=_("drafted from case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    # The article's words, weighted, for PostgreSQL's full-text search (knowledge.search keeps
    # it; its GIN index is made by migration 0001 on PostgreSQL only). Always NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            # The case page's suggestions and the list's category filter: published articles
            # of one category.
            models.Index(fields=["status", "category"], name="article_status_category"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]),
                name="article_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(title_en="") | ~Q(title_zh=""), name="article_has_a_title"
            ),
            # One draft per good case: a second click finds the first draft.
            models.UniqueConstraint(
                fields=["source_case"],
                condition=Q(source_case__isnull=False),
                name="article_one_per_source_case",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"

    def localized(self, field: str, language: str | None = None) -> tuple[str, str]:
        """The text of a bilingual field in ``language`` (the active one by default), else in
        the other language when that one is empty; with the suffix of the language it is in."""
        wanted = language_suffix(language or translation.get_language())
        other = "en" if wanted == "zh" else "zh"
        text = getattr(self, f"{field}_{wanted}")
        if text:
            return text, wanted
        return getattr(self, f"{field}_{other}"), other

    @property
    def title(self) -> str:
        return self.localized("title")[0]

    @property
    def guidance(self) -> str:
        return self.localized("guidance")[0]

    @property
    def checks(self) -> str:
        return self.localized("checks")[0]

    @property
    def reply_template(self) -> str:
        return self.localized("reply_template")[0]

    @property
    def remedy_labels(self) -> list[str]:
        return [str(Remedy(code).label) for code in self.remedies if code in Remedy.values]

    def content(self) -> dict:
        """The editable content in machine values, as a version keeps it."""
        values = {name: getattr(self, name) for name in CONTENT_FIELDS}
        if values["remedy_value_max"] is not None:
            values["remedy_value_max"] = str(values["remedy_value_max"])
        values["remedies"] = list(values["remedies"])
        return values


class ArticleVersion(AppendOnlyModel):
    """An article's content as one change left it, numbered from 1, with who and when. The
    highest number is the article as it is now. Append-only."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        DRAFTED = "drafted", _("Drafted from a case")
        EDITED = "edited", _("Edited")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")
        RESTORED = "restored", _("Restored")

    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("change"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Article.Status.choices)
    content = models.JSONField(default=dict)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "-number"]
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="article_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"
