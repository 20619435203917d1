"""Compile llmaudit's bytecode before timing whole commands, as pip does when it installs a
package. Without it, a machine with PYTHONDONTWRITEBYTECODE=1 (the development machine is one)
or a read-only source tree compiles every imported module on every run, about 30 ms of each
command, which no installed llmaudit pays."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_llmaudit() -> None:
    import llmaudit

    compileall.compile_dir(str(Path(llmaudit.__file__).parent), quiet=1)
