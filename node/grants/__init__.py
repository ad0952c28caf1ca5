"""Grants: the person's vault, data shared by signed grant, and what grantees hold (spec/grants.md).

What each ``grant.*`` message, timer and end means is :mod:`amity.protocol.core.grants` (the
simulator runs the same rules); this package stores, times, audits and publishes:

- :mod:`.service`: the grants service, handing the ``grant.*`` messages to the core;
- :mod:`.host`, :mod:`.carry`: the store as the core reads it, and its effects as one commit;
- :mod:`.vault`: the person's typed fields, sealed at rest;
- :mod:`.grantor`: the owner's commands (grant, revoke, ask) and helpers the other rooms use;
- :mod:`.requests`: a vendor's grant requests and the person's sharing rule, as stored;
- :mod:`.grantee`, :mod:`.holdings`: the grantee's timers, reads and book of holdings;
- :mod:`.data`, :mod:`.api`: the local API's JSON views and routes.

Their SQL is in :mod:`amity.node.store.grants`; the audit log they write is
:mod:`amity.node.auditlog` (the terms service writes it too).
"""
