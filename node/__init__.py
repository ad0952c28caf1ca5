"""amity.node: the daemon (storage, transport, discovery, local API, CLI). The only place with I/O.

Each feature has a room; the daemon's core sits at the top beside them.

- ``terms/``, ``grants/``, ``reputation/``: the services (what a node does with those messages),
  each with its local API routes and JSON views;
- ``net/``: transports, the Noise link, the peer port and who is admitted to it, LAN discovery;
- ``api/``: the local API application, its guard, its token proof, its OpenAPI document;
- ``store/``: SQLite, the only package that writes SQL (one table group per feature);
- ``cli/``: the ``amity`` command, a client of the local API;
- the driver of the node core (amity.protocol.core): ``daemon/`` (the node in its parts:
  receiver, steps, sender, net, depositor, upkeep), ``services`` (the seam every service plugs into), ``book``
  (relationships), ``mailbox`` (a relay's held mail), ``commits`` (group commit), ``events``,
  ``auditlog``, ``home``, ``logs``, and ``runner`` (``amity run``: everything assembled).
"""
