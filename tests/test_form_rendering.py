"""config.forms.Renderer writes a select as Django's own templates do (whitespace apart); the
shared widgets: a date picker given ISO dates in every language, a yes / no filter of "Any"."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils import translation
from django.utils.safestring import mark_safe

from config.forms import AnyYesNoSelect, IsoDateInput, Renderer


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=[("a", "A & B"), ("<x>", '"quoted"'), ("", "---------")])
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two"), ("3", "Three")])
    grouped = forms.ChoiceField(
        choices=[("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("other", "Other")]
    )
    maybe = forms.NullBooleanField(required=False)
    safe = forms.ChoiceField(choices=[("s", mark_safe("<b>bold</b>"))], required=False)
    attrs = forms.ChoiceField(
        choices=[("x", "X")],
        widget=forms.Select(attrs={"data-x": 'a"b', "disabled": True, "hidden": False}),
    )


def _compact(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


@pytest.mark.parametrize("name", list(Sample.base_fields))
def test_a_select_is_written_as_djangos_templates_write_it(name):
    data = {"plain": "<x>", "many": ["1", "3"], "grouped": "pear", "maybe": "true"}
    ours = Sample(data, renderer=Renderer())[name].as_widget()
    django = Sample(data, renderer=DjangoTemplates())[name].as_widget()
    assert _compact(ours) == _compact(django)
    assert "<select" in ours


def test_other_widgets_are_rendered_by_their_templates():
    field = forms.CharField(widget=forms.TextInput(attrs={"placeholder": "<x>"}))
    form = type("F", (forms.Form,), {"text": field})(renderer=Renderer())
    assert (
        form["text"].as_widget()
        == type("F", (forms.Form,), {"text": field})(renderer=DjangoTemplates())["text"].as_widget()
    )


# ---------------------------------------------------------------- the shared widgets (issue 14)


class Dates(forms.Form):
    on = forms.DateField(widget=IsoDateInput)
    any_yes_no = forms.NullBooleanField(required=False, widget=AnyYesNoSelect)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_date_picker_always_gets_an_iso_date(language):
    """Chinese formats dates 2026/12/19, which a date input cannot show: the browser then
    refuses the form without a word."""
    with translation.override(language):
        html = str(Dates(initial={"on": date(2026, 12, 19)})["on"])
        bound = Dates({"on": "2026-12-19"})
        assert bound.is_valid(), bound.errors
    assert 'type="date"' in html and 'value="2026-12-19"' in html
    assert bound.cleaned_data["on"] == date(2026, 12, 19)


def test_a_yes_no_filter_reads_any_yes_no_and_takes_true_and_false():
    html = str(Dates()["any_yes_no"])
    assert re.findall(r">([^<]+)</option>", html) == ["Any", "Yes", "No"]
    for value, expected in (("true", True), ("false", False), ("unknown", None), ("", None)):
        form = Dates({"on": "2026-01-01", "any_yes_no": value})
        assert form.is_valid() and form.cleaned_data["any_yes_no"] is expected


@pytest.mark.django_db
def test_an_actions_due_date_is_edited_as_an_iso_date_in_chinese():
    from improvement.forms import ActionForm

    with translation.override("zh-hans"):
        html = str(ActionForm(initial={"due_on": date(2026, 12, 19)})["due_on"])
    assert 'type="date"' in html and 'value="2026-12-19"' in html
