"""Strings that Django and django-filter show on Heed's pages without a Simplified Chinese
translation of their own: Django 6.1's new blank-choice label is not yet in Django's zh_Hans
catalogue, and django-filter ships zh_CN but no zh_Hans. Marking them here puts them in
locale/zh_Hans, whose translations take precedence over the packages'. Nothing imports this
module; makemessages reads it."""

from django.utils.translation import gettext_noop

THIRD_PARTY_MESSAGES = (
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL
    gettext_noop("Range query expects two values."),  # django_filters.fields.RangeField
)
