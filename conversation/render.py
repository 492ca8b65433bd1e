"""A notice's words: its text (the quality managers' ``NoticeTemplate`` row, else the shipped one)
filled in for the case in the customer's language, with the link minted for this message.

Placeholders are the knowledge base's (``complaints.placeholders``: filled by substitution, never
evaluated) plus a notice's own, below. A placeholder the case has no value for is written as a
dash, never left in braces in front of a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Remedy, User
from complaints.placeholders import (
    PLACEHOLDERS,
    case_values,
    moment_shown,
    template_fill,
)
from escalation.models import Deadline, Milestone

from .defaults import ESSENTIAL_ONLY_FOOTER, shipped_in
from .models import ESSENTIAL, Channel, Notice, NoticeKind, NoticeTemplate

NOTICE_PLACEHOLDERS = {
    **PLACEHOLDERS,
    "link": _("the customer's tracking link, made for this message alone"),
    "message": _("what was written to the customer (a message from staff)"),
    "decision": _("the decision: the remedies and the plan as explained"),
    "plan_by": _("when the customer will hear what we propose (date and time)"),
    "handled_by": _("when the complaint will be fully handled (date and time)"),
}
MISSING = "—"
# What stands in a stored notice's text for its link: the token is never kept.
LINK_MASK = "/t/…"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    # For a provider that sends approved templates only (the SMS's template id and values).
    template_id: str = ""
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str
    template_id: str = ""
    param_names: tuple[str, ...] = ()


def wording_for(*, kind: str, channel: str, language: str) -> Wording:
    """The text a notice is written from: the quality managers' row, else the shipped one."""
    row = NoticeTemplate.objects.filter(kind=kind, channel=channel, language=language).first()
    if row is None:
        subject, body = shipped_in(kind, channel, language)
        return Wording(subject=subject, body=body)
    names = tuple(n.strip() for n in row.provider_params.split(",") if n.strip())
    return Wording(
        subject=row.subject,
        body=row.body,
        template_id=row.provider_template_id,
        param_names=names,
    )


def _promises(case: Case) -> dict[str, datetime]:
    """The current round's promised moments: the plan (Decide finished) and the end (closed)."""
    return {
        d.milestone: d.due_at
        for d in Deadline.objects.filter(
            case=case, round=case.reopen_count, superseded_at=None
        ).only("milestone", "due_at")
    }


def notice_values(*, notice: Notice, link: str) -> dict[str, str]:
    """Every placeholder's value for this notice, in its language. The customer's own case
    gives the reference; the case handling it (the survivor, for a merged case) the rest."""
    own = notice.case
    handling = own.survivor
    event = notice.event
    by = event.actor if event.actor_id else None
    with translation.override(notice.language):
        values = case_values(case=handling, by=by, language=notice.language)
        due = _promises(handling)
        remedies = [str(Remedy(r).label) for r in handling.remedy_types if r in Remedy.values]
        decision = "\n".join(
            part
            for part in (
                gettext("What we will do: %(remedies)s")
                % {"remedies": gettext(", ").join(remedies)}
                if remedies
                else "",
                handling.remedy_plan,
            )
            if part
        )
        values.update(
            {
                "customer_name": notice.customer.name,
                "reference": own.reference,
                "link": link,
                "message": event.note if notice.kind == NoticeKind.MESSAGE else "",
                "decision": decision,
                "plan_by": moment_shown(due[Milestone.DECIDED]) if Milestone.DECIDED in due else "",
                "handled_by": moment_shown(due[Milestone.CLOSED])
                if Milestone.CLOSED in due
                else "",
            }
        )
    return values


def fill(wording: Wording, values: dict[str, str], *, kind: str, channel: str, language: str):
    """The wording filled in with ``values`` (a dash for a value the case does not have)."""
    shown = {name: values.get(name) or MISSING for name in NOTICE_PLACEHOLDERS}
    with translation.override(language):
        subject = template_fill(wording.subject, shown, NOTICE_PLACEHOLDERS).text
        text = template_fill(wording.body, shown, NOTICE_PLACEHOLDERS).text.strip()
        if channel == Channel.EMAIL and kind not in ESSENTIAL:
            text += "\n\n" + str(ESSENTIAL_ONLY_FOOTER)
    return Rendered(
        subject=" ".join(subject.split()),
        text=text,
        template_id=wording.template_id,
        params=tuple(shown.get(name, MISSING) for name in wording.param_names),
    )


def notice_render(*, notice: Notice, link: str) -> Rendered:
    wording = wording_for(kind=notice.kind, channel=notice.channel, language=notice.language)
    return fill(
        wording,
        notice_values(notice=notice, link=link),
        kind=notice.kind,
        channel=notice.channel,
        language=notice.language,
    )


def preview_values(*, language: str, by: User | None = None) -> dict[str, str]:
    """Made-up values for the admin's preview of a text (no case is read)."""
    now = timezone.now()
    with translation.override(language):
        return {
            "customer_name": gettext("Li Na"),
            "reference": f"C{timezone.localtime(now):%Y%m}-00042",
            "received_date": moment_shown(now).split(" ")[0],
            "next_due_date": moment_shown(now + timedelta(days=1)),
            "product": "W-200",
            "order_number": "SO-88231",
            "remedies": gettext(", ").join([str(Remedy.REPAIR.label), str(Remedy.VOUCHER.label)]),
            "department": gettext("After-sales"),
            "agent_name": (by.first_name if by else "") or gettext("Customer service"),
            "link": f"{settings.SITE_URL}/t/{'x' * 43}",
            "message": gettext("We have booked the repair for Tuesday morning."),
            "decision": gettext("We will repair the machine at your home and refund the visit."),
            "plan_by": moment_shown(now + timedelta(days=1)),
            "handled_by": moment_shown(now + timedelta(days=7)),
        }
