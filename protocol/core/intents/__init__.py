"""The intentcasting services of the node core: the caster, the vendor and the hub, sans-IO.

- :mod:`~amity.protocol.core.intents.caster`: her node casts an intent under a fresh key,
  opens and ranks the sealed offers, hides those below her cut-off, accepts one (revealing
  herself to that vendor only), withdraws, and collects deletion receipts.
- :mod:`~amity.protocol.core.intents.vendor`: a vendor subscribes at hubs, keeps an inbox of the
  intents forwarded to it, answers them (by hand or by its auto-answer rule), and deletes them on
  withdraw or expiry with a receipt.
- :mod:`~amity.protocol.core.intents.hub`: a hub stores, forwards, relays and enforces the rules
  of spec/intents.md §7.
- :mod:`~amity.protocol.core.intents.direct`: a vendor's own endpoint, where her node casts an
  intent directly as at a hub that serves only that vendor (§7.8).
- :mod:`~amity.protocol.core.intents.housekeeping`: what a hub forgets, and when (tombstones,
  pseudonyms that will not come back).
- :mod:`~amity.protocol.core.intents.rule`, ``rulefile``: a vendor's auto-answer rules, and
  their form in its policy file.
- :mod:`~amity.protocol.core.intents.records`: the records each role keeps; ``host``: what each
  reads from its node; ``effects``: what each asks its driver to do.
- :mod:`~amity.protocol.core.intents.link`: the rules of the pseudonymous link between her node
  (as an intent key) and a hub, for both ends.

The daemon drives them in amity.node.intents. See spec/intents.md.
"""
