"""What every input source implements, and how inputs (files, directories, stdin, .gz) open."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, cast

from llmaudit.errors import DataError, InputError, RecordError
from llmaudit.model.record import ATTRIBUTION_FIELDS, UsageRecord, check_plausible
from llmaudit.model.reject import Reject

Item = UsageRecord | Reject
GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
MAX_DOCUMENT = 256 * 1024 * 1024  # a whole-JSON document parsed to detect its format


class Stripe(Protocol):
    """Which chunks of ``size`` lines an input's reader hands out, asked of each chunk in
    turn as the reader comes to it."""

    @property
    def size(self) -> int: ...

    def owns(self, chunk: int) -> bool: ...


@dataclass(frozen=True)
class FixedStripe:
    """The chunks whose number, modulo ``period``, is in ``owned``."""

    owned: frozenset[int]
    period: int
    size: int

    def owns(self, chunk: int) -> bool:
        return chunk % self.period in self.owned


@dataclass
class InputFile:
    """One input: a file on disk (plain or gzip) or standard input, spooled so it can be sniffed."""

    location: str  # as shown to the user: the path, or "-"
    path: Path
    size: int | None
    mtime: float | None
    _spool: IO[bytes] | None = None
    mtime_ns: int = 0
    # Where to start (a re-run over a grown file), and how far the line reader got.
    start_offset: int = 0
    start_line: int = 0
    resumable: bool = False  # an incomplete last line is left for the next run, not rejected
    consumed: int = 0
    lines_read: int = 0
    pending_tail: bool = False
    in_directory: bool = False  # found by walking a folder the user named
    # Hand out only some chunks of lines (those the stripe owns), so two processes can parse
    # one input between them (sources/worker.py).
    stripe: Stripe | None = None
    # Lines read that are not usage, by reason ("user message", "span without usage"): said in
    # the ingest summary, so an input that gives no record always says what it held.
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)  # how records were read, to be said
    _document: list[Any] = field(default_factory=list)  # the whole-JSON parse, once
    _sample: list[str | None] = field(default_factory=list)  # its sample for sniffers, once
    _resolved: str | None = None  # the path resolved (the key of its reading state), once
    # the prefix hash (by its length) the process that parsed the input worked out at its end
    hashed: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_path(cls, path: Path) -> InputFile:
        st = path.stat()
        return cls(str(path), path, st.st_size, st.st_mtime, mtime_ns=st.st_mtime_ns)

    def prefix_hash(self, length: int) -> str:
        """SHA-256 of the first ``length`` raw bytes (everything read before), so that a
        rewrite anywhere in what was read, not only in its head, is seen; "short" when the
        input has fewer (it shrank: it cannot match). One in ``hashed`` (worked out by the
        process that has just read the input to its end) is taken as it is."""
        known = self.hashed.get(length)
        if known is not None:
            return known
        digest = hashlib.sha256()
        left = length
        with self.open_binary_raw() as fh:
            while left > 0:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    return "short"
                digest.update(chunk)
                left -= len(chunk)
        return digest.hexdigest()

    def resume_at(self) -> int:
        """Where a next run starts, once this run read the input to its end: after its last
        whole line when a last line may still be being written (``resumable``), else at its
        size (a file on disk)."""
        assert self.size is not None
        return self.consumed if self.resumable else self.size

    def on_disk(self) -> bool:
        return self.size is not None and self._spool is None

    def is_compressed(self) -> bool:
        with self.open_binary_raw() as fh:
            return fh.read(2) == GZIP_MAGIC

    def open_binary_raw(self) -> IO[bytes]:
        if self._spool is not None:
            self._spool.seek(0)
            return cast(IO[bytes], _Unclosable(self._spool))
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise DataError(f"{self.location}: cannot read: {exc.strerror}") from exc

    def lines(self) -> Iterator[tuple[int, bytes, bool]]:
        """(line number, the line without its newline, whether it ended with a newline).

        Starts at ``start_offset``; keeps ``consumed``/``lines_read`` at the end of the last
        line handed out, so the caller can remember where to resume.
        """
        self.consumed = self.start_offset
        self.lines_read = self.start_line
        with self.open_binary() as fh:
            if self.start_offset:
                fh.seek(self.start_offset)
            if self.stripe is not None:
                yield from self._striped(fh, self.stripe)
                return
            for line in fh:
                ended = line.endswith(b"\n")
                self.lines_read += 1
                self.consumed += len(line)
                yield self.lines_read, line.rstrip(b"\r\n"), ended

    def _striped(self, fh: IO[bytes], stripe: Stripe) -> Iterator[tuple[int, bytes, bool]]:
        size = stripe.size
        lines = iter(fh)
        for first in lines:  # a chunk's first line (or the first line read, of a resumed one)
            chunk = self.lines_read // size  # asked once a chunk, as the reader comes to it
            rest = islice(lines, (chunk + 1) * size - self.lines_read - 1)
            if stripe.owns(chunk):
                for line in chain((first,), rest):
                    self.lines_read += 1
                    self.consumed += len(line)
                    yield self.lines_read, line.rstrip(b"\r\n"), line.endswith(b"\n")
            else:  # the other reader's: only counted, in C
                lengths = list(map(len, rest))
                self.lines_read += 1 + len(lengths)
                self.consumed += len(first) + sum(lengths)

    @classmethod
    def from_stdin(cls) -> InputFile:
        return cls._spooled("-", Path("-"), sys.stdin.buffer)

    @classmethod
    def from_stream(cls, location: str, path: Path) -> InputFile:
        """A pipe (a FIFO named on the command line): spooled, read once, never resumed."""
        try:
            with open(path, "rb") as fh:
                inp = cls._spooled(location, Path("-"), fh)
        except OSError as exc:
            raise DataError(f"{location}: cannot read: {exc.strerror}") from exc
        return inp

    @classmethod
    def _spooled(cls, location: str, path: Path, stream: IO[bytes]) -> InputFile:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the input
        shutil.copyfileobj(stream, spool)
        size = spool.tell()
        spool.seek(0)
        return cls(location, path, size, None, spool)

    def open_binary(self) -> IO[bytes]:
        """The decompressed bytes (gzip is recognised by its magic number, not its name)."""
        raw = self.open_binary_raw()
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        raw.seek(0)
        return raw

    def open_text(self) -> IO[str]:
        """Text lines; bytes that are not UTF-8 survive as surrogates for the parser to reject."""
        return io.TextIOWrapper(
            self.open_binary(), encoding="utf-8-sig", errors="surrogateescape", newline=None
        )

    def document(self, limit: int = MAX_DOCUMENT) -> Any:
        """The whole input as one JSON value (an array, an object), or None when it is not
        one or is larger than ``limit`` bytes. For detecting formats whose documents are
        bigger than the head; parsed once."""
        if not self._document:
            value = None
            if self.size is None or self.size <= limit:
                try:
                    with self.open_binary() as fh:
                        data = fh.read(limit + 1)
                    if len(data) <= limit:
                        value = loads_document(data.decode("utf-8-sig"))
                except (OSError, EOFError, zlib.error, ValueError, RecursionError):
                    value = None
            self._document.append(value)
        return self._document[0]

    def document_sample(self, head: str) -> str | None:
        """For a JSON document larger than the head: the document with every list cut to its
        first three items, as indented text, so a format's sniffer can look at its shape.
        None when the head is JSON lines or the whole document already. Worked out once."""
        if not self._sample:
            self._sample.append(self._make_sample(head))
        return self._sample[0]

    def _make_sample(self, head: str) -> str | None:
        start = head.lstrip()[:1]
        if start not in ("[", "{"):
            return None
        first = head.lstrip().split("\n", 1)[0]
        try:
            json.loads(head)
            return None  # the head is the whole document
        except (ValueError, RecursionError):
            pass
        try:
            json.loads(first)
            return None  # JSON lines
        except (ValueError, RecursionError):
            pass
        doc = self.document()
        return None if doc is None else json.dumps(_cut_lists(doc), indent=1, default=str)

    def head(self, size: int = HEAD_BYTES) -> str:
        """The first ``size`` bytes of (decompressed) content, as text, for format detection."""
        try:
            with self.open_binary() as fh:
                data = fh.read(size)
        except (OSError, EOFError) as exc:
            raise DataError(f"{self.location}: cannot read: {exc}") from exc
        return data.decode("utf-8", errors="replace").lstrip("\ufeff")


class _Unclosable(io.BufferedIOBase):
    """Lets a reader close its wrapper without closing the spooled stdin beneath it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.inner.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self.inner.read(size)

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        return self.inner.readinto(b)  # type: ignore[attr-defined]

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()


