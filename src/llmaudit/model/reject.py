"""A reject: one piece of input that could not become a record, kept and shown, never dropped."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reject:
    """One piece of input that could not become a record."""

    location: str  # the file (or "-" for stdin, or an API page)
    line: int | None
    reason: str
    field: str | None = None
    raw: str | None = None

    def where(self) -> str:
        return f"{self.location}:{self.line}" if self.line is not None else self.location
