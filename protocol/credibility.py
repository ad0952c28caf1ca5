"""How far an owner takes each attester's word: credibility earned against her own verdicts.

EigenTrust trusts a peer's opinions as far as it trusts the peer: a vendor that served her well,
or a friend, passes her trust on to whomever it praises. A camouflaged collective exploits the
first (it serves her, then praises its colluders), spies the second (friends who praise the
clique). So the owner weighs each attester's testimony by a second number, its credibility
``r_i`` in [0, 1], learnt from how its verdicts agree with hers on the subjects both have judged
(feedback credibility, as in PeerTrust and EigenTrust++): 1 for herself; for a peer she vouches
for, 1 until it disagrees with her; for any other peer, 0 until it agrees with her. Credibility
only ever scales trust down: a peer with score 0 still weighs 0, whatever it agrees with.

Sans-IO; the same tallies give the same floats (sums in key order). See spec/reputation.md §4.8.
"""

from __future__ import annotations

from typing import Final, cast

import numpy as np

from amity.protocol.trustgraph import Floats, Ints, TrustGraph

__all__ = ["PRIOR", "SHARPNESS", "credibility"]

#: kappa: how many judgements of her own the prior (1 for a vouched peer, 0 otherwise) counts as.
PRIOR: Final = 1
#: gamma: the agreement ratio is cubed, so that a few disagreements cost a peer most of its weight.
SHARPNESS: Final = 3


def credibility(graph: TrustGraph, vouched: list[int], by_key: Ints | None) -> Floats:
    """``r_i`` per peer of ``graph`` (§4.8): the owner 1, every other peer from its agreement.

    For each subject ``j`` the owner has judged (honoured or breached), her opinion is
    ``o_j = (h - b) / (h + b)`` over her own attestations; an attester's is the same over its own.
    Each subject both judged adds ``1 - |o_j - a_ij| / 2`` to the attester's agreement ``A_i`` and
    1 to ``N_i``; then ``r_i = ((A_i + PRIOR * v_i) / (N_i + PRIOR)) ** SHARPNESS`` with ``v_i`` 1
    for a vouched peer and 0 otherwise. Pairs are summed in ``by_key`` order (slot order
    without it), so the floats are the same in every process.
    """
    n = len(graph.peers)
    owner = graph.index[graph.owner.key]
    honoured, breached = graph.counts[:, 0], graph.counts[:, 1]
    rated = honoured + breached
    src, dst = graph.src, graph.dst
    judged = rated.astype(np.bool_)
    mine = (judged & (src == owner)).nonzero()[0]
    opinion = np.zeros(n, dtype=np.float64)
    has_opinion = np.zeros(n, dtype=np.bool_)
    opinion[dst[mine]] = (honoured[mine] - breached[mine]) / rated[mine]
    has_opinion[dst[mine]] = True
    shared = judged & (src != owner) & has_opinion[dst]
    slots = shared.nonzero()[0] if by_key is None else by_key[shared[by_key]]
    theirs = (honoured[slots] - breached[slots]) / rated[slots]
    agree = 1.0 - np.absolute(opinion[dst[slots]] - theirs) / 2.0
    attesters = src[slots]
    agreement = cast(Floats, np.bincount(attesters, agree, n)) if len(slots) else np.zeros(n)
    judgements = np.bincount(attesters, minlength=n).astype(np.float64)
    prior = np.zeros(n, dtype=np.float64)
    prior[vouched] = float(PRIOR)
    ratio = (agreement + prior) / (judgements + float(PRIOR))
    result = ratio.copy()
    for _ in range(SHARPNESS - 1):  # as products, not pow: the same bits everywhere
        result *= ratio
    result[owner] = 1.0
    return result
