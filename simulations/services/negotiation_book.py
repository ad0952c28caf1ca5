"""The negotiation records of one simulated node: open ones as they are, finished ones packed.

The daemon keeps its negotiations in SQLite; the simulator keeps them in memory, where a large
run holds hundreds of thousands of finished ones that are rarely read again (a late message that
crossed ours, a grant that cites the agreement). A finished record is kept as references to the
run's shared peer id, terms and reasons and one ``bytes`` of its other fields. Its agreement is
not kept at all: the signed part is a function of the record (``agreement_signed_bytes`` of its
terms, parties, id and ``proposed_ms``), so only the two signatures are, and reading the record
builds the same agreement again, byte for byte. A record that would not come back equal to what
was stored is kept as it is, so reading one always gives what the core persisted.

The book also keeps, beside the records, which of them carry an agreement (by peer and by
agreement id): the services ask "whom do I hold an agreement with" and "which agreements with this
peer" on every grant and every trust computation, and unpacking every record to answer would cost
more than all the messages of a run.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, MutableMapping
from typing import Final

from amity.protocol.agreement import Agreement, agreement_signed_bytes
from amity.protocol.encoding import encode
from amity.protocol.errors import AmityError
from amity.protocol.identity import PeerId
from amity.protocol.negotiation import OPEN_STATES, Negotiation, NegotiationState, Party
from amity.protocol.terms import TermsDocument
from amity.protocol.termsmessages import RejectReason

__all__ = ["NegotiationBook"]

#: flags, state, proposed_ms, expires_ms, created_ms, since_ms, rounds, timers_armed; then the
#: optional byte strings, each as one length byte (_ABSENT for None) and its bytes.
_HEAD: Final = struct.Struct("<BBqqqqHH")
_ABSENT: Final = 255
_STATES: Final = tuple(NegotiationState)
_WE_ARE_PERSON: Final = 1
_PROPOSED_LOCALLY: Final = 2
#: The proposal signature is the agreement's person or vendor signature (kept once).
_SIG_IS_PERSONS: Final = 4
_SIG_IS_VENDORS: Final = 8


class _Settled:
    """A finished negotiation: the run's shared values by reference, the rest in ``packed``."""

    __slots__ = ("packed", "peer", "reasons", "terms")

    def __init__(
        self, peer: PeerId, terms: TermsDocument, reasons: tuple[RejectReason, ...], packed: bytes
    ) -> None:
        self.peer = peer
        self.terms = terms
        self.reasons = reasons
        self.packed = packed


