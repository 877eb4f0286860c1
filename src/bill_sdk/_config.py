"""Client configuration: credentials, where to send, and the checks ``AsyncBill(...)`` makes before anything else.

Every value is checked when the client is created, so a bad one fails there, with a
:class:`~bill_sdk.errors.ConfigurationError` that names the argument (``error.argument``) or the environment
variable (``error.env_var``) it came from and what is wrong with it, but never shows the value.

Credentials

* Each must be a ``str`` or ``None``. Another type (``bytes``, ``int``, a ``SecretStr``) is refused, naming the
  type, not the value.
* None may contain a line break or a control character, or start or end with whitespace. A trailing newline, what
  ``echo`` leaves in a mounted secret file, is refused, not stripped: the SDK sends a credential exactly as given
  or not at all.
* ``dev_key``, ``app_key`` and ``api_token`` go in HTTP headers (``devKey``, ``appKey``, ``apiToken``);
  ``organization_id`` and ``remember_me_id`` are identifiers BILL issued. They must be visible ASCII (``!`` to
  ``~``, no spaces).
* ``username``, ``password`` and ``device`` go only in the JSON login body. They may hold any Unicode character,
  inner spaces included, except control characters (Cc), invisible format characters (Cf, such as a byte-order
  mark or a zero-width space), line and paragraph separators, and lone surrogates.
* At most 4096 characters each.

Precedence

* An argument beats its ``BILL_*`` variable. An empty-string argument is refused, because falling back to the
  environment would be a silent surprise. An empty variable counts as unset.
* Where to send is one setting that can be given two ways. If ``environment=`` or ``base_url=`` is passed,
  ``BILL_ENVIRONMENT`` and ``BILL_BASE_URL`` are both ignored (not even checked). From one source, an environment
  and a base URL given together must name the same gateway, or the client refuses to guess. Nothing given: the
  sandbox.
* A base URL must be ``https://`` (plain ``http://`` only to a loopback address, and only when the SDK builds the
  HTTP client itself), with a host, and without a user name, password, query or fragment.

Tracebacks

Error trackers (Sentry, ``traceback.TracebackException(..., capture_locals=True)``, rich's ``show_locals``) record
the local variables of every frame a failure passes through. So the constructor moves its parameters into a
:class:`Given` (whose repr names no value) and deletes them before anything can fail, and :func:`load` raises
from a frame that holds only that ``Given``. The checks below it, whose frames do hold raw values, are off the
traceback by then, and the error carries no ``__cause__`` or ``__context__``.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping

import httpx
from attrs import define, field

from .errors import ConfigurationError

ENVIRONMENTS = {
    "sandbox": "https://gateway.stage.bill.com",
    "production": "https://gateway.prod.bill.com",
}
DEFAULT_ENVIRONMENT = "sandbox"
# Connect, Partner and Spend live under /connect; Connect Events paths carry their own /connect-events prefix.
CONNECT_PREFIX = "/connect"
ENV_VARS = {
    "dev_key": "BILL_DEV_KEY",
    "username": "BILL_USERNAME",
    "password": "BILL_PASSWORD",
    "organization_id": "BILL_ORGANIZATION_ID",
    "api_token": "BILL_API_TOKEN",
    "app_key": "BILL_APP_KEY",
    "remember_me_id": "BILL_REMEMBER_ME_ID",
    "device": "BILL_DEVICE",
}
DESTINATION_VARS = {"environment": "BILL_ENVIRONMENT", "base_url": "BILL_BASE_URL"}
# Sent in a header, or an identifier BILL issued: visible ASCII. The rest go only in a JSON body.
VISIBLE_ASCII_ONLY = frozenset({"dev_key", "app_key", "api_token", "organization_id", "remember_me_id"})
MAX_LENGTH = 4096

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines() splits on
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# An unknown environment name is echoed only when it looks like a typo of one, never like a token pasted there.
_SHOWN_ENVIRONMENT = re.compile(r"[A-Za-z]{1,12}")


@define(frozen=True, repr=False)
class Credentials:
    """What the client signs in with. ``repr`` names which values are set, never the values.

    The fields are ``repr=False`` too, for pretty-printers that walk attrs fields themselves (rich).
    """

    dev_key: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    organization_id: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    app_key: str | None = field(default=None, repr=False)
    remember_me_id: str | None = field(default=None, repr=False)
    device: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **given: str | None) -> Credentials:
        """The credentials ``AsyncBill(**given, env=env)`` would use: same checks, same precedence."""
        holder = Given(given, env)
        del given, env
        return load_credentials(holder)

    def secrets(self) -> tuple[str | None, ...]:
        return (self.dev_key, self.password, self.api_token, self.app_key, self.remember_me_id)

    def __repr__(self) -> str:
        set_fields = [name for name in ENV_VARS if getattr(self, name)]
        return f"Credentials(set={set_fields})"


class Given:
    """The unchecked arguments of ``AsyncBill(...)`` and the environment mapping it reads.

    ``repr`` names which arguments were passed, never a value, and this is not a Mapping, so a tracker that walks
    dicts into their items sees only that repr. (A frame holding ``os.environ`` itself would show BILL_PASSWORD.)
    """

    __slots__ = ("_arguments", "_env")

    def __init__(self, arguments: Mapping[str, object], env: Mapping[str, object]) -> None:
        self._arguments = dict(arguments)
        self._env = env

    def argument(self, name: str) -> object:
        return self._arguments.get(name)

    def variable(self, name: str) -> object:
        return self._env.get(name)

    def __repr__(self) -> str:
        passed = sorted(name for name, value in self._arguments.items() if value is not None)
        return f"<AsyncBill arguments, values not shown: passed={passed}>"


@define(frozen=True)
class Config:
    credentials: Credentials
    base_url: str


def load(given: Given, *, require_tls: bool) -> Config:
    """Check everything; the resolved configuration, or ConfigurationError raised from this frame.

    ``require_tls``: refuse plain http to anything but loopback (the SDK builds the HTTP client itself).
    """
    try:
        return Config(credentials=_credentials(given), base_url=_destination(given, require_tls))
    except ConfigurationError as error:
        refused = error
    raise _detached(refused)


def load_credentials(given: Given) -> Credentials:
    """The credentials alone (``Credentials.from_env``), raising like :func:`load`."""
    try:
        return _credentials(given)
    except ConfigurationError as error:
        refused = error
    raise _detached(refused)


def _detached(error: ConfigurationError) -> ConfigurationError:
    """The error without the frames it was raised in (they hold the raw values) and without a chained exception
    (a parser's message may quote the value). Raised again outside the ``except`` block, it gets no new one."""
    error.__cause__ = error.__context__ = None
    return error.with_traceback(None)


# --------------------------------------------------------------------------- credentials


def _credentials(given: Given) -> Credentials:
    return Credentials(**{name: _credential(given, name) for name in ENV_VARS})


def _credential(given: Given, name: str) -> str | None:
    var = ENV_VARS[name]
    value = given.argument(name)
    if value is not None:
        return _checked(value, _Source.from_argument(name, var), visible_ascii=name in VISIBLE_ASCII_ONLY)
    value = given.variable(var)
    if value is None or value == "":
        return None
    return _checked(value, _Source.from_variable(var), visible_ascii=name in VISIBLE_ASCII_ONLY)


@define(frozen=True)
class _Source:
    """Where a value came from, for the error message and the error's ``argument``/``env_var``."""

    label: str
    argument: str | None = None
    env_var: str | None = None
    fallback: str | None = None  # the variable an argument left out would be read from

    @classmethod
    def from_argument(cls, name: str, var: str | None = None) -> _Source:
        return cls(f"the {name}= argument", argument=name, fallback=var)

    @classmethod
    def from_variable(cls, var: str) -> _Source:
        return cls(f"the {var} environment variable", env_var=var)

    def error(self, problem: str) -> ConfigurationError:
        return ConfigurationError(f"{self.label} {problem}", env_var=self.env_var, argument=self.argument)


def _checked(value: object, source: _Source, *, visible_ascii: bool) -> str:
    if not isinstance(value, str):
        raise source.error(f"must be a str or None, not {type(value).__name__} (the value is not shown)")
    text = str.__str__(value)  # a plain str: a subclass could override how it prints or compares
    if text == "":
        instead = f" to use {source.fallback}" if source.fallback else ""
        raise source.error(f"is an empty string: leave it out or pass None{instead}")
    problem = _problem(text, visible_ascii=visible_ascii)
    if problem is not None:
        raise source.error(f"{problem} (the value is not shown)")
    return text


def _problem(text: str, *, visible_ascii: bool) -> str | None:
    """What is wrong with a value, in words that give none of it away; None when nothing is."""
    if len(text) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if text[-1] in "\r\n":
        return "ends with a line break, as a secret file written with `echo` does: remove it"
    if any(char in _LINE_BREAKS for char in text):
        return "contains a line break"
    if text != text.strip():
        return "starts or ends with whitespace"
    if visible_ascii:
        if not _VISIBLE_ASCII.fullmatch(text):
            return "contains a space, a control character or a non-ASCII character: it must be visible ASCII"
    elif any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text):
        return "contains a control character or an invisible formatting character (such as a byte-order mark)"
    return None


