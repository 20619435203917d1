"""Rows staged by a parsing process, for the writer to take in one statement.

Binding a record's 33 values costs Python about 4 us, a third of a write. A parsing process
pays it instead: it appends its batches' rows to a staging file of its own (one table, no
index, never synced to disk), and the writer copies each batch into the ledger with one
``INSERT ... SELECT`` (:meth:`llmaudit.ledger.writes.Writes.write_staged`), where SQLite does
the rest in C. The staging file is in WAL mode: the writer reads a batch while the parsing
process appends the next.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from llmaudit.errors import StoreError
from llmaudit.ledger.writes import _WRITE_COLUMNS, Prepared, choose_in_batch, stored_rows

STAGE_COLUMNS = _WRITE_COLUMNS[:-1]  # a row as stored, but its ingest (the writer's to give)
TRIM_ROWS = 20_000  # rows the writer has taken are deleted this many at a time

_CREATE = f"CREATE TABLE IF NOT EXISTS stage (seq INTEGER PRIMARY KEY, {', '.join(STAGE_COLUMNS)})"
_APPEND = (
    f"INSERT INTO stage ({', '.join(STAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in STAGE_COLUMNS)})"
)


@dataclass(frozen=True)
class Staged:
    """A batch of records staged at ``path``: rows ``first`` to ``last``, one a key (the
    batch's own repeats of a key were settled by the write's ``keep`` rule when it was
    staged, and counted in ``duplicates``), on these days.

    A batch whose records the writer keeps or drops in input order also carries, for the keys
    that may be dropped, the repeats not staged (``spare``: each with its position in the
    batch), and where each row staged goes among them (``order``); the writer says which
    records it drops (``dropped``). A batch with any dropped is written from those records put
    back together, by the same rules as any other (the other keys' repeats are duplicates
    either way)."""

    path: str
    first: int
    last: int
    days: tuple[str, ...]
    duplicates: int
    spare: tuple[tuple[int, Prepared], ...] = ()
    order: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()

    @property
    def rows(self) -> int:
        return self.last - self.first + 1


class StageWriter:
    """The parsing process's end of a staging file: appends batches, deletes what the writer
    has taken. Rows are numbered 1, 2, 3... in the order staged, across batches."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.last = 0  # the number of the last row staged
        self.trimmed = 0  # rows up to this one are deleted
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = OFF")  # a crash loses only the staging
            self.conn.execute(_CREATE)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot stage rows in {self.path}: {exc}") from exc

    def put(
        self, records: list[Prepared], keep: str, droppable: frozenset[str] | None = None
    ) -> Staged:
        """Stage a batch of records, as a write with this ``keep`` rule would store them
        (``droppable``: the keys of records the writer may drop, whose repeats it needs too)."""
        chosen, duplicates = choose_in_batch(records, keep)
        rows = stored_rows(chosen.values())
        repeats: tuple[tuple[int, Prepared], ...] = ()
        order: tuple[int, ...] = ()
        if droppable is not None and duplicates:
            seen: dict[str, int] = {}  # key -> where it was first seen
            at: dict[int, int] = {}
            for i, rec in enumerate(records):
                seen.setdefault(rec.key, i)
                at[id(rec)] = i
            repeats = tuple(
                (i, rec)
                for i, rec in enumerate(records)
                if rec.key in droppable and chosen[rec.key] is not rec
            )
            # a droppable key's row goes where its record was; any other's where its key was
            # first seen, which is where a write of the batch would put it
            order = tuple(
                at[id(rec)] if key in droppable else seen[key] for key, rec in chosen.items()
            )
        conn = self.conn
        try:
            conn.execute("BEGIN")
            try:
                conn.executemany(_APPEND, rows)
                # rows are numbered after the greatest number in the table, which is never
                # deleted (see trim): this checks they are where the writer will look
                (last,) = conn.execute("SELECT max(seq) FROM stage").fetchone()
                if last != self.last + len(rows):
                    raise StoreError(f"rows staged in {self.path} are not where expected")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, UnicodeError, OverflowError, ValueError) as exc:
            raise StoreError(f"cannot stage rows in {self.path}: {exc}") from exc
        first, self.last = self.last + 1, self.last + len(rows)
        days = tuple(sorted({row[2][:10] for row in rows}))
        return Staged(self.path, first, self.last, days, duplicates, repeats, order)

    def trim(self, taken: int) -> None:
        """Delete the rows up to ``taken`` (the writer has them), a few thousand at a time. The
        last row staged stays, so that numbering goes on after it."""
        upto = min(taken, self.last - 1)
        if upto - self.trimmed >= TRIM_ROWS:
            try:
                self.conn.execute("DELETE FROM stage WHERE seq <= ?", (upto,))
            except sqlite3.Error as exc:
                raise StoreError(f"cannot stage rows in {self.path}: {exc}") from exc
            self.trimmed = upto

    def close(self) -> None:
        self.conn.close()
