"""TLS verification is on by default and the environment cannot switch it off, redirect it, or inject trust.

* With ``SSL_CERT_FILE``, ``SSL_CERT_DIR``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE=""``, ``PYTHONHTTPSVERIFY=0``,
  ``HTTP(S)_PROXY`` and ``ALL_PROXY`` set, the ``httpx`` client an ``AsyncBill()`` builds for itself still
  requires a verified certificate chain and host name (``CERT_REQUIRED``, ``check_hostname``, certifi's CAs) and
  has no proxy mounted; real requests go straight to the server even though the proxies point at a dead port.
* A real TLS handshake with a server whose certificate is self-signed fails, and the failure is a typed
  ``bill_sdk`` connection error with nothing sent; pointing ``SSL_CERT_FILE`` & co. at that very certificate (an
  attacker's CA injected through the environment) does not make it trusted. A caller-provided ``http_client``
  that trusts it on purpose works, which shows the refusal is the verification and not a broken server.
* A TLS failure during login is a connection problem, not bad credentials, and must not poison the client.
* ``SSLKEYLOGFILE`` would make the client write its TLS session secrets to a file.

Plain ``http://`` to a non-loopback host from ``BILL_BASE_URL`` is refused with ConfigurationError: covered by
tests/client/test_requests.py::test_a_base_url_from_the_environment_cannot_turn_tls_off (not repeated here).
Certificates come from the ``openssl`` command line (the ``cryptography`` package is not installed here).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import httpcore
import httpx
import pytest
import uvicorn

from bill_sdk import AsyncBill, _tls
from bill_sdk.errors import AuthenticationError, BillConnectionError, BillError
from bill_sdk.testing import FakeBill

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="no `openssl` command and no `cryptography` package to make a test certificate"
)

ENV_ATTACK = {
    "SSL_CERT_FILE": "/nonexistent/ca.pem",
    "SSL_CERT_DIR": "/nonexistent/certs",
    "REQUESTS_CA_BUNDLE": "/nonexistent/bundle.pem",
    "CURL_CA_BUNDLE": "",
    "PYTHONHTTPSVERIFY": "0",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "socks5://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "all_proxy": "socks5://127.0.0.1:9",
    "NO_PROXY": "",
}


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import os

    for name in list(os.environ):
        if name.startswith("BILL_"):
            monkeypatch.delenv(name)
    for name, value in ENV_ATTACK.items():
        monkeypatch.setenv(name, value)
    return dict(ENV_ATTACK)


def pool_of(bill: AsyncBill) -> Any:
    transport = bill._http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport), type(transport)
    return transport._pool


def assert_verifying_and_direct(bill: AsyncBill) -> None:
    pool = pool_of(bill)
    # A plain connection pool: not httpcore.AsyncHTTPProxy / AsyncSOCKSProxy.
    assert type(pool) is httpcore.AsyncConnectionPool, type(pool)
    context: ssl.SSLContext = pool._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 100, "certifi's CA bundle is loaded"
    assert bill._http._mounts == {}, "no proxy mounted from HTTP(S)_PROXY / ALL_PROXY"
    assert bill._http.trust_env is False


@pytest.mark.parametrize("environment", ["sandbox", "production"])
async def test_the_environment_cannot_turn_verification_off_or_add_a_proxy(
    hostile_env: dict[str, str], environment: str
) -> None:
    async with AsyncBill(api_token="t", environment=environment) as bill:
        assert bill.base_url.startswith("https://")
        assert_verifying_and_direct(bill)


async def test_the_environment_is_ignored_even_when_it_points_at_readable_files(
    hostile_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Existing files (so nothing fails loudly) holding no CA at all: still certifi's store, still verifying."""
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    async with AsyncBill(api_token="t") as bill:
        assert_verifying_and_direct(bill)


