"""Names every part of llmaudit agrees on: environment variables, file names; and the one
fact about the machine that several parts ask (how many cores this process may use)."""

from __future__ import annotations

import os

APP_NAME = "llmaudit"

ENV_DB = "LLMAUDIT_DB"
ENV_CONFIG = "LLMAUDIT_CONFIG"
ENV_DATA_DIR = "LLMAUDIT_DATA_DIR"
ENV_DEBUG = "LLMAUDIT_DEBUG"
ENV_PRICING = "LLMAUDIT_PRICING"
ENV_MACHINE_ID = "LLMAUDIT_MACHINE_ID"
ENV_NO_COLOR = "NO_COLOR"

CONFIG_FILENAME = "config.toml"
DB_FILENAME = "llmaudit.db"

# Config keys whose last part matches one of these hold secrets: masked in `config show`.
SECRET_KEY_MARKERS = ("key", "token", "secret", "password")
# Parse a large input in a second process while this one writes: auto (inputs of 4 MiB and
# more, on Linux with two cores or more), never, or always (tests force the path with it).
ENV_INGEST_WORKER = "LLMAUDIT_INGEST_WORKER"


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
