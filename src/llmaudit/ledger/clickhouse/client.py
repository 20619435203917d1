"""Talking to ClickHouse over its documented HTTP interface, through llmaudit's one HTTP client.

Statements travel whole in the POST body (values written as escaped literals, inserts as
``FORMAT JSONEachRow`` data after the statement); answers come back as ``JSONCompact`` and are
turned into Python values by their declared types, so 64-bit integers stay exact whether the
server quotes them or not.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from llmaudit.errors import StoreError, UsageError
from llmaudit.model.values import format_ts

ENV_PASSWORD = "LLMAUDIT_CLICKHOUSE_PASSWORD"
# The longest one statement may take (the server answers when it is done). Statements that
# grow with the ledger are cut to fit: the rollup refresh goes a few days at a time.
STATEMENT_SECONDS = 600.0
SCHEMES = {"clickhouse": "http", "clickhouses": "https"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def is_clickhouse_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


@dataclass(frozen=True)
class Address:
    """``clickhouse://USER@HOST:PORT/DATABASE`` (``clickhouses://`` for TLS). Never a password:
    that comes from ``$LLMAUDIT_CLICKHOUSE_PASSWORD`` or the config."""

    scheme: str
    user: str
    host: str
    port: int
    database: str

    @classmethod
    def parse(cls, text: str) -> Address:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"--db: {_safe(text)!r} is not a ClickHouse address: {exc}") from None
        scheme = parts.scheme.lower()
        if parts.password is not None:
            raise UsageError(
                "--db: a password does not belong in the ClickHouse address (it would show in "
                "process lists and shell history)",
                hint=f"set {ENV_PASSWORD} or ledger.clickhouse_password in the config",
            )
        database = parts.path.strip("/")
        if not parts.hostname or not database:
            raise UsageError(
                f"--db: {_safe(text)!r} needs a host and a database: "
                "clickhouse://USER@HOST:PORT/DATABASE"
            )
        if not _NAME.match(database):
            raise UsageError(
                f"--db: database name {database!r} must be letters, digits and _ "
                "(not starting with a digit)"
            )
        if parts.query or parts.fragment:
            raise UsageError(f"--db: {_safe(text)!r}: no ?query or #fragment is understood")
        default_port = 8443 if scheme == "clickhouses" else 8123
        return cls(
            scheme=scheme,
            user=unquote(parts.username or "default"),
            host=parts.hostname,
            port=port or default_port,
            database=database,
        )

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{self.user}@{host}:{self.port}/{self.database}"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{SCHEMES[self.scheme]}://{host}:{self.port}"


def _safe(text: str) -> str:
    """An address as it may be shown: any ``:password@`` cut out."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:[REDACTED]@", text)


def password(config: dict[str, Any]) -> str:
    env = os.environ.get(ENV_PASSWORD)
    if env is not None:
        return env
    ledger = config.get("ledger") if isinstance(config, dict) else None
    value = ledger.get("clickhouse_password") if isinstance(ledger, dict) else None
    return value if isinstance(value, str) else ""


# -- literals -------------------------------------------------------------------------------------
def lit(value: Any) -> str:
    """A Python value as a ClickHouse literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return f"toDateTime64({lit(ch_ts(format_ts(value)))}, 6, 'UTC')"
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lits(values: Iterable[Any]) -> str:
    return ", ".join(lit(v) for v in values)


def ch_ts(text: str | None) -> str | None:
    """Ledger time text (``2026-01-02T03:04:05.000000Z``) -> ClickHouse's DateTime64 text."""
    if text is None:
        return None
    return text.replace("T", " ").rstrip("Z")


def ledger_ts(text: str | None) -> str | None:
    """ClickHouse's DateTime64(6) text -> the ledger's time text."""
    if text is None:
        return None
    return text.replace(" ", "T") + "Z"


_CH_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$")


class BadAnswer(ValueError):
    """A value in an answer that is not what the query asks for."""


