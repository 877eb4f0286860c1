"""Configuration is checked when ``AsyncBill(...)`` is created, explicit arguments beat the environment, and a
construction failure shows no secret anywhere: message, repr, exception chain, log, or traceback frame locals.

The rules (src/bill_sdk/_config.py is where they live):

* Every credential must be a ``str`` (or ``None``/left out). Anything else (``bytes``, ``int``, a ``SecretStr``)
  raises ``ConfigurationError`` naming the argument or variable and the *type*, never the value.
* No credential may contain a line break or a control character, or start or end with whitespace. A trailing
  newline (what ``echo`` leaves in a mounted secret file) is **refused, not stripped**: the SDK sends a credential
  exactly as given or not at all, and the error names the variable, so the fix is one edit.
* Values that travel in HTTP headers or are identifiers BILL issued (``dev_key``, ``app_key``, ``api_token``,
  ``organization_id``, ``remember_me_id``) must be visible ASCII (``!`` to ``~``, no spaces).
* Values that only travel in a JSON login body (``username``, ``password``, ``device``) may hold any Unicode
  character, inner spaces included, except control characters (Cc), invisible format characters (Cf: a byte-order
  mark, a zero-width space), line/paragraph separators and lone surrogates.
* An argument wins over its ``BILL_*`` variable. An empty-string argument is an error (it would otherwise silently
  fall back to the environment); an empty variable counts as unset.
* Where to send: if ``environment=`` or ``base_url=`` is passed, ``BILL_ENVIRONMENT`` and ``BILL_BASE_URL`` are both
  ignored. Within one source, an environment and a base URL given together must name the same gateway.

Secrets below carry the marker ``5f3a9c17``, which occurs nowhere in SDK text.
"""

from __future__ import annotations

import logging
import os
import pickle
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import bill_sdk
from bill_sdk import AsyncBill, Credentials
from bill_sdk.errors import ConfigurationError

MARK = "5f3a9c17"
SANDBOX = "https://gateway.stage.bill.com"
PRODUCTION = "https://gateway.prod.bill.com"
SDK_DIR = str(Path(bill_sdk.__file__).resolve().parent)

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
HEADER_OR_ID_VALUES = ["dev_key", "app_key", "api_token", "organization_id", "remember_me_id"]
BODY_TEXT_VALUES = ["username", "password", "device"]

# Valid values, every one of them a secret for these tests.
SECRETS = {
    "dev_key": f"SECRET-{MARK}-devkey-Qz8fKxW7",
    "username": f"SECRET-{MARK}-ap@example.com",
    "password": f"SECRET-{MARK} pässwörd 🔑",
    "organization_id": f"SECRET-{MARK}-00801ORG",
    "api_token": f"SECRET-{MARK}-apitoken-Pq1Wo2",
    "app_key": f"SECRET-{MARK}-appkey-Nb3Vc4",
    "remember_me_id": f"SECRET-{MARK}-remember-Lk6Jh7",
    "device": f"SECRET-{MARK} Casey's phone",
}
SECRET_ENV = {ENV_VARS[name]: value for name, value in SECRETS.items()}


def _insert(value: str, text: str) -> str:
    return value[:10] + text + value[10:]


# What is wrong with a value, and how to make it so from a valid one.
BAD_FOR_EVERY_VALUE = {
    "trailing newline": lambda v: v + "\n",
    "trailing CRLF": lambda v: v + "\r\n",
    "inner line feed": lambda v: _insert(v, "\n"),
    "inner carriage return": lambda v: _insert(v, "\r"),
    "leading space": lambda v: " " + v,
    "trailing space": lambda v: v + " ",
    "trailing tab": lambda v: v + "\t",
    "NUL": lambda v: _insert(v, "\x00"),
    "DEL": lambda v: _insert(v, "\x7f"),
    "ANSI escape": lambda v: _insert(v, "\x1b[2J"),
    "NEL (U+0085)": lambda v: _insert(v, "\x85"),
    "line separator (U+2028)": lambda v: _insert(v, "\u2028"),
    "byte-order mark": lambda v: "\ufeff" + v,
    "zero-width space": lambda v: _insert(v, "\u200b"),
}
BAD_FOR_HEADER_VALUES = {
    "inner space": lambda v: _insert(v, " "),
    "non-ASCII letter": lambda v: _insert(v, "é"),
    "no-break space": lambda v: _insert(v, "\xa0"),
}

