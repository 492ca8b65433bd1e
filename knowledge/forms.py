"""Forms of the knowledge base's pages. They check types and lengths; the services check the
rest (placeholders, a title, what may be published) and say what is wrong."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Remedy, RootCause

from .models import CONTENT_FIELDS, Article


class ArticleForm(forms.ModelForm):
    """An article's content in both languages, and the version the editor started from."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    remedies = forms.MultipleChoiceField(
        label=_("Usual remedies"),
        choices=Remedy.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("What you changed (optional, for the history)"),
        required=False,
        max_length=300,
    )

    class Meta:
        model = Article
        fields = list(CONTENT_FIELDS)
        widgets = {
            "guidance_en": forms.Textarea(attrs={"rows": 8}),
            "guidance_zh": forms.Textarea(attrs={"rows": 8}),
            "checks_en": forms.Textarea(attrs={"rows": 5}),
            "checks_zh": forms.Textarea(attrs={"rows": 5}),
            "reply_template_en": forms.Textarea(attrs={"rows": 8}),
            "reply_template_zh": forms.Textarea(attrs={"rows": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)
        self.fields["root_cause"].choices = [("", _("Any root cause")), *RootCause.choices]

    def content(self) -> dict:
        """The article's content as the services take it."""
        return {name: self.cleaned_data[name] for name in CONTENT_FIELDS}

    def _post_clean(self):
        # The services validate and write the article; the form must not touch the instance.
        pass


class StatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    status = forms.ChoiceField(
        choices=[(Article.Status.PUBLISHED, _("Publish")), (Article.Status.RETIRED, _("Retire"))]
    )


class RestoreForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ArticleSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any category")), *Category.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Article.Status.choices],
    )

    def __init__(self, *args, editor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editor:  # readers see published articles only
            del self.fields["status"]


class FillForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES, required=False)
