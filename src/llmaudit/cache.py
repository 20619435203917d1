"""Built things kept between runs in the user's cache folder (a pickle each), so a command
does not rebuild them: the bundled price table, the decoded tokenizer ranks. Named by a hash
of what they were built from, so a changed source is built afresh. Any trouble reading or
writing the cache is no error: the caller builds, as it would without one."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any


def _path(name: str) -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("llmaudit", appauthor=False)) / f"{name}.pickle"


def load(name: str) -> Any | None:
    """What :func:`save` kept under ``name``, or None (nothing kept, or unreadable)."""
    try:
        with _path(name).open("rb") as fh:
            return pickle.load(fh)
    except Exception:  # no cache yet, or one we cannot read
        return None


def save(name: str, value: Any) -> None:
    """Keep ``value`` under ``name``, written whole or not at all (a temporary file renamed)."""
    try:
        path = _path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except Exception:  # a cache we cannot write is no error
        pass
