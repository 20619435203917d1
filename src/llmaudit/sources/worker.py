"""An input's records in batches ready to write, parsed here or in a second process.

A large input is parsed in a forked child while this process writes what it sends, and in a
folder a child parses files ahead (two in every three) while this process writes and parses
the third: on two cores a parser and SQLite run at once. The child sends prepared rows (key,
content hash, identity row, provenance), which cost a tenth of a record to send, through a
pipe of 1 MiB (a few batches), so memory stays flat in the size of the input; or, for a SQLite
ledger, stages them in a file of its own (``ledger.stage``) and sends where they are. The
ledger is written by this process alone, in input order; the child never touches it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llmaudit.constants import ENV_INGEST_WORKER
from llmaudit.constants import cores as _cores  # a name tests replace
from llmaudit.errors import DataError, LlmauditError, StoreError, UsageError
from llmaudit.ledger.stage import Staged, StageWriter
from llmaudit.ledger.writes import Prepared, prepare
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.sources.base import (
    Chained,
    FixedStripe,
    InputFile,
    Labels,
    Options,
    Source,
    Stripe,
)

BATCH_SIZE = 2000
# Sources with a lean path (rows built straight from the line) use it; tests turn it off to
# hold it to the full path.
LEAN = True
WORKER_MIN_BYTES = 4 * 1024 * 1024  # one input shared by two processes from this size
PAIR_MIN_BYTES = 16 * 1024  # the next input handed to the parsing process from this size
WORKER_SETTINGS = ("auto", "never", "always")

Labeller = Callable[[UsageRecord], UsageRecord]


@dataclass
class Batch:
    records: list[Prepared] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # tokens read per (provider, model), what the ingest summary checks for a price
    models: Counter[tuple[str, str]] = field(default_factory=Counter)
    consumed: int = 0  # bytes of the input read so far, for progress
    chunk: int = 0  # the chunk of lines it comes from, when two processes share an input
    # the marks of records whose keeping is decided in input order (Source.kept_in_order),
    # one a record (None: kept); their tokens join ``models`` once kept
    marks: list[Any] | None = None
    # the records, staged by the parsing process for the writer to copy (``records`` is then
    # empty); with marks, what each record the writer may drop read: (provider, model, tokens)
    staged: Staged | None = None
    tallies: list[tuple[str, str, int] | None] | None = None


def parse_batches(
    inp: InputFile, source: Source, opts: Options, label: Labeller
) -> Iterator[Batch]:
    """The input's records (labelled and prepared) and rejects, BATCH_SIZE items a batch, in
    input order; the last batch may be empty. On a striped input (and for a source whose
    lines may be striped) a batch holds a chunk of BATCH_SIZE lines instead, and says which
    chunk that was."""
    size = BATCH_SIZE
    # A striped input's batches end with its chunks of lines; so do those of a source whose
    # lines may be striped (kept_in_order) even when they are not, so that its batches, and
    # with them which repeats of a key count as duplicates or updates, are the same either way.
    by_lines = inp.stripe is not None or source.kept_in_order
    batch = Batch()
    labels = label if isinstance(label, Labels) and LEAN else None
    for item in source.items(inp, opts, labels):
        if by_lines:
            chunk = (inp.lines_read - 1) // size
            if chunk != batch.chunk:
                if batch.records or batch.rejects:
                    batch.consumed = inp.consumed
                    yield batch
                batch = Batch(chunk=chunk)
        if type(item) is Chained:  # kept or not in input order, by the process that writes
            inner = item.item
            batch.records.append(inner if type(inner) is Prepared else prepare(label(inner)))
            if batch.marks is None:
                batch.marks = [None] * (len(batch.records) - 1)  # records always kept
            batch.marks.append(item.mark)
        elif type(item) is Prepared:  # from the source's lean path: labelled already
            batch.records.append(item)
            if batch.marks is not None:
                batch.marks.append(None)
            provider, model, tokens = _tally(item)
            batch.models[(provider, model)] += tokens
        elif isinstance(item, Reject):
            batch.rejects.append(item)
        else:
            rec = label(item)
            batch.records.append(prepare(rec))
            if batch.marks is not None:
                batch.marks.append(None)
            batch.models[(rec.provider, rec.model)] += rec.input_total + rec.output
        if not by_lines and len(batch.records) + len(batch.rejects) >= size:
            batch.consumed = inp.consumed
            yield batch
            batch = Batch()
    batch.consumed = inp.consumed
    yield batch


def _setting() -> str:
    setting = os.environ.get(ENV_INGEST_WORKER, "auto").strip().lower() or "auto"
    if setting not in WORKER_SETTINGS:
        raise UsageError(
            f"{ENV_INGEST_WORKER}={setting!r}: must be one of {', '.join(WORKER_SETTINGS)}"
        )
    return setting


def _can_fork(inp: InputFile) -> bool:
    # stdin and pipes are read here; fork is what lets the child share the parsed state
    return inp._spool is None and "fork" in multiprocessing.get_all_start_methods()


def use_worker(inp: InputFile) -> bool:
    """Whether to parse ``inp`` in a second process on its own (see ENV_INGEST_WORKER)."""
    return _wanted(inp, WORKER_MIN_BYTES)


def pair_worker(inp: InputFile) -> bool:
    """Whether to hand ``inp`` to the parsing process while this one reads the input before
    it (a folder of many files: two are parsed at a time)."""
    return _wanted(inp, PAIR_MIN_BYTES)


def _wanted(inp: InputFile, min_bytes: int) -> bool:
    setting = _setting()
    if setting == "never" or not _can_fork(inp):
        return False
    if setting == "always":
        return True
    return sys.platform == "linux" and (inp.size or 0) >= min_bytes and _cores() > 1


PIPE_BYTES = 1 << 20
# One input's chunks of lines are claimed by whichever process is ready for another (Claims);
# tests that need to know who parses what turn this off for a fixed share: of every
# STRIPE_PERIOD chunks, the child parses CHILD_CHUNKS and this process the rest.
CLAIMED = True
STRIPE_PERIOD = 3
CHILD_CHUNKS = frozenset({0, 1})


class Claims:
    """A stripe whose chunks go to whichever of the two processes reading an input comes to
    them first: each claims the next chunk nobody has when it is done with its own. The
    faster takes more, so the share follows what parsing and writing cost: the parsing
    process, which only parses, takes most of a cheap format; the writer takes more of an
    expensive one, or when the parsing process also stages."""

    def __init__(self, size: int, counter: Any) -> None:
        self.size, self.counter, self.mine = size, counter, -1

    def owns(self, chunk: int) -> bool:
        if chunk > self.mine:  # past its own chunk: claim the next one nobody has
            with self.counter.get_lock():
                # (every chunk before the reader's is claimed, but those before the first
                # chunk it reads: an input resumed where a run stopped)
                self.mine = max(self.counter.value, chunk)
                self.counter.value = self.mine + 1
        return chunk == self.mine


def _stripes(size: int) -> tuple[Stripe, Stripe]:
    """How the child and this process share an input's chunks of ``size`` lines."""
    if CLAIMED:
        counter = multiprocessing.get_context("fork").Value("q", 0)
        return Claims(size, counter), Claims(size, counter)
    rest = frozenset(range(STRIPE_PERIOD)) - CHILD_CHUNKS
    return FixedStripe(CHILD_CHUNKS, STRIPE_PERIOD, size), FixedStripe(rest, STRIPE_PERIOD, size)


