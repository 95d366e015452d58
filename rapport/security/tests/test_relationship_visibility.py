"""One rule for relationship answers, asserted on every channel that shows them.

Clients are told before they answer who reads their trust, alliance and openness answers
(the check-in's "who sees this" statement). Where the clinic, or the instrument itself,
says "supervisors only", the treating therapist must not see them on the client page,
the brief, the PDF report, the API (list and detail) or the FHIR export; the supervisor
sees them everywhere. Issue #15, point 1.
"""

from __future__ import annotations

import dataclasses
import html
import io
import itertools
import json

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.clinic.models import TrustAnswersAudience
from rapport.core import instruments as registry_module
from rapport.instruments import Registry, load_registry
from rapport.interop.fhir_export import client_bundle
from rapport.testing import (
    add_answers,
    api_token,
    bearer,
    login_verified,
    make_episode,
    make_two_clinics,
)
from rapport.workspace.flags import short_title

pytestmark = pytest.mark.django_db

# Read from the shipped definitions, so a new relationship questionnaire is covered too.
SHIPPED = load_registry()
RELATIONSHIP_INSTRUMENTS = sorted(
    instrument.id for instrument in SHIPPED.values() if instrument.construct != "outcome"
)
CHANNELS = ("page", "brief", "pdf", "api_list", "api_detail", "fhir")
CASES = list(
    itertools.product(
        RELATIONSHIP_INSTRUMENTS,
        TrustAnswersAudience.values,
        ("therapist", "supervisors"),
        CHANNELS,
    )
)


def test_every_relationship_construct_is_covered():
    constructs = {SHIPPED[instrument_id].construct for instrument_id in RELATIONSHIP_INSTRUMENTS}
    assert constructs == {"trust", "alliance", "openness"}


@pytest.fixture
def installed(monkeypatch):
    """Swap the installed registry for one where ``instrument_id`` has ``audience``."""

    def install(instrument_id: str, audience: str) -> Registry:
        changed = Registry(
            dataclasses.replace(item, audience=audience) if item.id == instrument_id else item
            for item in SHIPPED.all_versions()
        )
        monkeypatch.setattr(registry_module, "_loaded", [changed])
        return changed

    return install


def _answers(instrument, *, high: bool) -> dict:
    return {item.id: item.max_value if high else item.min_value for item in instrument.items}


def _shown(django_client, user, channel: str, episode, administration, registry) -> str:
    """What ``user`` receives on ``channel`` for ``episode``, as text."""
    if channel == "api_list":
        response = django_client.get("/api/v1/administrations", headers=bearer(api_token(user)))
        assert response.status_code == 200
        return json.dumps([item["instrument_id"] for item in response.json()["items"]])
    if channel == "api_detail":
        response = django_client.get(
            f"/api/v1/administrations/{administration.public_id}", headers=bearer(api_token(user))
        )
        assert response.status_code in (200, 404)
        return response.content.decode() if response.status_code == 200 else ""
    if channel == "fhir":
        bundle = client_bundle(
            episode.client.record_number, episode.client.organisation, registry, user=user
        )
        return json.dumps(bundle)
    login_verified(django_client, user)
    if channel == "page":
        response = django_client.get(reverse("client-detail", args=[episode.client.public_id]))
    elif channel == "brief":
        response = django_client.get(reverse("episode-brief", args=[episode.public_id]))
    else:
        response = django_client.get(reverse("episode-report", args=[episode.public_id]))
        assert response.status_code == 200
        reader = PdfReader(io.BytesIO(response.content))
        return " ".join(page.extract_text() for page in reader.pages)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("instrument_id", "clinic_audience", "instrument_audience", "channel"), CASES
)
def test_relationship_answers_reach_the_therapist_only_where_the_client_was_told_so(
    client, installed, instrument_id, clinic_audience, instrument_audience, channel
):
    registry = installed(instrument_id, instrument_audience)
    instrument = registry[instrument_id]
    clinics = make_two_clinics()
    clinics.organisation.trust_answers_audience = clinic_audience
    clinics.organisation.save()
    episode = make_episode(clinics.owner, sessions=2)
    administration = add_answers(
        episode.sessions.get(number=1), instrument, _answers(instrument, high=True)
    )
    add_answers(episode.sessions.get(number=2), instrument, _answers(instrument, high=False))
    # The marker a channel shows when it shows this questionnaire at all.
    marker = instrument.id if channel.startswith(("api", "fhir")) else short_title(instrument)
    therapist_may_see = clinic_audience == "therapist" and instrument_audience == "therapist"

    seen_by_therapist = _shown(client, clinics.owner, channel, episode, administration, registry)
    client.logout()
    seen_by_supervisor = _shown(
        client, clinics.supervisor, channel, episode, administration, registry
    )

    assert (marker in seen_by_therapist) is therapist_may_see
    assert marker in seen_by_supervisor
