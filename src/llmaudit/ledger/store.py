"""The SQLite ledger: open (with migrations), upsert records, log ingests and rejects, read back."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.errors import StoreError
from llmaudit.ledger.migrations import MIGRATIONS, applied, migrate
from llmaudit.model.record import (
    HASH_VERSION,
    IDENTITY_COLUMNS,
    UsageRecord,
    identity_row,
    row_hash,
)
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts, parse_ts

BUSY_TIMEOUT_MS = 60_000
RAW_LIMIT = 4096  # bytes of a rejected line kept in the ledger

RECORD_COLUMNS = (
    *IDENTITY_COLUMNS,
    "source_kind",
    "source_name",
    "source_location",
    "machine_id",
)
_WRITE_COLUMNS = ("dedupe_key", "content_hash", *RECORD_COLUMNS, "ingest_id")
_INSERT_SQL = (
    f"INSERT INTO records ({', '.join(_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _WRITE_COLUMNS)}) "
    "ON CONFLICT (dedupe_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITE_COLUMNS if c != "dedupe_key")
)


@dataclass
class WriteCounts:
    added: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.added += other.added
        self.updated += other.updated
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        return self


# Who runs an ingest: host and process, so a later run can tell a dead one from a live one.
_OWNER = f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    """A connection to one ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._abandoned_checked = False

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str) -> Ledger:
        path = Path(path).absolute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open ledger {path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # 16 MiB of page cache (SQLite's default is 2 MiB): the rollup refresh and the
            # report's index lookups read far fewer pages twice; memory stays bounded.
            conn.execute("PRAGMA cache_size = -16384")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot open ledger {path}: {exc}") from exc
        except StoreError as exc:
            conn.close()
            raise StoreError(f"{path}: {exc.message}", hint=exc.hint) from exc
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- ingests ------------------------------------------------------------------------------
    def source_id(self, kind: str, name: str) -> int:
        with self._tx():
            now = _now()
            self.conn.execute(
                "INSERT INTO sources (kind, name, first_seen, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, name) DO UPDATE SET last_seen = excluded.last_seen",
                (kind, name, now, now),
            )
            row = self.conn.execute(
                "SELECT id FROM sources WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return int(row[0])

    def begin_ingest(
        self,
        *,
        kind: str,
        source_name: str,
        location: str,
        size: int | None,
        mtime: float | None,
        machine_id: str | None,
    ) -> int:
        sid = self.source_id(kind, source_name)
        if not self._abandoned_checked:  # once a connection: ingests are many over time
            self._close_abandoned_ingests()
            self._abandoned_checked = True
        mtime_text = (
            datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")
            if mtime is not None
            else None
        )
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO ingests (source_id, location, size, mtime, machine_id, started_at, "
                "owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, safe_text(location), size, mtime_text, machine_id, _now(), _OWNER),
            )
        return int(cur.lastrowid)

    def _close_abandoned_ingests(self) -> None:
        """Ingests this host started whose process is gone (killed, crashed) are marked
        ``interrupted`` instead of staying ``running`` forever."""
        prefix = _OWNER.rsplit(":", 1)[0] + ":"
        stale = []
        for ingest_id, owner in self.conn.execute(
            "SELECT id, owner FROM ingests WHERE status = 'running' AND owner LIKE ? || '%'",
            (prefix,),
        ):
            pid = owner[len(prefix) :]
            if pid.isdigit() and not _alive(int(pid)):
                stale.append((ingest_id,))
        if stale:
            with self._tx():
                self.conn.executemany(
                    "UPDATE ingests SET status = 'interrupted' WHERE id = ? AND status = 'running'",
                    stale,
                )

    def finish_ingest(self, ingest_id: int, counts: WriteCounts, status: str = "ok") -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE ingests SET finished_at = ?, status = ?, added = ?, updated = ?, "
                "duplicate = ?, rejected = ? WHERE id = ?",
                (
                    _now(),
                    status,
                    counts.added,
                    counts.updated,
                    counts.duplicate,
                    counts.rejected,
                    ingest_id,
                ),
            )

    # -- writes -------------------------------------------------------------------------------
    def write(
        self,
        records: Iterable[UsageRecord],
        rejects: Iterable[Reject] = (),
        *,
        ingest_id: int | None = None,
        source_kind: str = "unknown",
        keep: str = "latest",
    ) -> WriteCounts:
        """Upsert records and store rejects in one transaction.

        A record whose dedupe key is new is added; one whose key exists with the same content
        is a duplicate and changes nothing. One whose key exists with other content:

        - from another source kind (the same provider call by another route): a duplicate,
          the first route's record is kept;
        - ``keep="latest"``: replaces it (counted as updated);
        - ``keep="first"``: keeps the stored one (exports that repeat a record with less detail);
        - ``keep="max_output"``: replaces it only when it has more output tokens.

        Within one call the same rules pick between records of one key.
        """
        with self._tx():
            return self._write(records, rejects, ingest_id, source_kind, keep)

    def _write(self, records, rejects, ingest_id, source_kind, keep) -> WriteCounts:
        counts = WriteCounts()
        batch: dict[str, tuple[str, UsageRecord, tuple[Any, ...]]] = {}
        for rec in records:
            ident = identity_row(rec)
            digest = row_hash(ident)
            key = rec.dedupe_key(digest)
            if key in batch:
                counts.duplicate += 1
                if keep == "first" or (keep == "max_output" and rec.output <= batch[key][1].output):
                    continue
            batch[key] = (digest, rec, ident)
        rejects = list(rejects)
        existing = self._existing(list(batch))
        rows = []
        for key, (digest, rec, ident) in batch.items():
            old = existing.get(key)
            if old is not None and (
                old[0] == digest
                or old[1] != rec.source_kind
                or keep == "first"
                or (keep == "max_output" and rec.output <= old[2])
            ):
                counts.duplicate += 1
                continue
            if old is None:
                counts.added += 1
            else:
                counts.updated += 1
            rows.append(
                (
                    key,
                    digest,
                    *ident,
                    rec.source_kind,
                    safe_text(rec.source_name),
                    safe_text(rec.source_location),
                    safe_text(rec.machine_id),
                    ingest_id,
                )
            )
        if rows:
            self.conn.executemany(_INSERT_SQL, rows)
        for rj in rejects:
            raw = rj.raw if rj.raw is None else _cut(rj.raw)
            raw_hash = hashlib.sha256(
                (rj.raw or rj.reason).encode("utf-8", "surrogatepass")
            ).hexdigest()
            self.conn.execute(
                "INSERT INTO rejects (ingest_id, source_kind, location, line, field, reason, "
                "raw, raw_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",  # the same line, or the same whole-file reject
                (
                    ingest_id,
                    source_kind,
                    safe_text(rj.location),
                    rj.line,
                    safe_text(rj.field),
                    safe_text(rj.reason),
                    raw,
                    raw_hash,
                    _now(),
                ),
            )
            counts.rejected += 1
        return counts

    def _existing(self, keys: list[str]) -> dict[str, tuple[str, str, int]]:
        """dedupe key -> (content hash, source kind, output tokens) of records already stored."""
        found: dict[str, tuple[str, str, int]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for key, digest, kind, output in self.conn.execute(
                "SELECT dedupe_key, content_hash, source_kind, output FROM records "
                f"WHERE dedupe_key IN ({marks})",
                chunk,
            ):
                found[key] = (digest, kind, output)
        return found

    # -- provider pulls -----------------------------------------------------------------------
    def pull_state(self, provider: str, endpoint: str, bucket: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT pulled_until, last_bucket_start FROM pulls WHERE provider = ? AND "
            "endpoint = ? AND bucket = ?",
            (provider, endpoint, bucket),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def save_raw_page(self, provider: str, endpoint: str, url: str, page: int, body: str) -> int:
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO raw_pages (provider, endpoint, url, page, fetched_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (provider, endpoint, url, page, _now(), body),
            )
        return int(cur.lastrowid)

    def raw_pages(self, provider: str | None = None) -> list[tuple[int, str, str, str]]:
        sql = "SELECT id, provider, endpoint, body FROM raw_pages"
        params: tuple[Any, ...] = ()
        if provider:
            sql += " WHERE provider = ?"
            params = (provider,)
        return list(self.conn.execute(sql + " ORDER BY id", params))

    def replace_window(
        self,
        *,
        provider: str,
        endpoint: str,
        kind: str,
        bucket: str,
        start: str,
        end: str,
        last_start: str,
        records: list[UsageRecord],
        costs: list[Any],
        rejects: list[Reject],
        raw_page_id: int | None,
        ingest_id: int | None,
    ) -> tuple[int, int]:
        """Replace what an endpoint said about [start, end) with a fresh page, in one
        transaction, and remember how far the endpoint has been pulled. Returns (rows written,
        rows they replaced)."""
        with self._tx():
            like = f"{provider} {endpoint} %"
            replaced = self.conn.execute(
                "DELETE FROM records WHERE source_kind = ? AND source_location LIKE ? AND "
                "ts >= ? AND ts < ?",
                (kind, like, start, end),
            ).rowcount
            replaced += self.conn.execute(
                "DELETE FROM billed_costs WHERE provider = ? AND endpoint = ? AND ts >= ? AND "
                "ts < ?",
                (provider, endpoint, start, end),
            ).rowcount
            self._write(records, rejects, ingest_id, kind, "latest")
            self.conn.executemany(
                "INSERT INTO billed_costs (provider, endpoint, ts, ts_end, project, line_item, "
                "model, token_type, service_tier, context_window, cost_type, amount_usd, "
                "currency, quantity, quantity_unit, raw_page_id) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        provider,
                        endpoint,
                        format_ts(c.ts),
                        format_ts(c.ts_end),
                        c.project,
                        c.line_item,
                        c.model,
                        c.token_type,
                        c.service_tier,
                        c.context_window,
                        c.cost_type,
                        format(c.amount_usd, "f"),
                        c.currency,
                        c.quantity,
                        c.quantity_unit,
                        raw_page_id,
                    )
                    for c in costs
                ],
            )
            previous = self.pull_state(provider, endpoint, bucket)
            until = max(end, previous[0]) if previous else end
            last = max(last_start, previous[1]) if previous else last_start
            self.conn.execute(
                "INSERT INTO pulls (provider, endpoint, bucket, pulled_until, last_bucket_start, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, endpoint, bucket) "
                "DO UPDATE SET pulled_until = excluded.pulled_until, "
                "last_bucket_start = excluded.last_bucket_start, updated_at = excluded.updated_at",
                (provider, endpoint, bucket, until, last, _now()),
            )
        return len(records) + len(costs), replaced

    def refresh_rollup(self) -> int:
        """Bring the daily rollup up to date (reports do it too; ingest does it once, at the
        end, so the first report after a big ingest stays fast)."""
        from llmaudit.ledger.query import refresh_rollup

        try:
            return refresh_rollup(self.conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot refresh the daily rollup: {exc}") from exc

    def billed_costs(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(f"SELECT * FROM billed_costs {where} ORDER BY ts, id", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    # -- file state (incremental ingest) ----------------------------------------------------
    def file_state(self, path: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT format, size, mtime_ns, offset, lines, head_hash, head_len FROM files "
            "WHERE path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        keys = ("format", "size", "mtime_ns", "offset", "lines", "head_hash", "head_len")
        return dict(zip(keys, row, strict=True))

    def save_file_state(self, path: str, state: dict[str, Any], ingest_id: int | None) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO files (path, format, size, mtime_ns, offset, lines, head_hash, "
                "head_len, ingest_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET format = excluded.format, "
                "size = excluded.size, mtime_ns = excluded.mtime_ns, offset = excluded.offset, "
                "lines = excluded.lines, head_hash = excluded.head_hash, "
                "head_len = excluded.head_len, ingest_id = excluded.ingest_id, "
                "updated_at = excluded.updated_at",
                (
                    path,
                    state["format"],
                    state["size"],
                    state["mtime_ns"],
                    state["offset"],
                    state["lines"],
                    state["head_hash"],
                    state["head_len"],
                    ingest_id,
                    _now(),
                ),
            )

    # -- reads --------------------------------------------------------------------------------
    def iter_records(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[UsageRecord]:
        cols = ", ".join(RECORD_COLUMNS)
        sql = f"SELECT {cols}, dedupe_key FROM records {where} ORDER BY ts, id"
        for row in self.conn.execute(sql, params):
            yield row_to_record(row)

    def records_with_reported_cost(self, since: datetime, until: datetime) -> Iterator[UsageRecord]:
        """The records in [since, until) whose source logged a cost of its own."""
        return self.iter_records(
            "WHERE reported_cost_usd IS NOT NULL AND ts >= ? AND ts < ?",
            (format_ts(since), format_ts(until)),
        )

    def schema_version(self) -> tuple[int, str | None]:
        names = applied(self.conn)
        return len(names), (names[-1] if names else None)

    def info(self) -> dict[str, Any]:
        """What ``llmaudit ledger info`` shows: counts, time range, sources, rejects."""
        c = self.conn
        records, requests, first, last = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(requests), 0), MIN(ts), MAX(COALESCE(ts_end, ts)) "
            "FROM records"
        ).fetchone()
        version, last_migration = self.schema_version()
        sources = [
            {
                "kind": kind,
                "name": name,
                "records": n,
                "ingests": ingests,
                "last_seen": last_seen,
            }
            for kind, name, n, ingests, last_seen in c.execute(
                "SELECT s.kind, s.name, "
                "(SELECT COUNT(*) FROM records r WHERE r.source_kind = s.kind "
                "AND r.source_name = s.name), "
                "(SELECT COUNT(*) FROM ingests g WHERE g.source_id = s.id), s.last_seen "
                "FROM sources s ORDER BY s.kind, s.name"
            )
        ]
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return {
            "path": str(self.path),
            "size_bytes": size,
            "schema_version": version,
            "schema_migration": last_migration,
            "latest_schema_version": len(MIGRATIONS),
            "records": records,
            "requests": requests,
            "first_ts": first,
            "last_ts": last,
            "ingests": c.execute("SELECT COUNT(*) FROM ingests").fetchone()[0],
            "rejects": c.execute("SELECT COUNT(*) FROM rejects").fetchone()[0],
            "sources": sources,
        }

    def rejects(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT id, source_kind, location, line, field, reason, raw, created_at, ingest_id "
            "FROM rejects ORDER BY id"
        )
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        keys = (
            "id",
            "source_kind",
            "location",
            "line",
            "field",
            "reason",
            "raw",
            "created_at",
            "ingest_id",
        )
        return [dict(zip(keys, row, strict=True)) for row in self.conn.execute(sql, params)]


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


def _set_wal(conn: sqlite3.Connection) -> None:
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


def _cut(text: str) -> str:
    data = safe_text(text).encode("utf-8")  # type: ignore[union-attr]
    if len(data) <= RAW_LIMIT:
        return safe_text(text)  # type: ignore[return-value]
    return data[:RAW_LIMIT].decode("utf-8", errors="ignore") + "…"


def row_to_record(row: tuple[Any, ...]) -> UsageRecord:
    data = dict(zip(RECORD_COLUMNS, row, strict=False))
    dedupe_key: str = row[len(RECORD_COLUMNS)]
    data["ts"] = parse_ts(data["ts"])
    data["ts_end"] = parse_ts(data["ts_end"], "ts_end") if data["ts_end"] else None
    data["tags"] = json.loads(data["tags"]) if data["tags"] else {}
    if data["reported_cost_usd"] is not None:
        data["reported_cost_usd"] = Decimal(data["reported_cost_usd"])
    kind_prefix = f"{data['source_kind']}:"
    if dedupe_key.startswith("rid:"):
        data["source_id"] = dedupe_key
    elif dedupe_key.startswith(kind_prefix):
        rest = dedupe_key[len(kind_prefix) :]
        data["source_id"] = None if rest.startswith(f"{HASH_VERSION}:") else rest
    data["key"] = dedupe_key
    return UsageRecord(**data)