def parses_alone(
    inp: InputFile, source: Source, opts: Options, label: Labeller, staged: bool = False
) -> bool:
    """Whether the parsing process should parse every file of a folder like ``inp``: when
    the source's lean path, usable here, parses a line faster than the ledger writes it
    (``lean_outpaces_writer``), this process has no time to parse any. Not when the parsing
    process stages its rows: the writer then writes them in a third of the time."""
    return (
        not staged
        and source.lean_outpaces_writer
        and LEAN
        and isinstance(label, Labels)
        and source.lean(inp, opts, label) is not None
    )


STAGE_AHEAD = 16 * BATCH_SIZE  # rows a parsing process stages ahead of the writer, at most


class Stager:
    """Staging for one parsing process (``ledger.stage``): a folder made here, the staging
    file opened by the child on its first batch, and how far the writer has taken its rows,
    shared by the two. A batch the child cannot stage is sent as records, as without."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="llmaudit-stage-")
        self.taken = multiprocessing.get_context("fork").Value("q", 0, lock=False)
        self.parent = os.getpid()
        self.writer: StageWriter | None = None
        self.failed = False

    @classmethod
    def make(cls, wanted: bool) -> Stager | None:
        if not wanted:
            return None
        try:
            return cls()
        except OSError:  # no temporary folder: records go through the pipe
            return None

    # -- in the parsing process ---------------------------------------------------------------
    def stage(self, batch: Batch, source: Source) -> Batch:
        if self.failed or not batch.records:
            return batch
        # Which of a marked batch's records are kept is the writer's to say, in input order:
        # those it may drop are sent with their tokens, to be counted if kept.
        droppable, may_drop = None, None
        if batch.marks is not None:
            may_drop = [mark is not None and source.droppable(mark) for mark in batch.marks]
            droppable = frozenset(
                rec.key for rec, drop in zip(batch.records, may_drop, strict=True) if drop
            )
        try:
            if self.writer is None:
                self.writer = StageWriter(Path(self.dir) / "stage.db")
            if not self._wait():
                return batch
            staged = self.writer.put(batch.records, source.keep, droppable)
        except (StoreError, OSError):  # a full disk, say: the rest goes through the pipe
            self.failed = True
            return batch
        if batch.marks is not None and may_drop is not None:
            tallies: list[tuple[str, str, int] | None] = []
            for rec, mark, drop in zip(batch.records, batch.marks, may_drop, strict=True):
                if drop:
                    tallies.append(_tally(rec))
                    continue
                if mark is not None:  # always kept: counted now
                    provider, model, tokens = _tally(rec)
                    batch.models[(provider, model)] += tokens
                tallies.append(None)
            batch.tallies = tallies
        batch.records, batch.staged = [], staged
        return batch

    def _wait(self) -> bool:
        """Wait until the writer is at most STAGE_AHEAD rows behind (the pipe's limit, for
        batches that are only a few numbers long); False when it has stopped."""
        writer = self.writer
        assert writer is not None
        while True:
            taken = self.taken.value
            if taken < 0 or os.getppid() != self.parent:
                return False
            writer.trim(taken)
            if writer.last - taken <= STAGE_AHEAD:
                return True
            time.sleep(0.001)

    # -- in the writer ------------------------------------------------------------------------
    def took(self, batch: Batch) -> None:
        """The writer has written this batch (its staged rows may go)."""
        if batch.staged is not None:
            self.taken.value = batch.staged.last

    def close(self) -> None:
        self.taken.value = -1  # a child waiting to stage stops waiting
        shutil.rmtree(self.dir, ignore_errors=True)


class WorkerBatches:
    """:func:`parse_batches` of one input, run in a forked child started at once; iterate for
    the batches, in input order, and :meth:`close` when done (or abandoned). The input's
    reading state (how far it was read, lines left for the next run, lines skipped by reason)
    comes back with the last batch. An error the child raises is raised here, as if the input
    had been parsed here.

    When the source reads each line on its own (and the input is a plain file), the lines are
    shared out in chunks of BATCH_SIZE, each parsed by whichever process claims it first
    (:class:`Claims`): the child each time it is done with one, this process each time it is
    done parsing one of its own, after which it writes the child's before that one (a source
    whose records are kept or not by the lines before them, ``kept_in_order``, has that
    decided here, in input order)."""

    def __init__(
        self, inp: InputFile, source: Source, opts: Options, label: Labeller, stage: bool = False
    ) -> None:
        self.inp, self.source, self.opts, self.label = inp, source, opts, label
        self.mine: InputFile | None = None
        shared = (source.line_independent and inp.resumable) or (
            source.kept_in_order and not inp.is_compressed()
        )
        if shared:
            inp.stripe, own = _stripes(BATCH_SIZE)
            self.mine = replace(inp, stripe=own, skipped=Counter(), notes=Counter())
        ctx = multiprocessing.get_context("fork")
        self.receiver, sender = ctx.Pipe(duplex=False)
        _widen(self.receiver)
        self.stager = Stager.make(stage)  # (last: what could fail before it leaves no folder)
        self.proc = ctx.Process(
            target=_work, args=(sender, inp, source, opts, label, self.stager), daemon=True
        )
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns about forking a process with threads (a progress
                # display's); the child only parses and sends, it takes none of their locks
                warnings.simplefilter("ignore", DeprecationWarning)
                self.proc.start()
        except BaseException:
            if self.stager is not None:
                self.stager.close()
            raise
        finally:
            sender.close()

    def __iter__(self) -> Iterator[Batch]:
        inp, mine = self.inp, self.mine
        child = _from_child(self.receiver, self.proc, inp, self.stager)
        if mine is None:
            yield from child
            return
        merged = _in_order(
            child, parse_batches(mine, self.source, self.opts, self.label), self.receiver.poll
        )
        if self.source.kept_in_order:
            merged = _kept_in_order(merged, self.source.keep_in_order())
        yield from merged
        # the input as read by both: a last line still being written was left by whichever
        # read it, so the lesser position is where the next run starts
        inp.pending_tail = inp.pending_tail or mine.pending_tail
        inp.consumed = min(inp.consumed, mine.consumed)
        inp.lines_read = min(inp.lines_read, mine.lines_read)
        inp.skipped.update(mine.skipped)
        inp.notes.update(mine.notes)

    def close(self) -> None:
        self.inp.stripe = None
        self.receiver.close()
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join()
        if self.stager is not None:
            self.stager.close()


def batches_from_worker(
    inp: InputFile, source: Source, opts: Options, label: Labeller, stage: bool = False
) -> WorkerBatches | None:
    """The input's batches from a second process (``stage``: its records staged, for a ledger
    that takes them so), or None when no process can be started (out of processes or
    memory): the input is then parsed here, as it would be anyway."""
    try:
        return WorkerBatches(inp, source, opts, label, stage)
    except OSError:
        inp.stripe = None
        return None


class ParserProcess:
    """One child for a whole ingest that parses the inputs it is handed, one at a time, in the
    order handed: a folder's files are parsed two at a time (one here, the next there) without
    a process started per file. Started on first use; :meth:`close` ends it."""

    def __init__(self, stage: bool = False) -> None:
        ctx = multiprocessing.get_context("fork")
        jobs_in, self.jobs = ctx.Pipe(duplex=False)
        self.receiver, results = ctx.Pipe(duplex=False)
        _widen(self.receiver)
        self.stager = Stager.make(stage)
        self.proc = ctx.Process(target=_serve, args=(jobs_in, results, self.stager), daemon=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # as in WorkerBatches
                self.proc.start()
        except BaseException:
            if self.stager is not None:
                self.stager.close()
            raise
        finally:
            jobs_in.close()
            results.close()
        self.usable = True
        self.pending: list[Handed] = []  # handed, in order, and not yet read to the end

    def hand(self, inp: InputFile, source: Source, opts: Options, label: Labels) -> Handed | None:
        """The input's batches, to be read in turn; None when the input is better parsed
        here after all (the process is gone, or the job cannot be sent to it)."""
        # what the child needs to read the input itself: not a whole document parsed here
        job = replace(inp, _document=[], _sample=[], skipped=Counter(), notes=Counter())
        try:
            payload = pickle.dumps((job, source, opts, label))
        except (pickle.PicklingError, TypeError, AttributeError):  # nothing was sent
            return None
        try:
            self.jobs.send_bytes(payload)
        except OSError:  # the process is gone
            self.usable = False
            return None
        handed = Handed(self, inp)
        self.pending.append(handed)
        return handed

    def _orphan_pending(self) -> None:
        """The inputs handed and not reached: their batches will never come."""
        for handed in self.pending:
            handed.orphaned = True
        self.pending.clear()

    def close(self) -> None:
        self.usable = False
        self._orphan_pending()
        if self.stager is not None:
            self.stager.taken.value = -1  # a child waiting to stage stops waiting
        with contextlib.suppress(OSError):  # already gone
            self.jobs.send(None)
        self.jobs.close()
        self.receiver.close()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()
        if self.stager is not None:
            self.stager.close()


class Handed:
    """The batches of an input handed to a :class:`ParserProcess`, read in turn. ``orphaned``
    when the process stopped (or was closed) before it reached the input: nothing of it was
    parsed there, and the caller parses it itself."""

    def __init__(self, parser: ParserProcess, inp: InputFile) -> None:
        self.parser, self.inp, self.finished, self.orphaned = parser, inp, False, False

    def __iter__(self) -> Iterator[Batch]:
        try:
            yield from _from_child(
                self.parser.receiver, self.parser.proc, self.inp, self.parser.stager
            )
        except GeneratorExit:  # the reader stopped early (see close)
            raise
        except BaseException:
            # the child said this input failed (and waits for the next), or it is gone: then
            # it stopped on this input, and never reached those handed after it
            self._finish()
            if not self.parser.proc.is_alive():
                self.parser.usable = False
                self.parser._orphan_pending()
            raise
        self._finish()

    def ready(self) -> bool:
        """Whether the parsing process has sent something of this input (the input before it
        was read to the end), or stopped: reading it would not wait."""
        try:
            return self.orphaned or self.parser.receiver.poll()
        except (OSError, ValueError):  # closed: reading says why, without waiting
            return True

    def _finish(self) -> None:
        self.finished = True
        if self in self.parser.pending:
            self.parser.pending.remove(self)

    def close(self) -> None:
        if not self.finished:  # left half read: what the child sends next belongs to no one
            self.parser.close()


Started = WorkerBatches | Handed  # an input's batches from a second process


def start_parser(stage: bool = False) -> ParserProcess | None:
    """A :class:`ParserProcess` (``stage``: which stages its records), or None when no
    process can be started."""
    try:
        return ParserProcess(stage)
    except OSError:
        return None


def _widen(end: Connection) -> None:
    """A pipe of 1 MiB (Linux's default is 64 KiB, a fraction of one batch), so the child
    parses on while this process parses its own chunk or writes, instead of waiting for
    each batch to be taken."""
    try:
        import fcntl

        fcntl.fcntl(end.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or over the system's pipe-max-size
        pass


# Own batches this process parses ahead while the child's next is not there yet (a chunk is
# about 20 ms of parsing): it claims the chunks instead of waiting, so the share follows the
# costs even where the writer would wait on the child's batch before its own.
PARSE_AHEAD = 2


def _in_order(
    a: Iterator[Batch],
    b: Iterator[Batch],
    ready: Callable[[], bool] | None = None,
    ahead: int = PARSE_AHEAD,
) -> Iterator[Batch]:
    """Two streams of batches, each in chunk order, as one in chunk order (``b`` first:
    this process's own, parsed while the child parses its first). Where ``a``'s next batch
    is not ``ready()``, up to ``ahead`` of ``b``'s are parsed in the meantime, to wait their
    turn; an error parsing one of them is raised when the ones before it are taken, as it
    would be without parsing ahead."""
    own: deque[Batch] = deque()
    failed: list[Exception] = []

    def pull() -> bool:
        """One more of ``b``'s batches into ``own``; False when there are no more."""
        if failed:
            return False
        try:
            y = next(b, None)
        except Exception as exc:  # raised in turn, below (an interrupt stops at once)
            failed.append(exc)
            return False
        if y is None:
            failed.append(StopIteration())
            return False
        own.append(y)
        return True

    def next_of_a() -> Batch | None:
        while ready is not None and len(own) < ahead and not ready() and pull():
            pass
        return next(a, None)

    pull()
    x = next_of_a()
    while True:
        if not own and not pull() and not isinstance(failed[0], StopIteration):
            raise failed[0]
        if own and (x is None or own[0].chunk < x.chunk):
            yield own.popleft()
        elif x is not None:
            yield x
            x = next_of_a()
        else:
            return


def _tally(rec: Prepared) -> tuple[str, str, int]:
    ident = rec.ident  # provider, model, requests, then the five token counts
    return ident[2], ident[3], ident[5] + ident[6] + ident[7] + ident[8] + ident[9]


def _kept_in_order(batches: Iterator[Batch], keep: Callable[[Any], bool]) -> Iterator[Batch]:
    """The batches of an input whose lines two processes shared, in input order, with each
    marked record kept or dropped by ``keep`` (and its tokens counted once kept)."""
    for batch in batches:
        if batch.marks is not None and batch.staged is not None:
            assert batch.tallies is not None
            dropped = []
            for i, (mark, tally) in enumerate(zip(batch.marks, batch.tallies, strict=True)):
                if mark is None:  # kept by its parser (counted there)
                    continue
                if keep(mark):  # (called on every mark: the rule follows all of them)
                    if tally is not None:  # else always kept, and counted by its parser
                        batch.models[(tally[0], tally[1])] += tally[2]
                else:
                    dropped.append(i)
            if dropped:
                batch.staged = replace(batch.staged, dropped=tuple(dropped))
            batch.marks = batch.tallies = None
        elif batch.marks is not None:
            kept = []
            for rec, mark in zip(batch.records, batch.marks, strict=True):
                if mark is None:  # kept by its parser (counted there)
                    kept.append(rec)
                elif keep(mark):
                    kept.append(rec)
                    provider, model, tokens = _tally(rec)
                    batch.models[(provider, model)] += tokens
            batch.records, batch.marks = kept, None
        yield batch


def _from_child(
    receiver: Connection, proc: Any, inp: InputFile, stager: Stager | None = None
) -> Iterator[Batch]:
    while True:
        try:
            kind, payload = receiver.recv()
        except EOFError:
            proc.join()
            raise DataError(
                f"the process parsing it stopped (exit status {proc.exitcode}); what it "
                f"sent before was written; run again, or with {ENV_INGEST_WORKER}=never"
            ) from None
        if kind == "batch":
            inp.consumed = payload.consumed
            yield payload
            if stager is not None:  # asked for the next batch: this one is written
                stager.took(payload)
        elif kind == "done":
            inp.consumed, inp.lines_read, inp.pending_tail, inp.skipped, inp.notes, hashed = payload
            if hashed is not None:
                inp.hashed.setdefault(*hashed)
            return
        elif kind == "error":
            raise payload
        else:  # a bug in a parser: reported as one, with the child's traceback
            raise RuntimeError(f"parsing {inp.location} failed:\n{payload}")


def _parse_and_send(
    sender: Connection,
    inp: InputFile,
    source: Source,
    opts: Options,
    label: Labeller,
    stager: Stager | None = None,
) -> None:
    """Parse one input and send its batches (staged, with a stager), then its reading state
    or its error."""
    try:
        for batch in parse_batches(inp, source, opts, label):
            if stager is not None:
                batch = stager.stage(batch, source)
            sender.send(("batch", batch))
        state = (inp.consumed, inp.lines_read, inp.pending_tail, inp.skipped, inp.notes)
        sender.send(("done", (*state, _hashed(inp))))
    except LlmauditError as exc:
        sender.send(("error", exc))
    except Exception:  # a bug in a parser: sent to the parent, which raises it
        sender.send(("crash", traceback.format_exc()))


def _hashed(inp: InputFile) -> tuple[int, str] | None:
    """The hash of what a run that read ``inp`` to its end read (``ingest._save_state`` keeps
    it with the reading state), worked out here, where the input was just read, so that the
    process that writes does not read it again for it; None if it cannot be (it is the
    writer's to say why)."""
    if not inp.on_disk():
        return None
    offset = inp.resume_at()
    try:
        return offset, inp.prefix_hash(offset)
    except (LlmauditError, OSError):
        return None


def _serve(jobs: Connection, sender: Connection, stager: Stager | None = None) -> None:
    try:
        try:
            while True:
                job = jobs.recv()  # an unpickled (input, source, options, labels)
                if job is None:
                    break
                inp, source, opts, label = job
                _parse_and_send(sender, inp, source, opts, label, stager)
        finally:
            sender.close()
    finally:
        os._exit(0)  # as in _work


def _work(
    sender: Connection,
    inp: InputFile,
    source: Source,
    opts: Options,
    label: Labeller,
    stager: Stager | None = None,
) -> None:
    try:
        try:
            _parse_and_send(sender, inp, source, opts, label, stager)
        finally:
            sender.close()
    finally:
        # Leave at once, whatever happened (the parent may be gone): a normal exit would
        # flush the standard streams this process inherited, writing out again whatever the
        # parent had buffered when it forked (and could wait on a lock a progress display's
        # thread held then).
        os._exit(0)
