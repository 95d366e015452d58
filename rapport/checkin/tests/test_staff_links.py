"""Staff create a printable link (QR code) and revoke links from the client page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.checkin.models import CheckinLink
from rapport.checkin.tokens import token_hash
from rapport.testing import issue_checkin_link, login_verified, schedule_next_session

pytestmark = pytest.mark.django_db


def test_create_shows_the_link_once_with_a_qr_code(client, clinics):
    schedule_next_session(clinics.owner_episode)
    login_verified(client, clinics.owner)
    response = client.post(reverse("checkin-link-create", args=[clinics.owner_client.public_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'src="data:image/svg+xml' in page
    link = CheckinLink.objects.get()
    url = page.split('<code class="secret">')[1].split("</code>")[0]
    assert token_hash(url.rsplit("/", 2)[-2]) == link.token_hash
    assert url.startswith("http://127.0.0.1:8000/q/")  # from SITE_URL, not the Host header


def test_client_page_lists_open_links_with_revoke(client, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert reverse("checkin-link-revoke", args=[issued.link.public_id]) in page.content.decode()
    url = reverse("checkin-link-revoke", args=[issued.link.public_id])
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert response.redirect_chain[0][1] == 302
    assert CheckinLink.objects.get().revoked_at is not None
    assert "Link revoked: the client can no longer open it." in response.content.decode()
    assert client.get(issued.path).status_code == 410


def test_revoking_a_link_needs_the_confirmation_it_names(client, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert "I understand the client will no longer be able to open it" in page.content.decode()
    url = reverse("checkin-link-revoke", args=[issued.link.public_id])
    response = client.post(url, follow=True)
    assert "Not revoked: tick the box to confirm you understand" in response.content.decode()
    assert CheckinLink.objects.get().revoked_at is None
    assert client.get(issued.path).status_code == 200


def test_revoke_outside_the_caseload_is_404(client, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    login_verified(client, clinics.outsider)
    url = reverse("checkin-link-revoke", args=[issued.link.public_id])
    assert client.post(url).status_code == 404
    assert CheckinLink.objects.get().revoked_at is None
