"""The domain's errors. The UI shows their messages; the API maps them to HTTP statuses."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class CaseError(Exception):
    """A refused action on a case, with messages the user can act on."""

    default_message = _("The action was refused.")

    def __init__(self, *messages: object, fields: dict[str, list[str]] | None = None) -> None:
        self.messages = [str(m) for m in messages] or [str(self.default_message)]
        self.fields = fields or {}
        super().__init__("; ".join(self.messages))


class TransitionRefused(CaseError):
    """The move does not exist, is not open to this case, or its required data is missing."""


class CaseConflict(CaseError):
    """Someone else changed the case since the caller read it."""

    default_message = _(
        "Someone else changed this case while you were working on it. "
        "Reload it to see their change, then try again."
    )


class AccessDenied(CaseError):
    """The user may see the case but not change it."""

    default_message = _("You may not change this case.")


class InvalidInput(CaseError):
    """The data given does not fit the fields."""

    default_message = _("Some of the data is not valid.")