# --------------------------------------------------------------------------- where to send


def _destination(given: Given, require_tls: bool) -> str:
    """The base URL: from the arguments if either is passed, else from the environment, else the sandbox."""
    environment, base_url = given.argument("environment"), given.argument("base_url")
    if environment is not None or base_url is not None:
        env_source = _Source.from_argument("environment", "BILL_ENVIRONMENT")
        url_source = _Source.from_argument("base_url", "BILL_BASE_URL")
    else:
        environment, base_url = given.variable("BILL_ENVIRONMENT"), given.variable("BILL_BASE_URL")
        environment = None if environment == "" else environment
        base_url = None if base_url == "" else base_url
        env_source, url_source = _Source.from_variable("BILL_ENVIRONMENT"), _Source.from_variable("BILL_BASE_URL")
    named = _environment_url(environment, env_source) if environment is not None else None
    url = _base_url(base_url, url_source, require_tls) if base_url is not None else None
    if named is not None and url is not None and named != url:
        raise env_source.error(
            f"names {named} and {url_source.label} another URL: both were given and they disagree, so the client "
            "will not guess; give only one"
        )
    return url or named or ENVIRONMENTS[DEFAULT_ENVIRONMENT]


def _environment_url(value: object, source: _Source) -> str:
    name = _checked(value, source, visible_ascii=True)
    if name.lower() not in ENVIRONMENTS:
        shown = f" {name!r}" if _SHOWN_ENVIRONMENT.fullmatch(name) else ""
        raise source.error(
            f"names an unknown BILL environment{shown}: use one of {sorted(ENVIRONMENTS)}, or a base URL"
        )
    return ENVIRONMENTS[name.lower()]


