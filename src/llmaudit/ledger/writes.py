"""Writing records and rejects (upserts by dedupe key), and the log of ingests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from llmaudit.errors import StoreError
from llmaudit.ledger.connection import RECORD_COLUMNS, Connected, cut_raw, now_text, safe_text
from llmaudit.model.record import (
    IDENTITY_COLUMNS,
    UsageRecord,
    identity_row,
    row_hash,
)
from llmaudit.model.reject import Reject

if TYPE_CHECKING:
    from llmaudit.ledger.stage import Staged

# Python's sqlite3 binds a None by its adaptation protocol: a registry lookup that misses, then
# two attribute lookups, about 0.3 us a value, and a record's row has ten Nones or more. With an
# adapter registered for None (a C function that returns None) the search ends at the registry
# and the value binds as the same NULL: 2.3 us less a row (benchmarks/README.md).
sqlite3.register_adapter(type(None), cast("Callable[[None], None]", {}.get))

_WRITE_COLUMNS = ("dedupe_key", "content_hash", *RECORD_COLUMNS, "ingest_id")
_INSERT_SQL = (
    f"INSERT INTO records ({', '.join(_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _WRITE_COLUMNS)}) "
    "ON CONFLICT (dedupe_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITE_COLUMNS if c != "dedupe_key")
)

_STAGE = "llmaudit_stage"
_STAGED_COLUMNS = ", ".join(_WRITE_COLUMNS[:-1])
# a staged batch's rows, in the order staged, with their ingest (ORDER BY also tells SQLite
# that ON CONFLICT is the upsert's, not a join's)
_MERGE_SQL = (
    f"INSERT INTO records ({', '.join(_WRITE_COLUMNS)}) "
    f"SELECT {_STAGED_COLUMNS}, ? FROM {_STAGE}.stage WHERE seq BETWEEN ? AND ? ORDER BY seq "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
# the staged rows of keys the ledger held before the copy (rows numbered up to the parameter)
# that may change what it holds: those of the same source kind and other content. The others
# are duplicates whatever the write's keep rule (see plan_writes), told apart here without
# reading them: equal identity columns (IS: NULL is NULL) are the same content, as equal
# hashes are (the ledger gives each column back as the type it was written as).
_HELD_SQL = (
    f"SELECT {_STAGED_COLUMNS} FROM {_STAGE}.stage AS s WHERE seq BETWEEN ? AND ? "
    "AND NOT EXISTS (SELECT 1 FROM records AS r WHERE r.dedupe_key = s.dedupe_key "
    "AND (r.id > ? OR r.source_kind IS NOT s.source_kind OR ("
    + " AND ".join(f"r.{c} IS s.{c}" for c in IDENTITY_COLUMNS)
    + "))) ORDER BY seq"
)
_STAGED_SQL = f"SELECT {_STAGED_COLUMNS} FROM {_STAGE}.stage WHERE seq BETWEEN ? AND ? ORDER BY seq"


_IDENTITY = ", ".join(IDENTITY_COLUMNS)


def _prepared(row: tuple[Any, ...]) -> Prepared:
    """A staged row (``_WRITE_COLUMNS`` but the ingest) as the record it was staged from."""
    return Prepared(row[0], row[1], row[2:28], row[28], row[29], row[30], row[31], row[11])


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


def ingest_owner() -> str:
    """Who runs an ingest: host and process, so a later run can tell a dead one from a live
    one."""
    import socket  # (here: a command that only reads never needs it, nor its 2 ms import)

    return f"{socket.gethostname()}:{os.getpid()}"


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


# what a write compares of a stored record: its content hash, or its identity row when the
# hash was left until needed; its source kind; its output tokens
Stored = tuple["str | tuple[Any, ...]", str, int]
Existing = dict[str, Stored]  # dedupe key -> the stored record of the key


class Prepared(NamedTuple):
    """A record as a write needs it: key, content hash, identity row and provenance. Built
    where the record is parsed (:func:`prepare`), so a parsing process can hand a writer rows
    that cost little to send, instead of records. The content hash is "" when the key does not
    depend on it (the record has its own key or a source id): it is worked out only when the
    record is compared with one stored under its key (:func:`digest_of`), and a SQLite ledger
    stores it as "" too (see :meth:`Writes._existing`)."""

    key: str
    digest: str
    ident: tuple[Any, ...]
    source_kind: str
    source_name: str | None
    source_location: str | None
    machine_id: str | None
    output: int


def prepare(rec: UsageRecord) -> Prepared:
    ident = identity_row(rec)
    digest = "" if rec.key or rec.source_id else row_hash(ident)  # (see Prepared)
    return Prepared(
        rec.dedupe_key(digest),
        digest,
        ident,
        rec.source_kind,
        rec.source_name,
        rec.source_location,
        rec.machine_id,
        rec.output,
    )


def digest_of(rec: Prepared) -> str:
    """The record's content hash, worked out now if it was left until needed."""
    return rec.digest or row_hash(rec.ident)


