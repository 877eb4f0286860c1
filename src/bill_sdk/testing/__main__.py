"""``python -m bill_sdk.testing serve --port 8765``: run FakeBill in the foreground and print how to use it."""

from __future__ import annotations

import argparse
import sys

from bill_sdk.testing.config import FakeBillConfig, LimitConfig, ResponseChecks, SessionConfig
from bill_sdk.testing.fake import FakeBill
from bill_sdk.testing.server import run_forever


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
        sessions=SessionConfig(
            idle_seconds=args.session_idle_seconds, require_trusted_for_payments=args.require_trusted_payments
        ),
        limits=LimitConfig(max_concurrent_per_org=args.max_concurrent_per_org),
        checks=ResponseChecks(raise_on_response_violation=False),
    )
    fake = FakeBill(config)
    origin = f"http://{args.host}:{args.port}"
    print("FakeBill - a fake BILL v3 API (no BILL account, no network)")
    print(f"  Connect, Partner, Spend base URL: {origin}/connect")
    print(f"  Connect Events base URL:          {origin}/connect-events")
    print("  Credentials:")
    for name, value in fake.credentials.describe().items():
        print(f"    {name:<15} {value}")
    print("  Response violations are logged, not raised. Ctrl-C stops.")
    sys.stdout.flush()
    run_forever(fake.app, port=args.port, host=args.host, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
