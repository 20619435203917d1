"""The SQLite ledger: open (with migrations); writes, pulls, file state and reads come from
the mixins beside it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from llmaudit.errors import StoreError
from llmaudit.ledger.connection import BUSY_TIMEOUT_MS, set_wal
from llmaudit.ledger.files import Files
from llmaudit.ledger.migrations import MIGRATIONS, applied, migrate, refuse_foreign
from llmaudit.ledger.pulls import Pulls
from llmaudit.ledger.reads import Reads
from llmaudit.ledger.rollup import ensure_math
from llmaudit.ledger.writes import WriteCounts

__all__ = ["Ledger", "WriteCounts"]


PAGE_SIZE = 8192


class Ledger(Pulls, Files, Reads):
    """A ledger file: every operation of :class:`llmaudit.ledger.api.Queries` and the writes."""

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
            if not applied(conn):  # before WAL mode, which another program's file would keep
                refuse_foreign(conn)
                # a new ledger's pages (an existing file keeps its own): an ingest writes
                # fewer of them, 1.03x to 1.05x faster on 200,000 records, reports no slower
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # 16 MiB of page cache (SQLite's default is 2 MiB): the rollup refresh and the
            # report's index lookups read far fewer pages twice; memory stays bounded.
            conn.execute("PRAGMA cache_size = -16384")
            ensure_math(conn)
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot open ledger {path}: {exc}") from exc
        except StoreError as exc:
            conn.close()
            raise StoreError(f"{path}: {exc.message}", hint=exc.hint) from exc
        return cls(path, conn)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
