"""Scenarios 3 and 4, reputation under attack and Sybils (``reputation.toml``, ``sybil.toml``)."""
