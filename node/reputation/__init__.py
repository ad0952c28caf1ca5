"""Reputation: attestations made, shared and received, local trust, cut-off (spec/reputation.md).

- :mod:`.service`: the reputation service, routing ``reputation.*`` messages, with its one
  background loop (attest, re-evaluate, cut off, share);
- :mod:`.attesting`: the owner's own attestations (automatic from her grants, by hand, rebuttals);
- :mod:`.sharing`: which attestations go to which peer, by the owner's per-peer share policy;
- :mod:`.policy`: the owner's policy: when a peer is cut off, what happens then, how attesting goes;
- :mod:`.data`, :mod:`.api`: the local API's JSON views and routes.

Their SQL is in :mod:`amity.node.store.reputation`.
"""
