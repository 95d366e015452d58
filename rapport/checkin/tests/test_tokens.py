"""Token properties: entropy, hash-only storage, GET does not consume, closed links alike."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from rapport.checkin.links import revoke_link
from rapport.checkin.models import CheckinLink, CheckinSubmission
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.tokens import TOKEN_PATTERN, new_token, token_hash
from rapport.clinic.models import AdministrationStatus
from rapport.testing import issue_checkin_link


def test_tokens_have_256_bits_and_never_repeat():
    tokens = {new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000
    assert all(TOKEN_PATTERN.fullmatch(token) for token in tokens)
    # 43 base64url characters carry 6 bits each: 258 >= 256 bits from token_urlsafe(32).
    assert {len(token) for token in tokens} == {43}
    # Every character of the alphabet turns up: the tokens are not from a narrow set.
    assert len(set("".join(tokens))) == 64


@pytest.mark.django_db
def test_only_the_hash_is_stored(issued):
    link = CheckinLink.objects.get(pk=issued.link.pk)
    assert link.token_hash == token_hash(issued.token) != issued.token
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                assert issued.token not in repr(row), f"token found in table {table}"


@pytest.mark.django_db
def test_the_database_refuses_a_second_link_with_the_same_token_hash(issued):
    # A link found by hash must be the only one: a duplicate would open another
    # session's questionnaires with the same token.
    twin = CheckinLink(
        session=issued.link.session,
        token_hash=issued.link.token_hash,
        channel=issued.link.channel,
        expires_at=issued.link.expires_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


@pytest.mark.django_db
def test_get_and_head_do_not_consume(client, issued):
    for _ in range(2):
        assert client.get(issued.path).status_code == 200
    assert client.head(issued.path).status_code == 200
    link = CheckinLink.objects.get(pk=issued.link.pk)
    assert link.used_at is None and link.revoked_at is None
    response = client.post(f"{issued.path}submit/", full_answers())
    assert response.status_code == 200
    assert b"Thank you" in response.content


def _closed(client, path):
    response = client.get(path)
    return response.status_code, response.content


@pytest.mark.django_db
def test_expired_revoked_used_and_unknown_links_look_the_same(client, clinics):
    expired = issue_checkin_link(clinics.owner_episode)
    CheckinLink.objects.filter(pk=expired.link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    revoked = issue_checkin_link(clinics.owner_episode)
    revoke_link(revoked.link)
    used = issue_checkin_link(clinics.owner_episode)
    assert client.post(f"{used.path}submit/", full_answers()).status_code == 200
    unknown = f"/q/{new_token()}/"
    pages = {
        "expired": _closed(client, expired.path),
        "revoked": _closed(client, revoked.path),
        "used": _closed(client, used.path),
        "unknown": _closed(client, unknown),
        "malformed": _closed(client, "/q/not-a-token/"),
    }
    assert len(set(pages.values())) == 1, pages.keys()
    status, body = pages["used"]
    assert status == 410
    assert b"This link is closed" in body
    # Submitting to a closed link gives the same page and stores nothing more.
    again = client.post(f"{used.path}submit/", full_answers())
    assert (again.status_code, again.content) == (status, body)
    assert CheckinSubmission.objects.count() == 1


@pytest.mark.django_db
def test_a_closed_link_answers_in_the_browsers_language(client, clinics):
    used = issue_checkin_link(clinics.owner_episode)
    assert client.post(f"{used.path}submit/", full_answers()).status_code == 200
    spanish = {"HTTP_ACCEPT_LANGUAGE": "es-MX,es;q=0.9"}

    pages = [client.get(path, **spanish) for path in (used.path, f"/q/{new_token()}/")]

    assert {(page.status_code, page.content) for page in pages} == {
        (pages[0].status_code, pages[0].content)
    }, "a real link and a guessed one still look the same"
    assert pages[0].status_code == 410
    assert "Este enlace está cerrado" in pages[0].content.decode()


@pytest.mark.django_db
def test_second_submission_stores_nothing(client, issued):
    first = client.post(f"{issued.path}submit/", full_answers())
    second = client.post(f"{issued.path}submit/", full_answers(phq9_item9=3))
    assert first.status_code == 200 and second.status_code == 410
    assert CheckinSubmission.objects.filter(link=issued.link).count() == 1
    phq9 = issued.link.session.administrations.get(instrument_id="phq9")
    assert phq9.answers["phq9_9"] == 0  # the second, different answers were not stored


@pytest.mark.django_db
def test_checkin_pages_send_privacy_headers(client, issued):
    for response in [
        client.get(issued.path),
        client.get(f"/q/{new_token()}/"),
        client.post(f"{issued.path}draft/", {}),
    ]:
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
        assert "noindex" in response["X-Robots-Tag"]
    page = client.get(issued.path).content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert "http://" not in page and "https://" not in page  # no third-party assets


@pytest.mark.django_db
def test_page_shows_nothing_identifying(client, clinics, issued):
    from rapport.clinic.models import ClientIdentity

    ClientIdentity.objects.create(
        client=clinics.owner_client, given_name="Zebediah", family_name="Quill"
    )
    pages = [client.get(issued.path)]
    for screen in range(1, 4):
        pages.append(client.get(f"{issued.path}?screen={screen}"))
    for response in pages:
        text = response.content.decode()
        for secret in [
            "Zebediah",
            "Quill",
            clinics.owner_client.record_number,
            clinics.owner.username,
            clinics.organisation.name,
        ]:
            assert secret not in text


@pytest.mark.django_db
@override_settings(CHECKIN_RATE_PER_IP=1000, CHECKIN_RATE_PER_TOKEN=5)
@pytest.mark.usefixtures("one_rate_limit_window")
def test_rate_limit_per_token(client, issued):
    statuses = [client.get(issued.path).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.get(issued.path)
    assert 1 <= int(limited["Retry-After"]) <= 60  # until the current minute's window ends
    assert limited["Referrer-Policy"] == "no-referrer"
    assert b"Please wait a moment" in limited.content


@pytest.mark.django_db
@override_settings(CHECKIN_RATE_PER_IP=3, CHECKIN_RATE_PER_TOKEN=1000)
@pytest.mark.usefixtures("one_rate_limit_window")
def test_rate_limit_per_ip_covers_unknown_tokens(client):
    statuses = [client.get(f"/q/{new_token()}/").status_code for _ in range(5)]
    assert statuses == [410, 410, 410, 429, 429]
    other_ip = client.get(f"/q/{new_token()}/", REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 410


@pytest.mark.django_db
def test_submission_completes_administrations(client, issued):
    response = client.post(f"{issued.path}submit/", full_answers())
    assert response.status_code == 200
    administrations = issued.link.session.administrations.all()
    assert {a.instrument_id for a in administrations} == {
        "rapport_trust",
        "rapport_alliance",
        "phq9",
    }
    assert all(a.status == AdministrationStatus.COMPLETED for a in administrations)
    trust = administrations.get(instrument_id="rapport_trust")
    assert trust.total is not None and trust.completed_at is not None


@pytest.mark.django_db
def test_csrf_token_required_but_null_origin_accepted(issued):
    """no-referrer makes browsers send ``Origin: null``; the CSRF token still counts."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(issued.path)
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    without = browser.post(f"{issued.path}draft/", {"screen": "0"}, HTTP_ORIGIN="null")
    assert without.status_code == 403
    foreign = browser.post(
        f"{issued.path}draft/",
        {"csrfmiddlewaretoken": token, "screen": "0"},
        HTTP_ORIGIN="https://evil.example",
    )
    assert foreign.status_code == 403
    ok = browser.post(
        f"{issued.path}draft/",
        {"csrfmiddlewaretoken": token, "screen": "0"},
        HTTP_ORIGIN="null",
        secure=True,
    )
    assert ok.status_code == 200


def test_tokens_are_redacted_from_logs(caplog):
    import logging

    from rapport.checkin.log_redaction import RedactCheckinTokens

    token = new_token()
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Gone: %s", (f"/q/{token}/draft/",), None
    )
    RedactCheckinTokens().filter(record)
    assert token not in record.getMessage()
    assert record.getMessage() == "Gone: /q/[token]/draft/"


def test_caseload_searches_are_redacted_from_access_logs():
    from rapport.checkin.log_redaction import redact

    # A search may be a client's name; the request line, path atom and query atom all hide it.
    assert redact("GET /?flag=safety&q=Ada+Lovelace HTTP/1.1") == (
        "GET /?flag=safety&q=[search] HTTP/1.1"
    )
    assert redact("q=Ada&sort=urgency") == "q=[search]&sort=urgency"
    assert redact("/?sort=urgency&order=asc") == "/?sort=urgency&order=asc"
