from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own config and data dir, no colour, 80 columns, a fixed machine id."""
    monkeypatch.setenv("LLMAUDIT_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("LLMAUDIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMAUDIT_MACHINE_ID", "test-machine")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("LLMAUDIT_DB", "LLMAUDIT_DEBUG", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    # `ingest` with no path looks for agent logs in the home folder: never the real one
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "LLM_USER_PATH", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # retries wait for nothing (what they would have waited is still computed and bounded)
    from llmaudit import http

    monkeypatch.setattr(http, "pause", lambda seconds: None)
    return tmp_path


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def pytest_generate_tests(metafunc):
    """Tests of modules marked ``both_engines`` that run the CLI run twice: on a SQLite ledger
    and on a ClickHouse one (chDB behind a loopback HTTP server), unless marked
    ``sqlite_only`` (they open the SQLite file themselves)."""
    if (
        "run" in metafunc.fixturenames
        and metafunc.definition.get_closest_marker("both_engines")
        and not metafunc.definition.get_closest_marker("sqlite_only")
    ):
        metafunc.parametrize("engine", ["sqlite", "clickhouse"], indirect=True)


@pytest.fixture
def engine(request) -> str:
    """The ledger engine the ``run`` fixture puts --db on: ``sqlite`` unless parametrised."""
    name = getattr(request, "param", "sqlite")
    if name == "clickhouse":
        try:
            import chdb  # noqa: F401
        except ImportError:
            if os.environ.get("LLMAUDIT_REQUIRE_TOOLS"):
                pytest.fail("chdb is not installed (pip install -e '.[test,clickhouse]')")
            pytest.skip("chdb is not installed")
    return name


class ClickHouseDbs:
    """Each ledger a test names (a --db path, $LLMAUDIT_DB, or the default) becomes a fresh
    database on the loopback ClickHouse server."""

    def __init__(self) -> None:
        import clickhouse_server

        self.server = clickhouse_server.server()
        self.new = clickhouse_server.new_database
        self.password = clickhouse_server.PASSWORD
        self.urls: dict[str, str] = {}

    def url(self, given: str) -> str:
        if given.startswith("clickhouse"):
            return given
        key = str(Path(given).expanduser().absolute())
        if key not in self.urls:
            self.urls[key] = self.server.url(self.new())
        return self.urls[key]

    def rewrite(self, args: tuple[str, ...]) -> tuple[list[str], bool]:
        out: list[str] = []
        named = False
        it = iter(args)
        for arg in it:
            if arg == "--db":
                out += [arg, self.url(next(it))]
                named = True
            elif arg.startswith("--db="):
                out.append("--db=" + self.url(arg[5:]))
                named = True
            else:
                out.append(arg)
        return out, named


_active: dict[str, ClickHouseDbs | None] = {"dbs": None}


def open_ledger(path, create: bool = True):
    """The ledger a test's ``run`` wrote at ``path``: the SQLite file, or on the ClickHouse
    engine the database that path stands for. ``create=False``: StoreError if there is none."""
    dbs = _active["dbs"]
    if dbs is None:
        from llmaudit.errors import StoreError
        from llmaudit.ledger.store import Ledger

        if not create and not Path(path).exists():
            raise StoreError(f"no ledger at {path}")
        return Ledger.open(path)
    from llmaudit.ledger.clickhouse.client import Address
    from llmaudit.ledger.clickhouse.store import ClickHouseLedger

    return ClickHouseLedger.open(Address.parse(dbs.url(str(path))), dbs.password, create=create)


def ledger_state(path) -> dict:
    """Everything an ingest writes, without ids and times of the run itself."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        records = conn.execute(
            "SELECT * FROM records ORDER BY dedupe_key"
        ).fetchall()  # ingest_id included: one ingest per input in both ledgers
        columns = [d[0] for d in conn.execute("SELECT * FROM records LIMIT 0").description]
        drop = {columns.index("id")}
        return {
            "records": [tuple(v for i, v in enumerate(r) if i not in drop) for r in records],
            "rejects": conn.execute(
                "SELECT source_kind, location, line, field, reason, raw FROM rejects "
                "ORDER BY location, line, reason"
            ).fetchall(),
            "rollup": conn.execute(
                "SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"
            ).fetchall(),
            "latency": conn.execute("SELECT * FROM rollup_latency ORDER BY 1, 2, 3, 4").fetchall(),
            "dirty": conn.execute("SELECT COUNT(*) FROM rollup_dirty").fetchone()[0],
            "files": conn.execute(
                "SELECT format, size, offset, lines, head_hash FROM files ORDER BY path"
            ).fetchall(),
        }
    finally:
        conn.close()


