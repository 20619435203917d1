"""Analysis: pure functions from aggregated ledger rows (and the price table) to answers."""
