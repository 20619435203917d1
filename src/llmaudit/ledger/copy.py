"""Copying one ledger into another (SQLite to ClickHouse, or back): every record, with its
dedupe key, and every reject. Copying twice adds nothing the second time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from llmaudit.ledger.writes import WriteCounts
from llmaudit.model.reject import Reject

BATCH = 20_000


@dataclass
class CopySummary:
    records: int = 0
    rejects: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)


def copy_ledger(
    source: Any, target: Any, on_batch: Callable[[int], None] | None = None
) -> CopySummary:
    """Copy ``source``'s records and rejects into ``target`` (either engine). Records keep
    their keys, so one already in the target (copied before, or ingested there too) is a
    duplicate, not a second record. Billed cost lines and pull state are not copied: pull
    again into the target (a pull replaces the windows it fetches)."""
    summary = CopySummary()
    ingest_id = target.begin_ingest(
        kind="copy",
        source_name="ledger copy",
        location=str(source.path),
        size=None,
        mtime=None,
        machine_id=None,
    )
    status = "failed"
    try:
        records = source.iter_records()
        while batch := list(islice(records, BATCH)):
            summary.counts += target.write(batch, ingest_id=ingest_id, keep="latest")
            summary.records += len(batch)
            if on_batch:
                on_batch(summary.records)
        by_kind: dict[str, list[Reject]] = defaultdict(list)
        for row in source.rejects():
            by_kind[row["source_kind"]].append(
                Reject(row["location"], row["line"], row["reason"], row["field"], row["raw"])
            )
        for kind, rejects in by_kind.items():
            summary.counts += target.write([], rejects, ingest_id=ingest_id, source_kind=kind)
            summary.rejects += len(rejects)
        target.refresh_rollup()
        status = "ok"
    finally:
        target.finish_ingest(ingest_id, summary.counts, status)
    return summary
