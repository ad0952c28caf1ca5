"""The grants service of the node core: what every ``grant.*`` message, timer and end means.

The rules live here once; the daemon (:mod:`amity.node.grants`) and the simulator
(:mod:`amity.simulations.services.grants`) only store, arm timers, audit and publish what the
effects say.

- :mod:`~amity.protocol.core.grants.service`: the message types, and which side each goes to.
- :mod:`~amity.protocol.core.grants.grantor`: the person's side: issue, revoke, ask, receipts.
- :mod:`~amity.protocol.core.grants.requests`: a vendor's request, and her rule's answer.
- :mod:`~amity.protocol.core.grants.updates`: a changed vault field, sent to every live grant.
- :mod:`~amity.protocol.core.grants.holder`: the vendor's side: hold, delete, receipts, answers.
- :mod:`~amity.protocol.core.grants.agreements`: which agreement a grant lives under.
- :mod:`~amity.protocol.core.grants.host` and :mod:`~amity.protocol.core.grants.effects`: what the
  service needs from its driver, and what it asks the driver to do.

See spec/grants.md.
"""
