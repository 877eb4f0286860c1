"""Checkpoint stores: where a sync keeps what it has acknowledged.

A store keeps one JSON-able state per resource (``load``/``save``); the sync writes it when a run starts (the
window), on every acknowledged batch, and when the run completes. Built in: :class:`JsonFileCheckpoint` (one
file, replaced atomically), :class:`SqliteCheckpoint` (one table) and :class:`MemoryCheckpoint` (tests). Both
file stores take an exclusive lock when first used, so a second process syncing into the same store fails with
:class:`CheckpointLockedError` instead of interleaving. Your own store (a table in your warehouse, written in the
same transaction as the records) only needs the two methods of :class:`CheckpointStore`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, runtime_checkable

import anyio.to_thread
import msgspec

from bill_sdk.errors import BillError


class CheckpointError(BillError):
    """A checkpoint that cannot be used: another organization's or resource's, unreadable, or locked."""


class CheckpointLockedError(CheckpointError):
    """Another writer holds the checkpoint store."""


@runtime_checkable
class CheckpointStore(Protocol):
    """What a sync needs from a store. ``save`` must be atomic: after a crash ``load`` returns the old or the new
    state, never a mixture."""

    async def load(self, resource: str) -> dict[str, Any] | None: ...

    async def save(self, resource: str, state: dict[str, Any]) -> None: ...


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = _decode(_encode(state))
    return copied


class MemoryCheckpoint:
    """A checkpoint in memory (tests, one-off exports). ``states`` holds copies of what was saved."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.saves = 0

    async def load(self, resource: str) -> dict[str, Any] | None:
        state = self.states.get(resource)
        return None if state is None else _copy(state)

    async def save(self, resource: str, state: dict[str, Any]) -> None:
        self.states[resource] = _copy(state)  # through JSON, as a real store would keep it
        self.saves += 1


class JsonFileCheckpoint:
    """All resources' states in one JSON file, rewritten atomically (temporary file, fsync, rename, fsync of the
    folder). An exclusive lock on ``FILE.lock`` is held from first use until :meth:`close` (or leaving
    ``async with``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_file: IO[str] | None = None
        self._states: dict[str, dict[str, Any]] | None = None
        self._mutex = threading.Lock()

    async def __aenter__(self) -> JsonFileCheckpoint:
        await anyio.to_thread.run_sync(self._open)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None
            self._states = None

    async def load(self, resource: str) -> dict[str, Any] | None:
        states = await anyio.to_thread.run_sync(self._open)
        state = states.get(resource)
        return None if state is None else json.loads(json.dumps(state))

    async def save(self, resource: str, state: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(self._save, resource, json.loads(json.dumps(state)))

    def _open(self) -> dict[str, dict[str, Any]]:
        with self._mutex:
            if self._lock_file is None:
                self._lock_file = _exclusive_lock(Path(str(self.path) + ".lock"))
            if self._states is None:
                self._states = self._read()
            return self._states

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise CheckpointError(f"checkpoint file {self.path} is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("resources", {}), dict):
            raise CheckpointError(f"checkpoint file {self.path} is not a bill-sdk checkpoint")
        return dict(data.get("resources", {}))

    def _save(self, resource: str, state: dict[str, Any]) -> None:
        states = self._open()
        with self._mutex:
            updated = {**states, resource: state}
            _atomic_write(self.path, json.dumps({"format": "bill-sdk-checkpoint/1", "resources": updated}, indent=1))
            self._states = updated


class SqliteCheckpoint:
    """States in a SQLite table (``bill_sdk_checkpoints``), each save one transaction. The database is opened in
    exclusive locking mode, so one process writes it at a time."""

    TABLE = "bill_sdk_checkpoints"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        self._mutex = threading.Lock()

    async def __aenter__(self) -> SqliteCheckpoint:
        await anyio.to_thread.run_sync(self._connect)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None

    async def load(self, resource: str) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(self._load, resource)

    async def save(self, resource: str, state: dict[str, Any]) -> None:
        await anyio.to_thread.run_sync(self._save, resource, json.dumps(state))

    def _connect(self) -> sqlite3.Connection:
        with self._mutex:
            if self._db is None:
                db = sqlite3.connect(self.path, timeout=0.5, check_same_thread=False, isolation_level=None)
                try:
                    db.execute("PRAGMA locking_mode=EXCLUSIVE")
                    db.execute("BEGIN IMMEDIATE")  # takes the lock now, held until close
                    db.execute(
                        f"CREATE TABLE IF NOT EXISTS {self.TABLE} "
                        "(resource TEXT PRIMARY KEY, state TEXT NOT NULL, saved_at TEXT NOT NULL)"
                    )
                    db.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    db.close()
                    if "locked" in str(exc):
                        raise CheckpointLockedError(
                            f"checkpoint database {self.path} is used by another writer"
                        ) from None
                    raise
                self._db = db
            return self._db

    def _load(self, resource: str) -> dict[str, Any] | None:
        db = self._connect()
        with self._mutex:
            row = db.execute(f"SELECT state FROM {self.TABLE} WHERE resource = ?", (resource,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _save(self, resource: str, text: str) -> None:
        db = self._connect()
        with self._mutex:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    f"INSERT INTO {self.TABLE} (resource, state, saved_at) VALUES (?, ?, datetime('now')) "
                    "ON CONFLICT(resource) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
                    (resource, text),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def _exclusive_lock(path: Path) -> IO[str]:
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open: the lock lives as long as the file
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - Windows: msvcrt locks a byte range
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            handle.close()
            raise CheckpointLockedError(f"checkpoint {path} is locked by another writer") from None
    except OSError:
        handle.close()
        raise CheckpointLockedError(f"checkpoint {path} is locked by another writer") from None
    return handle


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that a crash leaves the old or the new file, never a torn one."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable (not possible on every platform)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
