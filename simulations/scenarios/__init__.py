"""The scenarios: one subpackage per kind of world, next to the TOML files that are shipped.

Each kind has ``scenario`` (its TOML tables checked into typed values), ``world`` (the nodes,
their owners and what happens to them on the virtual clock) and ``results`` (its result files):
``market`` (scenario 1: persons negotiate terms with vendors), ``lifecycle`` (scenario 2: grants
from agreement to deletion receipt, under churn, with relays) and ``reputation`` (scenarios 3 and
4: grants to breaching vendors with and without local trust, under attack) and ``intents``
(scenario 5: intents cast at federated hubs, spam, Sybils, and a linkability adversary). ``reader`` is what
every kind's loader shares: finding a file, ``[quick]``, ``--param`` overrides, typed tables.
"""
