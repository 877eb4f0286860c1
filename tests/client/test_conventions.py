"""Client conventions a newcomer relies on (issue #14): `async for` over `list()`, `with_options`,
`with_raw_response`, request ids of successful calls, the User-Agent, `BILL_LOG`, logged sign-ins, and errors
that say what to do."""

from __future__ import annotations

import gc
import logging
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest
import respx

import bill_sdk
from bill_sdk import AsyncBill, ConfigurationError, MFARequiredError
from bill_sdk._logs import StderrHandler
from bill_sdk.testing import FakeBill, ServerURL
from bill_sdk.testing import pytest_plugin as _plugin

from .conftest import BASE, CREDENTIALS, OBJ, SESSION

fake_bill = _plugin.fake_bill
bill_client = _plugin.bill_client
fake_bill_server = _plugin.fake_bill_server
bill_server_client = _plugin.bill_server_client

SRC = Path(__file__).resolve().parents[2] / "src"

PAGES = {
    None: {"results": [{**OBJ, "id": "1"}, {**OBJ, "id": "2"}], "nextPage": "c1"},
    "c1": {"results": [{**OBJ, "id": "3"}], "nextPage": "c2"},
    "c2": {"results": [{**OBJ, "id": "4"}]},
}


def _paged_vendors(bill_mock: respx.MockRouter) -> respx.Route:
    return bill_mock.get("/connect/v3/vendors").mock(
        side_effect=lambda r: httpx.Response(200, json=PAGES[r.url.params.get("page")])  # type: ignore[index]
    )


# --------------------------------------------------------------------------- list() is awaitable and iterable


