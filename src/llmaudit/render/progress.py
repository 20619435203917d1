"""Live progress on stderr while a long command runs (ingest: bytes and records per input;
pull: pages and buckets per endpoint). Only on a terminal outside CI; a no-op otherwise, so
piped output and logs stay clean."""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable
from typing import Any


class LiveProgress:
    """One line per task. ``kind`` picks the columns: ``"bytes"`` (a bar of bytes read and a
    ``records`` count) or ``"pages"`` (a spinner with ``pages`` and ``buckets`` counts)."""

    def __init__(self, console: Any, kind: str) -> None:
        self.console = console
        self.kind = kind
        self.bar: Any = None
        self.tasks: dict[Hashable, Any] = {}

    def __enter__(self) -> LiveProgress:
        if sys.stderr.isatty() and not os.environ.get("CI"):
            from rich import progress as rp

            if self.kind == "bytes":
                columns: tuple[Any, ...] = (
                    rp.TextColumn("{task.description}"),
                    rp.BarColumn(),
                    rp.DownloadColumn(),
                    rp.TextColumn("{task.fields[records]:,} records"),
                    rp.TimeRemainingColumn(),
                )
            else:
                columns = (
                    rp.SpinnerColumn(),
                    rp.TextColumn("{task.description}"),
                    rp.TextColumn(
                        "{task.fields[pages]:,} page(s), {task.fields[buckets]:,} bucket(s)"
                    ),
                    rp.TimeElapsedColumn(),
                )
            self.bar = rp.Progress(*columns, console=self.console, transient=True)
            self.bar.start()
        return self

    def update(self, key: Hashable, description: str, **fields: Any) -> None:
        """Set task ``key``'s fields (``completed``, ``total``, ``records``, ``pages``...)."""
        if self.bar is None:
            return
        if key not in self.tasks:
            start = {k: 0 for k in fields if k not in ("completed", "total")}
            self.tasks[key] = self.bar.add_task(description, total=fields.get("total"), **start)
        self.bar.update(self.tasks[key], **fields)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
