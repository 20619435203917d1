"""The ClickHouse ledger: every operation of the SQLite one (writes, pulls, file state,
:class:`llmaudit.ledger.api.Queries`), on a ClickHouse database over HTTP.

ClickHouse has no transactions and no in-place updates. Rows SQLite updates are inserted again
with a higher ``version`` and read deduplicated (``FINAL``); deletes are lightweight
``DELETE``. Two machines writing at once lose nothing: a record is one row per dedupe key
whoever wrote it last. What is not atomic here (a pull window's delete-then-insert) is ordered
so that a crash between the steps leaves the window to be pulled again, never counted twice.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, cast

from llmaudit.errors import StoreError
from llmaudit.ledger import sketch
from llmaudit.ledger import writes as _writes
from llmaudit.ledger.api import BilledLine, Timing, TimingQuantiles, TimingSample
from llmaudit.ledger.clickhouse import query as q
from llmaudit.ledger.clickhouse.client import Address, Connection, ch_ts, lit, lits
from llmaudit.ledger.clickhouse.schema import MIGRATIONS, applied, migrate
from llmaudit.ledger.connection import RECORD_COLUMNS, now_text, row_to_record, safe_text
from llmaudit.ledger.filters import Filters
from llmaudit.ledger.rollup import rollup_usable
from llmaudit.ledger.writes import Prepared, WriteCounts, digest_of, plan_writes, reject_text
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts

PAGE = 20_000  # records a page when streaming the ledger out
# RECORD_COLUMNS and the dedupe key, as Connection.rows checks them
RECORD_SPEC = "tt" + "SS" + "iiiiiii" + "SS" + "ssssssss" + "s" + "ff" + "ss" + "Ssss" + "S"
_KEYS_PER_QUERY = 5_000
REFRESH_DAYS = 4  # days of the rollup refreshed by one statement
_LOCK = threading.Lock()
_last = [0, 0]  # the last version and id handed out by this process


def _version() -> int:
    """A version for a row written now: nanoseconds, strictly increasing in this process."""
    with _LOCK:
        _last[0] = max(_last[0] + 1, time.time_ns())
        return _last[0]


def _new_id() -> int:
    """A row id (SQLite's INTEGER PRIMARY KEY): microseconds and 8 random bits, increasing
    in this process, so ids from two machines do not collide and still sort by time."""
    with _LOCK:
        _last[1] = max(_last[1] + 1, (time.time_ns() // 1000) << 8 | random.getrandbits(8))
        return _last[1]


def _stable_id(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:7], "big")


class ClickHouseLedger:
    """A ledger in one ClickHouse database."""

    def __init__(self, address: Address, conn: Connection) -> None:
        self.address = address
        self.conn = conn
        self.db = address.database
        self._abandoned_checked = False
        self._old_places: dict[str, tuple[str, str]] = {}  # key -> (day, model) stored

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def open(cls, address: Address, secret: str, *, create: bool = True, debug: bool = False):
        conn = Connection(address, secret, debug=debug)
        try:
            if not create and not applied(conn, address.database):
                raise StoreError(
                    f"no ledger at {address}",
                    hint="ingest or pull into it first (the database has no llmaudit tables)",
                )
            migrate(conn, address.database)
        except BaseException:
            conn.close()
            raise
        return cls(address, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ClickHouseLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def path(self) -> str:
        return str(self.address)

    def t(self, table: str) -> str:
        return f"{self.db}.{table}"

    def schema_version(self) -> tuple[int, str | None]:
        names = applied(self.conn, self.db)
        return len(names), (names[-1] if names else None)

    def info(self) -> dict[str, Any]:
        records, requests, first, last = self.conn.one(
            "SELECT count(), sum(requests), if(count() = 0, NULL, min(ts)), "
            f"if(count() = 0, NULL, max(coalesce(ts_end, ts))) FROM {self.t('records')} FINAL",
            "iitt",
        )
        per_source = {
            (kind, name or ""): n
            for kind, name, n in self.conn.rows(
                f"SELECT source_kind, source_name, count() FROM {self.t('records')} FINAL "
                "GROUP BY source_kind, source_name",
                "Ssi",
            )
        }
        ingests_per = dict(
            self.conn.rows(
                f"SELECT source_id, count() FROM {self.t('ingests')} FINAL GROUP BY source_id",
                "ii",
            )
        )
        sources = [
            {
                "kind": kind,
                "name": name,
                "records": per_source.get((kind, name), 0),
                "ingests": ingests_per.get(sid, 0),
                "last_seen": last_seen,
            }
            for sid, kind, name, last_seen in self.conn.rows(
                f"SELECT id, kind, name, last_seen FROM {self.t('sources')} FINAL "
                "ORDER BY kind, name",
                "iSSS",
            )
        ]
        try:  # a user may not be allowed to read system.parts: then the size is unknown
            size = self.conn.one(
                "SELECT sum(bytes_on_disk) FROM system.parts "
                f"WHERE database = {lit(self.db)} AND active",
                "n",
            )[0]
        except StoreError:
            size = None
        version, last_migration = self.schema_version()
        return {
            "path": str(self.address),
            "size_bytes": size,
            "schema_version": version,
            "schema_migration": last_migration,
            "latest_schema_version": len(MIGRATIONS),
            "records": records,
            "requests": requests,
            "first_ts": first,
            "last_ts": last,
            "ingests": self.conn.one(f"SELECT count() FROM {self.t('ingests')} FINAL", "i")[0],
            "rejects": self.conn.one(f"SELECT count() FROM {self.t('rejects')} FINAL", "i")[0],
            "sources": sources,
        }

    def rejects(self, limit: int | None = None) -> list[dict[str, Any]]:
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
        sql = f"SELECT {', '.join(keys)} FROM {self.t('rejects')} FINAL ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [dict(zip(keys, row, strict=True)) for row in self.conn.rows(sql, "iSSnssssn")]

    # -- ingests ------------------------------------------------------------------------------
    def source_id(self, kind: str, name: str) -> int:
        sid = _stable_id(kind, name)
        now = now_text()
        found = self.conn.rows(
            f"SELECT first_seen FROM {self.t('sources')} FINAL WHERE kind = {lit(kind)} "
            f"AND name = {lit(name)}",
            "S",
        )
        first = found[0][0] if found else now
        self.conn.insert(
            self.t("sources"),
            [
                {
                    "id": sid,
                    "kind": kind,
                    "name": safe_text(name),
                    "first_seen": first,
                    "last_seen": now,
                    "version": _version(),
                }
            ],
        )
        return sid

    _INGEST_COLUMNS = (
        "id",
        "source_id",
        "location",
        "size",
        "mtime",
        "machine_id",
        "started_at",
        "finished_at",
        "status",
        "added",
        "updated",
        "duplicate",
        "rejected",
        "owner",
    )

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
        if not self._abandoned_checked:
            self._close_abandoned_ingests()
            self._abandoned_checked = True
        mtime_text = (
            datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")
            if mtime is not None
            else None
        )
        ingest_id = _new_id()
        row = dict.fromkeys(self._INGEST_COLUMNS)
        row.update(
            id=ingest_id,
            source_id=sid,
            location=safe_text(location),
            size=size,
            mtime=mtime_text,
            machine_id=machine_id,
            started_at=now_text(),
            status="running",
            added=0,
            updated=0,
            duplicate=0,
            rejected=0,
            owner=_writes.ingest_owner(),
        )
        self._put_ingest(row)
        return ingest_id

    def _put_ingest(self, row: dict[str, Any]) -> None:
        self.conn.insert(self.t("ingests"), [{**row, "version": _version()}])

    def _ingests(self, condition: str) -> list[dict[str, Any]]:
        cols = ", ".join(self._INGEST_COLUMNS)
        return [
            dict(zip(self._INGEST_COLUMNS, row, strict=True))
            for row in self.conn.rows(
                f"SELECT {cols} FROM {self.t('ingests')} FINAL WHERE {condition}",
                "iiSnssSsSiiiis",
            )
        ]

    def _close_abandoned_ingests(self) -> None:
        prefix = _writes.ingest_owner().rsplit(":", 1)[0] + ":"
        for row in self._ingests(f"status = 'running' AND startsWith(owner, {lit(prefix)})"):
            pid = (row["owner"] or "")[len(prefix) :]
            if pid.isdigit() and not _writes._alive(int(pid)):
                self._put_ingest({**row, "status": "interrupted"})

    def finish_ingest(self, ingest_id: int, counts: WriteCounts, status: str = "ok") -> None:
        rows = self._ingests(f"id = {int(ingest_id)}")
        if not rows:
            return
        self._put_ingest(
            {
                **rows[0],
                "finished_at": now_text(),
                "status": status,
                "added": counts.added,
                "updated": counts.updated,
                "duplicate": counts.duplicate,
                "rejected": counts.rejected,
            }
        )

    # -- writes -------------------------------------------------------------------------------
    def write(
        self,
        records: Iterable[UsageRecord | Prepared],
        rejects: Iterable[Reject] = (),
        *,
        ingest_id: int | None = None,
        source_kind: str = "unknown",
        keep: str = "latest",
    ) -> WriteCounts:
        """Upsert records and store rejects, by the rules of the SQLite ledger's ``write``."""
        return self._write(records, rejects, ingest_id, source_kind, keep)

    def _write(self, records, rejects, ingest_id, source_kind, keep) -> WriteCounts:
        counts, chosen = plan_writes(records, keep, self._existing)
        version = _version()
        rows = []
        dirty: set[str] = set()
        moved: list[tuple[str, str]] = []  # (key, old day) of rows an update replaces
        for rec, old in chosen:
            key = rec.key
            row: dict[str, Any] = {"dedupe_key": key, "content_hash": digest_of(rec)}
            for name, value in zip(RECORD_COLUMNS, rec.ident, strict=False):
                row[name] = value
            row["ts"] = ch_ts(row["ts"])
            row["ts_end"] = ch_ts(row["ts_end"])
            row["source_kind"] = rec.source_kind
            row["source_name"] = safe_text(rec.source_name)
            row["source_location"] = safe_text(rec.source_location)
            row["machine_id"] = safe_text(rec.machine_id)
            row["ingest_id"] = ingest_id
            row["version"] = version
            for text_field in ("user", "feature", "team", "customer", "project", "api_key"):
                row[text_field] = safe_text(row[text_field])
            rows.append(row)
            day = row["ts"][:10]
            dirty.add(day)
            # an update that moves a record to another day (another sorting key) or model
            # (another shard, on a cluster sharded by day and model): its old row goes
            was = self._old_places.get(key)
            if old is not None and was is not None and was != (day, row["model"]):
                moved.append((key, was[0]))
                dirty.add(was[0])
        if moved:
            pairs = ", ".join(f"({lit(k)}, toDate({lit(d)}))" for k, d in moved)
            self.conn.execute(
                f"DELETE FROM {self.t('records')} WHERE (dedupe_key, toDate(ts)) IN ({pairs})"
            )
        if rows:
            self.conn.insert(self.t("records"), rows)
            self.conn.insert(
                self.t("record_keys"),
                [
                    {"dedupe_key": r["dedupe_key"], "day": r["ts"][:10], "version": version}
                    for r in rows
                ],
            )
        self._mark_dirty(dirty)
        reject_rows = []
        for rj in rejects:
            raw, raw_hash = reject_text(rj)
            reject_rows.append(
                {
                    "id": _new_id(),
                    "ingest_id": ingest_id,
                    "source_kind": source_kind,
                    "location": safe_text(rj.location),
                    "line": rj.line,
                    "field": safe_text(rj.field),
                    "reason": safe_text(rj.reason),
                    "raw": raw,
                    "raw_hash": raw_hash,
                    "created_at": now_text(),
                    "version": 2**63 - _version(),  # the first copy has the highest version
                }
            )
            counts.rejected += 1
        if reject_rows:
            self.conn.insert(self.t("rejects"), reject_rows)
        return counts

    def _existing(self, keys: list[str]) -> _writes.Existing:
        found: _writes.Existing = {}
        self._old_places = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            # the days these keys were written on (a key may have been written on two, if a
            # record moved), then the records themselves by their sorting key
            places = self.conn.rows(
                "SELECT DISTINCT toString(day), dedupe_key FROM "
                f"{self.t('record_keys')} WHERE dedupe_key IN ({lits(chunk)})",
                "SS",
            )
            if not places:
                continue
            pairs = ", ".join(f"(toDate({lit(d)}), {lit(k)})" for d, k in places)
            for key, digest, kind, output, day, model in self.conn.rows(
                "SELECT dedupe_key, content_hash, source_kind, output, toString(toDate(ts)), "
                f"model FROM {self.t('records')} FINAL WHERE (toDate(ts), dedupe_key) "
                f"IN ({pairs})",
                "SSSiSS",
            ):
                found[key] = (digest, kind, output)
                self._old_places[key] = (day, model)
        return found

    def _mark_dirty(self, days: Iterable[str]) -> None:
        marked = _version()
        rows = [{"day": d, "marked": marked} for d in sorted(days)]
        if rows:
            self.conn.insert(self.t("rollup_dirty"), rows)

    # -- provider pulls -----------------------------------------------------------------------
    def pull_state(self, provider: str, endpoint: str, bucket: str) -> tuple[str, str] | None:
        rows = self.conn.rows(
            f"SELECT pulled_until, last_bucket_start FROM {self.t('pulls')} FINAL "
            f"WHERE provider = {lit(provider)} AND endpoint = {lit(endpoint)} "
            f"AND bucket = {lit(bucket)}",
            "SS",
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def save_raw_page(self, provider: str, endpoint: str, url: str, page: int, body: str) -> int:
        page_id = _new_id()
        self.conn.insert(
            self.t("raw_pages"),
            [
                {
                    "id": page_id,
                    "provider": provider,
                    "endpoint": endpoint,
                    "url": url,
                    "page": page,
                    "fetched_at": now_text(),
                    "body": safe_text(body),
                }
            ],
        )
        return page_id

    def raw_pages(self, provider: str | None = None) -> list[tuple[int, str, str, str]]:
        cond = f"WHERE provider = {lit(provider)}" if provider else ""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.conn.rows(
                f"SELECT id, provider, endpoint, body FROM {self.t('raw_pages')} {cond} "
                "ORDER BY id",
                "iSSS",
            )
        ]

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
        """Replace what an endpoint said about [start, end) with a fresh page; then remember
        how far the endpoint has been pulled (last, so a failure in between pulls it again)."""
        span = f"ts >= {lit(ch_ts(start))} AND ts < {lit(ch_ts(end))}"
        own = (
            f"source_kind = {lit(kind)} AND startsWith(source_location, "
            f"{lit(f'{provider} {endpoint} ')}) AND {span}"
        )
        days = [
            r[0]
            for r in self.conn.rows(
                f"SELECT DISTINCT toString(toDate(ts)) FROM {self.t('records')} FINAL WHERE {own}",
                "S",
            )
        ]
        replaced = self.conn.one(f"SELECT count() FROM {self.t('records')} FINAL WHERE {own}", "i")[
            0
        ]
        billed_cond = f"provider = {lit(provider)} AND endpoint = {lit(endpoint)} AND {span}"
        replaced += self.conn.one(
            f"SELECT count() FROM {self.t('billed_costs')} WHERE {billed_cond}", "i"
        )[0]
        if replaced:
            self.conn.execute(f"DELETE FROM {self.t('records')} WHERE {own}")
            self.conn.execute(f"DELETE FROM {self.t('billed_costs')} WHERE {billed_cond}")
        self._mark_dirty(days)
        self._write(records, rejects, ingest_id, kind, "latest")
        self.conn.insert(
            self.t("billed_costs"),
            [
                {
                    "id": _new_id(),
                    "provider": provider,
                    "endpoint": endpoint,
                    "ts": ch_ts(format_ts(c.ts)),
                    "ts_end": ch_ts(format_ts(c.ts_end)),
                    "project": c.project,
                    "line_item": c.line_item,
                    "model": c.model,
                    "token_type": c.token_type,
                    "service_tier": c.service_tier,
                    "context_window": c.context_window,
                    "cost_type": c.cost_type,
                    "amount_usd": format(c.amount_usd, "f"),
                    "currency": c.currency,
                    "quantity": c.quantity,
                    "quantity_unit": c.quantity_unit,
                    "raw_page_id": raw_page_id,
                }
                for c in costs
            ],
        )
        previous = self.pull_state(provider, endpoint, bucket)
        until = max(end, previous[0]) if previous else end
        last = max(last_start, previous[1]) if previous else last_start
        self.conn.insert(
            self.t("pulls"),
            [
                {
                    "provider": provider,
                    "endpoint": endpoint,
                    "bucket": bucket,
                    "pulled_until": until,
                    "last_bucket_start": last,
                    "updated_at": now_text(),
                    "version": _version(),
                }
            ],
        )
        return len(records) + len(costs), replaced

    def billed_costs(self) -> list[dict[str, Any]]:
        cols = [
            "id",
            "provider",
            "endpoint",
            "ts",
            "ts_end",
            "project",
            "line_item",
            "model",
            "token_type",
            "service_tier",
            "context_window",
            "cost_type",
            "amount_usd",
            "currency",
            "quantity",
            "quantity_unit",
            "raw_page_id",
        ]
        return [
            dict(zip(cols, row, strict=True))
            for row in self.conn.rows(
                f"SELECT {', '.join(cols)} FROM {self.t('billed_costs')} ORDER BY ts, id",
                "iSSttsssssssSSssn",
            )
        ]

    # -- file state ---------------------------------------------------------------------------
    _FILE_KEYS = ("format", "size", "mtime_ns", "offset", "lines", "head_hash", "head_len")

    def file_state(self, path: str) -> dict[str, Any] | None:
        rows = self.conn.rows(
            f"SELECT {', '.join(self._FILE_KEYS)} FROM {self.t('files')} FINAL "
            f"WHERE path = {lit(safe_text(path))}",
            "SiiiiSi",
        )
        return dict(zip(self._FILE_KEYS, rows[0], strict=True)) if rows else None

    def save_file_state(self, path: str, state: dict[str, Any], ingest_id: int | None) -> None:
        row = {k: state[k] for k in self._FILE_KEYS}
        row.update(
            path=safe_text(path), ingest_id=ingest_id, updated_at=now_text(), version=_version()
        )
        self.conn.insert(self.t("files"), [row])

    # -- reads (Queries) ----------------------------------------------------------------------
    def refresh_rollup(self) -> int:
        """Recompute the daily sums of every day a write marked since the last refresh."""
        marks = self.conn.rows(
            f"SELECT toString(day), max(marked) FROM {self.t('rollup_dirty')} FINAL GROUP BY day",
            "Si",
        )
        if not marks:
            return 0
        marks.sort()
        # a few days a statement, so each stays well inside STATEMENT_SECONDS however large
        # the ledger (a day of 33M requests takes about 25 s on 2 cores); each chunk is done
        # (its marks cleared) before the next, so an interrupted refresh resumes where it was
        for start in range(0, len(marks), REFRESH_DAYS):
            chunk = marks[start : start + REFRESH_DAYS]
            days = [d for d, _ in chunk]
            newest = max(m for _, m in chunk)
            day_list = ", ".join(f"toDate({lit(d)})" for d in days)
            for table in ("rollup_daily", "rollup_latency"):
                self.conn.execute(f"DELETE FROM {self.t(table)} WHERE day IN ({day_list})")
            self.conn.execute(q.rollup_refresh(self.t("records"), self.t("rollup_daily"), days))
            self.conn.execute(q.latency_refresh(self.t("records"), self.t("rollup_latency"), days))
            self.conn.execute(
                f"DELETE FROM {self.t('rollup_dirty')} WHERE day IN ({day_list}) "
                f"AND marked <= {int(newest)}"
            )
        return len(marks)

    def grouped_sums(
        self,
        filters: Filters,
        dims: Sequence[str] = (),
        *,
        bucket: str = "day",
        long_context: dict[str, int] | None = None,
        cached_requests: bool = False,
        time_windows: dict[str, list[tuple[str, str]]] | None = None,
    ) -> list[dict[str, Any]]:
        if not time_windows and rollup_usable(filters, dims, bucket, long_context):
            try:
                self.refresh_rollup()
            except StoreError:
                pass  # a read-only user: read the records instead
            else:
                sql, n = q.grouped_rollup(self.t("rollup_daily"), filters, dims, cached_requests)
                return self._grouped(sql, n, cached_requests)
        sql, n = q.grouped_records(
            self.t("records"),
            filters,
            dims,
            bucket=bucket,
            long_context=long_context,
            cached_requests=cached_requests,
            time_windows=time_windows,
        )
        return self._grouped(sql, n, cached_requests)

    def _grouped(self, sql: str, n_dims: int, cached_requests: bool) -> list[dict[str, Any]]:
        names = ["bucket", "model", "provider", "service_tier", "status", "lc"]
        if "AS tw" in sql:
            names.append("tw")
        names += [f"d{i}" for i in range(n_dims)]
        names += ["requests", *q.COUNT_FIELDS[1:], "records"]
        if cached_requests:
            names.append("cached_requests")
        spec = "SSSSSi" + ("i" if "tw" in names else "") + "d" * n_dims
        spec += "i" * (len(names) - len(spec))
        out = []
        for row in self.conn.rows(sql, spec):
            item = dict(zip(names, row, strict=True))
            item["dims"] = tuple(item.pop(f"d{i}") for i in range(n_dims))
            item.setdefault("tw", 0)
            out.append(item)
        return out

    def iter_records(self, filters: Filters | None = None) -> Iterator[UsageRecord]:
        yield from self._records(q.where(filters))

    def _records(self, where: str) -> Iterator[UsageRecord]:
        cols = ", ".join(RECORD_COLUMNS)
        after = ""
        while True:
            cond = " AND ".join(c for c in (where.removeprefix("WHERE "), after) if c)
            rows = self.conn.rows(
                f"SELECT {cols}, dedupe_key FROM {self.t('records')} FINAL "
                f"{'WHERE ' + cond if cond else ''} ORDER BY ts, dedupe_key LIMIT {PAGE}",
                RECORD_SPEC,
            )
            for row in rows:
                try:
                    yield row_to_record(tuple(row))
                except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
                    raise StoreError(
                        f"clickhouse {self.address}: record {str(row[-1])[:80]!r} cannot be "
                        f"read back ({type(exc).__name__})"
                    ) from None
            if len(rows) < PAGE:
                return
            last = rows[-1]
            after = f"(ts, dedupe_key) > ({lit(ch_ts(last[0]))}, {lit(last[-1])})"

    def records_with_reported_cost(self, since: datetime, until: datetime) -> Iterator[UsageRecord]:
        return self._records(
            f"WHERE reported_cost_usd IS NOT NULL AND ts >= {lit(since)} AND ts < {lit(until)}"
        )

    def _fresh_rollup(self) -> bool:
        """Refresh the rollup; False when it cannot be (a read-only user) or is turned off."""
        if os.environ.get("LLMAUDIT_NO_ROLLUP"):
            return False
        try:
            self.refresh_rollup()
        except StoreError:
            return False
        return True

    def model_names(self) -> list[str]:
        table = "rollup_daily" if self._fresh_rollup() else "records"
        return [r[0] for r in self.conn.rows(f"SELECT DISTINCT model FROM {self.t(table)}", "S")]

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        if self._fresh_rollup():  # every record is in some day's group, with its first and last
            query = (
                "SELECT if(count() = 0, NULL, min(first_ts)), if(count() = 0, NULL, max(last_ts))"
                f" FROM {self.t('rollup_daily')}"
            )
        else:
            query = (
                "SELECT if(count() = 0, NULL, min(ts)), if(count() = 0, NULL, max(ts)) "
                f"FROM {self.t('records')} FINAL"
            )
        first, last = self.conn.one(query, "tt")
        return _instant(first), _instant(last)

    def _timed(self, filters: Filters, limit: int) -> tuple[str, int, int]:
        """The WHERE clause of the timed records ``filters`` select, thinned to an even
        sample (every step-th by key hash) of at most about ``limit``; their count; the step."""
        where = q.where(filters)
        cond = "(latency_ms IS NOT NULL OR ttft_ms IS NOT NULL)"
        clause = f"{where} AND {cond}" if where else f"WHERE {cond}"
        total = self.conn.one(f"SELECT count() FROM {self.t('records')} FINAL {clause}", "i")[0]
        step = max(1, -(-total // limit))
        if step > 1:
            clause += f" AND cityHash64(dedupe_key) % {step} = 0"
        return clause, total, step

    def timing_sample(self, filters: Filters, limit: int) -> TimingSample:
        clause, total, step = self._timed(filters, limit)
        rows = self.conn.rows(
            f"SELECT model, latency_ms, ttft_ms, output FROM {self.t('records')} FINAL {clause}",
            "Sffi",
        )
        return TimingSample(total, step, (cast(Timing, tuple(row)) for row in rows))

    def timing_quantiles(self, filters: Filters, limit: int) -> TimingQuantiles:
        """Percentiles by ClickHouse's ``quantilesExactInclusive`` (linear interpolation
        between closest ranks, as the SQLite path computes them), in the engine: only one
        row per model comes back."""
        sketch = self._from_sketch(filters, limit)
        if sketch is not None:
            return sketch
        clause, _total, step = self._timed(filters, limit)
        itl = "(latency_ms - ttft_ms) / (toFloat64(output) - 1)"
        itl_ok = "output > 1 AND latency_ms >= ttft_ms"
        rows = []
        for model, n_lat, n_ttft, n_itl, ttft, lat, gap in self.conn.rows(
            "SELECT model, count(latency_ms), count(ttft_ms), "
            f"countIf(ttft_ms IS NOT NULL AND latency_ms IS NOT NULL AND {itl_ok}), "
            "quantilesExactInclusive(0.5, 0.95)(ttft_ms), "
            "quantilesExactInclusive(0.5, 0.95)(latency_ms), "
            f"quantilesExactInclusiveIf(0.5, 0.95)({itl}, {itl_ok}) "
            f"FROM {self.t('records')} FINAL {clause} GROUP BY model ORDER BY model",
            "Siiiaaa",
        ):
            row: dict[str, Any] = {"model": model, "requests": max(n_lat, n_ttft)}
            for name, n, values in (
                ("ttft", n_ttft, ttft),
                ("latency", n_lat, lat),
                ("itl", n_itl, gap),
            ):
                if len(values) != 2:
                    raise StoreError(f"clickhouse {self.address}: quantiles of another shape")
                row[f"{name}_p50_ms"] = values[0] if n else None
                row[f"{name}_p95_ms"] = values[1] if n else None
            rows.append(row)
        return TimingQuantiles(step, rows)

    def _from_sketch(self, filters: Filters, limit: int) -> TimingQuantiles | None:
        """Above ``limit`` timed requests in a window of whole UTC days (filtered by model at
        most), the percentiles from the daily latency histograms: every request counted,
        each percentile within 1% of the exact one."""
        if any(dim != "model" for dim, _ in filters.where):
            return None
        if not rollup_usable(filters, (), "day", None) or not self._fresh_rollup():
            return None
        where = q.where(filters, "day")
        counts = self.conn.rows(
            f"SELECT model, kind, sum(n) FROM {self.t('rollup_latency')} {where} "
            "GROUP BY model, kind",
            "SSi",
        )
        per_model: dict[str, dict[str, int]] = {}
        for model, kind, n in counts:
            per_model.setdefault(model, {})[kind] = n
        timed = sum(max(k.get("latency", 0), k.get("ttft", 0)) for k in per_model.values())
        if timed <= limit:
            return None
        histograms: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for model, kind, bucket, n in self.conn.rows(
            f"SELECT model, kind, bucket, sum(n) FROM {self.t('rollup_latency')} {where} "
            "GROUP BY model, kind, bucket ORDER BY model, kind, bucket",
            "SSii",
        ):
            histograms.setdefault((model, kind), []).append((bucket, n))
        try:
            rows = sketch.quantile_rows(histograms)
        except ArithmeticError:
            raise StoreError(
                f"clickhouse {self.address}: a latency histogram out of range"
            ) from None
        return TimingQuantiles(1, rows, method="sketch")

    def billed(self, provider: str, since: datetime, until: datetime) -> list[BilledLine]:
        rows = self.conn.rows(
            "SELECT ts, model, project, amount_usd, line_item, cost_type "
            f"FROM {self.t('billed_costs')} WHERE provider = {lit(provider)} "
            f"AND ts >= {lit(since)} AND ts < {lit(until)}",
            "tssSss",
        )
        try:
            return [
                BilledLine(provider, _instant(ts), model, project, Decimal(amount), item, kind)
                for ts, model, project, amount, item, kind in rows
            ]
        except (ValueError, AttributeError, ArithmeticError):
            raise StoreError(f"clickhouse {self.address}: a billed line cannot be read") from None

    def models_with_tag(self, tag: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.rows(
                f"SELECT DISTINCT model FROM {self.t('records')} FINAL "
                f"WHERE {q.tag_value(tag)} IS NOT NULL",
                "S",
            )
        ]

    def outputs_per_request(self, feature: str, days: int) -> list[int]:
        f = lit(feature)
        return [
            r[0]
            for r in self.conn.rows(
                f"SELECT intDiv(output, greatest(requests, 1)) AS per FROM {self.t('records')} "
                f"FINAL WHERE feature = {f} AND status = 'ok' AND ts >= (SELECT "
                f"toStartOfSecond(max(ts) - toIntervalDay({int(days)})) FROM "
                f"{self.t('records')} FINAL WHERE feature = {f}) ORDER BY per",
                "i",
            )
        ]


def _instant(text: str | None) -> Any:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


__all__ = ["ClickHouseLedger"]
