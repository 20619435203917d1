"""Prompt files as they are at a git ref (a base branch, a tag), read through git without
touching the working tree, for ``llmaudit check --base-ref``."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from llmaudit.errors import UsageError

GIT_TIMEOUT = 60  # seconds for one git command


@dataclass
class Snapshot:
    """The prompt files at a ref, written under ``root`` with their paths as given."""

    ref: str
    root: Path
    files: list[str] = field(default_factory=list)  # relative to the working directory
    renamed: dict[str, str] = field(default_factory=dict)  # new path -> path at the ref


def _git(*args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError("--base-ref: git is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--base-ref: git {args[0]} took over {GIT_TIMEOUT} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"--base-ref: git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


def snapshot(ref: str, paths: list[str], root: Path) -> Snapshot:
    """Write the files under ``paths`` (files or folders, relative to the working directory)
    as they are at ``ref`` into ``root``; note which were renamed since."""
    if ref.startswith("-"):
        raise UsageError(f"--base-ref: {ref!r} is not a ref")
    try:
        _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except UsageError as exc:
        if "not a git repository" in exc.message:
            raise
        raise UsageError(
            f"--base-ref: {ref!r} is not a commit in this clone",
            hint=f"fetch it first, e.g. git fetch --depth=1 origin {ref}",
        ) from None
    snap = Snapshot(ref, root)
    listed = _git("ls-tree", "-r", "--name-only", "-z", ref, "--", *paths)
    for name in filter(None, listed.decode("utf-8", "surrogateescape").split("\0")):
        content = _git("show", f"{ref}:./{name}")
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        snap.files.append(name)
    changes = _git("diff", "--name-status", "-M", "--relative", "-z", ref, "--", *paths)
    fields = changes.decode("utf-8", "surrogateescape").split("\0")
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status.startswith(("R", "C")) and i + 2 < len(fields):
            snap.renamed[fields[i + 2]] = fields[i + 1]
            i += 3
        else:
            i += 2
    return snap
