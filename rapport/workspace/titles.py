"""Instruments and items as clinicians name them, in the reader's language.

Pages, the brief and the PDF report never show instrument or item ids ("phq9",
"trust_safe"): ids are for files and the database, titles are for people. A text falls
back to English, then to the id, so an instrument removed from the registry (an old
administration's) still shows something.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import get_language

from rapport.instruments import Instrument


def localized(text: Mapping[str, str], fallback: str) -> str:
    """``text`` in the active language (``es-mx`` reads ``es``), else English, else ``fallback``."""
    language = (get_language() or "en").split("-")[0]
    return text.get(language) or text.get("en") or fallback


def short_title(instrument: Instrument) -> str:
    """The name clinicians use: the bracketed abbreviation of the title ("PHQ-9"), if any."""
    title = localized(instrument.title, instrument.id)
    opening = title.rfind("(")
    return title[opening + 1 : -1] if title.endswith(")") and opening >= 0 else title


def instrument_title(instrument_id: str) -> str:
    """:func:`short_title` of an installed instrument by id; the id itself if not installed."""
    from rapport.core.instruments import instruments

    instrument = instruments().get(instrument_id)
    return short_title(instrument) if instrument is not None else instrument_id
