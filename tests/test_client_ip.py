"""The client address the throttles count: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from academia.client_ip import client_ip_from_meta, parse_address

PROXY = "10.0.0.5"


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        # No trusted proxy: the header is ignored, whoever sent it.
        ("203.0.113.7", "198.51.100.1", [], "203.0.113.7"),
        ("203.0.113.7", None, [], "203.0.113.7"),
        # From a proxy that is not trusted: ignored as well.
        ("203.0.113.7", "198.51.100.1", [PROXY], "203.0.113.7"),
        # From the trusted proxy: the address it appended is the client.
        (PROXY, "198.51.100.1", [PROXY], "198.51.100.1"),
        # A client's own header to the left of what the proxy appended is ignored.
        (PROXY, "1.2.3.4, 198.51.100.1", [PROXY], "198.51.100.1"),
        (PROXY, "garbage, 198.51.100.1", [PROXY], "198.51.100.1"),
        # Two trusted hops (a load balancer in a trusted network, then nginx).
        (PROXY, "1.2.3.4, 198.51.100.1, 10.1.2.3", [PROXY, "10.1.0.0/16"], "198.51.100.1"),
        # Only proxies all the way: the leftmost address is as far as we can see.
        (PROXY, "10.1.2.3", [PROXY, "10.1.0.0/16"], "10.1.2.3"),
        # The trusted proxy sent no header: the proxy is the client.
        (PROXY, None, [PROXY], PROXY),
        (PROXY, "", [PROXY], PROXY),
        # Something a trusted proxy would never write: stop at what it vouched for.
        (PROXY, "198.51.100.1, not-an-address", [PROXY], PROXY),
        # IPv6, with and without brackets and ports; IPv4 mapped into IPv6.
        ("::1", "2001:db8::7", ["::1"], "2001:db8::7"),
        ("::1", "[2001:db8::7]:4711", ["::1/128"], "2001:db8::7"),
        (PROXY, "198.51.100.1:4711", [PROXY], "198.51.100.1"),
        ("::ffff:10.0.0.5", "198.51.100.1", [PROXY], "198.51.100.1"),
        ("::ffff:203.0.113.7", "198.51.100.1", [PROXY], "203.0.113.7"),
    ],
)
def test_client_ip(remote: str, forwarded: str | None, proxies: list[str], expected: str) -> None:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip_from_meta(meta, proxies) == expected


def test_parse_address_refuses_what_is_not_an_address() -> None:
    assert parse_address("example.com") is None
    assert parse_address("") is None
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"


def test_a_bad_trusted_proxy_entry_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="not-a-network"):
        client_ip_from_meta({"REMOTE_ADDR": "192.0.2.1"}, ["10.0.0.0/8", "not-a-network"])


# --- The throttles use it ---------------------------------------------------------------


@pytest.fixture
def one_write_a_minute(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": "1/min"},
    }
    cache.clear()


def sign_in_attempt(remote: str, forwarded: str | None = None) -> int:
    """An anonymous write (a failed sign-in): throttled per client address."""
    headers: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    response = APIClient().post(
        "/accounts/token/", {"username": "nobody", "password": "wrong"}, format="json", **headers
    )
    return response.status_code


@pytest.mark.django_db
def test_a_spoofed_header_does_not_buy_a_fresh_throttle_bucket(
    one_write_a_minute: None, settings: Any
) -> None:
    settings.CHAT_TRUSTED_PROXIES = []
    first = sign_in_attempt("203.0.113.7", "198.51.100.1")
    second = sign_in_attempt("203.0.113.7", "198.51.100.2")
    other_client = sign_in_attempt("203.0.113.8", "203.0.113.7")
    assert (first, second, other_client) == (400, 429, 400)


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(
    one_write_a_minute: None, settings: Any
) -> None:
    settings.CHAT_TRUSTED_PROXIES = [PROXY]
    codes = [
        sign_in_attempt(PROXY, "198.51.100.1"),
        sign_in_attempt(PROXY, "198.51.100.2"),
        sign_in_attempt(PROXY, "198.51.100.1"),
        # The client's own header to the left does not change who it is.
        sign_in_attempt(PROXY, "192.0.2.99, 198.51.100.2"),
    ]
    assert codes == [400, 400, 429, 429]
