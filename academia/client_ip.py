"""The address of the client behind a request, as the throttles count it.

``X-Forwarded-For`` is only believed when the request comes from a proxy listed
in ``CHAT_TRUSTED_PROXIES`` (addresses or networks, e.g. ``127.0.0.1,10.0.0.0/8``).
The header is then read from the right: each trusted proxy appends the address it
was connected from, so the first address that is not a trusted proxy is the
client, and anything a client wrote further to the left is ignored. With no
trusted proxies (the default) the header is ignored and ``REMOTE_ADDR`` is the
client, whatever the request claims.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(value: str) -> Address | None:
    """An IP address from a header or ``REMOTE_ADDR``, or None if it is not one.

    IPv4 addresses mapped into IPv6 (``::ffff:192.0.2.1``, what a dual-stack socket
    reports) count as the IPv4 address, so one client has one identity.
    """
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``CHAT_TRUSTED_PROXIES`` as networks (a bare address is a one-address network)."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"CHAT_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def is_trusted(address: Address | None, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip_from_meta(meta: Mapping[str, Any], proxies: Iterable[str]) -> str:
    """The client address for a WSGI/ASGI ``META`` mapping, trusting ``proxies``."""
    remote_addr = str(meta.get("REMOTE_ADDR") or "")
    remote = parse_address(remote_addr)
    networks = trusted_networks(tuple(proxies))
    if not is_trusted(remote, networks):
        return str(remote) if remote is not None else remote_addr
    hops = [hop for hop in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # A trusted proxy never writes this; stop at the last address it vouched for.
            break
        client = address
        if not is_trusted(address, networks):
            break
    return str(client)


def client_ip(request: Any) -> str:
    """The client address of a Django or DRF request (see the module docstring)."""
    return client_ip_from_meta(request.META, settings.CHAT_TRUSTED_PROXIES)
