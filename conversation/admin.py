"""The notices' texts (edited by quality managers, with a preview) and the notices sent
(read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from complaints.admin import ReadOnly
from complaints.errors import CaseError
from complaints.placeholders import legend

from .models import Notice, NoticeTemplate
from .render import NOTICE_PLACEHOLDERS, Wording, fill, preview_values
from .services import notice_template_problems, notice_template_save, notice_templates_reset


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ["subject", "body", "provider_template_id", "provider_params"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12, "cols": 90})}

    def clean(self):
        data = super().clean()
        problems = notice_template_problems(
            channel=self.instance.channel,
            subject=data.get("subject", ""),
            body=data.get("body", ""),
            provider_params=data.get("provider_params", ""),
        )
        for field, errors in problems.items():
            for error in errors:
                self.add_error(field if field in self.fields else None, error)
        return data


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    """One row per kind, channel and language, made by the migration from the shipped texts:
    edited in place, never added or deleted."""

    form = NoticeTemplateForm
    list_display = ["kind", "channel", "language", "subject", "updated_at", "updated_by"]
    list_filter = ["kind", "channel", "language"]
    readonly_fields = ["kind", "channel", "language", "placeholders", "preview", "updated_at"]
    actions = ["reset_to_shipped"]

    def get_fields(self, request, obj=None):
        fields = ["kind", "channel", "language", "subject", "body"]
        if obj is not None and obj.channel == "sms":
            fields = ["kind", "channel", "language", "body"]
            fields += ["provider_template_id", "provider_params"]
        return [*fields, "placeholders", "preview", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj: NoticeTemplate) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li><code>{}</code> {}</li>", legend(NOTICE_PLACEHOLDERS)),
        )

    @admin.display(description=_("preview"))
    def preview(self, obj: NoticeTemplate) -> str:
        """The saved text filled in with made-up values, as the customer would read it."""
        rendered = fill(
            Wording(subject=obj.subject, body=obj.body),
            preview_values(language=obj.language),
            kind=obj.kind,
            channel=obj.channel,
            language=obj.language,
        )
        if obj.channel == "sms":
            length = format_html(
                "<p><small>{}</small></p>",
                ngettext("%(count)d character", "%(count)d characters", len(rendered.text))
                % {"count": len(rendered.text)},
            )
            return format_html("<pre>{}</pre>{}", rendered.text, length)
        return format_html(
            "<p><strong>{}</strong></p><pre>{}</pre>", rendered.subject, rendered.text
        )

    def save_model(self, request, obj, form, change):
        try:
            notice_template_save(template=obj, by=request.user)
        except CaseError as exc:  # the form checked the same rules: only a race gets here
            self.message_user(request, " ".join(exc.messages), messages.ERROR)

    @admin.action(description=_("Put the shipped text back"), permissions=["change"])
    def reset_to_shipped(self, request, queryset):
        changed = notice_templates_reset(templates=queryset, by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d text is the shipped one again.",
                "%(count)d texts are the shipped ones again.",
                changed,
            )
            % {"count": changed},
            messages.SUCCESS,
        )


@admin.register(Notice)
class NoticeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["case", "kind", "channel", "address_masked", "status", "created_at", "sent_at"]
    list_filter = ["status", "kind", "channel", "language"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]
    date_hierarchy = "created_at"
    fields = [
        "case",
        "kind",
        "channel",
        "address_masked",
        "language",
        "status",
        "skipped_because",
        "created_at",
        "attempts",
        "sent_at",
        "last_error",
        "provider_id",
        "subject",
        "text",
    ]
    readonly_fields = fields

    @admin.display(description=_("address"))
    def address_masked(self, obj: Notice) -> str:
        return obj.address_masked