Chosen = tuple[Prepared, "Stored | None"]


def choose_in_batch(
    records: Iterable[UsageRecord | Prepared], keep: str
) -> tuple[dict[str, Prepared], int]:
    """The one record of each key a write keeps from these, by the ``keep`` rule, in the
    order their keys first came; and how many were left as duplicates."""
    batch: dict[str, Prepared] = {}
    duplicates = 0
    for item in records:
        rec = item if isinstance(item, Prepared) else prepare(item)
        key = rec.key
        if key in batch:
            duplicates += 1
            if keep == "first" or (keep == "max_output" and rec.output <= batch[key].output):
                continue
        batch[key] = rec
    return batch, duplicates


def plan_writes(
    records: Iterable[UsageRecord | Prepared], keep: str, existing: Callable[[list[str]], Existing]
) -> tuple[WriteCounts, list[Chosen]]:
    """What a write stores, by the rules of :meth:`Writes.write`, whatever the engine:
    (counts, and for each record to store: the prepared record and what the ledger held under
    its key, if anything)."""
    counts = WriteCounts()
    batch, counts.duplicate = choose_in_batch(records, keep)
    stored = existing(list(batch))
    chosen: list[Chosen] = []
    for key, rec in batch.items():
        old = stored.get(key)
        if old is not None and (
            _same_content(old[0], rec)
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
        chosen.append((rec, old))
    return counts, chosen


def _same_content(stored: str | tuple[Any, ...], rec: Prepared) -> bool:
    """Whether a stored record (its content hash, or its identity row) holds ``rec``'s content.
    Rows compare as their hashes would: the ledger gives back each identity column as the
    type it was written as (text, integer, real), so equal rows are equal JSON."""
    if type(stored) is tuple:
        return stored == rec.ident
    return stored == digest_of(rec)


def stored_rows(records: Iterable[Prepared], *tail: Any) -> list[tuple[Any, ...]]:
    """Each record's row as the ledger stores it, in ``_WRITE_COLUMNS``' order, ``tail`` (the
    ingest) last. A content hash left until needed is stored as "": most records never meet
    another of their key, and working it out cost a tenth of a first ingest."""
    names: dict[str | None, str | None] = {}  # source and machine names: a few a batch
    rows = []
    for rec in records:
        name, machine, location = rec.source_name, rec.machine_id, rec.source_location
        if name not in names:
            names[name] = safe_text(name)
        if machine not in names:
            names[machine] = safe_text(machine)
        if location is not None and not location.isascii():
            location = safe_text(location)
        rows.append(
            (
                rec.key,
                rec.digest,
                *rec.ident,
                rec.source_kind,
                names[name],
                location,
                names[machine],
                *tail,
            )
        )
    return rows


def reject_text(rj: Reject) -> tuple[str | None, str]:
    """A reject's input as the ledger keeps it (cut to RAW_LIMIT) and the hash that makes
    the same line, read again, one reject."""
    raw = rj.raw if rj.raw is None else cut_raw(rj.raw)
    raw_hash = hashlib.sha256((rj.raw or rj.reason).encode("utf-8", "surrogatepass")).hexdigest()
    return raw, raw_hash


class Writes(Connected):
    # -- ingests ------------------------------------------------------------------------------
    def source_id(self, kind: str, name: str) -> int:
        with self._tx():
            return self._source_id(kind, name)

    def _source_id(self, kind: str, name: str) -> int:
        now = now_text()
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
        if not self._abandoned_checked:  # once a connection: ingests are many over time
            self._close_abandoned_ingests()
            self._abandoned_checked = True
        mtime_text = (
            datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")
            if mtime is not None
            else None
        )
        with self._tx():  # one transaction, one commit: a folder's files each begin one
            sid = self._source_id(kind, source_name)
            cur = self.conn.execute(
                "INSERT INTO ingests (source_id, location, size, mtime, machine_id, started_at, "
                "owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    safe_text(location),
                    size,
                    mtime_text,
                    machine_id,
                    now_text(),
                    ingest_owner(),
                ),
            )
        return int(cur.lastrowid or 0)

    def _close_abandoned_ingests(self) -> None:
        """Ingests this host started whose process is gone (killed, crashed) are marked
        ``interrupted`` instead of staying ``running`` forever."""
        prefix = ingest_owner().rsplit(":", 1)[0] + ":"
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
                    now_text(),
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
        records: Iterable[UsageRecord | Prepared],
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
        # The records' one foreign key, their ingest, is checked once here rather than by
        # SQLite on every row (a tenth of the cost of an insert); the pragma cannot change
        # inside a transaction, so it is set around it.
        self._check_ingest(ingest_id)
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with self._tx():
                return self._write(records, rejects, ingest_id, source_kind, keep)
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")

    def write_staged(
        self,
        staged: Staged,
        rejects: Iterable[Reject] = (),
        *,
        ingest_id: int | None = None,
        source_kind: str = "unknown",
        keep: str = "latest",
    ) -> WriteCounts:
        """:meth:`write` of a batch staged by a parsing process (``ledger.stage``): its rows
        are copied in one statement. Those whose key the ledger holds already (a re-read, an
        update) then take :meth:`write`'s way, by the same rules."""
        self._check_ingest(ingest_id)
        try:
            self.conn.execute(f"ATTACH DATABASE ? AS {_STAGE}", (staged.path,))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the rows staged in {staged.path}: {exc}") from exc
        try:
            self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self._tx():
                    if staged.dropped:  # some of the batch's records are not kept after all
                        kept = self._unstaged(staged)
                        counts = self._write(kept, rejects, ingest_id, source_kind, keep)
                        # the repeats of keys none of whose records could be dropped
                        counts.duplicate += staged.duplicates - len(staged.spare)
                        return counts
                    counts = self._merge(staged, ingest_id, source_kind, keep)
                    counts += self._write((), rejects, ingest_id, source_kind, keep)
                    return counts
            finally:
                self.conn.execute("PRAGMA foreign_keys = ON")
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute(f"DETACH DATABASE {_STAGE}")

    def _unstaged(self, staged: Staged) -> list[Prepared]:
        """A staged batch's records, in the batch's order, but those the writer drops."""
        records: dict[int, Prepared] = dict(staged.spare)  # position in the batch -> record
        rows = self.conn.execute(_STAGED_SQL, (staged.first, staged.last))
        for at, row in zip(staged.order or range(staged.rows), rows, strict=True):
            records[at] = _prepared(row)
        dropped = set(staged.dropped)
        return [records[at] for at in sorted(records) if at not in dropped]

    def _merge(self, staged: Staged, ingest_id, source_kind, keep) -> WriteCounts:
        (before,) = self.conn.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()
        added = self.conn.execute(_MERGE_SQL, (ingest_id, staged.first, staged.last)).rowcount
        if added:  # (a batch of duplicates changes no day)
            self.mark_dirty(staged.days)
        counts = WriteCounts(added=added, duplicate=staged.duplicates)
        if added < staged.rows:
            # keys the ledger held before: not copied (new rows are numbered after ``before``);
            # those that may change a record are written as any other
            held = [
                _prepared(row)
                for row in self.conn.execute(_HELD_SQL, (staged.first, staged.last, before))
            ]
            counts.duplicate += staged.rows - added - len(held)
            counts += self._write(held, (), ingest_id, source_kind, keep)
        return counts

    def _write(self, records, rejects, ingest_id, source_kind, keep) -> WriteCounts:
        counts, chosen = plan_writes(records, keep, self._existing)
        rows = stored_rows([rec for rec, _old in chosen], ingest_id)
        if rows:
            # the days this batch changes, old ones included (an update may move a record)
            days = {row[2][:10] for row in rows}
            moved = [rec.key for rec, old in chosen if old is not None]
            if moved:
                days.update(self._days_of(moved))
            self.mark_dirty(days)
            self.conn.executemany(_INSERT_SQL, rows)
        for rj in rejects:
            raw, raw_hash = reject_text(rj)
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
                    now_text(),
                ),
            )
            counts.rejected += 1
        return counts

    def _check_ingest(self, ingest_id: int | None) -> None:
        if (
            ingest_id is not None
            and not self.conn.execute("SELECT 1 FROM ingests WHERE id = ?", (ingest_id,)).fetchone()
        ):
            raise StoreError(f"cannot write to the ledger: no ingest {ingest_id}")

    def mark_dirty(self, days: Iterable[str]) -> None:
        """Mark days of the daily rollup for the next refresh (call inside the write's
        transaction, so the mark and the change commit together)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO rollup_dirty (day) VALUES (?)", [(d,) for d in sorted(days)]
        )

    def _days_of(self, keys: list[str]) -> set[str]:
        days: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            days.update(
                day
                for (day,) in self.conn.execute(
                    f"SELECT DISTINCT substr(ts, 1, 10) FROM records WHERE dedupe_key IN ({marks}) "
                    "AND typeof(ts) = 'text'",  # (a time no llmaudit writes is on no day)
                    chunk,
                )
            )
        return days

    def _existing(self, keys: list[str]) -> Existing:
        """dedupe key -> (content hash, source kind, output tokens) of records already stored;
        for a hash stored as "" (left until needed, see :func:`stored_rows`), the record's
        identity row instead, which is exactly what the hash covers."""
        found: Existing = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.conn.execute(
                f"SELECT dedupe_key, content_hash, source_kind, output, {_IDENTITY} FROM records "
                f"WHERE dedupe_key IN ({marks})",
                chunk,
            ):
                digest, output = row[1], row[3]
                if type(output) is not int:  # (changed by hand): any record replaces it
                    output = -1
                found[row[0]] = (digest or row[4:], row[2], output)
        return found
