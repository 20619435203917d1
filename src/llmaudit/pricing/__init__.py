"""Prices: the bundled pricing.toml and user layers (table), model matching (match), and the
cost kernel (kernel)."""
