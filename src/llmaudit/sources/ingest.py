"""Ingest inputs into the ledger: open, detect the format, parse, write in batches, log it all.

Files are read incrementally: the ledger remembers, per file, its size, modification time,
how far it was read and a hash of its first bytes. An unchanged file is skipped without being
opened; a grown file of a line-oriented format is read from where the last run stopped; a file
whose first bytes changed (rotated, rewritten, truncated) is read again from the start, and the
dedupe keys keep that idempotent.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import stat
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llmaudit.constants import ENV_MACHINE_ID
from llmaudit.errors import DataError, UsageError
from llmaudit.ledger.store import Ledger
from llmaudit.ledger.writes import WriteCounts
from llmaudit.model.reject import Reject
from llmaudit.sources.base import InputFile, Options, Source, walk
from llmaudit.sources.common import LINE_ERRORS
from llmaudit.sources.registry import FORMATS
from llmaudit.sources.worker import (
    Batch,
    Handed,
    Labeller,
    Labels,
    ParserProcess,
    Started,
    batches_from_worker,
    pair_worker,
    parse_batches,
    parses_alone,
    start_parser,
    use_worker,
)

NOT_RECOGNISED = (
    "format not recognised; name it with --format NAME, or describe your fields with --map "
    "(see 'llmaudit ingest --list-formats')"
)
HEAD_BYTES = 4096


@dataclass
class InputResult:
    """What happened to one input."""

    location: str
    format: str | None
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejects: list[Reject] = field(default_factory=list)  # every reject of this input, in order
    error: str | None = None  # the input could not be read or recognised at all
    # full, appended (read from the last offset), rewritten (changed in what was read
    # before: read again in full), unchanged (skipped), empty (nothing in it)
    mode: str = "full"
    pending_tail: bool = False  # an incomplete last line was left for the next run
    skipped: dict[str, int] = field(default_factory=dict)  # lines that are not usage, by reason
    notes: dict[str, int] = field(default_factory=dict)  # how records were read (--ts, mtime)
    # tokens read per (provider, model): what the summary checks for a price
    models: Counter[tuple[str, str]] = field(default_factory=Counter)

    def as_dict(self) -> dict:
        c = self.counts
        return {
            "path": self.location,
            "format": self.format,
            "mode": self.mode,
            "added": c.added,
            "updated": c.updated,
            "duplicate": c.duplicate,
            "rejected": c.rejected,
            "pending_tail": self.pending_tail,
            "skipped_lines": dict(self.skipped),
            "notes": dict(self.notes),
            "error": self.error,
        }


@dataclass
class IngestSummary:
    inputs: list[InputResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in a directory no format claimed
    warnings: list[str] = field(default_factory=list)  # special files and broken links skipped
    # files in a directory whose content no format recognised (a file named on its own that
    # is not recognised is an error instead)
    unrecognised: list[tuple[str, str]] = field(default_factory=list)

    @property
    def counts(self) -> WriteCounts:
        total = WriteCounts()
        for result in self.inputs:
            total += result.counts
        return total

    @property
    def models(self) -> Counter[tuple[str, str]]:
        """Tokens read per (provider, model), over every input."""
        total: Counter[tuple[str, str]] = Counter()
        for result in self.inputs:
            total.update(result.models)
        return total

    @property
    def failed(self) -> list[InputResult]:
        return [r for r in self.inputs if r.error]


@dataclass
class IngestRequest:
    paths: list[str]
    fmt: str = "auto"
    source_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    # Called as each input finishes; and with (location, bytes read so far) while reading.
    on_input: Callable[[InputResult], None] | None = None
    # (location, bytes read, size, records so far)
    on_progress: Callable[[str, int, int | None, int], None] | None = None


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
        try:
            if source.detect(inp, head):
                return source
        except LINE_ERRORS:  # a sniffer surprised by odd content: not that format
            continue
    return None


def _inputs(
    paths: Iterable[str], forced: Source | None, summary: IngestSummary, ledger_path: Path | None
) -> Iterator[InputFile | InputResult]:
    """The inputs to read, in order, and (as results with an error) the paths that cannot be
    read at all; special files and broken links skipped go to ``summary.warnings``."""
    own = (
        {str(ledger_path) + suffix for suffix in ("", "-wal", "-shm", "-journal")}
        if ledger_path
        else set()
    )
    for given in paths:
        if given == "-":
            yield InputFile.from_stdin()
            continue
        root = Path(given)
        if not root.exists():
            raise UsageError(f"{given}: no such file or directory")
        if not root.is_dir() and not root.is_file():
            mode = root.stat().st_mode
            if stat.S_ISFIFO(mode):  # a pipe, e.g. <(zcat log.gz): read once, like stdin
                yield InputFile.from_stream(given, root)
            else:
                yield InputResult(given, None, error="not a regular file")
            continue
        problems: list[tuple[str, str, bool]] = []
        for path in walk(root, problems):
            if str(path.resolve()) in own:
                continue  # never ingest the ledger into itself
            if root.is_dir():
                wanted = (forced,) if forced else tuple(FORMATS.values())
                if not any(src.accepts_name(path) for src in wanted):
                    summary.skipped.append(str(path))
                    continue
            try:
                inp = InputFile.from_path(path)
                inp.in_directory = root.is_dir()
                yield inp
            except OSError as exc:
                yield InputResult(str(path), None, error=f"cannot read: {exc.strerror}")
        for where, why, is_error in problems:
            if is_error:
                yield InputResult(where, None, error=why)
            else:
                summary.warnings.append(f"{where}: {why}")


# Python's cyclic collector runs every 700 allocations by default: during an ingest, which
# allocates a few objects a line and frees them by their counts, every 50,000 are enough. One
# process: 9.3 -> 8.8 s for a Claude Code file of 400,000 lines (the parsing process, forked
# during the ingest, collects as rarely).
GC_ALLOCATIONS = 50_000


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_ALLOCATIONS), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def ingest(ledger: Ledger, request: IngestRequest) -> IngestSummary:
    """Ingest every path (files, directories, ``-``) into ``ledger``.

    One bad line never stops an input, and one unreadable input never stops the others: each
    is counted (and every reject stored in the ledger) so nothing is lost silently.
    """
    with _fewer_collections():
        return _ingest(ledger, request)


def _ingest(ledger: Ledger, request: IngestRequest) -> IngestSummary:
    forced = resolve_format(request.fmt)
    summary = IngestSummary()
    machine = machine_id()
    own_file = ledger.path.resolve() if isinstance(ledger.path, Path) else None  # not on ClickHouse
    label = _labeller(request, machine)
    stage = _stages(ledger)
    inputs = _inputs(request.paths, forced, summary, own_file)
    # Inputs are planned (format, where to resume) AHEAD inputs ahead of the one being written,
    # so that a second process can parse some of them meanwhile (see HANDED_IN_A_ROW). Results
    # come out in input order all the same.
    window: deque[_Planned] = deque()
    parser: ParserProcess | None = None  # started when a file is worth handing it
    handed = 0  # how many files in a row, up to the last planned, went to the parsing process
    try:
        while True:
            while len(window) <= AHEAD:
                planned = _plan_next(ledger, inputs, forced, window)
                if planned is None:
                    break
                window.append(planned)
                if isinstance(planned, _Job) and pair_worker(planned.inp):
                    alone = parses_alone(planned.inp, planned.source, request.options, label, stage)
                    if len(window) > 1 and (alone or handed < HANDED_IN_A_ROW):
                        parser = parser or start_parser(stage)
                        if parser is not None and parser.usable:
                            planned.batches = parser.hand(
                                planned.inp, planned.source, request.options, label
                            )
                    handed = handed + 1 if planned.batches is not None else 0
            if not window:
                break
            current = window.popleft()
            if (
                isinstance(current, _Job)
                and isinstance(current.batches, Handed)
                and not current.batches.ready()
            ):
                _parse_ahead(window, request, label)
            if (
                isinstance(current, _Job)
                and isinstance(current.batches, Handed)
                and current.batches.orphaned
            ):
                # the parsing process stopped (or was closed) before it reached this input:
                # it is parsed here instead
                current.batches = None
            result = _result(ledger, current, request, machine, label)
            if result.error == NOT_RECOGNISED and _in_directory(current):
                # one of many files in a folder (a README, a config, an image): listed, not failed
                summary.unrecognised.append((result.location, "no format recognises its content"))
            else:
                summary.inputs.append(result)
                if request.on_input:
                    request.on_input(result)
    finally:
        for left in window:
            if isinstance(left, _Job) and left.batches is not None:
                left.batches.close()
        if parser is not None:
            parser.close()
    return summary


class _ParsedAhead:
    """An input's batches, parsed here while this process would have waited for the parsing
    process's batches of the input before it; and the error that stopped the parse, raised
    in the input's turn, after its batches, as it would have been without parsing ahead."""

    def __init__(self, batches: Iterator[Batch]) -> None:
        self.batches: list[Batch] = []
        self.error: Exception | None = None
        try:
            for batch in batches:
                self.batches.append(batch)
        except Exception as exc:
            self.error = exc

    def __iter__(self) -> Iterator[Batch]:
        yield from self.batches
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.batches = []


