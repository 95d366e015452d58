"""The check-in pages' limits: per IP address across tokens, and per token."""

from __future__ import annotations

import pytest
from django.test import override_settings

from rapport.checkin import ratelimit
from rapport.checkin.tokens import new_token
from rapport.security.models import RateLimitCounter


@pytest.mark.django_db
@override_settings(CHECKIN_RATE_PER_IP=3, CHECKIN_RATE_PER_TOKEN=1000)
def test_the_per_ip_limit_applies_across_tokens(rf):
    request = rf.get("/", REMOTE_ADDR="198.51.100.7")
    verdicts = [ratelimit.over_limit(request, new_token()) for _ in range(4)]
    assert verdicts == [False, False, False, True]


@pytest.mark.django_db
def test_buckets_name_neither_the_ip_address_nor_the_token(rf):
    token = new_token()
    ratelimit.over_limit(rf.get("/", REMOTE_ADDR="198.51.100.7"), token)
    buckets = list(RateLimitCounter.objects.values_list("bucket", flat=True))
    assert sorted(bucket.split(":")[0] for bucket in buckets) == ["ip", "token"]
    assert not any("198.51.100.7" in bucket or token[:12] in bucket for bucket in buckets)


@pytest.mark.django_db
@override_settings(BEHIND_TLS_PROXY=True, CHECKIN_RATE_PER_IP=3, CHECKIN_RATE_PER_TOKEN=1000)
def test_behind_the_proxy_one_sender_does_not_block_every_client(rf):
    def through_proxy(client_address):
        return rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=client_address)

    flooding = [ratelimit.over_limit(through_proxy("203.0.113.66"), new_token()) for _ in range(4)]
    assert flooding[-1] is True
    assert ratelimit.over_limit(through_proxy("198.51.100.7"), new_token()) is False
