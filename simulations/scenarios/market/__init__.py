"""Scenario 1, the market: persons meet vendors, connect, and negotiate terms (``market.toml``)."""
