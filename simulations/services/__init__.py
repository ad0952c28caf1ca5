"""A simulated node's services, as the daemon's: ``terms`` (negotiations, with their records in
``negotiation_book``), ``grants`` (grantor and grantee) and ``reputation`` (attestations held,
shared and received, and local trust). Each keeps the daemon's rules on the engine's clock and in
memory; the node (``amity.simulations.node``) routes messages to them.
"""
