"""Form widgets: how they are rendered, and the few every form and filter shares (a date
picker that always takes ISO dates, a yes / no filter that reads "Any").

Widgets are rendered with Django's own templates, but a select's options are written here.

Django renders each ``<option>`` through a template of its own (an include, its attributes
another): a case list's filter form, whose selects hold the staff and the departments, came to
some 300 template renders per page, a third of its time (issue 19). The markup is the one
Django's templates make (``select.html``, ``select_option.html``, ``attrs.html``), every name,
value and label escaped as their autoescape does; a widget with templates of its own is
rendered by them as before.
"""

from __future__ import annotations

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import DateRangeWidget, RangeWidget

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> str:
    """As ``attrs.html``: a True value as the bare name, a False one left out."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _option(option: dict) -> str:
    # As the templates: the value through stringformat (escaped), the label autoescaped.
    value, label = escape(str(option["value"])), conditional_escape(option["label"])
    attrs = _attrs(option["attrs"])
    return f'<option value="{value}"{attrs}>{label}</option>'


def _select(widget: dict) -> SafeString:
    parts = []
    for group_name, group_choices, _index in widget["optgroups"]:
        options = "".join(_option(option) for option in group_choices)
        parts.append(
            f'<optgroup label="{conditional_escape(group_name)}">{options}</optgroup>'
            if group_name
            else options
        )
    name, attrs = conditional_escape(widget["name"]), _attrs(widget["attrs"])
    html = f'<select name="{name}"{attrs}>{"".join(parts)}</select>'
    return mark_safe(html)  # noqa: S308 (every piece escaped above)


class Renderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        widget = context.get("widget") if template_name == SELECT else None
        if widget is not None and all(
            option["template_name"] == OPTION
            for _name, options, _index in widget["optgroups"]
            for option in options
        ):
            return _select(widget)
        return super().render(template_name, context, request)


class IsoDateInput(forms.DateInput):
    """The browser's date picker. Its value is always ISO (``2026-12-19``), whatever the language:
    a date input given the language's format (Chinese ``2026/12/19``) shows nothing, and the
    browser then refuses to submit the form (issue 14)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class IsoDateRangeWidget(DateRangeWidget):
    """django-filter's ``_after`` / ``_before`` pair of dates, as date pickers."""

    def __init__(self, attrs=None):
        # Each date named for assistive technology: the field's one label sits on the pair.
        pickers = (
            IsoDateInput({"aria-label": _("From")}),
            IsoDateInput({"aria-label": _("Until")}),
        )
        super(RangeWidget, self).__init__(pickers, attrs)


class AnyYesNoSelect(forms.NullBooleanSelect):
    """A yes / no filter whose empty choice reads "Any", not Django's "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]
