"""The terms service of the node core: negotiations with peers, as both drivers run them.

- :mod:`~amity.protocol.core.terms.service`: a peer's ``terms.*`` message, the policy's answer,
  the owner's moves, a deadline: each returns effects, or raises the error that refuses it.
- :mod:`~amity.protocol.core.terms.host`: what the service reads from its node.
- :mod:`~amity.protocol.core.terms.effects`: what it asks the driver to do.

The daemon (:mod:`amity.node.terms.service`: SQLite, asyncio timers, the audit log, the event
stream) and the simulator (:mod:`amity.simulations.services.terms`: memory, engine timers, the
run's observer) carry the effects out. See spec/terms.md §13.
"""