async def test_clients_share_one_verified_context_built_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading the CA bundle is most of a cold start: the second client (and every later one) reuses it."""
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    _tls._verified_tls_context.cache_clear()
    try:
        async with AsyncBill(api_token="t", env={}) as first, AsyncBill(api_token="u", env={}) as second:
            assert pool_of(first)._ssl_context is pool_of(second)._ssl_context
            assert_verifying_and_direct(second)
        assert len(loads) == 1
    finally:
        _tls._verified_tls_context.cache_clear()


async def test_a_plain_http_destination_loads_no_trust_store_and_would_refuse_any_tls() -> None:
    async with AsyncBill(api_token="t", base_url="http://127.0.0.1:9", env={}) as bill:
        context: ssl.SSLContext = pool_of(bill)._ssl_context
        assert context.cert_store_stats()["x509_ca"] == 0
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True


async def test_an_upper_case_https_scheme_still_verifies() -> None:
    async with AsyncBill(api_token="t", base_url="HTTPS://gateway.stage.bill.com", env={}) as bill:
        assert_verifying_and_direct(bill)


@pytest.mark.integration
async def test_proxies_from_the_environment_are_not_used_for_real_requests(hostile_env: dict[str, str]) -> None:
    """HTTP(S)_PROXY/ALL_PROXY point at a dead port: a client that used them could not reach FakeBill at all."""
    fake = FakeBill()
    async with fake.serve_async() as url, AsyncBill(api_token=fake.credentials.api_token, base_url=url) as bill:
        await bill.spend.budgets.list()
    assert [r.operation_id for r in fake.requests] == ["listBudgets"]


# --------------------------------------------------------------------------- a real handshake


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        [
            str(OPENSSL),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN=127.0.0.1/O=bill-sdk tests {name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    if OPENSSL is None:
        pytest.skip("no `openssl` command and no `cryptography` package to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    return {name: make_certificate(directory, name) for name in ("attacker", "trusted")}


class TLSServer:
    def __init__(self, server: uvicorn.Server, url: str) -> None:
        self.server = server
        self.url = url

    def present(self, cert: Path, key: Path) -> None:
        """New handshakes present this certificate from now on."""
        context = self.server.config.ssl
        assert context is not None
        context.load_cert_chain(str(cert), str(key))


@contextlib.contextmanager
def serve_tls(app: Any, cert: Path, key: Path) -> Iterator[TLSServer]:
    """uvicorn over HTTPS on a free loopback port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="critical",
        access_log=False,
        loop="asyncio",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn over TLS did not start")
        time.sleep(0.01)
    try:
        yield TLSServer(server, f"https://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def client_trusting(cert: Path) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(cert)), trust_env=False)


def chain(error: BaseException) -> str:
    parts = []
    current: BaseException | None = error
    while current is not None:
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


@pytest.mark.integration
@needs_openssl
@pytest.mark.parametrize("inject", [False, True], ids=["clean-env", "env-trusts-the-attacker-cert"])
async def test_a_self_signed_certificate_is_refused_with_a_typed_connection_error(
    certificates: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch, inject: bool
) -> None:
    cert, key = certificates["attacker"]
    if inject:  # every variable some library reads to find its CAs, pointing at the attacker's certificate
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.setenv(name, str(cert))
        monkeypatch.setenv("SSL_CERT_DIR", str(cert.parent))
        monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    fake = FakeBill()
    with serve_tls(fake.app, cert, key) as server:
        async with AsyncBill(api_token=fake.credentials.api_token, base_url=server.url, env={}, max_retries=1) as bill:
            bill._retry.base_delay = 0.001
            with pytest.raises(BillError) as caught:
                await bill.spend.budgets.list()
    error = caught.value
    assert isinstance(error, BillConnectionError), chain(error)
    assert "before the request was sent" in str(error)
    assert "CERTIFICATE_VERIFY_FAILED" in chain(error)
    assert fake.requests == [], "no HTTP request may cross an unverified TLS connection"


@pytest.mark.integration
@needs_openssl
async def test_a_client_that_trusts_the_certificate_on_purpose_gets_through(
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["attacker"]
    fake = FakeBill()
    with serve_tls(fake.app, cert, key) as server:
        async with (
            client_trusting(cert) as http,
            AsyncBill(api_token=fake.credentials.api_token, base_url=server.url, http_client=http, env={}) as bill,
        ):
            await bill.spend.budgets.list()
    assert [r.operation_id for r in fake.requests] == ["listBudgets"]


@pytest.mark.integration
@needs_openssl
async def test_a_failed_handshake_at_login_is_a_typed_error_and_sends_no_credentials(
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["attacker"]
    fake = FakeBill()
    c = fake.credentials
    with serve_tls(fake.app, cert, key) as server:
        async with AsyncBill(
            dev_key=c.dev_key,
            username=c.username,
            password=c.password,
            organization_id=c.organization_id,
            base_url=server.url,
            env={},
        ) as bill:
            with pytest.raises(BillError) as caught:
                await bill.vendors.list()
    assert "CERTIFICATE_VERIFY_FAILED" in chain(caught.value)
    assert fake.requests == [] and fake.login_count == 0


@pytest.mark.integration
@needs_openssl
async def test_a_failed_handshake_at_login_is_a_connection_error_not_an_authentication_error(
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    cert, key = certificates["attacker"]
    fake = FakeBill()
    c = fake.credentials
    with serve_tls(fake.app, cert, key) as server:
        async with AsyncBill(
            dev_key=c.dev_key,
            username=c.username,
            password=c.password,
            organization_id=c.organization_id,
            base_url=server.url,
            env={},
        ) as bill:
            with pytest.raises(BillError) as caught:
                await bill.vendors.list()
    assert isinstance(caught.value, BillConnectionError), chain(caught.value)
    assert not isinstance(caught.value, AuthenticationError)


@pytest.mark.integration
@needs_openssl
async def test_a_transient_tls_failure_at_login_does_not_poison_the_client(
    certificates: dict[str, tuple[Path, Path]],
) -> None:
    bad_cert, bad_key = certificates["attacker"]
    good_cert, good_key = certificates["trusted"]
    fake = FakeBill()
    c = fake.credentials
    with serve_tls(fake.app, bad_cert, bad_key) as server:
        async with (
            client_trusting(good_cert) as http,
            AsyncBill(
                dev_key=c.dev_key,
                username=c.username,
                password=c.password,
                organization_id=c.organization_id,
                base_url=server.url,
                http_client=http,
                env={},
            ) as bill,
        ):
            with pytest.raises(BillError):
                await bill.vendors.list()  # the server presents a certificate the client does not trust
            server.present(good_cert, good_key)  # fixed (e.g. a proxy's certificate was rotated back)
            health = await http.get(f"{server.url}/connect/v3/health")  # the same pool gets through now
            assert health.status_code == 200
            page = await bill.vendors.list()
    assert page is not None
    assert fake.login_count == 1


@pytest.mark.integration
@needs_openssl
async def test_sslkeylogfile_does_not_make_the_client_write_tls_secrets(
    certificates: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    cert, key = certificates["attacker"]
    fake = FakeBill()
    with serve_tls(fake.app, cert, key) as server:
        async with AsyncBill(api_token=fake.credentials.api_token, base_url=server.url, env={}, max_retries=0) as bill:
            assert pool_of(bill)._ssl_context.keylog_filename is None
            with pytest.raises(BillConnectionError):
                await bill.spend.budgets.list()
    assert not keylog.exists() or keylog.read_text() == ""


def test_certifi_is_what_the_default_context_trusts() -> None:
    """Guard for the assertions above: certifi's bundle is large, an empty or system-less store is not."""
    assert Path(certifi.where()).stat().st_size > 100_000