@dataclass
class Options:
    """Per-ingest settings some formats use."""

    response_key: str | None = None  # middleware: where the provider response sits
    default_ts: datetime | None = None  # --ts: the time of records that carry none
    naive_tz: tzinfo | None = None  # --tz: the zone of times written without an offset
    mapping: dict[str, str] | None = None  # mapped JSON/CSV: record field -> source path


@dataclass(frozen=True)
class Labels:
    """Provenance, and the batch's --tag labels (an attribution name fills that field): what
    an ingest adds to each record it reads. Plain data, so a parsing process can be handed it."""

    source_name: str
    machine: str
    tags: dict[str, str]

    def __call__(self, rec: UsageRecord) -> UsageRecord:
        if not self.tags:
            # Hot path: provenance is not validated, so set it on the (already valid) record
            # without building and validating a copy.
            object.__setattr__(rec, "source_name", self.source_name)
            object.__setattr__(rec, "machine_id", self.machine)
            return rec
        changes: dict[str, Any] = {"source_name": self.source_name, "machine_id": self.machine}
        merged = dict(rec.tags)
        for name, value in self.tags.items():
            if name in ATTRIBUTION_FIELDS and name != "api_key":
                if getattr(rec, name) is None:
                    changes[name] = value
            else:
                merged.setdefault(name, value)
        changes["tags"] = merged
        return replace(rec, **changes)


