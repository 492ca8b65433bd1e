"""The New complaint form: the customer and what happened, on one screen; the forms of the
customer's tracking page and of the public complaint form."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from complaints.forms import ContactPreferencesForm, MultipleFileField
from complaints.models import Case, Category, Customer


class IntakeForm(forms.ModelForm):
    customer_name = forms.CharField(label=_("Customer's name"), max_length=120)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    # The customer's column is shorter than what EmailField accepts by default (320).
    email = forms.EmailField(
        label=_("Email"), max_length=Customer._meta.get_field("email").max_length, required=False
    )
    # Blank keeps an existing customer's type (a new customer starts as "new").
    customer_type = forms.ChoiceField(
        label=_("Customer type"),
        choices=[("", _("As on record (new customers: New)")), *Customer.Type.choices],
        required=False,
    )
    # How the customer hears from us. Blank keeps an existing customer's; a new customer's
    # language is the one the complaint is written in, their channel automatic.
    language = forms.ChoiceField(
        label=_("Writes to us in"),
        choices=[
            ("", _("As on record (new customers: the complaint's language)")),
            *settings.LANGUAGES,
        ],
        required=False,
    )
    preferred_channel = forms.ChoiceField(
        label=_("Tell them by"),
        choices=[
            ("", _("As on record (new customers: email if they have one, else SMS)")),
            (Customer.Channel.EMAIL, Customer.Channel.EMAIL.label),
            (Customer.Channel.SMS, Customer.Channel.SMS.label),
        ],
        required=False,
    )

    class Meta:
        model = Case
        fields = [
            "channel",
            "category",
            "urgency",
            "product",
            "order_number",
            "quantity",
            "description",
            "desired_outcome",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "desired_outcome": forms.Textarea(attrs={"rows": 2}),
        }

    field_order = ["phone", "email", "customer_name", "customer_type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Typing an order number or a product asks for the other open complaints about it.
        for name in ("order_number", "product"):
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": reverse("intake:related_cases"),
                    "hx-trigger": "input changed delay:400ms",
                    "hx-target": "#related-cases",
                    "hx-include": "[name=phone],[name=email],[name=order_number],[name=product]",
                    "autocomplete": "off",
                }
            )

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError(_("Give the customer's phone number or email address."))
        return data

    def _post_clean(self):
        # The service builds and validates the case; the form must not touch a model instance.
        pass


class LookupForm(forms.Form):
    phone = forms.CharField(required=False, max_length=40)
    email = forms.CharField(required=False, max_length=254)


class RelatedLookupForm(LookupForm):
    order_number = forms.CharField(required=False, max_length=60)
    product = forms.CharField(required=False, max_length=200)


class CustomerMessageForm(forms.Form):
    """What the customer writes on the tracking page, with photos or documents."""

    body = forms.CharField(
        label=_("Write to us"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("More information, a question, or anything you want us to know."),
    )
    files = MultipleFileField(
        label=_("Photos or documents"),
        help_text=_("JPEG, PNG, GIF, WebP or PDF."),
    )


class LostLinkForm(forms.Form):
    """The customer who lost their link: the reference and how we can recognise them."""

    reference = forms.CharField(label=_("Reference number"), max_length=20)
    contact = forms.CharField(
        label=_("Your email address or phone number"),
        max_length=254,
        help_text=_("The one you gave when you complained."),
    )

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper()


class CustomerPreferencesForm(ContactPreferencesForm):
    """On the tracking page: how the customer wants to hear from us, in their words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].label = _("Write to me in")
        self.fields["preferred_channel"].label = _("Tell me by")
        self.fields["essential_only"].help_text = _(
            "The acknowledgement, a decision waiting for your answer, the closing and new "
            "links: nothing else."
        )


class CustomerAnswerForm(forms.Form):
    """At Confirm: does the customer agree with the decision?"""

    agree = forms.TypedChoiceField(
        choices=[("yes", _("I agree")), ("no", _("I do not agree"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label=_("Do you agree with our decision?"),
    )
    reason = forms.CharField(
        label=_("If not, why not?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


RATINGS = [(n, str(n)) for n in range(1, 6)]


class CustomerFollowUpForm(forms.Form):
    """At Follow up: the customer rates the handling and the outcome, and says if satisfied."""

    handling = forms.TypedChoiceField(
        label=_("How well did we handle your complaint? (1 poor, 5 very good)"),
        choices=RATINGS,
        coerce=int,
        widget=forms.RadioSelect,
    )
    outcome = forms.TypedChoiceField(
        label=_("How satisfied are you with the outcome? (1 poor, 5 very good)"),
        choices=RATINGS,
        coerce=int,
        widget=forms.RadioSelect,
    )
    satisfied = forms.TypedChoiceField(
        label=_("Can we close your complaint?"),
        choices=[
            ("yes", _("Yes, I am satisfied")),
            ("no", _("No, I am not satisfied: please look at it again")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PublicComplaintForm(forms.Form):
    """The public complaint form: no account, on a phone as well as a desktop."""

    name = forms.CharField(label=_("Your name"), max_length=120)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    category = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[("", _("Not sure"))]
        + [(value, label) for value, label in Category.choices if value != Category.OTHER],
        required=False,
    )
    product = forms.CharField(label=_("Product or service"), max_length=200, required=False)
    order_number = forms.CharField(label=_("Order number"), max_length=60, required=False)
    description = forms.CharField(
        label=_("What happened?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    desired_outcome = forms.CharField(
        label=_("What would you like us to do?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    files = MultipleFileField(
        label=_("Photos or documents"), help_text=_("JPEG, PNG, GIF, WebP or PDF.")
    )
    # The honeypot: hidden from people, filled in by form-filling robots.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError(
                _("Give us a phone number or an email address, so that we can answer you.")
            )
        return data