REFUSED_CASES = [
    pytest.param(name, make, id=f"{name}-{what}")
    for name in ENV_VARS
    for what, make in {**BAD_FOR_EVERY_VALUE, **(BAD_FOR_HEADER_VALUES if name in HEADER_OR_ID_VALUES else {})}.items()
]


def refused(**kwargs: Any) -> ConfigurationError:
    kwargs.setdefault("env", {})
    with pytest.raises(ConfigurationError) as caught:
        AsyncBill(**kwargs)
    return caught.value


def texts_of(error: BaseException) -> str:
    """Everything a developer or a log pipeline sees of an exception (frames without locals)."""
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(error.args),
            repr(vars(error)),
            "".join(traceback.format_exception(error)),
            repr(pickle.loads(pickle.dumps(error)).args),
        ]
    )


def assert_clean(error: BaseException) -> None:
    assert MARK not in texts_of(error)
    assert error.__cause__ is None, "no chained exception that could carry the value"
    assert error.__context__ is None, "no chained exception that could carry the value"


# --------------------------------------------------------------------------- item 13: credentials are checked


def test_a_token_with_a_trailing_newline_is_refused_naming_the_variable_not_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):  # bill_sdk, httpx and httpcore all propagate to the root logger
        error = refused(env={"BILL_API_TOKEN": SECRETS["api_token"] + "\n"})
    assert error.env_var == "BILL_API_TOKEN"
    assert "BILL_API_TOKEN" in str(error)
    assert "line break" in str(error)
    assert_clean(error)
    assert MARK not in caplog.text


@pytest.mark.parametrize(("name", "make_bad"), REFUSED_CASES)
def test_a_bad_credential_argument_is_refused_naming_the_argument_not_the_value(name: str, make_bad: Any) -> None:
    # The variable holds a good value: a bad argument must not quietly fall back to it.
    error = refused(**{name: make_bad(SECRETS[name])}, env={ENV_VARS[name]: "good-value"})
    assert error.argument == name
    assert error.env_var is None
    assert f"{name}=" in str(error)
    assert_clean(error)


@pytest.mark.parametrize(("name", "make_bad"), REFUSED_CASES)
def test_a_bad_credential_variable_is_refused_naming_the_variable_not_the_value(name: str, make_bad: Any) -> None:
    error = refused(env={ENV_VARS[name]: make_bad(SECRETS[name])})
    assert error.env_var == ENV_VARS[name]
    assert error.argument is None
    assert ENV_VARS[name] in str(error)
    assert_clean(error)


def test_good_credentials_are_kept_exactly_as_given() -> None:
    """Nothing is stripped or normalised: visible-ASCII punctuation in keys, any printable Unicode in body values."""
    given = {
        **SECRETS,
        "dev_key": "A-z0-9!#$%&'*+-.^_`|~:/=?@[]{}()<>,;\"\\",
        "password": "  is not allowed, but inner ones are: pässwörd\xa0🔑 名前 ",
        "username": "josé.nuñez+ap@example.com",
        "device": "Casey's iPhone (15 Pro)",
    }
    given["password"] = given["password"].strip()
    via_arguments = AsyncBill(**given, env={}).credentials
    via_environment = AsyncBill(env={ENV_VARS[name]: value for name, value in given.items()}).credentials
    for name, value in given.items():
        assert getattr(via_arguments, name) == value
        assert getattr(via_environment, name) == value


@pytest.mark.parametrize("name", list(ENV_VARS))
@pytest.mark.parametrize(
    "value", [SECRETS["dev_key"].encode(), 5_3_9_17, 3.14, True, ["x"], object()], ids=lambda v: type(v).__name__
)
def test_a_credential_of_the_wrong_type_is_refused_naming_the_argument_and_the_type(name: str, value: Any) -> None:
    error = refused(**{name: value})
    assert error.argument == name
    assert name in str(error) and type(value).__name__ in str(error)
    assert_clean(error)
    assert "53917" not in str(error)


