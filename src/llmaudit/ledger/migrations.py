"""Named, ordered schema migrations. Each runs in one transaction together with its log row.

Never edit or renumber a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone

from llmaudit.errors import StoreError

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []
LOG_TABLE = "_llmaudit_migrations"


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT behind our back; run statement by statement instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


@migration
def m001_init(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            UNIQUE (kind, name)
        );
        CREATE TABLE ingests (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            location TEXT NOT NULL,
            size INTEGER,
            mtime TEXT,
            machine_id TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            added INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            duplicate INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            ts TEXT NOT NULL,
            ts_end TEXT,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 1 CHECK (requests >= 0),
            input_uncached INTEGER NOT NULL DEFAULT 0 CHECK (input_uncached >= 0),
            cache_read INTEGER NOT NULL DEFAULT 0 CHECK (cache_read >= 0),
            cache_write_5m INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_5m >= 0),
            cache_write_1h INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_1h >= 0),
            output INTEGER NOT NULL DEFAULT 0 CHECK (output >= 0),
            reasoning INTEGER NOT NULL DEFAULT 0 CHECK (reasoning >= 0 AND reasoning <= output),
            service_tier TEXT NOT NULL DEFAULT 'standard',
            status TEXT NOT NULL DEFAULT 'ok',
            user TEXT,
            feature TEXT,
            team TEXT,
            customer TEXT,
            project TEXT,
            api_key TEXT,
            session TEXT,
            environment TEXT,
            tags TEXT,
            latency_ms REAL,
            ttft_ms REAL,
            request_id TEXT,
            reported_cost_usd TEXT,
            source_kind TEXT NOT NULL,
            source_name TEXT,
            source_location TEXT,
            machine_id TEXT,
            ingest_id INTEGER REFERENCES ingests(id)
        );
        CREATE INDEX idx_records_ts ON records (ts);
        CREATE INDEX idx_records_model_ts ON records (model, ts);
        CREATE INDEX idx_records_ingest_id ON records (ingest_id);
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY,
            ingest_id INTEGER REFERENCES ingests(id),
            source_kind TEXT NOT NULL,
            location TEXT NOT NULL,
            line INTEGER,
            field TEXT,
            reason TEXT NOT NULL,
            raw TEXT,
            raw_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (location, line, raw_hash)
        );
        CREATE INDEX idx_rejects_ingest_id ON rejects (ingest_id)
        """,
    )


@migration
def m002_file_state(conn: sqlite3.Connection) -> None:
    """What was read of each file, so a re-run reads only what was appended."""
    _run(
        conn,
        """
        CREATE TABLE files (
            path TEXT PRIMARY KEY,
            format TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            lines INTEGER NOT NULL,
            head_hash TEXT NOT NULL,
            head_len INTEGER NOT NULL,
            ingest_id INTEGER REFERENCES ingests(id),
            updated_at TEXT NOT NULL
        )
        """,
    )


@migration
def m003_provider_pulls(conn: sqlite3.Connection) -> None:
    """Provider API pulls: raw pages (for --rebuild), billed costs, and what was pulled."""
    _run(
        conn,
        """
        CREATE TABLE raw_pages (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            url TEXT NOT NULL,
            page INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX idx_raw_pages_provider_endpoint ON raw_pages (provider, endpoint);
        CREATE TABLE billed_costs (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            ts TEXT NOT NULL,
            ts_end TEXT NOT NULL,
            project TEXT,
            line_item TEXT,
            model TEXT,
            token_type TEXT,
            service_tier TEXT,
            context_window TEXT,
            cost_type TEXT,
            amount_usd TEXT NOT NULL,
            currency TEXT NOT NULL,
            quantity TEXT,
            quantity_unit TEXT,
            raw_page_id INTEGER REFERENCES raw_pages(id)
        );
        CREATE INDEX idx_billed_costs_provider_ts ON billed_costs (provider, ts);
        CREATE TABLE pulls (
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            bucket TEXT NOT NULL,
            pulled_until TEXT NOT NULL,
            last_bucket_start TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (provider, endpoint, bucket)
        )
        """,
    )


