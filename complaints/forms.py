"""Forms for the agent's pages. They check types and lengths; the lifecycle checks what a step
needs before the case may move on."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import lifecycle
from .contact import channel_unreachable
from .models import Case, ContactAttempt, Customer, Department, Ending, Remedy, User


def staff_who_work_cases():
    return (
        User.objects.filter(is_active=True, groups__permissions__codename="work_case")
        .select_related("department")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        if obj.department:
            return f"{obj} ({obj.department})"
        return str(obj)


class StepForm(forms.ModelForm):
    """The data of the case's current step. Nothing is required here: a step's data may be
    saved bit by bit; the move onward is what demands it complete."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    to = forms.CharField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note for the timeline (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    remedy_types = forms.MultipleChoiceField(
        label=_("Remedies"),
        choices=Remedy.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    satisfaction_rating = forms.TypedChoiceField(
        label=_("Rating (1 = very unhappy, 5 = very happy)"),
        choices=[(i, str(i)) for i in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Case
        fields: list[str] = []
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "desired_outcome": forms.Textarea(attrs={"rows": 2}),
            "customer_account": forms.Textarea(attrs={"rows": 5}),
            "root_cause_analysis": forms.Textarea(attrs={"rows": 4}),
            "remedy_plan": forms.Textarea(attrs={"rows": 4}),
            "actions_taken": forms.Textarea(attrs={"rows": 4}),
            "report": forms.Textarea(attrs={"rows": 6}),
            "agreement_note": forms.Textarea(attrs={"rows": 3}),
            "follow_up_comment": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, instance=case, **kwargs)
        step_fields = lifecycle.STEP_FIELDS[case.step]
        for name in list(self.fields):
            if name not in step_fields and name not in ("version", "to", "note"):
                del self.fields[name]
        for name in step_fields:
            if name not in self.fields:
                self.fields[name] = self._meta.model._meta.get_field(name).formfield()
            self.fields[name].required = False
        if "responsible_person" in self.fields:
            self.fields["responsible_person"] = StaffChoiceField(
                queryset=staff_who_work_cases(), required=False, label=_("Responsible person")
            )
        for name, widget in self.Meta.widgets.items():
            if name in self.fields:
                self.fields[name].widget = widget
        for name in step_fields:
            self.initial.setdefault(name, getattr(case, Case._meta.get_field(name).attname))
        self.initial.setdefault("version", case.version)
        self.order_fields([*step_fields, "note"])

    def step_data(self) -> dict:
        """The step's fields as the services take them."""
        step_fields = lifecycle.STEP_FIELDS[self.instance.step]
        return {name: self.cleaned_data[name] for name in step_fields if name in self.cleaned_data}

    def _post_clean(self):
        # The services validate and write the case; the form must not touch the instance.
        pass


class AssignForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    person = StaffChoiceField(queryset=User.objects.none(), required=False, label=_("Person"))
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, label=_("Department")
    )
    note = forms.CharField(
        label=_("Instruction"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff_who_work_cases()

    def clean(self):
        data = super().clean()
        if not data.get("person") and not data.get("department"):
            raise forms.ValidationError(_("Choose a person or a department."))
        return data


class MergeForm(forms.Form):
    """Merge this case into another (``merging.case_merge``): first shown both cases to confirm
    (``confirm`` off), then confirmed with the versions that were shown."""

    into = forms.CharField(
        label=_("Merge into case"),
        max_length=20,
        help_text=_("The reference of the case received first, which carries on with both."),
    )
    note = forms.CharField(
        label=_("Why they are the same complaint"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    into_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    confirm = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def clean_into(self) -> str:
        return self.cleaned_data["into"].strip().upper()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); their content is checked by
    the services (``complaints.attachments``), not here."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class NoteForm(forms.Form):
    # Not required here: a note may be only files; the service says what is missing.
    body = forms.CharField(
        label=_("Note or message"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    customer_visible = forms.BooleanField(
        label=_("Send to the customer (shown on their tracking page)"), required=False
    )
    files = MultipleFileField(label=_("Files"))
    # Set by another app's page that filled the text in (the knowledge base's "Insert").
    source = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class ContactPreferencesForm(forms.Form):
    """How the customer hears from us (``complaints.contact``): on the case page for staff; the
    tracking page words it for the customer."""

    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    preferred_channel = forms.ChoiceField(
        label=_("Tell them by"),
        choices=Customer.Channel.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    essential_only = forms.BooleanField(
        label=_("Only essential messages"),
        help_text=_(
            "The acknowledgement, a decision waiting for their answer, the closing and new "
            "links: nothing else."
        ),
        required=False,
    )

    @classmethod
    def for_customer(cls, customer: Customer, data=None):
        """The form as the customer's record is now; the channels offered are those we have an
        address for (and automatic)."""
        form = cls(
            data,
            initial={
                "language": customer.language,
                "preferred_channel": customer.preferred_channel,
                "essential_only": bool(customer.essential_only_since),
            },
        )
        form.fields["preferred_channel"].choices = [
            (value, label)
            for value, label in Customer.Channel.choices
            if not channel_unreachable(customer, value)
        ]
        return form


class ContactAttemptForm(forms.Form):
    """An attempt to reach the customer (``services.case_contact_record``)."""

    method = forms.ChoiceField(label=_("How"), choices=ContactAttempt.Method.choices)
    result = forms.ChoiceField(label=_("Result"), choices=ContactAttempt.Result.choices)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class EndingForm(forms.Form):
    """Close the case without the customer's rating (``lifecycle.ENDINGS``), saying why."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    ending = forms.ChoiceField(label=_("How it ends"), choices=())
    note = forms.CharField(
        label=_("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, case: Case, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ending"].choices = [
            (move.ending, move.label)
            for move in lifecycle.endings_from(case.step)
            if move.permitted is None or move.permitted(user)
        ]
        self.initial.setdefault("version", case.version)


class FollowUpReviewForm(forms.Form):
    """A supervisor's review of a follow-up (``services.case_follow_up_review``)."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was done well, what to do better next time (staff only)."),
    )


class FollowUpSampleForm(forms.Form):
    """Which follow-ups the supervisor samples: closed how long ago, ended how."""

    DAYS = [(7, _("the last 7 days")), (30, _("the last 30 days")), (90, _("the last 90 days"))]

    days = forms.TypedChoiceField(
        label=_("Closed in"), choices=DAYS, coerce=int, initial=30, required=False
    )
    ending = forms.ChoiceField(
        label=_("How it ended"),
        choices=[("", _("Every ending")), *Ending.choices],
        required=False,
    )

    def sample(self) -> dict:
        """The valid choices, or the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        return {"days": data.get("days") or 30, "ending": data.get("ending") or ""}
