"""One SQLite connection to a ledger file: transactions, storage-safe text, rows -> records."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.errors import RecordError, StoreError
from llmaudit.model.record import HASH_VERSION, IDENTITY_COLUMNS, UsageRecord, stored_record
from llmaudit.model.values import stored_ts

BUSY_TIMEOUT_MS = 60_000
RAW_LIMIT = 4096  # bytes of a rejected line kept in the ledger

RECORD_COLUMNS = (
    *IDENTITY_COLUMNS,
    "source_kind",
    "source_name",
    "source_location",
    "machine_id",
)


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Connected:
    """A connection to one ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._abandoned_checked = False

    def close(self) -> None:
        self.conn.close()

    def _tx(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK``); sqlite errors become StoreError."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the ledger: {exc}") from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as err:
                self._rollback()
                raise write_error(err) from err
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise write_error(exc) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back already (it does on a full disk)
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")


def write_error(exc: sqlite3.Error) -> StoreError:
    """A failed write as the user should read it; a full disk says so."""
    text = str(exc)
    if "full" in text.lower():
        return StoreError(
            f"disk full: cannot write to the ledger ({text})",
            hint="free some space and run again; the failed batch was not kept",
        )
    return StoreError(f"cannot write to the ledger: {text}")


def set_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL needs a moment alone with the file; another process opening the same
    # blank ledger can hold it, and this pragma does not wait on the busy handler everywhere.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


DAMAGED_HINT = "the ledger was changed outside llmaudit, or is damaged"


@contextlib.contextmanager
def stored_json() -> Iterator[None]:
    """Around SQL that reads records' tags with SQLite's JSON functions, which raise on text
    that is no JSON (tags changed by hand): a StoreError that says so."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "malformed JSON" not in str(exc):
            raise
        raise StoreError(
            "the ledger's records hold tags that are no JSON", hint=DAMAGED_HINT
        ) from exc


def safe_text(text: str | None) -> str | None:
    """Text SQLite can store: undecodable bytes (surrogates) become U+FFFD."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape" if _escaped_only(text) else "replace").decode(
            "utf-8", "replace"
        )


def _escaped_only(text: str) -> bool:
    return all(not 0xD800 <= ord(c) < 0xDC80 for c in text)


def cut_raw(text: str) -> str:
    data = safe_text(text).encode("utf-8")  # type: ignore[union-attr]
    if len(data) <= RAW_LIMIT:
        return safe_text(text)  # type: ignore[return-value]
    return data[:RAW_LIMIT].decode("utf-8", errors="ignore") + "…"


def row_to_record(row: tuple[Any, ...]) -> UsageRecord:
    """A ledger's row (``RECORD_COLUMNS`` and the key) as the record it stores. A value no
    llmaudit wrote (a ledger changed by hand, or damaged) is a StoreError naming the record."""
    dedupe_key = row[len(RECORD_COLUMNS)]
    try:
        return _row_record(row, dedupe_key)
    except RecordError as exc:
        raise _damaged(dedupe_key, exc.field, exc.reason) from exc
    except (ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        # (an undecodable tags text, a cost that is no decimal, a key that is no text)
        raise _damaged(dedupe_key, None, str(exc)) from exc


def _damaged(key: Any, field: str | None, reason: str) -> StoreError:
    where = f"{field}: " if field else ""
    return StoreError(
        f"the ledger's record {str(key)[:80]!r} cannot be read: {where}{reason}",
        hint=DAMAGED_HINT,
    )


def _row_record(row: tuple[Any, ...], dedupe_key: str) -> UsageRecord:
    data = dict(zip(RECORD_COLUMNS, row, strict=False))
    data["ts"] = stored_ts(data["ts"])
    data["ts_end"] = stored_ts(data["ts_end"], "ts_end") if data["ts_end"] else None
    data["tags"] = json.loads(data["tags"]) if data["tags"] else {}
    if data["reported_cost_usd"] is not None:
        data["reported_cost_usd"] = Decimal(data["reported_cost_usd"])
    kind_prefix = f"{data['source_kind']}:"
    source_id = None
    if dedupe_key.startswith("rid:"):
        source_id = dedupe_key
    elif dedupe_key.startswith(kind_prefix):
        rest = dedupe_key[len(kind_prefix) :]
        source_id = None if rest.startswith(f"{HASH_VERSION}:") else rest
    data["source_id"] = source_id
    data["key"] = dedupe_key
    return stored_record(data)
