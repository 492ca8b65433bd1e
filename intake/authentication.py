"""Whether an inbound email's sender is who its From address says, as far as the mail provider
can tell: the verdicts providers pass on in the message's headers.

- ``Authentication-Results`` (RFC 8601; most providers and receiving servers): the ``dmarc``,
  ``spf`` and ``dkim`` results;
- ``Received-SPF`` (Postmark and other servers that add it);
- ``X-Mailgun-Spf`` and ``X-Mailgun-Dkim-Check-Result`` (Mailgun).

An email fails when DMARC fails, or, where no DMARC result is given, when SPF fails and no DKIM
signature passes. (A soft SPF fail alone does not: forwarding breaks SPF for honest senders.)
Where a provider reports nothing, nothing fails: the reply address's secret
(``conversation.replies``) still keeps a forged sender off other customers' cases."""

from __future__ import annotations

import re

_RESULT = re.compile(r"\b(dmarc|spf|dkim)\s*=\s*([a-z]+)", re.IGNORECASE)


def _results(message) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"dmarc": set(), "spf": set(), "dkim": set()}
    for header in message.get_all("Authentication-Results") or []:
        for method, result in _RESULT.findall(str(header)):
            found[method.lower()].add(result.lower())
    for header in message.get_all("Received-SPF") or []:
        words = str(header).split()
        if words:
            found["spf"].add(words[0].lower())
    mailgun_spf = message.get("X-Mailgun-Spf")
    if mailgun_spf:
        found["spf"].add(str(mailgun_spf).strip().lower())
    mailgun_dkim = message.get("X-Mailgun-Dkim-Check-Result")
    if mailgun_dkim:
        found["dkim"].add(str(mailgun_dkim).strip().lower())
    return found


def authentication_failure(message) -> str:
    """Why the email's sender fails the provider's checks ("dmarc=fail", "spf=fail, no dkim
    pass"), or "" when it does not (or nothing was reported)."""
    found = _results(message)
    if "fail" in found["dmarc"]:
        return "dmarc=fail"
    if not found["dmarc"] and "fail" in found["spf"] and "pass" not in found["dkim"]:
        return "spf=fail, no dkim=pass"
    return ""
