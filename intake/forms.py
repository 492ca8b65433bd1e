"""The New complaint form: the customer and what happened, on one screen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Customer


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


class CustomerMessageForm(forms.Form):
    """What the customer writes on the tracking page."""

    body = forms.CharField(
        label=_("Write to us"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("More information, a question, or anything you want us to know."),
    )
