"""``python -m bill_sdk.testing serve --port 8765``: run FakeBill in the foreground and print how to use it."""

from __future__ import annotations

import argparse
import sys

from bill_sdk.testing.config import FakeBillConfig, FakeCredentials, LimitConfig, ResponseChecks, SessionConfig
from bill_sdk.testing.fake import FakeBill
from bill_sdk.testing.server import run_forever

PARTNER_ORGANIZATION_ID = "00801FAKECHILD"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bill_sdk.testing", description="FakeBill, a fake BILL v3 API.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve FakeBill over HTTP in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--max-concurrent-per-org", type=int, default=None)
    serve.add_argument("--require-trusted-payments", action="store_true", help="payments need an MFA-trusted session")
    serve.add_argument("--session-idle-seconds", type=float, default=35 * 60)
    serve.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    config = FakeBillConfig(
        credentials=FakeCredentials(partner_organization_id=PARTNER_ORGANIZATION_ID),
        sessions=SessionConfig(
            idle_seconds=args.session_idle_seconds, require_trusted_for_payments=args.require_trusted_payments
        ),
        limits=LimitConfig(max_concurrent_per_org=args.max_concurrent_per_org),
        checks=ResponseChecks(raise_on_response_violation=False),
    )
    fake = FakeBill(config)
    origin = f"http://{args.host}:{args.port}"
    creds = fake.credentials
    print("# FakeBill - a fake BILL v3 API (no BILL account, no network). Paste these lines into your shell:")
    for name, value in creds.environment(origin).items():
        print(f"export {name}={value}")
    print(f"# Connect, Partner and Spend live under {origin}/connect, Connect Events under {origin}/connect-events.")
    print(f"# MFA code: {creds.mfa_code}. The partner (BILL_APP_KEY) manages organization")
    print(f"# {creds.partner_organization_id} with user {creds.partner_user_id}, for login_as_user;")
    print(f"# BILL_USER_ID signs into {creds.organization_id} the same way.")
    print("# Response violations are logged, not raised. Ctrl-C stops.")
    sys.stdout.flush()
    run_forever(fake.app, port=args.port, host=args.host, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
