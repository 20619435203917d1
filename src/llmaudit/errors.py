"""The one exception hierarchy of llmaudit, and the exit codes it maps to.

Core code raises these (chained with ``from``); the command line turns them into one
line on stderr and an exit code in exactly one place (``llmaudit.cli.main``).
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Process exit codes. Documented in the README; findings never share a code with errors."""

    OK = 0
    FINDINGS = 1  # a threshold breached, an alert firing, a cost regression
    USAGE = 2  # bad command line
    DATA = 3  # bad input data, config or ledger
    PROVIDER = 4  # provider API or network error
    INTERNAL = 70  # a bug in llmaudit (EX_SOFTWARE); never a finding
    INTERRUPTED = 130  # Ctrl-C


class LlmauditError(Exception):
    """Base of every error llmaudit reports to the user."""

    exit_status: ExitStatus = ExitStatus.DATA

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def __reduce__(self) -> tuple:
        # picklable whole (hint, field): an ingest's parsing process sends its errors back
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[LlmauditError], args: tuple, state: dict) -> LlmauditError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class UsageError(LlmauditError):
    """The command line asks for something that cannot be done."""

    exit_status = ExitStatus.USAGE


class DataError(LlmauditError):
    """Input data that cannot be used."""

    exit_status = ExitStatus.DATA


class ConfigError(DataError):
    """The config file (or a file it names) is invalid."""


class StoreError(DataError):
    """The ledger cannot be opened, migrated, read or written."""


class RecordError(DataError):
    """One usage record is invalid. ``field`` names the offending field, if one does."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


class InputError(DataError):
    """A whole input cannot be read as asked (a --map path it never has): nothing of it is
    ingested, and it is read again on the next run."""


class RejectedInput(DataError):
    """An ingest finished, but some input was rejected (and recorded in the ledger)."""


class ProviderError(LlmauditError):
    """A provider API answered with an error."""

    exit_status = ExitStatus.PROVIDER


class ProviderConnectionError(ProviderError):
    """A provider API could not be reached."""


class Findings(LlmauditError):
    """Not an error: the command ran and found something that should fail the caller (exit 1)."""

    exit_status = ExitStatus.FINDINGS
