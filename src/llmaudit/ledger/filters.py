"""Which records a question is about: a time range and dimension filters, as plain data.

Each engine turns a :class:`Filters` into its own query language (SQLite: ``ledger/where.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.model.record import ATTRIBUTION_FIELDS

DIMENSIONS = (
    *ATTRIBUTION_FIELDS,
    "provider",
    "model",
    "service_tier",
    "status",
    "source_kind",
    "source_name",
)

# Dimensions an [attribution] map can fill from the ids providers report.
MAPPED = ("team", "feature", "customer", "environment", "user", "project")
MAP_SOURCES = ("project", "api_key", "user")


@dataclass
class Filters:
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    where: list[tuple[str, str]] = field(default_factory=list)
    attribution: dict[str, Any] | None = None


def parse_where(text: str, option: str = "--where") -> tuple[str, str]:
    """``DIM=VALUE`` -> (dim, value); errors name ``option``, where the text came from."""
    dim, sep, value = text.partition("=")
    dim = dim.strip()
    if not sep or not dim:
        raise UsageError(f"{option}: {text!r} is not DIM=VALUE (e.g. feature=search, tag:env=prod)")
    if dim not in DIMENSIONS and not (dim.startswith("tag:") and len(dim) > 4):
        raise UsageError(
            f"{option}: unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return dim, value


def check_dimension(dim: str, option: str = "--by") -> str:
    """A dimension to group by: one of :data:`DIMENSIONS` or ``tag:KEY``."""
    if dim not in DIMENSIONS and not (dim.startswith("tag:") and len(dim) > 4):
        raise UsageError(
            f"{option}: unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return dim