def _base_url(value: object, source: _Source, require_tls: bool) -> str:
    """The base URL without a trailing ``/`` or ``/connect`` (BILL documents the ``.../connect`` form)."""
    text = _checked(value, source, visible_ascii=True)
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        url = None  # the parser's message quotes the URL: not raised from here, and not chained
    if url is None or not url.host:
        raise source.error("is not a URL with a host, such as https://gateway.stage.bill.com")
    if url.userinfo:
        raise source.error(
            "carries a user name or password: BILL signs in with its own headers, and a base URL is shown in "
            "reprs and logs (the value is not shown)"
        )
    if url.query or url.fragment:
        raise source.error("has a query string or a fragment; a base URL is a scheme, a host and a path prefix")
    if url.scheme != "https" and not (url.scheme == "http" and (not require_tls or _is_loopback_host(url))):
        raise source.error(
            f"must use https:// (got {url.scheme}://{url.host}); plain http is accepted only for a loopback "
            "address such as a local FakeBill"
        )
    base = text.rstrip("/")
    return base.removesuffix(CONNECT_PREFIX)


def _is_loopback_host(url: httpx.URL) -> bool:
    """Credentials and payment data go over HTTPS; plain HTTP only to this machine (FakeBill, a local proxy).

    An environment variable (BILL_BASE_URL) must not be able to send them in clear text. A caller who needs
    something else passes their own ``http_client``, which is an explicit decision in code.
    """
    host = url.host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