_MARK = (
    "INSERT INTO rollup_dirty (day) SELECT substr({row}.ts, 1, 10) WHERE NOT EXISTS "
    "(SELECT 1 FROM rollup_dirty WHERE day = substr({row}.ts, 1, 10))"
)


@migration
def m004_daily_rollup(conn: sqlite3.Connection) -> None:
    """Daily sums for reports; triggers mark the days a write touches, refreshed after ingest."""
    statements = [
        """CREATE TABLE rollup_daily (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            service_tier TEXT NOT NULL,
            status TEXT NOT NULL,
            lc INTEGER NOT NULL,
            feature TEXT,
            team TEXT,
            customer TEXT,
            project TEXT,
            api_key TEXT,
            environment TEXT,
            has_user INTEGER NOT NULL,
            source_kind TEXT NOT NULL,
            requests INTEGER NOT NULL,
            input_uncached INTEGER NOT NULL,
            cache_read INTEGER NOT NULL,
            cache_write_5m INTEGER NOT NULL,
            cache_write_1h INTEGER NOT NULL,
            output INTEGER NOT NULL,
            reasoning INTEGER NOT NULL,
            records INTEGER NOT NULL,
            cached_requests INTEGER NOT NULL
        )""",
        "CREATE INDEX idx_rollup_daily_day ON rollup_daily (day)",
        "CREATE TABLE rollup_dirty (day TEXT PRIMARY KEY)",
        "INSERT INTO rollup_dirty SELECT DISTINCT substr(ts, 1, 10) FROM records",
        # (no INSERT OR IGNORE: an upsert's own conflict handling would override it)
        f"""CREATE TRIGGER trg_records_insert_rollup AFTER INSERT ON records BEGIN
            {_MARK.format(row="NEW")};
        END""",
        f"""CREATE TRIGGER trg_records_delete_rollup AFTER DELETE ON records BEGIN
            {_MARK.format(row="OLD")};
        END""",
        f"""CREATE TRIGGER trg_records_update_rollup AFTER UPDATE ON records BEGIN
            {_MARK.format(row="OLD")};
            {_MARK.format(row="NEW")};
        END""",
    ]
    for statement in statements:
        conn.execute(statement)


@migration
def m005_latency_index(conn: sqlite3.Connection) -> None:
    """A covering index for the latency percentiles (it serves time-range scans too, so the
    plain index on ts goes)."""
    conn.execute(
        "CREATE INDEX idx_records_ts_model_latency ON records "
        "(ts, model, latency_ms, ttft_ms, output)"
    )
    conn.execute("DROP INDEX idx_records_ts")


@migration
def m006_whole_file_rejects_once(conn: sqlite3.Connection) -> None:
    """A reject without a line (a whole document that is not JSON) is kept once per file and
    reason: UNIQUE (location, line, raw_hash) lets NULL lines repeat on every re-read."""
    conn.execute(
        "DELETE FROM rejects WHERE line IS NULL AND id NOT IN "
        "(SELECT MIN(id) FROM rejects WHERE line IS NULL GROUP BY location, raw_hash)"
    )
    conn.execute(
        "CREATE UNIQUE INDEX idx_rejects_whole_file ON rejects (location, raw_hash) "
        "WHERE line IS NULL"
    )


@migration
def m007_versioned_content_keys(conn: sqlite3.Connection) -> None:
    """Content hashes become h1 (canonical JSON, not repr) and id-less keys say their scheme:
    ``kind:sha256:<repr hash>`` -> ``kind:h1:<h1 hash>``. Rows are re-hashed from their own
    stored identity columns, which are exactly what the hash covers."""
    from llmaudit.model.record import IDENTITY_COLUMNS, row_hash

    cols = ", ".join(IDENTITY_COLUMNS)
    updates = []
    for row in conn.execute(f"SELECT id, dedupe_key, source_kind, {cols} FROM records"):
        rid, key, kind, ident = row[0], row[1], row[2], tuple(row[3:])
        digest = row_hash(ident)
        if key.startswith(f"{kind}:sha256:"):
            key = f"{kind}:h1:{digest}"
        updates.append((key, digest, rid))
    # Skip the rollup triggers: the sums do not change, only keys and hashes.
    conn.execute("DROP TRIGGER IF EXISTS trg_records_update_rollup")
    conn.executemany("UPDATE records SET dedupe_key = ?, content_hash = ? WHERE id = ?", updates)
    conn.execute(
        f"""CREATE TRIGGER trg_records_update_rollup AFTER UPDATE ON records BEGIN
            {_MARK.format(row="OLD")};
            {_MARK.format(row="NEW")};
        END"""
    )