async def test_async_for_over_list_yields_every_item_across_pages(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = _paged_vendors(bill_mock)
    ids = [vendor.id async for vendor in bill.vendors.list(max=2, filters="archived:eq:false")]
    assert ids == ["1", "2", "3", "4"]
    assert [c.request.url.params.get("page") for c in route.calls] == [None, "c1", "c2"]
    assert all(c.request.url.params["max"] == "2" for c in route.calls)
    assert all(c.request.url.params["filters"] == "archived:eq:false" for c in route.calls)


async def test_awaiting_list_still_returns_one_page(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = _paged_vendors(bill_mock)
    page = await bill.vendors.list(max=2)
    assert [v.id for v in page.results] == ["1", "2"]
    assert page.next_page == "c1"
    assert route.call_count == 1


async def test_list_without_max_iterates_with_bills_largest_page(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    route = _paged_vendors(bill_mock)
    assert len([v async for v in bill.vendors.list()]) == 4
    assert route.calls[0].request.url.params["max"] == "100"


async def test_list_pages_gives_each_page_and_starts_at_a_given_cursor(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    _paged_vendors(bill_mock)
    pages = [page async for page in bill.vendors.list(max=2, page="c1").pages()]
    assert [[v.id for v in p.results] for p in pages] == [["3"], ["4"]]


async def test_spend_list_is_iterable_and_follows_next_page(bill_mock: respx.MockRouter) -> None:
    pages = {None: {"results": [{"id": "b1"}], "nextPage": "n1"}, "n1": {"results": [{"id": "b2"}]}}
    bill_mock.get("/connect/v3/spend/budgets").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("nextPage")])  # type: ignore[index]
    )
    async with AsyncBill(api_token="t", env={}) as bill:
        assert [b.id async for b in bill.spend.budgets.list()] == ["b1", "b2"]


async def test_iter_and_pages_keep_working(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    _paged_vendors(bill_mock)
    assert [v.id async for v in bill.vendors.iter(page_size=2)] == ["1", "2", "3", "4"]
    assert len([p async for p in bill.vendors.pages(page_size=2)]) == 3


# --------------------------------------------------------------------------- with_options


async def test_with_options_shares_the_session_and_applies_its_options(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    await bill.vendors.get("0091")
    patient = bill.with_options(timeout=120, max_retries=5, extra_headers={"X-Trace": "t-1"})
    await patient.vendors.get("0091")
    assert bill_mock["login"].call_count == 1  # one session for both
    assert route.calls.last.request.headers["X-Trace"] == "t-1"
    assert "X-Trace" not in route.calls[0].request.headers
    assert patient._timeout == 120 and patient._retry.max_retries == 5
    assert bill._timeout != 120 and bill._retry.max_retries == 2
    assert patient._http is bill._http
    # the same slots: both clients map the organization to one process-wide limiter
    key = bill._limiter.key_for("org")
    assert patient._limiter.local_limiter(key) is bill._limiter.local_limiter(key)


async def test_with_options_does_not_retry_when_max_retries_is_zero(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.get("/connect/v3/vendors/0091").respond(503)
    with pytest.raises(bill_sdk.ServerError):
        await bill.with_options(max_retries=0).vendors.get("0091")
    assert route.call_count == 1


async def test_closing_a_with_options_client_keeps_the_original_signed_in(bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        async with bill.with_options(timeout=5) as quick:
            await quick.vendors.get("0091")
        assert not bill_mock["logout"].called
        await bill.vendors.get("0091")  # still open, same session
        assert bill_mock["login"].call_count == 1
    assert bill_mock["logout"].call_count == 1


# --------------------------------------------------------------------------- raw responses and request ids


async def test_with_raw_response_gives_status_headers_request_id_and_parse(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(
        200, json={**OBJ, "id": "0091", "name": "Happy"}, headers={"x-request-id": "req-42", "x-extra": "yes"}
    )
    raw = await bill.vendors.with_raw_response.get("0091")
    assert raw.status_code == 200
    assert raw.headers["x-extra"] == "yes"
    assert raw.request_id == "req-42"
    vendor = raw.parse()
    assert vendor.name == "Happy"
    assert raw.parse() is vendor


async def test_raw_response_of_a_list_is_one_page(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    _paged_vendors(bill_mock)
    raw = await bill.vendors.with_raw_response.list(max=2)
    assert [v.id for v in raw.parse().results] == ["1", "2"]


async def test_successful_results_carry_bills_request_id(bill: AsyncBill, bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(
        200, json={**OBJ, "id": "0091"}, headers={"x-request-id": "req-7"}
    )
    bill_mock.get("/connect/v3/vendors/0092").respond(200, json={**OBJ, "id": "0092"})
    assert bill_sdk.request_id(await bill.vendors.get("0091")) == "req-7"
    assert bill_sdk.request_id(await bill.vendors.get("0092")) is None


async def test_fakebill_results_carry_its_request_id(bill_client: AsyncBill) -> None:
    page = await bill_client.vendors.list()
    assert (bill_sdk.request_id(page) or "").startswith("fake-")


# --------------------------------------------------------------------------- User-Agent, logging


async def test_requests_name_the_sdk_python_and_httpx_in_user_agent(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    route = bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    await bill.vendors.get("0091")
    expected = f"bill-sdk/{bill_sdk.__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
    assert route.calls.last.request.headers["User-Agent"] == expected
    assert bill_mock["login"].calls.last.request.headers["User-Agent"] == expected


def test_bill_log_info_sends_the_sdk_log_to_stderr_once() -> None:
    script = (
        "import asyncio\n"
        "from bill_sdk import AsyncBill\n"
        "async def main():\n"
        "    for _ in range(2):\n"
        "        async with AsyncBill(api_token='t', env={'BILL_LOG': 'info'}):\n"
        "            pass\n"
        "    import logging\n"
        "    logging.getLogger('bill_sdk').info('hello from the test')\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("hello from the test") == 1  # one handler, however many clients
    assert "bill_sdk" in result.stderr


def test_bill_log_adds_one_stderr_handler_however_many_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("bill_sdk")
    monkeypatch.setattr(logger, "handlers", [h for h in logger.handlers if not isinstance(h, StderrHandler)])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    AsyncBill(api_token="t", env={"BILL_LOG": "info"})
    AsyncBill(api_token="t", env={"BILL_LOG": "DEBUG"})
    ours = [h for h in logger.handlers if isinstance(h, StderrHandler)]
    assert len(ours) == 1
    assert ours[0].level == logging.DEBUG and logger.level == logging.DEBUG


def test_an_unknown_bill_log_value_warns_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("bill_sdk")
    monkeypatch.setattr(logger, "handlers", [h for h in logger.handlers if not isinstance(h, StderrHandler)])
    with pytest.warns(RuntimeWarning, match="BILL_LOG is not one of debug, info"):
        AsyncBill(api_token="t", env={"BILL_LOG": "verbose"})
    assert not any(isinstance(h, StderrHandler) for h in logger.handlers)


async def test_sign_in_again_and_sign_out_are_logged_without_secrets(
    bill_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bill_sdk")
    expired = [{"code": "BDC_1109", "message": "Session is invalid.  Please log in."}]
    bill_mock.get("/connect/v3/vendors/0091").mock(
        side_effect=[httpx.Response(401, json=expired), httpx.Response(200, json={**OBJ, "id": "0091"})]
    )
    async with AsyncBill(**CREDENTIALS, env={}) as bill:
        await bill.vendors.get("0091")
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    text = "\n".join(info)
    assert any("signed in" in m and "00801ORG" in m for m in info), text
    assert any("again" in m for m in info), text
    assert any("signed out" in m for m in info), text
    for secret in (SESSION, CREDENTIALS["password"], CREDENTIALS["dev_key"]):
        assert secret not in caplog.text


# --------------------------------------------------------------------------- errors that say what to do


async def test_mfa_required_error_names_request_mfa_code_and_trust_session(
    bill: AsyncBill, bill_mock: respx.MockRouter
) -> None:
    bill_mock.post("/connect/v3/payments").respond(
        403, json=[{"code": "BDC_1361", "message": "This operation requires MFA."}]
    )
    from tests import bodies

    with pytest.raises(MFARequiredError) as info:
        await bill.payments.create(body=bodies.payment())
    assert "request_mfa_code()" in str(info.value)
    assert "trust_session(" in str(info.value)


async def test_every_missing_connect_setting_is_reported_at_once(bill_mock: respx.MockRouter) -> None:
    async with AsyncBill(username="ap@example.com", env={}) as bill:
        with pytest.raises(ConfigurationError) as info:
            await bill.vendors.list()
    message = str(info.value)
    for var in ("BILL_DEV_KEY", "BILL_PASSWORD", "BILL_ORGANIZATION_ID"):
        assert var in message
    assert "BILL_USERNAME" not in message
    assert info.value.env_vars == ("BILL_DEV_KEY", "BILL_PASSWORD", "BILL_ORGANIZATION_ID")
    assert not bill_mock["login"].called


async def test_connect_events_without_any_credential_lists_the_three_ways(bill_mock: respx.MockRouter) -> None:
    async with AsyncBill(env={}) as bill:
        with pytest.raises(ConfigurationError) as info:
            await bill.events.subscriptions.list()
    for var in ("BILL_API_TOKEN", "BILL_DEV_KEY", "BILL_APP_KEY"):
        assert var in str(info.value)


async def test_every_missing_partner_setting_is_reported_at_once(bill_mock: respx.MockRouter) -> None:
    async with AsyncBill(env={}) as bill:
        with pytest.raises(ConfigurationError) as info:
            await bill.partner.organizations.list()
    for var in ("BILL_APP_KEY", "BILL_USERNAME", "BILL_PASSWORD"):
        assert var in str(info.value)


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [("bill_sdk.fastapi", "fastapi", "fastapi"), ("bill_sdk.testing", "uvicorn", "testing")],
)
def test_a_missing_extra_raises_configuration_error_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: str, extra: str
) -> None:
    import importlib

    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` raises ImportError
    with pytest.raises(ConfigurationError, match=rf"pip install 'bill-sdk\[{extra}\]'"):
        importlib.import_module(module)
    with pytest.raises(ImportError):  # still an ImportError for code that checks for one
        importlib.import_module(module)


async def test_a_client_left_open_with_a_session_warns_when_collected(bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    bill = AsyncBill(**CREDENTIALS, env={})
    await bill.vendors.get("0091")
    with pytest.warns(ResourceWarning, match="aclose"):
        del bill
        gc.collect()


async def test_closed_or_unused_clients_do_not_warn(bill_mock: respx.MockRouter) -> None:
    bill_mock.get("/connect/v3/vendors/0091").respond(200, json={**OBJ, "id": "0091"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        unused = AsyncBill(**CREDENTIALS, env={})
        del unused
        async with AsyncBill(**CREDENTIALS, env={}) as closed:
            await closed.with_options(timeout=5).vendors.get("0091")
        del closed
        gc.collect()


# --------------------------------------------------------------------------- the in-process FakeBill client


async def test_in_process_fakebill_client_honours_timeout(bill_client: AsyncBill, fake_bill: FakeBill) -> None:
    fake_bill.faults.add("/v3/vendors", method="GET", kind="latency", seconds=2.0, count=None)
    started = time.perf_counter()
    with pytest.raises(bill_sdk.BillTimeoutError):
        await bill_client.vendors.list(timeout=0.3)
    assert time.perf_counter() - started < 1.5
    assert BASE  # the respx base is unused here: FakeBill answers in process


async def test_over_loopback_async_for_over_list_reads_every_vendor_page_by_page(
    bill_server_client: AsyncBill, fake_bill_server: ServerURL
) -> None:
    fake = fake_bill_server.fake
    for number in range(120):
        fake.state.put("vendors", {"name": f"Vendor {number:03}"})
    names = [vendor.name async for vendor in bill_server_client.vendors.list(max=50)]
    assert sorted(names) == [f"Vendor {number:03}" for number in range(120)]
    assert [r.operation_id for r in fake.requests].count("listVendors") == 3
    raw = await bill_server_client.vendors.with_raw_response.list(max=1)
    assert raw.status_code == 200 and (raw.request_id or "").startswith("fake-")
