"""An action's statuses as data: which moves exist, who may make each, what each requires.

``improvement.services.action_transition`` is the one guard that applies this table (the pages
and the API both go through it); ``action_verify`` makes the one move marked ``via="verify"``,
with its evidence. A move not in ``MOVES`` does not exist.

    open → in progress → done → verified
      └──────────────────↗  │
                  ↖─────────┘ (the check failed, or more is to be done)
    open, in progress, done → cancelled (with a reason)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Status

# Who may make a move (``improvement.access.action_may``):
OWNER = "owner"  # the owner, its department's head, quality and general managers
OWNER_OR_VERIFIER = "owner_or_verifier"  # the owner's people, or whoever may verify
MANAGER = "manager"  # the owner department's head, quality and general managers
VERIFIER = "verifier"  # a quality or general manager who does not own the action


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    label: Promise
    who: str
    kind: str = "forward"  # forward | back | cancel
    # The note the move needs, with the message shown when it is missing.
    note_required: Promise | None = None
    # Made only by another service (verification needs its evidence).
    via: str | None = None


_DONE_NOTE = _("Say what was done.")
_CANCEL_NOTE = _("Say why the action is cancelled.")

MOVES: dict[tuple[str, str], Move] = {
    (m.source, m.target): m
    for m in (
        Move(Status.OPEN, Status.IN_PROGRESS, _("Start"), OWNER),
        Move(Status.OPEN, Status.DONE, _("Done"), OWNER, note_required=_DONE_NOTE),
        Move(Status.IN_PROGRESS, Status.DONE, _("Done"), OWNER, note_required=_DONE_NOTE),
        Move(
            Status.DONE,
            Status.IN_PROGRESS,
            _("Not done yet — back to in progress"),
            OWNER_OR_VERIFIER,
            kind="back",
            note_required=_("Say what is still missing."),
        ),
        Move(Status.DONE, Status.VERIFIED, _("Verify"), VERIFIER, via="verify"),
        *(
            Move(
                source,
                Status.CANCELLED,
                _("Cancel the action"),
                MANAGER,
                kind="cancel",
                note_required=_CANCEL_NOTE,
            )
            for source in (Status.OPEN, Status.IN_PROGRESS, Status.DONE)
        ),
    )
}


def moves_from(status: str) -> list[Move]:
    """The moves open from a status, forward first."""
    return [m for (source, _target), m in MOVES.items() if source == status]
