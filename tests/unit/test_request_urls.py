"""The URL the transport sends: the endpoint parsed once, the query attached, equal in every respect to httpx's own
parse of the whole string, and httpx's own parse whenever the shortcut is off or the URL is too long for httpx."""

from __future__ import annotations

import random
import string

import httpx
import pytest

from bill_sdk import _urls
from bill_sdk._urls import encode_query, request_url

TARGETS = [
    "https://gateway.stage.bill.com/connect/v3/vendors",
    "https://API.Bill.com/connect/v3/bills/00n01ABC%2F..%3F",
    "http://127.0.0.1:8123/connect/v3/vendors",
    "http://[::1]:9000/prefix/connect/v3/spend/transactions",
    "https://xn--bcher-kva.example/connect/v3/invoices",
    "https://bücher.example:443/v3/partner/organizations",
]
FACETS = ("scheme", "raw_scheme", "host", "raw_host", "port", "netloc", "path", "raw_path", "query", "fragment")


def text(rng: random.Random) -> str:
    alphabet = string.printable + 'é"ü€\u2028\x00\x7f'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def assert_same(sent: httpx.URL, target: str, query: str) -> None:
    parsed = httpx.URL(f"{target}?{query}" if query else target)
    assert sent == parsed
    assert str(sent) == str(parsed)
    for facet in FACETS:
        assert getattr(sent, facet) == getattr(parsed, facet), facet
    assert sent.params == parsed.params


def test_the_shortcut_is_on_for_the_httpx_installed() -> None:
    assert _urls._attach is not None  # else every request pays httpx's parse again (still correct)


@pytest.mark.parametrize("seed", range(60))
def test_a_url_with_its_query_is_what_httpx_parses(seed: int) -> None:
    rng = random.Random(seed)
    params = {text(rng) or "k": [text(rng), rng.choice([True, False, None, 7, 1.5])] for _ in range(rng.randint(1, 4))}
    query = encode_query(params)
    target = TARGETS[seed % len(TARGETS)]
    assert_same(request_url(target, query), target, query)


@pytest.mark.parametrize("target", TARGETS)
def test_a_url_without_a_query_is_the_endpoint(target: str) -> None:
    assert_same(request_url(target, ""), target, "")


def test_the_endpoint_is_parsed_once_and_each_url_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    _urls.endpoint.cache_clear()
    first = request_url(TARGETS[0], "max=1")
    second = request_url(TARGETS[0], "max=2")
    assert _urls.endpoint.cache_info().misses == 1
    assert (first.query, second.query) == (b"max=1", b"max=2")


def test_without_the_shortcut_httpx_parses_every_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_urls, "_attach", None)
    query = encode_query({"filters": 'name:eq:"a b"'})
    assert_same(request_url(TARGETS[0], query), TARGETS[0], query)


def test_a_url_too_long_for_httpx_is_still_refused_by_httpx() -> None:
    with pytest.raises(httpx.InvalidURL, match="too long"):
        request_url(TARGETS[0], "filters=" + "a" * _urls.MAX_URL_LENGTH)


def test_the_check_at_import_turns_the_shortcut_off_when_httpx_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(base: httpx.URL, query: str) -> httpx.URL:
        return httpx.URL(str(base) + "?x=" + query)

    monkeypatch.setattr(_urls, "_attach_to_parse", wrong)
    assert _urls._attaching_is_parsing() is False

    def broken(base: httpx.URL, query: str) -> httpx.URL:
        raise AttributeError("_uri_reference")

    monkeypatch.setattr(_urls, "_attach_to_parse", broken)
    assert _urls._attaching_is_parsing() is False
