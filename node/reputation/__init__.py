"""Reputation: attestations made, shared and received, local trust, cut-off (spec/reputation.md).

- :mod:`.service`: the reputation service, routing ``reputation.*`` messages, with its one
  background loop (attest, re-evaluate, cut off, share);
- :mod:`.attesting`: the owner's own attestations (automatic from her grants, by hand, rebuttals);
- :mod:`.sharing`: which attestations go to which peer, by the owner's per-peer share policy;
- :mod:`.data`, :mod:`.api`: the local API's JSON views and routes.

The rules themselves (what the messages mean, automatic verdicts, selection, the cut-off gate,
the owner's policy) are in :mod:`amity.protocol.core.reputation`; their SQL is in
:mod:`amity.node.store.reputation`.
"""
