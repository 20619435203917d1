"""What incremental ingest remembers of each file it has read."""

from __future__ import annotations

from typing import Any

from llmaudit.ledger.connection import Connected, now_text


class Files(Connected):
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
                    now_text(),
                ),
            )
