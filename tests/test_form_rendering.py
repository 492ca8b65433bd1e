"""config.forms.Renderer writes a select as Django's own templates do (whitespace apart)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from config.forms import Renderer


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