def test_a_variable_of_the_wrong_type_in_a_custom_env_mapping_is_refused_naming_it() -> None:
    error = refused(env={"BILL_DEV_KEY": SECRETS["dev_key"].encode()})
    assert error.env_var == "BILL_DEV_KEY"
    assert "bytes" in str(error)
    assert_clean(error)


@pytest.mark.parametrize("name", [*ENV_VARS, "environment", "base_url"])
def test_an_empty_argument_is_refused_rather_than_falling_back_to_the_environment(name: str) -> None:
    env = {**SECRET_ENV, "BILL_ENVIRONMENT": "production", "BILL_BASE_URL": PRODUCTION}
    error = refused(**{name: ""}, env=env)
    assert error.argument == name
    assert "empty" in str(error)
    assert_clean(error)


def test_an_empty_variable_counts_as_unset() -> None:
    bill = AsyncBill(env={**{var: "" for var in ENV_VARS.values()}, "BILL_ENVIRONMENT": "", "BILL_BASE_URL": ""})
    assert all(getattr(bill.credentials, name) is None for name in ENV_VARS)
    assert bill.base_url == SANDBOX


def test_a_refused_credential_is_named_in_the_message_with_what_is_wrong() -> None:
    assert "starts or ends with whitespace" in str(refused(password=" " + SECRETS["password"]))
    assert "visible ASCII" in str(refused(dev_key=_insert(SECRETS["dev_key"], " ")))
    assert "control" in str(refused(device=_insert(SECRETS["device"], "\x00")))


def test_credentials_hide_their_values_from_pretty_printers_that_walk_attrs_fields() -> None:
    """rich (``rich.traceback.install(show_locals=True)``) shows each attrs field unless the field has repr=False."""
    pretty = pytest.importorskip("rich.pretty")
    credentials = AsyncBill(**SECRETS, env={}).credentials
    assert isinstance(credentials, Credentials)
    assert MARK not in pretty.pretty_repr(credentials)
    assert MARK not in repr(credentials)


# --------------------------------------------------------------------------- item 17: arguments beat the environment

# (what, arguments, environment, what to read from the client, expected)
PRECEDENCE = [
    *[
        (f"{name} over {var}", {name: f"argument-{name}"}, {var: f"variable-{name}"}, name, f"argument-{name}")
        for name, var in ENV_VARS.items()
    ],
    *[(f"{var} when {name} is not given", {}, {var: f"variable-{name}"}, name, f"variable-{name}") for name, var in ENV_VARS.items()],
    ("dev_key over a BILL_DEV_KEY that would be refused", {"dev_key": "argument-dev_key"}, {"BILL_DEV_KEY": "bad\n"}, "dev_key", "argument-dev_key"),
    ("environment over BILL_ENVIRONMENT", {"environment": "sandbox"}, {"BILL_ENVIRONMENT": "production"}, "base_url", SANDBOX),
    ("environment over BILL_ENVIRONMENT (2)", {"environment": "production"}, {"BILL_ENVIRONMENT": "sandbox"}, "base_url", PRODUCTION),
    ("base_url over BILL_BASE_URL", {"base_url": "http://127.0.0.1:1111"}, {"BILL_BASE_URL": "http://127.0.0.1:2222"}, "base_url", "http://127.0.0.1:1111"),
    ("environment over BILL_BASE_URL", {"environment": "sandbox"}, {"BILL_BASE_URL": PRODUCTION}, "base_url", SANDBOX),
    ("environment over a BILL_BASE_URL that would be refused", {"environment": "sandbox"}, {"BILL_BASE_URL": "http://10.0.0.5"}, "base_url", SANDBOX),
    ("environment over both variables", {"environment": "production"}, {"BILL_ENVIRONMENT": "sandbox", "BILL_BASE_URL": "http://127.0.0.1:1"}, "base_url", PRODUCTION),
    ("base_url over BILL_ENVIRONMENT", {"base_url": "http://127.0.0.1:1111"}, {"BILL_ENVIRONMENT": "production"}, "base_url", "http://127.0.0.1:1111"),
    ("base_url over an unknown BILL_ENVIRONMENT", {"base_url": "http://127.0.0.1:1111"}, {"BILL_ENVIRONMENT": "staging"}, "base_url", "http://127.0.0.1:1111"),
    ("agreeing environment and base_url over both variables", {"environment": "Sandbox", "base_url": SANDBOX + "/connect/"}, {"BILL_ENVIRONMENT": "production", "BILL_BASE_URL": PRODUCTION}, "base_url", SANDBOX),
    ("BILL_ENVIRONMENT when nothing is given", {}, {"BILL_ENVIRONMENT": "production"}, "base_url", PRODUCTION),
    ("BILL_BASE_URL when nothing is given", {}, {"BILL_BASE_URL": "http://127.0.0.1:2222/connect"}, "base_url", "http://127.0.0.1:2222"),
    ("agreeing variables", {}, {"BILL_ENVIRONMENT": "production", "BILL_BASE_URL": PRODUCTION + "/"}, "base_url", PRODUCTION),
    ("the sandbox when nothing is given", {}, {}, "base_url", SANDBOX),
]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "environment", "read", "expected"), [pytest.param(*row[1:], id=row[0]) for row in PRECEDENCE]
)
def test_explicit_arguments_beat_the_environment(
    arguments: dict[str, str], environment: dict[str, str], read: str, expected: str
) -> None:
    bill = AsyncBill(**arguments, env=environment)
    actual = bill.base_url if read == "base_url" else getattr(bill.credentials, read)
    assert actual == expected