def _parse_ahead(window: Iterable[_Planned], request: IngestRequest, label: Labeller) -> None:
    """Parse the next input planned for this process (one a second process does not parse,
    and small enough to hold: no larger than a file shared by two processes), if none is
    parsed ahead yet. Nothing it parses depends on what is written before it."""
    for planned in window:
        if not isinstance(planned, _Job):
            continue
        if isinstance(planned.batches, _ParsedAhead):
            return
        if planned.batches is None:
            if not use_worker(planned.inp):
                batches = parse_batches(planned.inp, planned.source, request.options, label)
                planned.batches = _ParsedAhead(batches)
            return


@dataclass
class _Job:
    """An input to read: its format, how (mode) and, when a second process was started on it
    ahead of time, the batches that process sends."""

    inp: InputFile
    source: Source
    key: str | None
    mode: str
    batches: Started | _ParsedAhead | None = None


@dataclass
class _Later:
    """An input not planned yet: the same file as the one being written (named twice), whose
    state that write is about to change."""

    inp: InputFile


@dataclass
class _Done:
    """An input there is nothing to read in (unchanged, empty, not recognised, failed)."""

    inp: InputFile
    result: InputResult


_Planned = InputResult | _Job | _Later | _Done


def _in_directory(planned: _Planned) -> bool:
    """Whether the input was found by walking a folder (a path that could not be read at all
    was not)."""
    return isinstance(planned, (_Job, _Later, _Done)) and planned.inp.in_directory