@dataclass(frozen=True)
class Chained:
    """An item (a record, or its prepared row) whose keeping is decided later, in input order,
    by :meth:`Source.keep_in_order` on its ``mark``."""

    item: Any
    mark: Any


class Source(ABC):
    """One log format or provider API: turns an input into usage records and rejects."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # File name endings looked at when walking a directory (gzip versions are added).
    extensions: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def sniff(self, head: str) -> bool:
        """True when the first bytes of an input look like this format."""

    def detect(self, inp: InputFile, head: str) -> bool:
        """True when ``inp`` is in this format. By default its head is sniffed, and a JSON
        document larger than the head is sniffed through a sample of it (every list cut to
        three items); formats whose telltale lines may come after any number of others look
        further themselves."""
        if self.sniff(head):
            return True
        sample = inp.document_sample(head)
        return sample is not None and self.sniff(sample)

    # How a record whose key is already in the ledger (from this same kind) is treated:
    # "latest" replaces it when the content differs; "first" keeps the stored one; "max_output"
    # keeps whichever has more output tokens (streamed transcripts written several times).
    keep: ClassVar[str] = "latest"
    # True when lines are independent, so a grown file can be read from where we stopped.
    appendable: ClassVar[bool] = False
    # Each line is read on its own (no state carried from line to line): two processes may
    # parse the lines of one input between them.
    line_independent: ClassVar[bool] = False
    # Its lean path parses a line faster than the ledger writes it: of a folder, the second
    # process then parses every file (when it does not stage them), and this one only writes.
    lean_outpaces_writer: ClassVar[bool] = False
    # Lines are parsed on their own, but whether a record is kept depends on the lines before
    # it (Claude Code's sidechain rule): two processes may share the lines of a plain file when
    # the source yields :class:`Chained` items (it does when ``inp.stripe`` is set) and the
    # ingest applies :meth:`keep_in_order` to them in input order.
    kept_in_order: ClassVar[bool] = False

    def keep_in_order(self) -> Callable[[Any], bool]:
        """A fresh decision, for one input, on the marks of its :class:`Chained` items, called
        in input order: True to keep the item."""
        raise NotImplementedError

    def droppable(self, mark: Any) -> bool:
        """Whether :meth:`keep_in_order` may ever say False to this mark (a record it always
        keeps need not wait for it to be counted)."""
        return True

    @abstractmethod
    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        """Yield a record or a :class:`Reject` for every unit of input, in order."""

    def lean(self, inp: InputFile, opts: Options, labels: Labels) -> Iterator[Any] | None:
        """The input as :meth:`parse` reads it, with each common record already labelled and
        prepared for writing (a ``ledger.writes.Prepared``, the same row the full path gives),
        or None when this source has no such path."""
        return None

    def items(self, inp: InputFile, opts: Options, labels: Labels | None = None) -> Iterator[Any]:
        """:meth:`parse` (or, given the ingest's labels, :meth:`lean`), with read failures of
        the input itself (a truncated gzip stream, an I/O error, undecodable CSV) turned into
        one final reject instead of an exception."""
        lean = self.lean(inp, opts, labels) if labels is not None else None
        try:
            for item in lean if lean is not None else self.parse(inp, opts):
                if isinstance(item, UsageRecord):
                    try:
                        check_plausible(item)
                    except RecordError as exc:
                        item = Reject(inp.location, _line_of(item), exc.reason, exc.field, None)
                yield item
        except InputError:
            raise
        except DataError as exc:
            yield Reject(inp.location, None, exc.message, getattr(exc, "field", None), None)
        except (
            OSError,
            EOFError,
            zlib.error,
            UnicodeDecodeError,
            csv.Error,
            RecursionError,
        ) as exc:
            yield Reject(
                inp.location,
                None,
                f"the input could not be read to the end: {type(exc).__name__}: {exc}",
                None,
                None,
            )

    def accepts_name(self, path: Path) -> bool:
        name = path.name.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        return name.endswith(self.extensions)


_TRAILING_COMMA = re.compile(r",\s*\]\s*$")


def loads_document(text: str) -> Any:
    """One JSON document; also Helicone's export, an array whose last item is followed by a
    comma (``[`` + ``{...},`` per line + ``]``)."""
    try:
        return json.loads(text)
    except ValueError:
        fixed, n = _TRAILING_COMMA.subn("]", text)
        if not n:
            raise
        return json.loads(fixed)


def _cut_lists(value: Any, depth: int = 0) -> Any:
    if isinstance(value, list):
        return [_cut_lists(v, depth + 1) for v in value[:3]]
    if isinstance(value, dict) and depth < 4:
        return {k: _cut_lists(v, depth + 1) for k, v in value.items()}
    return value


def _line_of(rec: UsageRecord) -> int | None:
    """The line a record came from, when its location says (``path:12``)."""
    tail = (rec.source_location or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def walk(path: Path, problems: list[tuple[str, str, bool]] | None = None) -> Iterator[Path]:
    """Regular files under ``path`` in a stable order, skipping hidden files and folders.

    What cannot be walked or is not a regular file (an unreadable folder, a FIFO, a socket, a
    broken or looping symlink) is skipped and added to ``problems`` as (path, why), so the
    caller can say so: nothing is skipped silently. An unreadable folder is an error (the
    third item is True); a special file or a broken symlink is a warning.
    """
    if not path.is_dir():
        yield path
        return

    def unreadable(err: OSError) -> None:
        if problems is not None:
            problems.append((str(err.filename or path), f"cannot read: {err.strerror}", True))

    for root, dirs, files in os.walk(path, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            file = Path(root) / name
            why = _not_regular(file)
            if why is None:
                yield file
            elif problems is not None:
                problems.append((str(file), why, False))


def _not_regular(path: Path) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"skipped: {exc.strerror}"  # a broken or looping symlink, a vanished file
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "skipped: a FIFO, not a regular file (name it on its own to read it)"
    return "skipped: not a regular file"