# (what, arguments, environment, names the message must contain, argument attribute, env_var attribute)
DISAGREEING = [
    ("environment and base_url disagree", {"environment": "production", "base_url": SANDBOX}, {}, ["environment=", "base_url="], "environment", None),
    ("environment and a loopback base_url", {"environment": "sandbox", "base_url": "http://127.0.0.1:8765"}, {}, ["environment=", "base_url="], "environment", None),
    ("BILL_ENVIRONMENT and BILL_BASE_URL disagree", {}, {"BILL_ENVIRONMENT": "production", "BILL_BASE_URL": "http://127.0.0.1:8765"}, ["BILL_ENVIRONMENT", "BILL_BASE_URL"], None, "BILL_ENVIRONMENT"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "environment", "named", "argument", "env_var"),
    [pytest.param(*row[1:], id=row[0]) for row in DISAGREEING],
)
def test_an_environment_and_a_base_url_from_one_source_must_agree(
    arguments: dict[str, str], environment: dict[str, str], named: list[str], argument: str | None, env_var: str | None
) -> None:
    error = refused(**arguments, env=environment)
    assert all(name in str(error) for name in named), str(error)
    assert "both" in str(error)
    assert (error.argument, error.env_var) == (argument, env_var)
    assert_clean(error)


# (what, arguments, environment, argument attribute, env_var attribute)
BAD_DESTINATIONS = [
    ("unknown environment argument", {"environment": "staging"}, {}, "environment", None),
    ("unknown BILL_ENVIRONMENT", {}, {"BILL_ENVIRONMENT": "staging"}, None, "BILL_ENVIRONMENT"),
    ("BILL_ENVIRONMENT with a trailing newline", {}, {"BILL_ENVIRONMENT": "production\n"}, None, "BILL_ENVIRONMENT"),
    ("environment of the wrong type", {"environment": 1}, {}, "environment", None),
    ("unparsable base_url", {"base_url": "https://gateway stage.bill.com"}, {}, "base_url", None),
    ("BILL_BASE_URL with a trailing newline", {}, {"BILL_BASE_URL": SANDBOX + "\n"}, None, "BILL_BASE_URL"),
    ("base_url with a user and password", {"base_url": f"https://proxy:SECRET-{MARK}@gateway.stage.bill.com"}, {}, "base_url", None),
    ("base_url with a query", {"base_url": SANDBOX + "/?token=x"}, {}, "base_url", None),
    ("base_url without a host", {"base_url": "https://"}, {}, "base_url", None),
    ("base_url in plain http to another machine", {"base_url": "http://gateway.prod.bill.com"}, {}, "base_url", None),
    ("base_url of the wrong type", {"base_url": SANDBOX.encode()}, {}, "base_url", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "environment", "argument", "env_var"), [pytest.param(*row[1:], id=row[0]) for row in BAD_DESTINATIONS]
)
def test_a_bad_destination_is_a_configuration_error_naming_where_it_came_from(
    arguments: dict[str, Any], environment: dict[str, str], argument: str | None, env_var: str | None
) -> None:
    error = refused(**arguments, env=environment)
    assert (error.argument, error.env_var) == (argument, env_var)
    assert (f"{argument}=" if argument else str(env_var)) in str(error)
    assert_clean(error)


