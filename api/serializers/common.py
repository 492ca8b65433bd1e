"""Shared pieces of the API's serializers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from complaints.models import Department, User


class StrictSerializerMixin:
    """Refuses keys the serializer does not know, instead of silently ignoring them (a typo in
    a field name would otherwise look like a successful save)."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - {"files"})
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class BlankKeptMixin:
    """A read-only field made from a model field with ``blank=True`` answers "" (a step not
    reached yet, an escalation without a milestone, a customer without an email address). DRF
    drops ``allow_blank`` from read-only fields, and without it the schema would say the value
    is one of the choices, or an email address."""

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        blank = bool(kwargs.get("allow_blank"))
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank:
            kwargs["allow_blank"] = True
        return kwargs


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "code", "name"]