def ledger_totals(path) -> tuple[int, int | None]:
    """(records, their uncached input tokens; None when there are none), as SQL's
    COUNT(*), SUM(input_uncached) would say."""
    with open_ledger(path) as led:
        recs = list(led.iter_records())
    return len(recs), (sum(r.input_uncached for r in recs) if recs else None)


def exported(run, db: str) -> list[dict]:
    """Every record of the ledger ``db``, as `llmaudit export` writes them (JSON lines)."""
    import json

    return [json.loads(line) for line in run("--db", db, "export").stdout.splitlines()]


def report_summary(run, db: str, since: str, until: str) -> dict:
    """The report's summary section over [since, until] (days), as its JSON writes it."""
    import json

    out = run("--db", db, "report", "--since", since, "--until", until, "--format", "json")
    return json.loads(out.stdout)["report"]["sections"]["summary"]


def reconcile_billed(run, db: str, bill: str, provider: str, since: str, until: str) -> dict:
    """`reconcile --billed BILL --by model` as JSON: {"rows": {model: (computed, billed)},
    "total": (computed, billed), "within_tolerance": ...}; the command must exit 0."""
    import json

    args = ["--billed", bill, "--provider", provider, "--by", "model"]
    res = run(
        "--db", db, "reconcile", *args, "--since", since, "--until", until, "--format", "json"
    )
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)["reconcile"]
    return {
        "rows": {r["model"]: (r["computed_usd"], r["billed_usd"]) for r in out["rows"]},
        "total": (out["total"]["computed_usd"], out["total"]["billed_usd"]),
        "within_tolerance": out["within_tolerance"],
    }


@pytest.fixture
def run(capsys, monkeypatch, engine):
    """Run the real entry point (``llmaudit.cli.main``) and capture exit code, stdout, stderr.
    On the ``clickhouse`` engine every ledger the arguments name lives on ClickHouse."""
    from llmaudit.cli.main import main

    dbs = ClickHouseDbs() if engine == "clickhouse" else None
    if dbs is not None:
        monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", dbs.password)
    monkeypatch.setitem(_active, "dbs", dbs)

    def invoke(*args: str, input: bytes | str | None = None) -> Result:
        previous = os.environ.get("LLMAUDIT_DB")
        if dbs is not None:
            args_list, named = dbs.rewrite(args)
            args = tuple(args_list)
            if not named:
                from llmaudit.config import default_data_dir

                given = previous or str(default_data_dir() / "llmaudit.db")
                monkeypatch.setenv("LLMAUDIT_DB", dbs.url(given))  # restored below
        if input is not None:
            data = input.encode() if isinstance(input, str) else input
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        if dbs is not None:
            if previous is None:
                os.environ.pop("LLMAUDIT_DB", None)
            else:
                os.environ["LLMAUDIT_DB"] = previous
        return Result(code, out, err)

    return invoke


# The oracle for token counts: tiktoken's own encodings, from the files llmaudit bundles.
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


@pytest.fixture(scope="session")
def official(tmp_path_factory):
    """tiktoken's own encodings, read from its cache directory (filled with the same files)."""
    import tiktoken
    import tiktoken.load

    from llmaudit.estimate import tokens

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name in EXPECTED_SHA256:
        data = gzip.decompress((tokens.DATA / f"{name}.tiktoken.gz").read_bytes())
        key = hashlib.sha1(URL.format(name).encode()).hexdigest()
        (cache / key).write_bytes(data)
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)

    def no_download(*_a, **_k):
        raise AssertionError("tiktoken tried to download")

    real = tiktoken.load.read_file
    tiktoken.load.read_file = no_download
    try:
        yield {name: tiktoken.get_encoding(name) for name in EXPECTED_SHA256}
    finally:
        tiktoken.load.read_file = real
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