def test_an_unknown_environment_is_echoed_only_when_it_looks_like_a_mistyped_name() -> None:
    assert "'staging'" in str(refused(environment="staging"))
    token_pasted_there = f"tok{MARK}"
    error = refused(env={"BILL_ENVIRONMENT": token_pasted_there})
    assert "unknown BILL environment" in str(error)
    assert_clean(error)


# --------------------------------------------------------------------------- item 14: no secret in frame locals


def _serialise(value: Any, depth: int = 0) -> str:
    """Roughly what an error tracker records for a local: containers walked, everything else repr()'d."""
    if depth > 6:
        return "..."
    if isinstance(value, Mapping) and not isinstance(value, type(os.environ)):
        return "{" + ", ".join(f"{k!r}: {_serialise(v, depth + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_serialise(v, depth + 1) for v in value) + "]"
    try:
        return repr(value)
    except Exception as exc:  # a half-built object; what trackers do too
        return f"<repr failed: {type(exc).__name__}>"


def _pretty(value: Any) -> str:
    try:
        from rich.pretty import pretty_repr
    except ImportError:
        return ""
    try:
        return pretty_repr(value)
    except Exception:
        return ""


CONSTRUCTION_FAILURES = {
    "a bad credential argument": ({**SECRETS, "password": SECRETS["password"] + "\n"}, False),
    "a bad credential in os.environ": ({}, True),
    "a credential of the wrong type": ({**SECRETS, "dev_key": SECRETS["dev_key"].encode()}, True),
    "an unknown environment": ({**SECRETS, "environment": "staging"}, True),
    "a base URL carrying a password": (
        {**SECRETS, "base_url": f"https://u:SECRET-{MARK}@gateway.stage.bill.com"},
        True,
    ),
    "a plain-http base URL": ({**SECRETS, "base_url": "http://gateway.prod.bill.com"}, True),
    "environment and base_url disagreeing": ({**SECRETS, "environment": "production", "base_url": SANDBOX}, True),
    "max_concurrency below one": ({**SECRETS, "max_concurrency": 0}, True),
}


@pytest.mark.parametrize(("arguments", "from_os_environ"), CONSTRUCTION_FAILURES.values(), ids=CONSTRUCTION_FAILURES)
def test_construction_failures_leave_no_secret_in_traceback_locals(
    arguments: dict[str, Any], from_os_environ: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("BILL_")]:
        monkeypatch.delenv(name)
    if from_os_environ:  # env=None: the client reads os.environ, whose repr shows every variable
        for var, value in SECRET_ENV.items():
            monkeypatch.setenv(var, value)
        if not arguments:
            monkeypatch.setenv("BILL_API_TOKEN", SECRETS["api_token"] + "\n")
    kwargs = dict(arguments) if from_os_environ else {**arguments, "env": SECRET_ENV}
    with pytest.raises(ConfigurationError) as caught:
        AsyncBill(**kwargs)
    error = caught.value
    assert_clean(error)

    # Skip this test's own frame (it holds the secrets on purpose): from AsyncBill.__init__ down, every frame.
    tb = error.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(SDK_DIR):
        tb = tb.tb_next
    assert tb is not None, "the traceback reaches into bill_sdk"
    formatted = "".join(traceback.TracebackException(type(error), error, tb, capture_locals=True).format())
    assert "__init__" in formatted
    assert MARK not in formatted, formatted

    # What Sentry & co. record: each local walked into (dicts, lists) and repr'd, and rich's attrs-aware repr.
    frames = 0
    while tb is not None:
        frames += 1
        for name, value in tb.tb_frame.f_locals.items():
            shown = _serialise(value) + _pretty(value)
            assert MARK not in shown, f"{tb.tb_frame.f_code.co_name}: local {name!r} shows a secret"
        tb = tb.tb_next
    assert frames >= 1
