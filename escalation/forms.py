"""Forms of the managers' queue and of the case page's time-limit panel."""

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.forms import StaffChoiceField, staff_who_work_cases
from complaints.models import Department, User

from .models import Pause

RISK_WINDOWS = [(4, _("4 hours")), (24, _("24 hours")), (72, _("3 days"))]


class QueueForm(forms.Form):
    within = forms.TypedChoiceField(
        label=_("At risk within"), choices=RISK_WINDOWS, coerce=int, required=False
    )


class ReassignForm(forms.Form):
    escalations = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=True)
    person = StaffChoiceField(queryset=User.objects.none(), required=False, label=_("Person"))
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, label=_("Department")
    )
    instruction = forms.CharField(
        label=_("Instruction"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, allowed_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff_who_work_cases()
        self.fields["escalations"].choices = [(pk, pk) for pk in allowed_ids]
        self.fields["escalations"].error_messages["required"] = _("Tick at least one case.")
        self.fields["escalations"].error_messages["invalid_choice"] = _(
            "One of the ticked cases is no longer in your queue."
        )

    def clean(self):
        data = super().clean()
        if not data.get("person") and not data.get("department"):
            raise forms.ValidationError(_("Choose a person or a department."))
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("decline", _("Decline"))])
    note = forms.CharField(label=_("Reason"), required=False, max_length=1000)


class PauseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Waiting for"), choices=Pause.Reason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class NoteOnlyForm(forms.Form):
    note = forms.CharField(
        label=_("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReferForm(forms.Form):
    reviewer = forms.CharField(label=_("Referred to"), max_length=200)
    reason = forms.CharField(
        label=_("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        label=_("Outcome"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