class NegotiationBook(MutableMapping[bytes, Negotiation]):
    """negotiation id -> record, in the order first stored, as a dict would hold them."""

    __slots__ = ("_agreed", "_by_agreement", "_own", "_records")

    def __init__(self, own: PeerId) -> None:
        #: This node's peer id: one of the two parties of every record.
        self._own = own
        self._records: dict[bytes, Negotiation | _Settled] = {}
        #: peer -> ids of the negotiations with it that carry an agreement, in the order stored.
        self._agreed: dict[PeerId, list[bytes]] = {}
        #: agreement id -> the id of the negotiation that carries it.
        self._by_agreement: dict[bytes, bytes] = {}

    def __getitem__(self, negotiation_id: bytes) -> Negotiation:
        record = self._records[negotiation_id]
        if isinstance(record, Negotiation):
            return record
        return _unpack(negotiation_id, record, self._own)

    def __setitem__(self, negotiation_id: bytes, negotiation: Negotiation) -> None:
        settled = _pack(negotiation)
        if settled is not None:
            try:
                same = _unpack(negotiation_id, settled, self._own) == negotiation
            except AmityError:  # e.g. an agreement the core itself would not sign
                same = False
            if not same:
                settled = None
        agreement = negotiation.agreement
        indexed = self._indexed_agreement(negotiation_id)
        if indexed is not None and (agreement is None or agreement.agreement_id != indexed):
            self._unindex(negotiation_id, indexed)
            indexed = None
        self._records[negotiation_id] = negotiation if settled is None else settled
        if agreement is not None and indexed is None:
            self._agreed.setdefault(negotiation.peer, []).append(negotiation_id)
            self._by_agreement[agreement.agreement_id] = negotiation_id

    def __delitem__(self, negotiation_id: bytes) -> None:
        indexed = self._indexed_agreement(negotiation_id)
        if indexed is not None:
            self._unindex(negotiation_id, indexed)
        del self._records[negotiation_id]

    def _indexed_agreement(self, negotiation_id: bytes) -> bytes | None:
        """The id of the agreement the record ``negotiation_id`` holds now, if any."""
        record = self._records.get(negotiation_id)
        if record is None or negotiation_id not in self._agreed.get(record.peer, ()):
            return None
        agreement = self[negotiation_id].agreement
        assert agreement is not None  # indexed because it carries one
        return agreement.agreement_id

    def _unindex(self, negotiation_id: bytes, agreement_id: bytes) -> None:
        peer = self._records[negotiation_id].peer
        ids = self._agreed[peer]
        ids.remove(negotiation_id)
        if not ids:
            del self._agreed[peer]
        del self._by_agreement[agreement_id]

    def agreed_peers(self) -> Iterator[PeerId]:
        """The peers some negotiation reached an agreement with."""
        return iter(self._agreed)

    def agreements_with(self, peer: PeerId) -> list[Agreement]:
        """The agreements reached with ``peer``, in the order their negotiations were stored."""
        agreements = []
        for nid in self._agreed.get(peer, ()):
            agreement = self[nid].agreement
            assert agreement is not None  # indexed because it carries one
            agreements.append(agreement)
        return agreements

    def by_agreement(self, agreement_id: bytes) -> Negotiation | None:
        """The negotiation that reached the agreement ``agreement_id``, if any."""
        nid = self._by_agreement.get(agreement_id)
        return None if nid is None else self[nid]

    def has_peer(self, peer: PeerId) -> bool:
        """Whether any negotiation here is with ``peer``."""
        return any(record.peer == peer for record in self._records.values())

    def __contains__(self, negotiation_id: object) -> bool:
        return negotiation_id in self._records

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def _pack(neg: Negotiation) -> _Settled | None:
    """``neg`` packed, or None if it is open or has a field the packed form does not hold."""
    if neg.state in OPEN_STATES or neg.timer_token is not None or neg.timer_at_ms is not None:
        return None
    if not isinstance(neg.proposal_sig, bytes):
        return None
    flags = _WE_ARE_PERSON if neg.we_are is Party.PERSON else 0
    if neg.proposed_by == "local":
        flags |= _PROPOSED_LOCALLY
    signature: bytes | None = neg.proposal_sig
    signatures: list[bytes | None] = [None, None]
    if neg.agreement is not None:
        signatures = [neg.agreement.person_sig, neg.agreement.vendor_sig]
        if signature == signatures[0]:
            flags, signature = flags | _SIG_IS_PERSONS, None
        elif signature == signatures[1]:
            flags, signature = flags | _SIG_IS_VENDORS, None
    tail = [signature, neg.previous_agreement_id, neg.prior_terms_id, *signatures]
    if any(part is not None and len(part) >= _ABSENT for part in tail):
        return None
    if not (0 <= neg.rounds <= 0xFFFF and 0 <= neg.timers_armed <= 0xFFFF):
        return None
    try:
        head = _HEAD.pack(
            flags,
            _STATES.index(neg.state),
            neg.proposed_ms,
            neg.expires_ms,
            neg.created_ms,
            neg.since_ms,
            neg.rounds,
            neg.timers_armed,
        )
    except struct.error:  # a time outside 64 bits: keep the record as it is
        return None
    packed = bytearray(head)
    for part in tail:
        if part is None:
            packed.append(_ABSENT)
        else:
            packed.append(len(part))
            packed += part
    return _Settled(neg.peer, neg.terms, neg.reasons, bytes(packed))


def _unpack(negotiation_id: bytes, settled: _Settled, own: PeerId) -> Negotiation:
    packed = settled.packed
    flags, state, proposed_ms, expires_ms, created_ms, since_ms, rounds, armed = _HEAD.unpack_from(
        packed
    )
    tail: list[bytes | None] = []
    at = _HEAD.size
    while at < len(packed):
        size = packed[at]
        if size == _ABSENT:
            tail.append(None)
            at += 1
        else:
            tail.append(packed[at + 1 : at + 1 + size])
            at += 1 + size
    signature, previous, prior, person_sig, vendor_sig = tail
    we_are = Party.PERSON if flags & _WE_ARE_PERSON else Party.VENDOR
    person, vendor = (own, settled.peer) if we_are is Party.PERSON else (settled.peer, own)
    agreement = None
    if person_sig is not None and vendor_sig is not None:
        signed = agreement_signed_bytes(settled.terms, person, vendor, negotiation_id, proposed_ms)
        agreement = Agreement(
            terms=settled.terms,
            person=person,
            vendor=vendor,
            negotiation_id=negotiation_id,
            agreed_ms=proposed_ms,
            signed_bytes=signed,
            person_sig=person_sig,
            vendor_sig=vendor_sig,
            encoded=encode([signed, person_sig, vendor_sig]),
        )
        if flags & _SIG_IS_PERSONS:
            signature = person_sig
        elif flags & _SIG_IS_VENDORS:
            signature = vendor_sig
    assert signature is not None
    return Negotiation(
        negotiation_id=negotiation_id,
        we_are=we_are,
        person=person,
        vendor=vendor,
        state=_STATES[state],
        terms=settled.terms,
        proposed_by="local" if flags & _PROPOSED_LOCALLY else "peer",
        proposed_ms=proposed_ms,
        proposal_sig=signature,
        expires_ms=expires_ms,
        rounds=rounds,
        created_ms=created_ms,
        since_ms=since_ms,
        previous_agreement_id=previous,
        prior_terms_id=prior,
        agreement=agreement,
        reasons=settled.reasons,
        timer_token=None,
        timer_at_ms=None,
        timers_armed=armed,
    )
