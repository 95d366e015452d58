"""Opening the check-ins of a synthetic clinic (``rapport synth``) the way staff open them.

The generator decides which sessions have a check-in open on the clinic's "today" (see
:mod:`rapport.synth.generator`); here each gets its due questionnaires and a link through
the same functions the client page's "Start check-in" uses, so the worklist shows pending
and overdue check-ins that behave like real ones. The link's token is thrown away (only
its hash is ever stored): to answer one, staff issue a fresh link as usual.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.checkin.links import ensure_due_administrations, issue_link
from rapport.checkin.models import Channel
from rapport.clinic.models import Session


def open_synthetic_checkins(*, sessions: Iterable[Session], **_signal) -> None:
    """Receiver of :data:`rapport.clinic.signals.synthetic_checkins_open`."""
    for session in sessions:
        if ensure_due_administrations(session):
            # As if the therapist had printed the link for the client at the last session.
            issue_link(session, channel=Channel.PRINT, created_by=session.episode.therapist)
