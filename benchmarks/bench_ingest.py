#!/usr/bin/env python3
"""Ingest throughput and peak memory on generated data, against json.loads of the same lines.

    python benchmarks/bench_ingest.py [N]        (default 200,000 records per format)

For each of llmaudit JSONL, middleware (raw OpenAI/Anthropic responses) and Claude Code
transcripts: a first ingest into a new ledger with the input parsed in this process
(LLMAUDIT_INGEST_WORKER=never) and as llmaudit does by default (a large input parsed in a second
process), a re-run over the unchanged file, a full re-read of a copy (every record a
duplicate); then an export with costs. Each step is a whole `llmaudit` command in its own
process; peak RSS is that process's maximum resident set, and its parsing process's.

For Claude Code, ccusage 20.0.24 (`ccusage daily --json --offline`, which re-reads every
transcript on each run) is the named baseline when it can be run: on PATH, or installed with
`npm install --prefix benchmarks/.ccusage ccusage@20.0.24` (tried once; skipped with a
message when npm or the registry is not there). Its token totals are checked against
llmaudit's, so both read the same corpus the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


# Runs llmaudit and reports its own peak resident set (VmHWM) on exit, which, unlike a
# parent's view of a child's rusage, does not inherit the benchmark process's memory.
WRAPPER = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    sys.stderr.write('HWM ' + status.split('VmHWM:')[1].split()[0] + '\\n')\n"
    "    import resource\n"
    "    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    sys.stderr.write('CHILD ' + str(child) + '\\n')\n"
    "atexit.register(hwm)\n"
    "from llmaudit.cli.main import main\n"
    "main(sys.argv[1:])\n"
)


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """(seconds, peak RSS in MiB, "+ N" for a parsing process) of one llmaudit command."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr}")
    kib = int(proc.stderr.rsplit("HWM ", 1)[1].split()[0])
    child = int(proc.stderr.rsplit("CHILD ", 1)[1].split()[0])
    return elapsed, f"{kib // 1024}" + (f" + {child // 1024}" if child else "")


CCUSAGE_DIR = HERE / ".ccusage"


def ccusage() -> list[str] | None:
    """The ccusage command, installing it into benchmarks/.ccusage once if npm can."""
    found = shutil.which("ccusage")
    local = CCUSAGE_DIR / "node_modules" / ".bin" / "ccusage"
    if found:
        return [found]
    if not local.exists() and shutil.which("npm"):
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(CCUSAGE_DIR),
                "--no-audit",
                "--no-fund",
                "ccusage@20.0.24",
            ],
            capture_output=True,
            timeout=300,
        )
    return [str(local)] if local.exists() else None


SESSION_LINES = 1_000  # lines a session file in the corpus of many files


def corpus(home: Path, data: Path, split: bool) -> Path:
    """A Claude config folder holding ``data``: as one session file, or split into session
    files of SESSION_LINES lines over six project folders (as a real corpus is kept)."""
    projects = home / "projects"
    if not split:
        (projects / "-bench-project").mkdir(parents=True)
        shutil.copyfile(data, projects / "-bench-project" / "bench-session.jsonl")
        return projects
    with data.open() as fh:
        part: list[str] = []
        n = 0
        for line in fh:
            part.append(line)
            if len(part) == SESSION_LINES:
                _session(projects, n, part)
                part, n = [], n + 1
        if part:
            _session(projects, n, part)
    return projects


def _session(projects: Path, n: int, lines: list[str]) -> None:
    folder = projects / f"-home-dev-project{n % 6}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"session-{n:05d}.jsonl").write_text("".join(lines))


