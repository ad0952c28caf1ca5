"""Scenario 5, the intent market: persons cast intents at federated hubs, vendors answer, an
adversary holding every hub's and vendor's logs tries to link them (see intents.toml)."""
