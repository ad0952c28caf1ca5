"""The node core: the rules that turn a node's inputs into what it must do (sans-IO).

A node's inputs are frames on links, links coming up, and sealed mail; what it must do comes
back as effects, plain values (:mod:`amity.protocol.core.effects`) that a *driver* carries out.
The daemon (:mod:`amity.node.daemon`: asyncio, sockets, SQLite) and the simulator
(:mod:`amity.simulations.node`: an engine clock, memory) are the two drivers; neither decides
what a message means. The node's state is reached through :class:`~amity.protocol.core.host.Host`
(its relationships, its replay guard, its services), so a driver keeps it where it likes.

- :mod:`~amity.protocol.core.receive`: a frame on a link, a relayed mail, a posted envelope:
  open, replay guard, dispatch to the relationship machine and to the services, ACK or REFUSE.
- :mod:`~amity.protocol.core.links`: a link comes up: the handshake's step, the outbox resend.
- :mod:`~amity.protocol.core.tickets`: deposit tickets given in our hellos and kept from theirs.
- :mod:`~amity.protocol.core.terms`: the terms service (negotiations: a peer's message, the
  policy's answer, the owner's moves, deadlines), reached through its own small host.
- :mod:`~amity.protocol.core.reputation`: the reputation service's rules (``reputation.*``
  messages, automatic verdicts, sharing, the cut-off gate), with a host protocol of its own.
- :mod:`~amity.protocol.core.delegation`: fourth parties: her node carries out an agent's act
  under a chain of capabilities, and a vendor checks the chain before it holds the grant.
- :mod:`~amity.protocol.core.intents`: intentcasting's three roles (caster, vendor, hub), each
  with its own host protocol; not yet dispatched by :mod:`~amity.protocol.core.receive`.

See spec/link.md §2-§3 (what is acknowledged, and when) and spec/relay.md.
"""
