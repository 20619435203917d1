"""Provider pulls: how far each endpoint has been pulled, raw pages, billed costs."""

from __future__ import annotations

from typing import Any

from llmaudit.ledger.connection import now_text
from llmaudit.ledger.writes import Writes
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts


class Pulls(Writes):
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
                (provider, endpoint, url, page, now_text(), body),
            )
        return int(cur.lastrowid or 0)

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
            self.conn.execute(
                "INSERT OR IGNORE INTO rollup_dirty (day) SELECT DISTINCT substr(ts, 1, 10) "
                "FROM records WHERE source_kind = ? AND source_location LIKE ? AND "
                "ts >= ? AND ts < ?",
                (kind, like, start, end),
            )
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
                (provider, endpoint, bucket, until, last, now_text()),
            )
        return len(records) + len(costs), replaced

    def billed_costs(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(f"SELECT * FROM billed_costs {where} ORDER BY ts, id", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]
