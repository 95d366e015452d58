import pytest
from django.test import override_settings

from rapport.security import audit
from rapport.security.network import client_ip


def test_without_a_proxy_the_forwarded_header_is_ignored(rf):
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "192.0.2.1"


@override_settings(BEHIND_TLS_PROXY=True)
def test_behind_the_proxy_the_address_the_proxy_appended_is_used(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


def test_a_garbage_address_counts_as_none(rf):
    assert client_ip(rf.get("/", REMOTE_ADDR="not-an-ip")) is None


def test_ipv6_addresses_are_stored_compressed(rf):
    assert client_ip(rf.get("/", REMOTE_ADDR="2001:db8:0:0:0:0:0:1")) == "2001:db8::1"


@pytest.mark.django_db
@override_settings(BEHIND_TLS_PROXY=True)
def test_audit_entries_record_the_same_address_as_the_lockout(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert audit.record("test.probe", request=request).ip_address == "203.0.113.9"


@override_settings(BEHIND_TLS_PROXY=True, TRUSTED_PROXY_NETWORKS=["10.0.0.0/8"])
def test_behind_a_chain_of_proxies_the_rightmost_untrusted_hop_is_used(rf):
    request = rf.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9, 10.1.2.3"
    )
    assert client_ip(request) == "203.0.113.9"


@override_settings(BEHIND_TLS_PROXY=True)
def test_behind_the_proxy_without_a_forwarded_header_the_proxy_address_is_used(rf):
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
