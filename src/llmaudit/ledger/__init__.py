"""The SQLite ledger and the normalised usage record."""

from llmaudit.ledger.record import UsageRecord
from llmaudit.ledger.store import Ledger, Reject, WriteCounts

__all__ = ["Ledger", "Reject", "UsageRecord", "WriteCounts"]