def compare_with_ccusage(tmp: str, data: Path, n: int) -> None:
    """ccusage daily on the same transcripts (one session file, then many) against llmaudit's
    first ingest (one process and as by default) and its report."""
    command = ccusage()
    if command is None:
        print("  ccusage: not run (not on PATH, and npm could not install ccusage@20.0.24)")
        return
    for split in (False, True):
        home = Path(tmp) / f"claude-{split}"
        projects = corpus(home, data, split)
        files = sum(1 for _ in projects.rglob("*.jsonl"))
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(home)}
        times = []
        for _ in range(3):
            start = time.perf_counter()
            out = subprocess.run(
                [*command, "daily", "--json", "--offline"], capture_output=True, text=True, env=env
            )
            times.append(time.perf_counter() - start)
            if out.returncode != 0:
                print(f"  ccusage: failed: {out.stderr.strip()[:200]}")
                return
        base = sorted(times)[1]
        totals = json.loads(out.stdout)["totals"]
        db = Path(tmp) / f"cc-vs-ccusage-{split}.db"
        serial, rss0 = run(
            ["--db", str(Path(tmp) / f"cc-serial-{split}.db"), "ingest", str(projects)],
            {"LLMAUDIT_INGEST_WORKER": "never"},
        )
        # the first ingest against ccusage: the median of 3, each into a new ledger (single
        # runs of two busy processes on this machine vary by up to 15%)
        firsts = []
        for attempt in range(3):
            path = db if attempt == 2 else Path(tmp) / f"cc-first-{split}-{attempt}.db"
            firsts.append(run(["--db", str(path), "ingest", str(projects)]))
        first, rss = sorted(firsts)[1]
        reports = sorted(run(["--db", str(db), "report", "--format", "json"])[0] for _ in range(3))
        mine = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "llmaudit",
                    "--db",
                    str(db),
                    "report",
                    "summary",
                    "--since",
                    "2000-01-01",
                    "--until",
                    "2100-01-01",
                    "--format",
                    "json",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )["report"]["sections"]["summary"]["tokens"]
        theirs = {
            "input_uncached": totals["inputTokens"],
            "cache_read": totals["cacheReadTokens"],
            "cache_write": totals["cacheCreationTokens"],
            "output": totals["outputTokens"],
        }
        agree = all(mine[k] == v for k, v in theirs.items())
        print(f"  {files} session file(s): ccusage 20.0.24 daily --json {base:.2f} s (median of 3)")
        for name, secs, mem in (
            ("first ingest, one process", serial, rss0),
            ("first ingest", first, rss),
        ):
            print(f"    {name:<26} {secs:7.2f} s {secs / base:6.2f}x ccusage  peak RSS {mem} MiB")
        print(f"    (first ingest: median of {', '.join(f'{t:.2f}' for t, _ in sorted(firsts))} s)")
        print(
            f"    {'report, after':<26} {reports[1]:7.2f} s "
            f"{base / reports[1]:6.1f}x faster than ccusage"
        )
        print(f"    tokens: {'the same as' if agree else 'NOT the same as'} ccusage's: {theirs}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    llmaudit: list[str] = []
    print(f"{n:,} records per format; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("llmaudit", "middleware", "claude-code"):
            data = Path(tmp) / f"{fmt}.jsonl"
            with data.open("w") as fh:
                subprocess.run(
                    [sys.executable, str(HERE / "generate.py"), str(n), "--format", fmt],
                    stdout=fh,
                    check=True,
                )
            lines = sum(1 for _ in data.open())
            t = time.perf_counter()
            with data.open("rb") as fh:
                for line in fh:
                    json.loads(line)
            base = time.perf_counter() - t
            db = Path(tmp) / f"{fmt}.db"
            serial, rss0 = run(
                ["--db", str(Path(tmp) / f"{fmt}-serial.db"), "ingest", str(data)],
                {"LLMAUDIT_INGEST_WORKER": "never"},
            )
            first, rss1 = run([*llmaudit, "--db", str(db), "ingest", str(data)])
            again, rss2 = run([*llmaudit, "--db", str(db), "ingest", str(data)])
            copy = Path(tmp) / f"{fmt}-copy.jsonl"
            shutil.copyfile(data, copy)
            dup, rss3 = run([*llmaudit, "--db", str(db), "ingest", str(copy)])
            size = data.stat().st_size / 2**20
            print(f"\n{fmt}: {lines:,} lines, {size:.0f} MiB; baseline json.loads {base:.2f} s")
            for name, secs, rss in (
                ("first ingest, one process", serial, rss0),
                ("first ingest", first, rss1),
                ("re-run, unchanged", again, rss2),
                ("re-read, all duplicates", dup, rss3),
            ):
                print(
                    f"  {name:<26} {secs:7.2f} s {n / secs:10,.0f} records/s "
                    f"{secs / base:6.1f}x baseline  peak RSS {rss} MiB"
                )
            if fmt == "claude-code":
                compare_with_ccusage(tmp, data, n)
            if fmt == "middleware":
                secs, rss = run([*llmaudit, "--db", str(db), "export", "-o", os.devnull])
                print(
                    f"  {'export with costs':<26} {secs:7.2f} s {n / secs:10,.0f} records/s "
                    f"{secs / base:6.1f}x baseline  peak RSS {rss} MiB"
                )


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
