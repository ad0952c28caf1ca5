"""Scenario 2, the grants lifecycle under churn with relays (``lifecycle.toml``)."""