def _convert(kind: str, value: Any) -> Any:
    """One answered value as the query expects it. ``kind``: ``S`` text, ``s`` text or NULL,
    ``i`` integer, ``n`` integer or NULL, ``f`` number or NULL, ``t`` DateTime64 (as ledger
    time text) or NULL, ``a`` array of numbers (or NULLs), ``d`` a dimension: text, integer
    or NULL."""
    if value is None:
        if kind in "snftd":
            return None
        raise BadAnswer("NULL")
    if kind in "Ss":
        if isinstance(value, str):
            return value
    elif kind in "in":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
            return int(value)
    elif kind == "f":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "t":
        if isinstance(value, str) and _CH_TS.match(value):
            return ledger_ts(value)
    elif kind == "d":
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    elif kind == "a" and isinstance(value, list):
        return [_convert("f", v) for v in value]
    raise BadAnswer(repr(value)[:40])


# -- the connection -------------------------------------------------------------------------------
class Connection:
    """Statements to one ClickHouse server, answered as lists of rows."""

    def __init__(self, address: Address, secret: str, *, debug: bool = False) -> None:
        from llmaudit.http import Client

        self.address = address
        headers = {"X-ClickHouse-User": address.user}
        if secret:
            headers["X-ClickHouse-Key"] = secret
        self.client = Client(
            address.base_url,
            headers,
            provider="clickhouse",
            key_env=None,
            secrets=[secret],
            debug=debug,
            retries=2,
            timeout=STATEMENT_SECONDS,
            deadline=STATEMENT_SECONDS,
        )

    def close(self) -> None:
        self.client.close()

    def execute(self, statement: str, settings: Sequence[tuple[str, str]] = ()) -> str:
        """Run one statement; its answer as text. A refusal is a StoreError naming the server."""
        params = [("wait_end_of_query", "1"), *settings]
        # (text that cannot be UTF-8, a lone surrogate, is replaced rather than sent broken)
        body = statement.encode("utf-8", "replace")
        status, text = self.client.request_text("", params, body)
        if status in (401, 403) or "AUTHENTICATION_FAILED" in text[:400]:
            raise StoreError(
                f"clickhouse {self.address}: the server refused user {self.address.user!r}",
                hint=f"set {ENV_PASSWORD} (or ledger.clickhouse_password in the config)",
            )
        if status != 200:
            raise StoreError(f"clickhouse {self.address}: {_first_line(self.client.redact(text))}")
        return text

    def rows(self, query: str, spec: str) -> list[list[Any]]:
        """A SELECT's rows, each value checked and converted as ``spec`` says (one letter a
        column, see :func:`_convert`): an answer of another shape is a StoreError."""
        text = self.execute(
            f"{query} FORMAT JSONCompact",
            settings=[("output_format_json_quote_64bit_integers", "1")],
        )
        try:
            answer = json.loads(text)
            data = answer["data"]
            if not isinstance(data, list) or len(answer["meta"]) != len(spec):
                raise BadAnswer("columns")
            out = []
            for row in data:
                if not isinstance(row, list) or len(row) != len(spec):
                    raise BadAnswer("row")
                out.append([_convert(k, v) for k, v in zip(spec, row, strict=True)])
            return out
        except (ValueError, KeyError, TypeError, RecursionError):
            raise StoreError(
                f"clickhouse {self.address}: an answer that is not ClickHouse's JSONCompact "
                f"for the query ({_first_line(text)[:80]!r})"
            ) from None

    def one(self, query: str, spec: str) -> list[Any]:
        rows = self.rows(query, spec)
        if len(rows) != 1:
            raise StoreError(f"clickhouse {self.address}: {len(rows)} rows where one was asked")
        return rows[0]

    def insert(self, table: str, rows: list[dict[str, Any]], batch: int = 50_000) -> None:
        """Rows as ``JSONEachRow``, ``batch`` to a statement."""
        for start in range(0, len(rows), batch):
            body = "\n".join(
                json.dumps(row, ensure_ascii=False, separators=(",", ":"))
                for row in rows[start : start + batch]
            )
            self.execute(f"INSERT INTO {table} FORMAT JSONEachRow\n{body}")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "an empty answer"
    # "Code: 60. DB::Exception: Unknown table ... (UNKNOWN_TABLE) (version 26.9.2.1)"
    return re.sub(r"\s*\(version [^)]*\)\s*$", "", line)[:400]
