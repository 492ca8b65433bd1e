"""Forms for the actions' pages. They check types and lengths; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from complaints.forms import StaffChoiceField, staff_who_work_cases
from complaints.models import Department, User
from config.forms import IsoDateInput

from .evidence import MAX_WINDOW_DAYS
from .models import Action


class ActionForm(forms.ModelForm):
    """Recording an action (with the cases it comes from) or changing its details (with the
    version read and, for a new due date, the reason)."""

    owner = StaffChoiceField(
        queryset=User.objects.none(), required=False, label=pgettext_lazy("action", "Owner")
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, label=_("Owner department")
    )
    due_on = forms.DateField(label=_("Due date"), widget=IsoDateInput)

    class Meta:
        model = Action
        fields = ["kind", "root_cause", "cause", "title", "plan", "owner", "department", "due_on"]
        widgets = {
            "cause": forms.Textarea(attrs={"rows": 3}),
            "plan": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_who_work_cases()
        self.fields["plan"].required = False

    def details(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}

    def _post_clean(self):
        # The services validate and write the action; the form must not touch the instance.
        pass


class RecordForm(ActionForm):
    cases = forms.CharField(
        label=_("Cases it comes from"),
        max_length=2000,
        help_text=_("References, separated by commas or spaces."),
    )


class EditForm(ActionForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Why (needed when the due date moves)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class StatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    to = forms.CharField(max_length=20, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class VerifyForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Evidence"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    window_days = forms.IntegerField(
        label=_("No new case of this root cause since it was done, for (days)"),
        required=False,
        min_value=1,
        max_value=MAX_WINDOW_DAYS,
        help_text=_(
            "Optional: Heed counts the cases that arrived since the action was done, once that "
            "many days have passed."
        ),
    )
    same_department = forms.BooleanField(
        label=_("Only cases of the same department as its cases"), required=False
    )
    same_product = forms.BooleanField(
        label=_("Only cases of the same product as its cases"), required=False
    )
    override_reason = forms.CharField(
        label=_("If new cases arrived, or the days have not passed yet: why it is verified anyway"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class LinkForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reference = forms.CharField(label=_("Case reference"), max_length=20)


class UnlinkForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
