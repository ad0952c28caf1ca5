"""The reputation service's rules, shared by the daemon and the simulator (sans-IO).

- :mod:`.messages`: what ``reputation.share``, ``reputation.query`` and ``reputation.rebut`` mean;
- :mod:`.attesting`: automatic attestations from the grants the node issued;
- :mod:`.selection`: which held attestations go to a peer now (share policy, rate);
- :mod:`.cutoff`: the cut-off gate (who is cut off, what a cut-off peer is refused);
- :mod:`.commands`: what the owner asks, checked once (a rebuttal);
- :mod:`.policy`: the owner's reputation policy;
- :mod:`.host`, :mod:`.effects`: what the rules read of the node, and what they ask it to do.

The drivers (:mod:`amity.node.reputation`, :mod:`amity.simulations.services.reputation`) store,
time, audit and publish. See spec/reputation.md §6.
"""
