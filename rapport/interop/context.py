"""What the import and export commands share: the organisation and the instrument registry."""

from __future__ import annotations

from rapport.clinic.models import Organisation
from rapport.core.instruments import load_installed_instruments
from rapport.instruments import Registry


class InteropError(ValueError):
    """An import or export cannot start as asked (unknown organisation, bad file, ...)."""


def organisation(slug: str | None) -> Organisation:
    """The organisation ``slug``; without a slug, the only one (else a clear error)."""
    if slug:
        found = Organisation.objects.filter(slug=slug).first()
        if found is None:
            raise InteropError(f"no organisation {slug!r}")
        return found
    organisations = list(Organisation.objects.order_by("slug")[:2])
    if len(organisations) != 1:
        slugs = ", ".join(Organisation.objects.values_list("slug", flat=True)) or "none"
        raise InteropError(f"name the organisation with --org (organisations: {slugs})")
    return organisations[0]


def registry() -> Registry:
    """The installation's instruments, read afresh (an import may just have added one)."""
    return load_installed_instruments()
