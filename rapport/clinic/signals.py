"""Signals the clinic app sends, so that apps built on it can react without the clinic
importing them (``rapport.clinic`` stays below the check-in and insights apps)."""

from django.dispatch import Signal

#: Sent after administrations were written in bulk, bypassing ``save()`` (``rapport
#: synth``). Receivers bring anything derived from them up to date at once rather than
#: on the first page that reads it. No arguments besides ``sender``.
administrations_bulk_written = Signal()
