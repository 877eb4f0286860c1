"""``python -m bill_sdk`` (also the ``bill-sdk`` command): sync or export BILL records to files.

::

    bill-sdk sync bills --state bills.checkpoint.json --out bills.jsonl   # what changed since the last run
    bill-sdk export vendors --out vendors.csv                              # everything, once
    bill-sdk resources                                                     # what can be synced, and how

Credentials come from the ``BILL_*`` environment variables (see the README). ``sync`` appends one JSON line per
change to ``--out`` (``{"resource", "change": "upsert"|"remove", "id", "record"}``), flushes it to disk, then
acknowledges the batch in ``--state`` (a JSON file, or SQLite when it ends in ``.sqlite``/``.db``): a crash or
Ctrl-C replays at most the last batch, so apply the lines as upserts by id. ``export`` writes a new file
(``.jsonl`` or ``.csv``) and replaces ``--out`` only when complete. A progress bar is drawn on a terminal
(records, pages, rate; an ETA with ``--expect N``) and nothing is drawn when stderr is not a terminal.

Exit codes: 0 done; 1 unexpected error; 2 bad usage; 3 configuration or credentials; 4 checkpoint unusable
(another organization's, another resource's, locked by another writer); 5 BILL or the network failed (retries
used up); 130 interrupted (the checkpoint is consistent: run again to resume).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG, EXIT_CHECKPOINT, EXIT_API, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(asyncio.run(args.run(args)))
    except BrokenPipeError:  # `bill-sdk resources | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _say("interrupted: the checkpoint holds every acknowledged batch; run again to resume")
        return EXIT_INTERRUPTED
    except BaseException as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        _say(f"error: {exc}")
        return code


def _exit_code(exc: BaseException) -> int | None:
    from bill_sdk.changes import CheckpointError
    from bill_sdk.errors import (
        ArgumentError,
        AuthenticationError,
        BillError,
        ConfigurationError,
        MFARequiredError,
        PermissionDeniedError,
    )

    if isinstance(exc, ArgumentError):
        return EXIT_USAGE
    if isinstance(exc, ConfigurationError | AuthenticationError | MFARequiredError | PermissionDeniedError):
        return EXIT_CONFIG
    if isinstance(exc, CheckpointError):
        return EXIT_CHECKPOINT
    if isinstance(exc, BillError):
        return EXIT_API
    if isinstance(exc, OSError):
        return EXIT_ERROR
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bill-sdk", description="Sync or export BILL records (BILL_* credentials).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sync = commands.add_parser("sync", help="append what changed since the last run to a JSONL file")
    sync.add_argument("resource", help="bills, vendors, invoices, payments, spend.transactions, ... (see `resources`)")
    sync.add_argument("--state", required=True, type=Path, help="checkpoint file (.json, or .sqlite/.db)")
    sync.add_argument("--out", required=True, type=Path, help="JSONL file the changes are appended to")
    sync.add_argument("--lag", type=float, default=60.0, help="seconds behind now the window ends (default 60)")
    sync.add_argument("--overlap", type=float, default=300.0, help="seconds read again below the checkpoint (300)")
    sync.set_defaults(run=_sync)

    export = commands.add_parser("export", help="write every record to a new .jsonl or .csv file")
    export.add_argument("resource")
    export.add_argument("--out", required=True, type=Path, help="FILE.jsonl or FILE.csv")
    export.add_argument("--filters", help='BILL filters, e.g. archived:eq:false or name:sw:"Acme"')
    export.set_defaults(run=_export)

    listing = commands.add_parser("resources", help="list the resources and how each is synced")
    listing.set_defaults(run=_resources)

    for command in (sync, export):
        command.add_argument("--page-size", type=int, default=None, help="records per request (BILL's maximum)")
        command.add_argument("--expect", type=int, default=None, help="about how many records (shows an ETA)")
        command.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    return parser


# -- commands ----------------------------------------------------------------------------------------------------


async def _resources(_args: argparse.Namespace) -> int:
    from bill_sdk.changes import syncable

    for name, target in sorted(syncable().items()):
        how = f"on {target.cursor_field}" if target.cursor_field else "by full scan (content hash)"
        note = "" if target.sortable or not target.cursor_field else ", in time slices (BILL does not sort on it)"
        print(f"{name}\t{how}{note}")
    return EXIT_OK


async def _sync(args: argparse.Namespace) -> int:
    from bill_sdk import AsyncBill
    from bill_sdk._json import dumps_json
    from bill_sdk.changes import JsonFileCheckpoint, SqliteCheckpoint

    store_type = SqliteCheckpoint if args.state.suffix in (".sqlite", ".db", ".sqlite3") else JsonFileCheckpoint
    progress = _Progress(f"sync {args.resource}", args)
    async with AsyncBill() as bill, store_type(args.state) as store:
        changes = bill.changes(
            args.resource,
            checkpoint=store,
            lag=timedelta(seconds=args.lag),
            overlap=timedelta(seconds=args.overlap),
            page_size=args.page_size,
            on_page=lambda stats: progress.update(pages=stats.pages),
        )
        with progress, open(args.out, "ab") as out:
            async for batch in changes:
                lines = [_line(batch.resource, "upsert", r) for r in batch.records]
                lines += [{"resource": batch.resource, "change": "remove", "id": rid} for rid in batch.removed]
                if lines:
                    out.write(b"".join(dumps_json(line) + b"\n" for line in lines))
                    out.flush()
                    os.fsync(out.fileno())  # on disk before the checkpoint says so
                await batch.commit()
                progress.update(records=len(lines))
        stats = changes.stats
        window = f" up to {stats.window.hi.isoformat()}" if stats.window else " (nothing new can be complete yet)"
        progress.done(f"{args.resource}: {stats.records} changes in {stats.pages} pages{window}")
    return EXIT_OK


async def _export(args: argparse.Namespace) -> int:
    from bill_sdk import AsyncBill
    from bill_sdk._json import dumps_json
    from bill_sdk.changes._targets import target
    from bill_sdk.errors import ArgumentError

    suffix = args.out.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise ArgumentError("--out must end in .jsonl or .csv")
    found = target(args.resource)
    progress = _Progress(f"export {found.name}", args)
    folder = args.out.parent if str(args.out.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=args.out.name + ".", suffix=".partial", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            async with AsyncBill() as bill:
                resource: Any = bill
                for part in found.attribute_path:
                    resource = getattr(resource, part)
                kwargs: dict[str, Any] = {"page_size": args.page_size or found.page_limit}
                if args.filters:
                    kwargs["filters"] = args.filters
                with progress:
                    async for page in resource.pages(**kwargs):
                        records = list(page.results) if isinstance(page.results, Sequence) else []
                        out.write(b"".join(dumps_json(r.to_dict()) + b"\n" for r in records))
                        progress.update(records=len(records), pages=1, add_pages=True)
            out.flush()
            os.fsync(out.fileno())
        if suffix == ".csv":
            _jsonl_to_csv(tmp, args.out)
            tmp.unlink()
        else:
            os.replace(tmp, args.out)
        progress.done(f"{found.name}: {progress.records} records to {args.out}")
    finally:
        if tmp.exists():
            tmp.unlink()
    return EXIT_OK


def _line(resource: str, change: str, record: Any) -> dict[str, Any]:
    from bill_sdk.changes._engine import record_id

    return {"resource": resource, "change": change, "id": record_id(record), "record": record.to_dict()}


def _jsonl_to_csv(source: Path, target_path: Path) -> None:
    """Two passes over the exported lines (constant memory): the columns are every top-level field seen, in order;
    nested values are written as JSON, numbers with their exact digits."""
    from bill_sdk._json import dumps_json, loads_json

    columns: dict[str, None] = {}
    with open(source, "rb") as lines:
        for line in lines:
            columns.update(dict.fromkeys(loads_json(line)))
    folder = target_path.parent if str(target_path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=target_path.name + ".", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open(source, "rb") as lines:
            writer = csv.writer(out)
            writer.writerow(columns)
            for line in lines:
                row = loads_json(line)
                writer.writerow([_cell(row.get(name), dumps_json) for name in columns])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _cell(value: Any, dumps: Callable[[Any], bytes]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return dumps(value).decode()


# -- output ------------------------------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class _Progress:
    """A rich progress bar on a terminal (records, pages, rate, elapsed; ETA when ``--expect`` gives a total);
    nothing at all when stderr is not a terminal."""

    def __init__(self, title: str, args: argparse.Namespace) -> None:
        self.title = title
        self.records = 0
        self.pages = 0
        self.enabled = sys.stderr.isatty() and not args.no_progress
        self._total = args.expect
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            try:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    SpinnerColumn,
                    TaskProgressColumn,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
            except ImportError:  # pip install 'bill-sdk[cli]' for the bar; the command works without it
                self.enabled = False
                return self
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("records · {task.fields[pages]} pages · {task.fields[rate]}/s"),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=_stderr_console(),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.title, total=self._total, pages=0, rate="–")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def update(self, *, records: int = 0, pages: int | None = None, add_pages: bool = False) -> None:
        self.records += records
        if pages is not None:
            self.pages = self.pages + pages if add_pages else pages
        if self._bar is not None:
            task = self._bar.tasks[0]
            elapsed = task.elapsed or 0.0
            rate = f"{self.records / elapsed:,.0f}" if elapsed > 0 else "–"
            self._bar.update(self._task, completed=self.records, pages=self.pages, rate=rate)

    def done(self, message: str) -> None:
        if self.enabled:
            _say(message)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
