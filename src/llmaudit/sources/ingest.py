"""Ingest inputs into the ledger: open, detect the format, parse, write in batches, log it all."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from llmaudit.constants import ENV_MACHINE_ID
from llmaudit.errors import DataError, UsageError
from llmaudit.ledger.record import UsageRecord
from llmaudit.ledger.store import Ledger, Reject, WriteCounts
from llmaudit.sources import FORMATS
from llmaudit.sources.base import InputFile, Source, walk

BATCH_SIZE = 2000


@dataclass
class InputResult:
    """What happened to one input."""

    location: str
    format: str | None
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejects: list[Reject] = field(default_factory=list)  # every reject of this input, in order
    error: str | None = None  # the input could not be read or recognised at all


@dataclass
class IngestSummary:
    inputs: list[InputResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in a directory no format claimed

    @property
    def counts(self) -> WriteCounts:
        total = WriteCounts()
        for result in self.inputs:
            total += result.counts
        return total

    @property
    def failed(self) -> list[InputResult]:
        return [r for r in self.inputs if r.error]


def machine_id() -> str:
    return os.environ.get(ENV_MACHINE_ID) or socket.gethostname() or "unknown"


def resolve_format(name: str) -> Source | None:
    if name == "auto":
        return None
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; run 'llmaudit ingest --list-formats'") from None


def detect(inp: InputFile) -> Source | None:
    head = inp.head()
    for source in FORMATS.values():
        if source.sniff(head):
            return source
    return None


def _inputs(
    paths: Iterable[str], forced: Source | None, summary: IngestSummary
) -> Iterator[InputFile]:
    for given in paths:
        if given == "-":
            yield InputFile.from_stdin()
            continue
        root = Path(given)
        if not root.exists():
            raise UsageError(f"{given}: no such file or directory")
        for path in walk(root):
            if root.is_dir():
                wanted = (forced,) if forced else tuple(FORMATS.values())
                if not any(src.accepts_name(path) for src in wanted):
                    summary.skipped.append(str(path))
                    continue
            try:
                yield InputFile.from_path(path)
            except OSError as exc:
                summary.inputs.append(
                    InputResult(str(path), None, error=f"cannot read: {exc.strerror}")
                )


def ingest(
    ledger: Ledger,
    paths: Iterable[str],
    *,
    fmt: str = "auto",
    source_name: str | None = None,
    on_input: Callable[[InputResult], None] | None = None,
) -> IngestSummary:
    """Ingest every path (files, directories, ``-``) into ``ledger``.

    One bad line never stops an input, and one unreadable input never stops the others: each
    is counted (and every reject stored in the ledger) so nothing is lost silently.
    """
    forced = resolve_format(fmt)
    summary = IngestSummary()
    machine = machine_id()
    for inp in _inputs(paths, forced, summary):
        source = forced
        if source is None:
            try:
                source = detect(inp)
            except DataError as exc:
                summary.inputs.append(InputResult(inp.location, None, error=exc.message))
                continue
            if source is None:
                summary.inputs.append(
                    InputResult(
                        inp.location,
                        None,
                        error="format not recognised; name it with --format "
                        "(see 'llmaudit ingest --list-formats')",
                    )
                )
                continue
        result = _ingest_one(ledger, inp, source, source_name or machine, machine)
        summary.inputs.append(result)
        if on_input:
            on_input(result)
    return summary


def _ingest_one(
    ledger: Ledger, inp: InputFile, source: Source, source_name: str, machine: str
) -> InputResult:
    result = InputResult(inp.location, source.name)
    ingest_id = ledger.begin_ingest(
        kind=source.name,
        source_name=source_name,
        location=inp.location,
        size=inp.size,
        mtime=inp.mtime,
        machine_id=machine,
    )
    records: list[UsageRecord] = []
    rejects: list[Reject] = []

    def flush() -> None:
        result.counts += ledger.write(
            records, rejects, ingest_id=ingest_id, source_kind=source.name
        )
        result.rejects.extend(rejects)
        records.clear()
        rejects.clear()

    status = "ok"
    try:
        for item in source.parse(inp):
            if isinstance(item, Reject):
                rejects.append(item)
            else:
                records.append(_with_provenance(item, source_name, machine))
            if len(records) + len(rejects) >= BATCH_SIZE:
                flush()
        flush()
    except (OSError, EOFError) as exc:  # truncated gzip, unreadable file mid-way
        flush()
        status = "failed"
        result.error = (
            f"read failed after {result.counts.added + result.counts.duplicate} records: {exc}"
        )
    finally:
        ledger.finish_ingest(ingest_id, result.counts, status)
    return result


def _with_provenance(rec: UsageRecord, source_name: str, machine: str) -> UsageRecord:
    return replace(rec, source_name=source_name, machine_id=machine)
