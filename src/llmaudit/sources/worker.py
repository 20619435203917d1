"""An input's records in batches ready to write, parsed here or in a second process.

A large input is parsed in a forked child while this process writes what it sends: on two
cores the parser and SQLite run at once. The child sends prepared rows (key, content hash,
identity row, provenance), which cost a tenth of a record to send, through a pipe that holds
about one batch, so memory stays flat in the size of the input. The ledger is written by this
process alone; the child never touches it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from llmaudit.constants import ENV_INGEST_WORKER
from llmaudit.errors import DataError, LlmauditError, UsageError
from llmaudit.ledger.writes import Prepared, prepare
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.sources.base import InputFile, Options, Source

BATCH_SIZE = 2000
WORKER_MIN_BYTES = 4 * 1024 * 1024  # below this, starting a process costs more than it saves
WORKER_SETTINGS = ("auto", "never", "always")

Labeller = Callable[[UsageRecord], UsageRecord]


@dataclass
class Batch:
    records: list[Prepared] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # tokens read per (provider, model), what the ingest summary checks for a price
    models: Counter[tuple[str, str]] = field(default_factory=Counter)
    consumed: int = 0  # bytes of the input read so far, for progress


def parse_batches(
    inp: InputFile, source: Source, opts: Options, label: Labeller
) -> Iterator[Batch]:
    """The input's records (labelled and prepared) and rejects, BATCH_SIZE items a batch, in
    input order; the last batch may be empty."""
    size = BATCH_SIZE
    batch = Batch()
    for item in source.items(inp, opts):
        if isinstance(item, Reject):
            batch.rejects.append(item)
        else:
            rec = label(item)
            batch.records.append(prepare(rec))
            batch.models[(rec.provider, rec.model)] += rec.input_total + rec.output
        if len(batch.records) + len(batch.rejects) >= size:
            batch.consumed = inp.consumed
            yield batch
            batch = Batch()
    batch.consumed = inp.consumed
    yield batch


def use_worker(inp: InputFile) -> bool:
    """Whether to parse ``inp`` in a second process (see ENV_INGEST_WORKER)."""
    setting = os.environ.get(ENV_INGEST_WORKER, "auto").strip().lower() or "auto"
    if setting not in WORKER_SETTINGS:
        raise UsageError(
            f"{ENV_INGEST_WORKER}={setting!r}: must be one of {', '.join(WORKER_SETTINGS)}"
        )
    if setting == "never" or inp._spool is not None:  # stdin and pipes are read here
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    if setting == "always":
        return True
    return sys.platform == "linux" and (inp.size or 0) >= WORKER_MIN_BYTES and _cores() > 1


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def batches_from_worker(
    inp: InputFile, source: Source, opts: Options, label: Labeller
) -> Iterator[Batch]:
    """:func:`parse_batches`, run in a forked child. The input's reading state (how far it was
    read, lines left for the next run, lines skipped by reason) comes back with the last batch.
    An error the child raises is raised here, as if the input had been parsed here."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_work, args=(sender, inp, source, opts, label), daemon=True)
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (a progress display's);
        # the child only parses and sends, it takes none of their locks
        warnings.simplefilter("ignore", DeprecationWarning)
        proc.start()
    sender.close()
    try:
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
            elif kind == "done":
                inp.consumed, inp.lines_read, inp.pending_tail, inp.skipped, inp.notes = payload
                return
            elif kind == "error":
                raise payload
            else:  # a bug in a parser: reported as one, with the child's traceback
                raise RuntimeError(f"parsing {inp.location} failed:\n{payload}")
    finally:
        receiver.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _work(
    sender: Connection, inp: InputFile, source: Source, opts: Options, label: Labeller
) -> None:
    try:
        for batch in parse_batches(inp, source, opts, label):
            sender.send(("batch", batch))
        state = (inp.consumed, inp.lines_read, inp.pending_tail, inp.skipped, inp.notes)
        sender.send(("done", state))
    except LlmauditError as exc:
        sender.send(("error", exc))
    except BaseException:
        sender.send(("crash", traceback.format_exc()))
    finally:
        sender.close()
