"""One story, two drivers of the node core: real daemons and the simulator answer alike.

Five parties: a person who uses a relay, an honest vendor, a vendor that keeps data it should
delete (``--misbehave keep-data``; ``keep_data`` in the simulator), a friend of hers, and the relay.
The story, one step at a time (each settles, every outbox empty, before the next):

1. the person meets the relay and uses it (her card names it);
2. meet: the vendor invites, she connects; agree: she offers #NoStalking terms (P2B1), the
   vendor's owner accepts;
3. grant: she grants her email for 5 s; the vendor reads it; it expires: the vendor deletes it
   and sends a deletion receipt; her node attests "honoured" by itself;
4. breach: the same with the breacher, who keeps the data and sends no receipt: once the grace
   (1 s) is over her node attests "breached";
5. the friend meets the breacher and they agree (she is its customer too);
6. she signs 70 more attestations, then shares her own with the friend: 72 attestations, more
   than one ``reputation.share`` holds (64), so two envelopes; the friend vouches for her;
7. cut-off: the friend's trust now cuts the breacher off, and a grant to it is refused with the
   reason (``local.cut_off``: a local decision, no message; compared as text); she ends the
   relationship (a signed rel.end);
8. relay: she goes offline, the vendor sends her a note; it cannot reach her, so it deposits the
   note at her relay; the vendor goes offline, she comes back: the relay hands the note over,
   she takes it (and dials the vendor once, in vain); the vendor comes back, dials her, its
   outbox resends, she answers the duplicate with an ACK.

Both drivers keep a ``core_trace``: each answer of the core (amity.protocol.core) they carried
out. Each answer is described (tests/simulations/coretrace.py: types, seqs, states, codes, ids
kept; keys, nonces, times, signatures reduced to their kind) and each peer replaced by its role.
The two worlds run on different clocks (the daemon's group commit, asyncio's interleaving, the
engine's virtual time), so answers are compared per node and per peer of the input, in order:
what a peer sends on a link arrives in the order it sent it, in both. ACK, REFUSE, DEPOSITED and
MAIL_ACK frames, though, answer the node's own frames as soon as the peer's commit is done, which
the daemon batches by time (one ACK frame may settle 1 or 3 envelopes) and interleaves with the
peer's own envelopes, and with each other, by timing: those answers are compared as their own
stream per peer and kind of frame answered, in order, each ACK split into one entry per seq.

The cut-off gate (protocol/core/reputation/cutoff.py) is one rule in both worlds: the refusal
each grants service gives, its reason (standing, evidence, threshold) included, must be the same
text once the breacher's did is replaced by its role.

Two differences between the worlds are by design and handled in the open: a daemon that goes
offline is stopped and started again, so it issues a fresh peer card and its peers note
"card-updated" at its next hello; the simulated node's cached card is dropped at the same point
(:func:`restarted`). And an accepted envelope's ``keep_body`` is not compared: it says whether
the host's inbox keeps the body, and the simulator keeps no inbox (coretrace.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from amity.simulations.crypto import CryptoMode
from tests.node.conftest import NodeFactory
from tests.simulations.crosscheck_daemons import daemon_story
from tests.simulations.crosscheck_sim import sim_story
from tests.simulations.crosscheck_story import Streams


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Streams, str]]:
    """The story told once by five real daemons: their traces, and what the cut-off said."""
    factory = NodeFactory(tmp_path_factory.mktemp("core-crosscheck"))
    try:
        yield daemon_story(factory)
    except BaseException:
        print(factory.logs())
        raise
    finally:
        factory.close()


# -- the comparison --------------------------------------------------------------------------------


def _diff(daemon: list[Any], sim: list[Any]) -> str:
    """Where two streams part, with a little context."""
    for i, (d, s) in enumerate(zip(daemon, sim, strict=False)):
        if d != s:
            return f"first difference at #{i}:\n  daemon: {d}\n  sim:    {s}"
    tail = daemon[len(sim) :] or sim[len(daemon) :]
    return f"one is longer: daemon {len(daemon)}, sim {len(sim)}; tail: {tail}"


def _accepted(streams_: Streams, node: str, peer: str, *, direct: bool = False) -> list[Any]:
    """The types of the envelopes ``node`` accepted from ``peer`` (or relayed by it), in order."""
    return [
        [e[1][0], e[5]] if direct else e[1][0]
        for effects in streams_[(node, peer)][0]
        for e in effects
        if e[0] == "Accepted"
    ]


def _kinds(streams_: Streams, node: str, peer: str) -> list[str]:
    return [e[0] for effects in streams_[(node, peer)][0] for e in effects]


def test_the_daemons_refuse_a_cut_off_vendor_with_the_reason(
    daemons: tuple[Streams, str],
) -> None:
    said = daemons[1]
    assert said.startswith("<breacher> is cut off by your reputation policy: ")
    assert said.endswith("[local.cut_off]")
    assert "standing -1.00" in said and "below your threshold" in said


@pytest.mark.parametrize("crypto", [CryptoMode.REAL, CryptoMode.STANDIN])
def test_the_simulator_answers_as_the_daemons_do(
    daemons: tuple[Streams, str], crypto: CryptoMode
) -> None:
    daemon = daemons[0]
    sim, sim_cut_off = sim_story(crypto)
    # The cut-off gate: the same refusal, reason and numbers included.
    assert sim_cut_off == daemons[1], f"daemon: {daemons[1]}\nsim:    {sim_cut_off}"
    # The story reached every part of the core it is about, on the daemons.
    assert _accepted(daemon, "friend", "person") == ["rel.hello"] + ["reputation.share"] * 2, (
        "the share bundle did not span two envelopes"
    )
    assert _accepted(daemon, "person", "vendor").count("grant.receipt") == 2  # delivery, deletion
    assert _accepted(daemon, "person", "breacher").count("grant.receipt") == 1  # delivery only
    assert _accepted(daemon, "breacher", "friend")[-1] == "rel.end"
    assert ["msg.note", False] in _accepted(daemon, "person", "relay", direct=True), "no relay mail"
    assert _kinds(daemon, "relay", "vendor") == ["Flush", "DepositAsked"]
    assert "Duplicate" in _kinds(daemon, "person", "vendor"), "no resend after the relay"
    problems = []
    for key in sorted(set(daemon) | set(sim)):
        d_main, d_answers = daemon.get(key, ([], []))
        s_main, s_answers = sim.get(key, ([], []))
        if d_main != s_main:
            problems.append(f"{key[0]} <- {key[1]}: {_diff(d_main, s_main)}")
        if d_answers != s_answers:
            problems.append(f"{key[0]} <- {key[1]} (answers): {_diff(d_answers, s_answers)}")
    assert not problems, "\n\n".join(problems)
