"""The TLS settings of the clients the SDK creates (AsyncBill and Bill alike): one verified context per process."""

from __future__ import annotations

import functools
import ssl

import certifi
import httpx


def tls_context(base_url: str) -> ssl.SSLContext:
    """The TLS settings of a client the SDK creates: one verified context per process, built when the first
    client for an https destination is (loading the CA bundle is most of a cold start's cost), shared after.
    A plain-HTTP destination (FakeBill on loopback; the configuration allows http only there) gets a context
    that trusts no certificate at all: it is never used, and if it were, every TLS handshake would fail."""
    return _trusting_nothing() if httpx.URL(base_url).scheme == "http" else _verified_tls_context()


@functools.cache
def _verified_tls_context() -> ssl.SSLContext:
    """Certificate and host-name verification against certifi's CAs, and nothing from the environment:
    no SSL_CERT_FILE/SSL_CERT_DIR trust store, and no SSLKEYLOGFILE (which would write the TLS session
    secrets, and so every credential and session id, to a file)."""
    # Not ssl.create_default_context(): it opens SSLKEYLOGFILE as soon as it is called.
    context = _trusting_nothing()
    context.load_verify_locations(cafile=certifi.where())
    return context


def _trusting_nothing() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
