"""Two processes ingesting into one (new) ledger at the same moment both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def _write(path, model, n):
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "ts": f"2026-11-01T{i % 24:02d}:{i % 60:02d}:00Z",
                        "model": model,
                        "input_tokens": 100 + i,
                        "output_tokens": 10,
                        "request_id": f"{model}-{i}",
                    }
                )
                + "\n"
            )


def test_two_simultaneous_ingests(tmp_path):
    n = 6000  # several write batches each, so the two writers interleave
    _write(tmp_path / "a.jsonl", "gpt-4o", n)
    _write(tmp_path / "b.jsonl", "claude-sonnet-4-5", n)
    db = tmp_path / "shared.db"
    env = {**os.environ, "NO_COLOR": "1"}
    go = time.time() + 1.0  # both start after the same instant
    starter = (
        "import sys, time; from llmaudit.cli.main import main; "
        f"time.sleep(max(0, {go} - time.time())); main(sys.argv[1:])"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", starter, "--db", str(db), "ingest", str(tmp_path / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for name in ("a.jsonl", "b.jsonl")
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert f": {n} added, 0 updated, 0 duplicate, 0 rejected" in err
    info = subprocess.run(
        [sys.executable, "-m", "llmaudit", "--db", str(db), "ledger", "info", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    ledger = json.loads(info.stdout)["ledger"]
    assert ledger["records"] == 2 * n
    assert ledger["ingests"] == 2
