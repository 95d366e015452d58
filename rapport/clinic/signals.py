"""Signals the clinic app sends, so that apps built on it can react without the clinic
importing them (``rapport.clinic`` stays below the check-in and insights apps)."""

from django.dispatch import Signal

#: Sent after administrations were written in bulk, bypassing ``save()`` (``rapport
#: synth``). Receivers bring anything derived from them up to date at once rather than
#: on the first page that reads it. No arguments besides ``sender``.
administrations_bulk_written = Signal()

#: Sent by ``rapport synth`` inside its transaction, with ``sessions``: the generated
#: sessions whose check-in is open on the clinic's "today" (the next session within a few
#: days, or a recent one that passed unanswered). The check-in app opens them as staff
#: do, due questionnaires and a link, so a synthetic clinic's worklist has rows.
synthetic_checkins_open = Signal()

#: Sent by ``rapport synth`` inside its transaction, with ``organisation`` and ``anchor``
#: (the clinic's "today", a date): the generated check-ins are written. The check-in app
#: gives their risk answers the history a real check-in's would have: an alert, its first
#: notice, and for the older ones a follow-up, so a synthetic clinic shows the safety loop
#: as a clinic that uses Rapport would.
synthetic_history_written = Signal()
