"""The OpenAPI document is valid, and the live API honours it (schemathesis).

Every operation is exercised in-process through the WSGI app with a valid token of a
therapist who has records, with generated (including odd but schema-valid) parameters.
Checks: no 5xx, and every response matches the documented schema for its status.
Kept bounded (a few examples per operation) so that it runs in CI in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from rapport.testing import add_score, api_token, make_episode

OPENAPI_URL = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 25


def test_the_openapi_document_is_valid(client, db):
    document = client.get(OPENAPI_URL).json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/api/v1/clients",
        "/api/v1/clients/{client_id}",
        "/api/v1/clients/{client_id}/identity",
        "/api/v1/episodes",
        "/api/v1/episodes/{episode_id}",
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/plans",
        "/api/v1/administrations",
        "/api/v1/administrations/{administration_id}",
        "/api/v1/alerts",
        "/api/v1/clients/{client_id}/checkin-links",
    }


def test_every_operation_is_documented_with_its_error_responses(client, db):
    document = client.get(OPENAPI_URL).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            assert {"401", "403", "404", "422", "429"} <= documented, (path, method)
            assert documented & {"200", "201"}, (path, method)
            assert operation["security"] == [{"TokenAuth": []}], (path, method)


@contextmanager
def database_kept_open() -> Iterator[None]:
    """Keep the test's connection across in-process WSGI requests (as Django's test client
    does): Django closes connections when a request finishes, which on PostgreSQL would end
    the test transaction holding the fixtures."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@override_settings(API_RATE_LIMIT=100_000)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(clinics):
    episode = make_episode(clinics.owner, sessions=3)
    add_score(episode.sessions.get(number=3), "phq9", 7, construct="outcome")
    headers = {"Authorization": f"Bearer {api_token(clinics.owner, ('read', 'write', 'identity'))}"}
    with database_kept_open():
        schema = schemathesis.openapi.from_wsgi(OPENAPI_URL, get_wsgi_application())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12
        statuses: dict[str, set[int]] = {}
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case):
                response = case.call_and_validate(
                    headers=headers, checks=[not_a_server_error, response_schema_conformance]
                )
                statuses.setdefault(case.operation.label, set()).add(response.status_code)

            exercise()
    # The run reached real data, not only error paths.
    assert any(200 in seen for seen in statuses.values()), statuses