@migration
def m008_ingest_owner(conn: sqlite3.Connection) -> None:
    """host:pid of the process running an ingest, so one that was killed can be marked
    interrupted by the next run instead of showing as running forever."""
    conn.execute("ALTER TABLE ingests ADD COLUMN owner TEXT")
    conn.execute("UPDATE ingests SET status = 'interrupted' WHERE status = 'running'")
    # the few running ingests, found without scanning a ledger's whole history
    conn.execute("CREATE INDEX idx_ingests_running ON ingests (owner) WHERE status = 'running'")


@migration
def m009_latency_sketch(conn: sqlite3.Connection) -> None:
    """Daily latency histograms (ledger/sketch.py) beside the daily sums, so the latency
    section of a large window reads buckets, not every timed request. Every day is marked
    dirty, so the next refresh fills them for the records already stored."""
    conn.execute(
        """CREATE TABLE rollup_latency (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX idx_rollup_latency_day ON rollup_latency (day)")
    conn.execute(
        "INSERT OR IGNORE INTO rollup_dirty (day) SELECT DISTINCT substr(ts, 1, 10) FROM records"
    )


@migration
def m010_dirty_days_per_batch(conn: sqlite3.Connection) -> None:
    """The writer marks the days a batch touches (one statement a batch, in the batch's
    transaction) instead of a trigger firing on every row, which cost about 8 us a record."""
    for event in ("insert", "update", "delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS trg_records_{event}_rollup")


@migration
def m011_no_ingest_index_on_records(conn: sqlite3.Connection) -> None:
    """No query looks records up by their ingest, and ingests are never deleted (the one case
    where SQLite would look records up by it), so the index cost every insert for nothing:
    about 0.6 us a record."""
    conn.execute("DROP INDEX IF EXISTS idx_records_ingest_id")


def applied(conn: sqlite3.Connection) -> list[str]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LOG_TABLE,)
    ).fetchone()
    if not exists:
        return []
    return [row[0] for row in conn.execute(f"SELECT name FROM {LOG_TABLE} ORDER BY rowid")]


def refuse_foreign(conn: sqlite3.Connection) -> None:
    """A database with tables but no migration log is some other program's (llm's logs.db,
    say): never add a ledger's tables to it, nor change its journal mode. (The log and a
    ledger's first tables are made in one transaction, so a ledger another process is making
    now shows its log too.)"""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite^_%' "
            "ESCAPE '^' ORDER BY name"
        )
    ]
    if tables and LOG_TABLE not in tables:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        raise StoreError(
            f"a SQLite database of another program (tables: {shown}), not an llmaudit ledger",
            hint="point --db (LLMAUDIT_DB) at a ledger, or at a new file for a new ledger; "
            "to read llm's logs.db, 'llmaudit ingest' it",
        )


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending migration; return the names applied now.

    Safe when several processes open a blank ledger at once: each migration is re-checked
    inside its own ``BEGIN IMMEDIATE`` transaction, so exactly one process applies it.
    """
    known = [name for name, _ in MIGRATIONS]
    done = applied(conn)  # (Ledger.open has refused another program's database already)
    unknown = [name for name in done if name not in known]
    if unknown:
        raise StoreError(
            f"the ledger has migrations this llmaudit does not know ({', '.join(unknown)})",
            hint="it was written by a newer llmaudit; upgrade llmaudit",
        )
    if len(done) == len(known):
        return []
    now_applied: list[str] = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {LOG_TABLE} "
                "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            if conn.execute(f"SELECT 1 FROM {LOG_TABLE} WHERE name = ?", (name,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            fn(conn)
            conn.execute(
                f"INSERT INTO {LOG_TABLE} (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:  # (a failed write may have ended it: the error is exc's)
                conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
        now_applied.append(name)
    return now_applied
