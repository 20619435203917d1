"""The ClickHouse ledger's schema: SQLite's named, ordered migrations, in ClickHouse DDL.

Each migration is idempotent (``IF NOT EXISTS``), so two machines opening a new database at
once both succeed. Rows that SQLite updates in place are new versions here: tables are
``ReplacingMergeTree`` keyed by what SQLite keeps unique, read with ``FINAL``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from llmaudit.errors import StoreError
from llmaudit.ledger.clickhouse.client import Connection, lit

LOG_TABLE = "_llmaudit_migrations"

Migration = Callable[[Connection, str], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _run(conn: Connection, db: str, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement.replace("{db}", db))


@migration
def m001_init(conn: Connection, db: str) -> None:
    _run(
        conn,
        db,
        """CREATE TABLE IF NOT EXISTS {db}.sources (
            id Int64, kind String, name String, first_seen String, last_seen String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (kind, name)""",
        """CREATE TABLE IF NOT EXISTS {db}.ingests (
            id Int64, source_id Int64, location String, size Nullable(Int64),
            mtime Nullable(String), machine_id Nullable(String), started_at String,
            finished_at Nullable(String), status String, added Int64, updated Int64,
            duplicate Int64, rejected Int64, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY id""",
        # One row per dedupe key: re-ingesting, or the same call by two routes, is one record.
        # Keyed by day first, so a time range reads only its days; a record whose update
        # moves it to another day has its old row deleted by the write.
        """CREATE TABLE IF NOT EXISTS {db}.records (
            dedupe_key String, content_hash String,
            ts DateTime64(6, 'UTC'), ts_end Nullable(DateTime64(6, 'UTC')),
            provider LowCardinality(String), model LowCardinality(String),
            requests UInt64, input_uncached UInt64, cache_read UInt64, cache_write_5m UInt64,
            cache_write_1h UInt64, output UInt64, reasoning UInt64,
            service_tier LowCardinality(String), status LowCardinality(String),
            user Nullable(String), feature Nullable(String), team Nullable(String),
            customer Nullable(String), project Nullable(String), api_key Nullable(String),
            session Nullable(String), environment Nullable(String), tags Nullable(String),
            latency_ms Nullable(Float64), ttft_ms Nullable(Float64),
            request_id Nullable(String), reported_cost_usd Nullable(String),
            source_kind LowCardinality(String), source_name Nullable(String),
            source_location Nullable(String), machine_id Nullable(String),
            ingest_id Nullable(Int64), version UInt64
        ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(ts)
        ORDER BY (toDate(ts), dedupe_key)""",
        # Where each key's record lives (its day): a write looks its keys up here, by the
        # sorting key, then reads those records by theirs, never scanning the records table.
        """CREATE TABLE IF NOT EXISTS {db}.record_keys (
            dedupe_key String, day Date, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY dedupe_key""",
        # The first copy of a rejected line stays (the highest version is the earliest).
        """CREATE TABLE IF NOT EXISTS {db}.rejects (
            id Int64, ingest_id Nullable(Int64), source_kind String, location String,
            line Nullable(Int64), field Nullable(String), reason String, raw Nullable(String),
            raw_hash String, created_at String, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (location, raw_hash, ifNull(line, -1))""",
    )


@migration
def m002_file_state(conn: Connection, db: str) -> None:
    _run(
        conn,
        db,
        """CREATE TABLE IF NOT EXISTS {db}.files (
            path String, format String, size Int64, mtime_ns Int64, offset Int64, lines Int64,
            head_hash String, head_len Int64, ingest_id Nullable(Int64), updated_at String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY path""",
    )


@migration
def m003_provider_pulls(conn: Connection, db: str) -> None:
    _run(
        conn,
        db,
        """CREATE TABLE IF NOT EXISTS {db}.raw_pages (
            id Int64, provider String, endpoint String, url String, page Int64,
            fetched_at String, body String
        ) ENGINE = MergeTree ORDER BY (provider, endpoint, id)""",
        """CREATE TABLE IF NOT EXISTS {db}.billed_costs (
            id Int64, provider String, endpoint String, ts DateTime64(6, 'UTC'),
            ts_end DateTime64(6, 'UTC'), project Nullable(String), line_item Nullable(String),
            model Nullable(String), token_type Nullable(String), service_tier Nullable(String),
            context_window Nullable(String), cost_type Nullable(String), amount_usd String,
            currency String, quantity Nullable(String), quantity_unit Nullable(String),
            raw_page_id Nullable(Int64)
        ) ENGINE = MergeTree ORDER BY (provider, ts, id)""",
        """CREATE TABLE IF NOT EXISTS {db}.pulls (
            provider String, endpoint String, bucket String, pulled_until String,
            last_bucket_start String, updated_at String, version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (provider, endpoint, bucket)""",
    )


@migration
def m004_daily_rollup(conn: Connection, db: str) -> None:
    """Daily sums per group (refreshed from the deduplicated records for each day a write
    touched), so reports over whole days read thousands of rows, not hundreds of millions."""
    _run(
        conn,
        db,
        """CREATE TABLE IF NOT EXISTS {db}.rollup_daily (
            day Date, model LowCardinality(String), provider LowCardinality(String),
            service_tier LowCardinality(String), status LowCardinality(String), lc UInt8,
            feature Nullable(String), team Nullable(String), customer Nullable(String),
            project Nullable(String), api_key Nullable(String), environment Nullable(String),
            has_user UInt8, source_kind LowCardinality(String),
            requests UInt64, input_uncached UInt64, cache_read UInt64, cache_write_5m UInt64,
            cache_write_1h UInt64, output UInt64, reasoning UInt64, records UInt64,
            cached_requests UInt64, first_ts DateTime64(6, 'UTC'), last_ts DateTime64(6, 'UTC')
        ) ENGINE = MergeTree ORDER BY (day, model)""",
        # Latency per day and model as a log-bucket histogram (relative error 1%), for the
        # percentiles of windows too large to read exactly.
        """CREATE TABLE IF NOT EXISTS {db}.rollup_latency (
            day Date, model LowCardinality(String), kind LowCardinality(String), bucket Int32,
            n UInt64
        ) ENGINE = MergeTree ORDER BY (day, model, kind, bucket)""",
        """CREATE TABLE IF NOT EXISTS {db}.rollup_dirty (day Date, marked UInt64)
        ENGINE = ReplacingMergeTree(marked) ORDER BY day""",
    )


@migration
def m005_latency_index(conn: Connection, db: str) -> None:
    """(SQLite: a covering index for latency percentiles. ClickHouse computes them with its
    quantile functions over a columnar scan: nothing to add.)"""


@migration
def m006_whole_file_rejects_once(conn: Connection, db: str) -> None:
    """(SQLite: whole-file rejects kept once. Here the rejects key already treats a missing
    line as one value.)"""


@migration
def m007_versioned_content_keys(conn: Connection, db: str) -> None:
    """(SQLite: re-keys ``sha256:`` content keys. A ClickHouse ledger starts with h1 keys.)"""


@migration
def m008_ingest_owner(conn: Connection, db: str) -> None:
    _run(conn, db, "ALTER TABLE {db}.ingests ADD COLUMN IF NOT EXISTS owner Nullable(String)")


def applied(conn: Connection, db: str) -> list[str]:
    exists = conn.one(
        f"SELECT count() FROM system.tables WHERE database = {lit(db)} AND name = {lit(LOG_TABLE)}",
        "i",
    )[0]
    if not exists:
        return []
    return [
        r[0] for r in conn.rows(f"SELECT name FROM {db}.{LOG_TABLE} FINAL ORDER BY position", "S")
    ]


def migrate(conn: Connection, db: str) -> list[str]:
    known = [name for name, _ in MIGRATIONS]
    done = applied(conn, db)
    unknown = [name for name in done if name not in known]
    if unknown:
        raise StoreError(
            f"the ledger has migrations this llmaudit does not know ({', '.join(unknown)})",
            hint="it was written by a newer llmaudit; upgrade llmaudit",
        )
    if len(done) == len(known):
        return []
    conn.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {db}.{LOG_TABLE} (name String, position UInt32, "
        "applied_at String) ENGINE = ReplacingMergeTree ORDER BY name"
    )
    now_applied = []
    for position, (name, fn) in enumerate(MIGRATIONS):
        if name in done:
            continue
        try:
            fn(conn, db)
        except StoreError as exc:
            raise StoreError(f"migration {name} failed: {exc.message}") from exc
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        conn.insert(
            f"{db}.{LOG_TABLE}", [{"name": name, "position": position + 1, "applied_at": now}]
        )
        now_applied.append(name)
    return now_applied
