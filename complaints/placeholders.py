"""Placeholders of the texts written for a case — the knowledge base's reply templates, the
notices to customers (``conversation``): a small syntax of our own, checked when a template is
saved and filled in for a case without evaluating anything.

The syntax:

- ``{name}`` stands for one of the case's values: ``PLACEHOLDERS`` lists the names every such
  text may use, and a kind of text may allow more (``names``: a notice's ``{link}``);
- ``{{`` and ``}}`` stand for a brace itself;
- anything else between braces, and a brace without its pair, is refused when the template is
  saved, with what was found.

Filling is one pass of plain substitution of those names: no attribute access, no format
specification, no template engine, so what an editor writes can neither run code nor reach any
value but these, and a value that itself holds braces (a customer called "{reference}") is
inserted as it is. Dates are the deployment's ``TIME_ZONE`` calendar days, written as the
customer's language writes them (2026年11月4日, Nov. 4, 2026). The tracking link is no
placeholder of a reply template: tokens exist in plain text only once, when they are issued
(a notice's link is minted when the notice is sent).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Remedy, User

PLACEHOLDERS = {
    "customer_name": _("the customer's name"),
    "reference": _("the case's reference number"),
    "received_date": _("the day the complaint was received"),
    "next_due_date": _("the date promised to the customer for the next stage"),
    "product": _("the product or service"),
    "order_number": _("the order number"),
    "remedies": _("the remedies decided"),
    "department": _("the responsible department"),
    "agent_name": _("the first name of whoever sends the message"),
}


def legend(names: dict | None = None) -> list[tuple[str, str]]:
    """Each placeholder as written in a template, with what it stands for."""
    return [(f"{{{name}}}", str(meaning)) for name, meaning in (names or PLACEHOLDERS).items()]


# "{{", "}}", a name between braces (no nesting, no line break), or a lone brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]{0,40})\}|\{|\}")


def template_problems(text: str, names: dict | None = None) -> list[str]:
    """What is wrong with a template, in the reader's language; empty when it can be saved.
    ``names``: the placeholders this kind of text may use (by default ``PLACEHOLDERS``)."""
    names = PLACEHOLDERS if names is None else names
    unknown: dict[str, None] = {}
    lone = False
    for match in _TOKEN.finditer(text or ""):
        if match.group(0) in ("{{", "}}"):
            continue
        if match.group(1) is None:
            lone = True
        elif match.group(1) not in names:
            unknown.setdefault(match.group(0))
    problems = []
    if unknown:
        problems.append(
            gettext("Unknown placeholder: %(found)s. Use one of %(known)s.")
            % {
                "found": gettext(", ").join(unknown),
                "known": gettext(", ").join(f"{{{name}}}" for name in names),
            }
        )
    if lone:
        problems.append(gettext("A brace without its pair: write {{ or }} for a brace itself."))
    return problems


@dataclass(frozen=True)
class Filled:
    text: str
    # Placeholders this case has no value for yet: left in the text as written, for the agent
    # to complete before sending.
    missing: list[str]


def template_fill(text: str, values: dict[str, str], names: dict | None = None) -> Filled:
    """The template with each placeholder of ``names`` (by default ``PLACEHOLDERS``) replaced
    by its value."""
    names = PLACEHOLDERS if names is None else names
    missing: dict[str, None] = {}

    def replace(match: re.Match) -> str:
        found, name = match.group(0), match.group(1)
        if found == "{{":
            return "{"
        if found == "}}":
            return "}"
        if name in names:
            if values.get(name):
                return values[name]
            missing.setdefault(name)
        return found

    return Filled(text=_TOKEN.sub(replace, text or ""), missing=list(missing))


def _day(moment: datetime) -> str:
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return formats.date_format(local, "DATE_FORMAT")


def moment_shown(moment: datetime) -> str:
    """A date and time in ``TIME_ZONE``, as the active language writes them (a promise to the
    customer: a red case's plan is due within hours, not days)."""
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return formats.date_format(local, "DATETIME_FORMAT")


def case_values(*, case: Case, by: User | None, language: str) -> dict[str, str]:
    """Each placeholder's value for this case, written in ``language``; "" when the case has
    none yet (no product, no remedy decided, no promised date ahead). ``by``: whoever writes
    (None: Heed itself, signing as customer service)."""
    now = timezone.now()
    with translation.override(language):
        return {
            "customer_name": case.customer.name,
            "reference": case.reference,
            "received_date": _day(case.received_at),
            "next_due_date": _day(case.due_at)
            if case.is_open and case.due_at and case.due_at > now
            else "",
            "product": case.product,
            "order_number": case.order_number,
            "remedies": gettext(", ").join(
                str(Remedy(code).label) for code in case.remedy_types if code in Remedy.values
            ),
            "department": case.department.name if case.department else "",
            "agent_name": (by.first_name if by else "") or gettext("Customer service"),
        }


def template_unfill(text: str, *, case: Case) -> str:
    """A message written for this case as a template for the next: braces doubled, and the
    customer's name, the reference and the order number turned back into their placeholders
    (as whole words, so that "Li" is not taken out of "Lisbon")."""
    text = (text or "").replace("{", "{{").replace("}", "}}")
    for name, value in (
        ("reference", case.reference),
        ("order_number", case.order_number),
        ("customer_name", case.customer.name),
    ):
        value = (value or "").strip()
        if len(value) >= 2:
            text = re.sub(
                rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", f"{{{name}}}", text
            )
    return text