def _key(inp: InputFile) -> str | None:
    """The key of a file's reading state: its path resolved (once: planning asks it of each
    input planned ahead, and a resolve is a system call a step of the path)."""
    if inp._spool is not None:
        return None
    if inp._resolved is None:
        inp._resolved = str(inp.path.resolve())
    return inp._resolved


def _plan_next(
    ledger: Ledger,
    inputs: Iterator[InputFile | InputResult],
    forced: Source | None,
    before: Iterable[_Planned],
) -> _Planned | None:
    """The next input, planned; or, when the same file is already among the inputs planned
    ``before`` it and not yet written, a :class:`_Later` to plan when its turn comes."""
    item = next(inputs, None)
    if item is None or isinstance(item, InputResult):
        return item
    key = _key(item)
    if key is not None and any(
        isinstance(other, (_Job, _Later)) and _key(other.inp) == key for other in before
    ):
        return _Later(item)
    return _plan_one(ledger, item, forced)


# Of a folder's files, the parsing process takes two in every three and this process the
# third, which it parses between its writes of everything (parsing a Claude Code transcript or
# a middleware log costs about three times writing it). A source whose lean path parses faster
# than the ledger writes (lean_outpaces_writer) has every file parsed there, unless the
# parsing process stages its rows (a SQLite ledger): two in three are then faster.
# Four ahead, not two, since the writer parses its own next file while it would wait (400
# Claude Code sessions 4.76 -> 4.65 s, 400 middleware logs 4.89 -> 4.76 s, medians).
AHEAD = 4  # inputs planned ahead of the one being written
HANDED_IN_A_ROW = 2


def _plan_one(ledger: Ledger, inp: InputFile, forced: Source | None) -> _Done | _Job:
    try:
        planned = _plan(ledger, inp, forced)
    except DataError as exc:
        return _Done(inp, InputResult(inp.location, None, error=exc.message))
    return planned if isinstance(planned, _Job) else _Done(inp, planned)


def _result(
    ledger: Ledger, planned: _Planned, request: IngestRequest, machine: str, label: Labeller
) -> InputResult:
    if isinstance(planned, _Later):
        planned = _plan_one(ledger, planned.inp, resolve_format(request.fmt))
    if isinstance(planned, InputResult):
        return planned
    if isinstance(planned, _Done):
        return planned.result
    try:
        return _read(ledger, planned, request, machine, label)
    except DataError as exc:
        return InputResult(planned.inp.location, None, error=exc.message)


