"""Where a request came from: the one rule every audit entry, lockout and rate limit uses."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.conf import settings


@functools.cache
def _trusted_networks(cidrs: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    trusted = _trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    return any(ip in network for network in trusted)


def client_ip(request: Any) -> str | None:
    """The address the request came from, or None if it is not a valid IP address.

    Behind the clinic's TLS proxy (``RAPPORT_BEHIND_TLS_PROXY=1``) every request arrives
    from the proxy, so ``X-Forwarded-For`` is read from the right: the right-most entry
    that is not one of the clinic's own further proxies (``RAPPORT_TRUSTED_PROXIES``,
    networks) is the address the outermost trusted proxy saw. Entries left of it are
    client-supplied and not trusted. Without a proxy the header is ignored entirely,
    because anyone can send it.
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_TLS_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        while hops:
            candidate = hops.pop()
            if not _is_trusted_proxy(candidate):
                break
    try:
        return ipaddress.ip_address(candidate).compressed
    except ValueError:
        return None
