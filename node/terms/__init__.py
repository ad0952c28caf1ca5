"""Terms: negotiating a terms document with a peer until both sign one agreement (spec/terms.md).

- :mod:`.service`: the terms service, carrying out amity.protocol.core.terms for this node;
- :mod:`.negotiations`: the book of negotiations and agreements, kept in the store;
- :mod:`.policyfile`: ``<home>/policy.toml``, the terms this node accepts, counters or rejects;
- :mod:`.data`: terms documents and agreements as files and JSON;
- :mod:`.api`: the local API routes.

Their SQL is in :mod:`amity.node.store.terms`, with every other table.
"""