def _plan(ledger: Ledger, inp: InputFile, forced: Source | None) -> InputResult | _Job:
    """What to do with an input: nothing (unchanged, empty, not recognised), or read it in a
    format from where the last run stopped (or from the start, when it changed)."""
    key = _key(inp)
    state = ledger.file_state(key) if key else None
    if (
        state
        and state["size"] == inp.size
        and state["mtime_ns"] == inp.mtime_ns
        and (forced is None or forced.name == state["format"])
    ):
        return InputResult(inp.location, state["format"], mode="unchanged")
    source = forced
    if source is None and not inp.head(HEAD_BYTES).strip():
        # An empty (or blank) file is a log with nothing in it yet, not an unknown format.
        result = InputResult(inp.location, None, mode="empty")
        if key is not None and inp.size is not None:
            _save_state(ledger, key, inp, "", inp.size, 0)
        return result
    if source is None:
        source = detect(inp)
        if source is None:
            return InputResult(inp.location, None, error=NOT_RECOGNISED)
    mode = "full"
    # What was read last time still there, byte for byte? (Else the file was rewritten.)
    kept = (
        state is not None
        and state["format"] == source.name
        and inp.size is not None
        and inp.size >= state["head_len"]
        and inp.prefix_hash(state["head_len"]) == state["head_hash"]
    )
    if key is not None and source.appendable and not inp.is_compressed():
        inp.resumable = True
        if kept and state is not None and state["offset"] == state["head_len"]:
            inp.start_offset = state["offset"]
            inp.start_line = state["lines"]
            mode = "appended"
    if state is not None and state["format"] and not kept:
        # Changed in what was already read (edited, lines inserted, truncated, rotated): read
        # it all again. Records already in the ledger stay (a rotated log's old lines are real
        # usage); lines with ids update theirs, unchanged lines are duplicates.
        mode = "rewritten"
    return _Job(inp, source, key, mode)


def _read(
    ledger: Ledger, job: _Job, request: IngestRequest, machine: str, label: Labeller
) -> InputResult:
    inp, source, key = job.inp, job.source, job.key
    result = _ingest_one(ledger, inp, source, request, machine, label, job.batches)
    result.mode = job.mode
    result.pending_tail = inp.pending_tail
    result.skipped = _by_count(inp.skipped)
    result.notes = _by_count(inp.notes)
    if key is not None and result.error is None and inp.size is not None:
        lines = inp.lines_read if inp.resumable else 0
        _save_state(ledger, key, inp, source.name, inp.resume_at(), lines)
    return result


def _by_count(counts: Counter[str]) -> dict[str, int]:
    """Most first, and ties by name: not by which was seen first, which depends on which
    process parsed which lines."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _save_state(
    ledger: Ledger, key: str, inp: InputFile, fmt: str, offset: int, lines: int
) -> None:
    """Remember how far the file was read and a hash of every byte read (``head_*``: the
    column names date from when only the first 4 KiB were hashed)."""
    assert inp.size is not None
    ledger.save_file_state(
        key,
        {
            "format": fmt,
            "size": inp.size,
            "mtime_ns": inp.mtime_ns,
            "offset": offset,
            "lines": lines,
            "head_hash": inp.prefix_hash(offset),
            "head_len": offset,
        },
        None,
    )


def _ingest_one(
    ledger: Ledger,
    inp: InputFile,
    source: Source,
    request: IngestRequest,
    machine: str,
    label: Labeller,
    started: Started | _ParsedAhead | None = None,
) -> InputResult:
    result = InputResult(inp.location, source.name)
    if started is None and use_worker(inp):
        started = batches_from_worker(inp, source, request.options, label, _stages(ledger))
    batches: Iterable[Batch] = (
        started if started is not None else parse_batches(inp, source, request.options, label)
    )
    status = "failed"
    try:
        ingest_id = ledger.begin_ingest(
            kind=source.name,
            source_name=request.source_name or machine,
            location=inp.location,
            size=inp.size,
            mtime=inp.mtime,
            machine_id=machine,
        )
        try:
            for batch in batches:
                if batch.staged is None:
                    result.counts += ledger.write(
                        batch.records,
                        batch.rejects,
                        ingest_id=ingest_id,
                        source_kind=source.name,
                        keep=source.keep,
                    )
                else:  # its records, staged by the parsing process
                    result.counts += ledger.write_staged(
                        batch.staged,
                        batch.rejects,
                        ingest_id=ingest_id,
                        source_kind=source.name,
                        keep=source.keep,
                    )
                result.rejects.extend(batch.rejects)
                result.models.update(batch.models)
                if request.on_progress:
                    c = result.counts
                    done = c.added + c.updated + c.duplicate + c.rejected
                    request.on_progress(inp.location, batch.consumed, inp.size, done)
            status = "ok"
        finally:
            try:
                ledger.finish_ingest(ingest_id, result.counts, status)
            except DataError:
                if status == "ok":  # else the error that stopped the ingest is the one to show
                    raise
    finally:
        if started is not None:
            started.close()
    return result


def _stages(ledger: Ledger) -> bool:
    """Whether a parsing process should stage its records for this ledger (SQLite's; a
    ClickHouse ledger takes them through the pipe)."""
    return callable(getattr(ledger, "write_staged", None))


def _labeller(request: IngestRequest, machine: str) -> Labels:
    return Labels(request.source_name or machine, machine, dict(request.tags))
