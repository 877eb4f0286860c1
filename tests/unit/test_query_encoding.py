"""The query string the transport writes: what a server reads back is exactly the parameters given, and BILL's
filter syntax stays readable (``:`` and ``,`` as they are, as BILL's documentation writes it)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from bill_sdk import AsyncBill, where
from bill_sdk._urls import encode_query

from ..client.conftest import BASE

TRICKY = ["a b", "a+b", "a&b=c", "100%", "#frag", "x?y", "é/ü", 'say "hi"', "semi;colon", "tab\tnew\nline", ""]


@pytest.mark.parametrize("value", TRICKY)
def test_a_server_reads_back_exactly_the_value_given(value: str) -> None:
    query = encode_query({"name": value, "max": 5})
    assert parse_qsl(query, keep_blank_values=True) == [("name", value), ("max", "5")]
    reference = str(httpx.QueryParams({"name": value, "max": 5}))  # httpx's own encoding reads the same
    assert parse_qsl(reference, keep_blank_values=True) == parse_qsl(query, keep_blank_values=True)


def test_booleans_none_and_lists_are_written_as_httpx_writes_them() -> None:
    params = {"flag": True, "off": False, "empty": None, "ids": ["a", "b"], "n": 1.5}
    assert parse_qsl(encode_query(params), keep_blank_values=True) == parse_qsl(
        str(httpx.QueryParams(params)), keep_blank_values=True
    )


async def test_a_filtered_list_request_keeps_bills_filter_syntax_readable() -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/connect/v3/login").respond(200, json={"sessionId": "s", "organizationId": "o", "userId": "u"})
        router.post("/connect/v3/logout").respond(200, json={})
        route = router.get("/connect/v3/vendors").respond(200, json={"results": []})
        async with AsyncBill(dev_key="d", username="u", password="p", organization_id="o", env={}) as bill:
            filters = where("billCurrency").in_(["USD", "CAD"]) & where("archived").eq(False)
            await bill.vendors.list(max=10, filters=filters, sort="name:asc")
        url = str(route.calls.last.request.url)
        assert url.endswith("?max=10&sort=name:asc&filters=billCurrency:in:%22USD,CAD%22,archived:eq:false"), url
        assert route.calls.last.request.url.params["filters"] == 'billCurrency:in:"USD,CAD",archived:eq:false'


def test_quoting_a_value_is_urllibs_for_every_character() -> None:
    from urllib.parse import quote

    from bill_sdk._urls import quote_value

    every_ascii = "".join(map(chr, range(128)))
    for text in [every_ascii, every_ascii + "é", "a b", "", "\u2028", "€ and ü", "%41"]:
        assert quote_value(text) == quote(text, safe=":,")
