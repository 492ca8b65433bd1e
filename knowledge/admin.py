"""The admin: articles and their versions, read-only. Articles are written in the knowledge
base's own editor (/knowledge/), where every change is versioned and checked."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from complaints.admin import ReadOnly

from .models import Article, ArticleVersion


class VersionInline(ReadOnly, admin.TabularInline):
    model = ArticleVersion
    fields = ("number", "kind", "status", "by", "at", "note", "restored_from")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)


@admin.register(Article)
class ArticleAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "__str__",
        "category",
        "root_cause",
        "status",
        "version",
        "updated_by",
        "updated_at",
        "editor_link",
    )
    list_filter = ("status", "category", "root_cause")
    search_fields = ("title_en", "title_zh")
    list_select_related = ("updated_by",)
    exclude = ("search_vector",)
    inlines = [VersionInline]

    @admin.display(description=_("editor"))
    def editor_link(self, obj: Article) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("knowledge:article_detail", args=[obj.pk]), _("open")
        )


@admin.register(ArticleVersion)
class ArticleVersionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("article", "number", "kind", "status", "by", "at")
    list_filter = ("kind", "status")
    list_select_related = ("article", "by")
