"""Behaviour of bill_sdk.errors: parsing BILL error bodies and choosing the exception."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bill_sdk.errors import (
    APIError,
    ArgumentError,
    AuthenticationError,
    BillConnectionError,
    BillError,
    BillTimeoutError,
    ConfigurationError,
    ConflictError,
    ErrorDetail,
    MFARequiredError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SessionExpiredError,
    TransportError,
    ValidationError,
    _parse_retry_after,
    error_from_response,
    parse_error_details,
    redact,
)

SESSION_EXPIRED_BODY = (
    b'[{"timestamp":"2026-12-25T00:00:00.000+00:00","code":"BDC_1109",'
    b'"severity":"ERROR","category":"DOWNSTREAM","message":"Session is invalid.  Please log in."}]'
)


def bill_error(
    status: int,
    items: object = None,
    *,
    content: bytes | None = None,
    method: str = "POST",
    url: str = "https://gateway.stage.bill.com/connect/v3/vendors",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """An error response as BILL would send it, attached to its request."""
    body = content if content is not None else json.dumps(items).encode()
    return httpx.Response(status, content=body, headers=headers, request=httpx.Request(method, url))


def item(code: str | None, message: str = "boom") -> dict[str, str]:
    entry = {"severity": "ERROR", "category": "REQUEST", "message": message}
    if code is not None:
        entry["code"] = code
    return entry


# --------------------------------------------------------------------------- parsing


def test_documented_error_array_is_read_field_by_field() -> None:
    (detail,) = parse_error_details(SESSION_EXPIRED_BODY)
    assert detail == ErrorDetail(
        code="BDC_1109",
        message="Session is invalid.  Please log in.",
        severity="ERROR",
        category="DOWNSTREAM",
        timestamp="2026-12-25T00:00:00.000+00:00",
    )


def test_single_object_instead_of_array_is_read_as_one_detail() -> None:
    details = parse_error_details(b'{"code":"BDC_1119","message":"Invalid field,value: x"}')
    assert [(d.code, d.message) for d in details] == [("BDC_1119", "Invalid field,value: x")]


def test_items_without_code_keep_their_message() -> None:
    body = b'[{"message":"address: must not be null","severity":"ERROR"}]'
    (detail,) = parse_error_details(body)
    assert detail.code is None
    assert detail.message == "address: must not be null"
    assert detail.severity == "ERROR"


def test_detail_help_and_unknown_keys_are_kept() -> None:
    body = b'[{"code":"BDC_1001","message":"m","detail":"d","help":"h","traceId":7}]'
    (detail,) = parse_error_details(body)
    assert (detail.detail, detail.help) == ("d", "h")
    assert detail.extra == {"traceId": 7}


def test_errors_wrapper_object_is_unwrapped() -> None:
    details = parse_error_details(b'{"errors":[{"code":"BDC_1108","message":"a"}]}')
    assert [d.code for d in details] == ["BDC_1108"]


@pytest.mark.parametrize("body", [b"", b"   \n", b"[]", b"null", b'""'])
def test_empty_bodies_give_no_details(body: bytes) -> None:
    assert parse_error_details(body) == ()


def test_html_gateway_page_becomes_one_collapsed_snippet() -> None:
    (detail,) = parse_error_details(b"<html>\n  <body>502   Bad Gateway</body>\n</html>")
    assert detail.code is None
    assert detail.message == "<html> <body>502 Bad Gateway</body> </html>"


def test_non_utf8_body_does_not_raise_and_keeps_readable_text() -> None:
    (detail,) = parse_error_details(b"Service \xff\xfe unavailable")
    assert detail.message is not None
    assert detail.message.startswith("Service ")
    assert detail.message.endswith(" unavailable")


def test_huge_body_is_not_parsed_and_snippet_is_short() -> None:
    huge = json.dumps([item("BDC_1119", "x" * 1000)] * 1000).encode()
    assert len(huge) > 256 * 1024
    (detail,) = parse_error_details(huge)
    assert detail.code is None
    assert detail.message is not None
    assert len(detail.message) <= 300


def test_array_of_scalars_falls_back_to_snippet() -> None:
    (detail,) = parse_error_details(b"[1, 2, 3]")
    assert detail.message == "[1, 2, 3]"


def test_deeply_nested_json_does_not_raise() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    details = parse_error_details(body)
    assert len(details) == 1


@given(st.binary(max_size=2048))
def test_parse_error_details_never_raises_on_arbitrary_bytes(body: bytes) -> None:
    details = parse_error_details(body)
    assert isinstance(details, tuple)
    assert all(isinstance(d, ErrorDetail) for d in details)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_parse_error_details_never_raises_on_arbitrary_json(value: object) -> None:
    details = parse_error_details(json.dumps(value).encode())
    assert all(isinstance(d, ErrorDetail) for d in details)


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "BDC_1109", SessionExpiredError),
        (400, "BDC_1109", SessionExpiredError),
        (401, None, AuthenticationError),
        (400, "BDC_1101", AuthenticationError),
        (401, "BDC_1102", AuthenticationError),
        (400, "BDC_1107", AuthenticationError),
        (400, "BDC_1113", AuthenticationError),
        (403, "BDC_1361", MFARequiredError),
        (403, "BDC_1356", MFARequiredError),
        (403, None, PermissionDeniedError),
        (404, None, NotFoundError),
        (400, "BDC_1120", NotFoundError),
        (404, "BDC_1121", NotFoundError),
        (400, None, ValidationError),
        (422, None, ValidationError),
        (400, "BDC_1119", ValidationError),
        (400, "BDC_1131", ValidationError),
        (409, None, ConflictError),
        (429, None, RateLimitError),
        (400, "BDC_1144", RateLimitError),
        (422, "BDC_1322", RateLimitError),
        (500, "BDC_1144", RateLimitError),
        (500, "BDC_1001", ServerError),
        (503, None, ServerError),
        (520, None, ServerError),
    ],
)
def test_bdc_code_wins_over_http_status(status: int, code: str | None, expected: type[APIError]) -> None:
    error = error_from_response(bill_error(status, [item(code)]))
    assert type(error) is expected
    assert error.status_code == status


def test_unmapped_4xx_is_a_plain_api_error() -> None:
    error = error_from_response(bill_error(418, [item(None)]))
    assert type(error) is APIError


def test_rate_limit_outranks_validation_when_both_codes_are_present() -> None:
    response = bill_error(400, [item("BDC_1119"), item("BDC_1144")])
    assert isinstance(error_from_response(response), RateLimitError)


def test_lowercase_code_is_still_recognised() -> None:
    assert isinstance(error_from_response(bill_error(400, [item("bdc_1109")])), SessionExpiredError)


def test_every_api_error_is_a_bill_error() -> None:
    error = error_from_response(bill_error(404, []))
    assert isinstance(error, APIError)
    assert isinstance(error, BillError)


def test_html_5xx_body_gives_server_error_with_snippet() -> None:
    response = bill_error(502, content=b"<html><body>Bad Gateway</body></html>")
    error = error_from_response(response)
    assert isinstance(error, ServerError)
    assert "Bad Gateway" in str(error)


# --------------------------------------------------------------------------- attributes


def test_message_reads_status_method_path_code_and_text() -> None:
    response = bill_error(400, [item("BDC_1119", "Invalid field,value: x")])
    assert str(error_from_response(response)) == "400 POST /v3/vendors [BDC_1119] Invalid field,value: x"


def test_validation_message_lists_every_message_from_the_array() -> None:
    response = bill_error(
        400,
        [
            item("BDC_1108", "Missing parameter value for parameter: name"),
            {"message": "address: must not be null"},
        ],
    )
    text = str(error_from_response(response))
    assert "[BDC_1108] Missing parameter value for parameter: name" in text
    assert "address: must not be null" in text


def test_codes_lists_bdc_codes_in_order_and_skips_missing_ones() -> None:
    response = bill_error(400, [item("BDC_1108"), item(None), item("BDC_1119")])
    assert error_from_response(response).codes == ("BDC_1108", "BDC_1119")


def test_repr_names_class_status_and_codes() -> None:
    error = error_from_response(bill_error(400, [item("BDC_1119")]), operation_id="create_vendor")
    assert repr(error) == (
        "ValidationError(status_code=400, method='POST', path='/v3/vendors', "
        "codes=('BDC_1119',), request_id=None, operation_id='create_vendor')"
    )


def test_path_never_carries_the_query_string() -> None:
    url = "https://gateway.stage.bill.com/connect/v3/vendors?filters=email:eq:a@b.c"
    error = error_from_response(bill_error(400, [item("BDC_1130")], method="GET", url=url))
    assert error.path == "/v3/vendors"
    assert "a@b.c" not in str(error)
    assert "a@b.c" not in repr(error)


@pytest.mark.parametrize(
    "url",
    [
        "https://gateway.stage.bill.com/connect-events/v3/subscriptions",
        "https://gateway.prod.bill.com/connect/v3/subscriptions",
    ],
)
def test_path_reads_as_in_bills_reference_without_gateway_prefix(url: str) -> None:
    assert error_from_response(bill_error(400, [], url=url)).path == "/v3/subscriptions"


def test_request_id_prefers_x_request_id() -> None:
    headers = {"x-amzn-requestid": "amzn-1", "x-request-id": "req-1"}
    error = error_from_response(bill_error(500, [], headers=headers))
    assert error.request_id == "req-1"
    assert "req-1" in str(error)


def test_request_id_falls_back_to_aws_headers() -> None:
    error = error_from_response(bill_error(500, [], headers={"x-amzn-trace-id": "Root=1"}))
    assert error.request_id == "Root=1"


def test_request_id_is_none_without_headers() -> None:
    assert error_from_response(bill_error(500, [])).request_id is None


def test_operation_id_is_kept() -> None:
    error = error_from_response(bill_error(404, []), operation_id="get_vendor")
    assert error.operation_id == "get_vendor"


def test_retry_after_in_seconds_is_read() -> None:
    response = bill_error(429, [], headers={"retry-after": "7"})
    error = error_from_response(response)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "retry after 7 s" in str(error)


def test_retry_after_http_date_becomes_seconds_from_now() -> None:
    now = datetime(2025, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert _parse_retry_after("Tue, 21 Oct 2025 07:28:00 GMT", now) == 30.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "inf"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert _parse_retry_after(value) is None


def test_retry_after_in_the_past_is_zero() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert _parse_retry_after("Tue, 21 Oct 2025 07:28:00 GMT", now) == 0.0


def test_rate_limit_as_422_without_retry_after_has_none() -> None:
    error = error_from_response(bill_error(422, [item("BDC_1144")]))
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None


def test_mfa_error_says_a_trusted_session_is_needed_and_how() -> None:
    error = error_from_response(bill_error(403, [item("BDC_1361", "Untrusted session.")]))
    text = str(error)
    assert "MFA-trusted session" in text
    assert "request_mfa_code()" in text and "trust_session(" in text  # what to call, by name
    assert "remember_me_id" in text
    assert "device" in text


def test_session_expired_error_says_to_sign_in_again() -> None:
    error = error_from_response(bill_error(401, content=SESSION_EXPIRED_BODY))
    assert "sign in again" in str(error)


def test_response_without_request_still_builds_an_error() -> None:
    error = error_from_response(httpx.Response(500, content=b"oops"))
    assert isinstance(error, ServerError)
    assert (error.method, error.path) == ("", "")
    assert str(error).startswith("500 oops")


def test_unread_streamed_response_still_builds_an_error() -> None:
    response = httpx.Response(
        503,
        stream=httpx.ByteStream(b"later"),
        request=httpx.Request("GET", "https://x/v3/bills"),
    )
    error = error_from_response(response)
    assert isinstance(error, ServerError)
    assert error.details == ()


def test_api_error_survives_pickling() -> None:
    error = error_from_response(
        bill_error(429, [item("BDC_1322")], headers={"retry-after": "3"}),
        operation_id="list_bills",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitError
    assert str(copy) == str(error)
    assert (copy.codes, copy.retry_after, copy.operation_id) == (
        ("BDC_1322",),
        3.0,
        "list_bills",
    )


# --------------------------------------------------------------------------- secrets


def test_secret_values_in_bill_messages_are_redacted_everywhere() -> None:
    dev_key = "01ABCDEFDEVKEY"
    body = [
        {
            "code": "BDC_1119",
            "message": f"Invalid field,value: {dev_key}",
            "detail": f"devKey={dev_key}",
            "echo": {"value": dev_key},
        }
    ]
    error = error_from_response(bill_error(400, body), secrets=[dev_key, None, ""])
    assert dev_key not in str(error)
    assert dev_key not in repr(error)
    assert dev_key not in repr(error.details)
    assert error.details[0].extra == {"echo": {"value": "***"}}
    assert "Invalid field,value: ***" in str(error)


def test_redact_hides_the_longer_of_overlapping_secrets() -> None:
    assert redact("session abc123xyz", ["abc", "abc123xyz"]) == "session ***"


def test_redact_ignores_empty_secrets() -> None:
    assert redact("plain text", ["", None]) == "plain text"


# --------------------------------------------------------------------------- other errors


def test_argument_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        raise ArgumentError("bad max")


def test_missing_configuration_names_the_environment_variable() -> None:
    error = ConfigurationError.missing("developer key", "BILL_DEV_KEY")
    assert "BILL_DEV_KEY" in str(error)
    assert error.env_var == "BILL_DEV_KEY"


@pytest.mark.parametrize("cls", [BillTimeoutError, BillConnectionError])
def test_transport_errors_carry_method_path_and_operation(
    cls: type[TransportError],
) -> None:
    error = cls("read timeout", method="GET", path="/v3/bills?max=5", operation_id="list")
    assert isinstance(error, TransportError)
    assert (error.method, error.path, error.operation_id) == (
        "GET",
        "/v3/bills",
        "list",
    )
    assert str(error) == "GET /v3/bills (list): read timeout"


def test_outcome_unknown_says_not_resent_and_to_check_bill_first() -> None:
    cause = httpx.ReadTimeout("timed out")
    with pytest.raises(OutcomeUnknownError) as caught:
        try:
            raise cause
        except httpx.ReadTimeout as exc:
            raise OutcomeUnknownError(
                method="POST",
                path="/v3/payments?x=1",
                operation_id="create_payment",
                reason="read timeout",
            ) from exc
    error = caught.value
    assert error.__cause__ is cause
    assert (error.method, error.path, error.operation_id) == (
        "POST",
        "/v3/payments",
        "create_payment",
    )
    text = str(error)
    assert "not re-sent" in text
    assert "Check BILL's state" in text
    assert "read timeout" in text
    assert not isinstance(error, TransportError)
