"""Whom the customer pages' rate limits count: the client, not the proxy in front of us."""

import pytest
from django.test import RequestFactory

from intake.ratelimit import client_address


@pytest.fixture
def request_from():
    def make(remote: str, forwarded: str | None = None):
        headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return RequestFactory().get("/t/", REMOTE_ADDR=remote, **headers)

    return make


def test_without_a_proxy_the_remote_address_counts(request_from, settings):
    settings.TRUSTED_PROXY_HOPS = 0

    assert client_address(request_from("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


def test_behind_one_proxy_the_client_it_names_counts(request_from, settings):
    settings.TRUSTED_PROXY_HOPS = 1

    assert client_address(request_from("10.0.0.2", "203.0.113.7")) == "203.0.113.7"


def test_what_the_client_puts_in_front_is_not_believed(request_from, settings):
    settings.TRUSTED_PROXY_HOPS = 1

    # A client sending "X-Forwarded-For: 1.2.3.4" arrives as "1.2.3.4, <its real address>".
    assert client_address(request_from("10.0.0.2", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"


def test_ipv6_clients_count_by_their_64(request_from, settings):
    settings.TRUSTED_PROXY_HOPS = 0

    one = client_address(request_from("2001:db8:1:2::1"))
    other = client_address(request_from("2001:db8:1:2:ffff::9"))

    assert one == other == "2001:db8:1:2::/64"


def test_a_missing_forwarded_header_falls_back_to_the_remote_address(request_from, settings):
    settings.TRUSTED_PROXY_HOPS = 1

    assert client_address(request_from("203.0.113.9")) == "203.0.113.9"
