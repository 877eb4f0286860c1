"""The SDK's log: ``logging.getLogger("bill_sdk")``, and ``BILL_LOG`` to see it without configuring logging.

``BILL_LOG=info`` (or ``debug``, ``warning``, ``error``) in the environment of a process makes every
:class:`~bill_sdk.AsyncBill` created there attach one handler writing ``bill_sdk``'s records to stderr, at that
level. It is read when a client is created (from its ``env=`` mapping if one is given); however many clients are
created, there is one such handler (a later value changes its level). The logger's records still propagate to
the application's own handlers. What the SDK logs never contains credentials or session ids.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings

LOGGER_NAME = "bill_sdk"
ENV_VAR = "BILL_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.Lock()


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``BILL_LOG`` attaches (one per process)."""


def configure_from_env(value: object) -> None:
    """Apply a ``BILL_LOG`` value: None or empty does nothing; an unknown one warns and does nothing."""
    if value is None or value == "":
        return
    level = LEVELS.get(value.strip().lower()) if isinstance(value, str) else None
    if level is None:
        warnings.warn(
            f"{ENV_VAR} is not one of {', '.join(LEVELS)} (the value is not shown): ignored",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    logger = logging.getLogger(LOGGER_NAME)
    with _lock:
        handler = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
        if handler is None:
            handler = StderrHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
        handler.setLevel(level)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
