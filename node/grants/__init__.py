"""Grants: the person's vault, data shared by signed grant, and what grantees hold (spec/grants.md).

- :mod:`.service`: the grants service, routing the ``grant.*`` messages;
- :mod:`.vault`: the person's typed fields, sealed at rest;
- :mod:`.grantor`: the grantor's side (sign, seal, revoke, receipts) and helpers the other rooms use;
- :mod:`.requests`: a vendor's grant requests and the person's sharing rules;
- :mod:`.grantee`, :mod:`.holdings`: the grantee's side (hold, delete on time, answer for it);
- :mod:`.data`, :mod:`.api`: the local API's JSON views and routes.

Their SQL is in :mod:`amity.node.store.grants`; the audit log they write is
:mod:`amity.node.auditlog` (the terms service writes it too).
"""
