"""Fuzz targets of the VRM records: terms, policies, agreements, grants, receipts, reputation.

Also the vault's sealed fields, the audit chain, identity succession and the backup file; see
registry.py.
"""

from __future__ import annotations

from amity.protocol import (
    agreement,
    attestation,
    audit,
    backup,
    beacons,
    claims,
    delegation,
    delegationchain,
    delegationmessages,
    delivery,
    grants,
    identity,
    jws,
    keyring,
    loyalty,
    negotiation,
    policy,
    receipts,
    reputationmessages,
    sharing,
    succession,
    terms,
    termsmessages,
    things,
    thingtransfer,
    update,
    vault,
)
from amity.protocol.encoding import decode, encode
from amity.protocol.linkcert import LinkKey
from tests.fuzzing import context as ctx
from tests.fuzzing.context import hexes, inner, typed_body, typed_body_seeds, vectors
from tests.fuzzing.registry import Decoder, Targets

__all__ = ["record_targets"]


def record_targets() -> list[Decoder]:
    targets = Targets()
    add = targets.add

    # -- terms, policies, agreements -----------------------------------------------------------
    documents = hexes("terms", "terms_hex")
    add("terms.TermsDocument.decode", documents)(terms.TermsDocument.decode)

    def read_terms_body(d: bytes) -> object:
        found = typed_body(d)
        return (
            None if found is None else negotiation.received(termsmessages.decode_terms_body(*found))
        )

    add("termsmessages.decode_terms_body", typed_body_seeds("terms"), "negotiation.received")(
        read_terms_body
    )
    add("policy.decode_policy_summary", hexes("terms", "summary_hex"))(policy.decode_policy_summary)
    agreements = hexes("terms", "agreement_hex")
    add("agreement.Agreement.decode", agreements)(agreement.Agreement.decode)
    people = ctx.seeds_of("terms")
    person, vendor = ctx.identity(people["person"]), ctx.identity(people["vendor"])

    def resigned_agreement(d: bytes) -> object:
        return agreement.Agreement.decode(
            encode(
                [
                    d,
                    person.sign(agreement.AGREEMENT_DOMAIN, d),
                    vendor.sign(agreement.AGREEMENT_DOMAIN, d),
                ]
            )
        )

    add("agreement.Agreement.decode[resigned]", tuple(inner(a) for a in agreements[:1]))(
        resigned_agreement
    )
    agreement_signed = inner(agreements[0])
    add(
        "agreement.verify_agreement_signature",
        (person.sign(agreement.AGREEMENT_DOMAIN, agreement_signed) + agreement_signed,),
    )(lambda d: agreement.verify_agreement_signature(person.peer_id, d[64:], d[:64]))

    # -- grants, deliveries, claims, receipts, the vault, the audit log ------------------------
    grant_vector = vectors("grants", name="grant-typical")[0]
    grantor = ctx.identity(grant_vector["grantor_seed_hex"])
    grantee = ctx.peer(grant_vector["grantee_peer_id_hex"])
    grant_list = hexes("grants", "grant_hex")
    add("grants.Grant.decode", grant_list)(grants.Grant.decode)
    add("grants.open_grant", grant_list)(
        lambda d: grants.open_grant(d, grantor=grantor.peer_id, grantee=grantee, now_ms=ctx.NOW_MS)
    )
    add("grants.open_grant[resigned]", tuple(inner(g) for g in grant_list[:2]))(
        lambda d: grants.open_grant(
            ctx.resign(d, grants.GRANT_DOMAIN, grantor),
            grantor=grantor.peer_id,
            grantee=grantee,
            now_ms=ctx.NOW_MS,
        )
    )
    add("grants.read_signed", grant_list)(
        lambda d: grants.read_signed(d, "fuzz", arity=11, max_bytes=4096)
    )
    add("grants.read_body", hexes("grants", "body_hex", kind="request"))(
        lambda d: grants.read_body(d, "fuzz", arity=5, max_bytes=4096)
    )
    revocations = hexes("grants", "revocation_hex")
    add("grants.Revocation.decode", revocations)(grants.Revocation.decode)
    add("grants.Revocation.decode[resigned]", tuple(inner(r) for r in revocations[:1]))(
        lambda d: grants.Revocation.decode(ctx.resign(d, grants.REVOCATION_DOMAIN, grantor))
    )
    add("grants.decode_request", hexes("grants", "body_hex", kind="request"))(grants.decode_request)
    claim_list = hexes("grants", "claim_hex")
    add("claims.DerivedClaim.decode", claim_list)(claims.DerivedClaim.decode)
    add("claims.DerivedClaim.decode[resigned]", tuple(inner(c) for c in claim_list[:2]))(
        lambda d: claims.DerivedClaim.decode(ctx.resign(d, claims.CLAIM_DOMAIN, grantor))
    )
    delivery_vector = vectors("grants", name="delivery-typical")[0]
    delivery_link = LinkKey(bytes.fromhex(delivery_vector["link_seed_hex"]))

    def open_delivery(d: bytes) -> object:
        return delivery.open_delivery(
            d,
            grantor=grantor.peer_id,
            grantee=grantee,
            link_key=delivery_link,
            now_ms=ctx.NOW_MS,
        )

    deliveries = hexes("grants", "body_hex", kind="delivery")
    add("delivery.open_delivery", deliveries)(open_delivery)
    add("delivery.delivery_link_key", deliveries)(delivery.delivery_link_key)
    delivered = encode(
        [
            1,
            grant_list[0],
            [["email", "email", "alice@example.org"]],
            list(claim_list[:1]),
        ]
    )
    add("delivery.open_delivery[sealed]", (delivered,))(
        lambda d: open_delivery(
            encode([1, delivery_link.public, ctx.box_to(d, delivery_link.public)])
        )
    )
    add("delivery.open_sealed", deliveries)(
        lambda d: delivery.open_sealed(d, delivery_link, "fuzz")
    )
    # -- grant.update (spec/signals.md §2): the typical grant's values, sealed to the same key
    update_vector = vectors("signals", name="update-typical")[0]
    update_link = LinkKey(bytes.fromhex(update_vector["link_seed_hex"]))
    update_grant = grants.Grant.decode(bytes.fromhex(update_vector["grant_hex"]))

    def open_update(d: bytes) -> object:
        opened = update.open_update(d, link_key=update_link)
        opened.check_for(update_grant)
        return opened

    add(
        "update.open_update", hexes("signals", "body_hex", kind="update"), "update.Update.check_for"
    )(open_update)
    updated = encode(
        [
            1,
            update_grant.grant_id,
            1,
            update_vector["updated_ms"],
            [decode(bytes.fromhex(v)) for v in update_vector["values_hex"]],
            [bytes.fromhex(c) for c in update_vector["claims_hex"]],
        ]
    )
    add("update.open_update[sealed]", (updated,), "update.Update.check_for")(
        lambda d: open_update(encode([1, update_link.public, ctx.box_to(d, update_link.public)]))
    )
    receipt_list = hexes("receipts", "receipt_hex")
    receipt_vector = vectors("receipts", kind="receipt", error=None)[0]
    issuer = ctx.identity(receipt_vector["issuer_seed_hex"])
    subject = ctx.peer(receipt_vector["subject_peer_id_hex"])
    add("receipts.decode_receipt", receipt_list)(receipts.decode_receipt)
    add("receipts.open_receipt", receipt_list)(
        lambda d: receipts.open_receipt(d, issuer=issuer.peer_id, subject=subject)
    )
    add("receipts.open_receipt[resigned]", tuple(inner(r) for r in receipt_list[:4]))(
        lambda d: receipts.open_receipt(
            ctx.resign(d, receipts.RECEIPT_DOMAIN, issuer),
            issuer=issuer.peer_id,
            subject=subject,
        )
    )
    add("receipts.decode_holdings_query", hexes("receipts", "body_hex", kind="holdings-query"))(
        receipts.decode_holdings_query
    )
    add("vault.decode_field", hexes("grants", "field_hex", kind="field"))(vault.decode_field)
    seal_vector = vectors("grants", name="vault-seal-email")[0]
    vault_key = bytes.fromhex(seal_vector["key_hex"])
    add("vault.open_field", hexes("grants", "sealed_hex", kind="vault-seal"))(
        lambda d: vault.open_field(vault_key, d, name="email")
    )
    entries = tuple(vectors("audit", name="audit-chain-five")[0]["entries_hex"])
    entry_bytes = tuple(bytes.fromhex(e) for e in entries)
    add("audit.decode_entry", entry_bytes)(audit.decode_entry)

    def verify_chain(d: bytes) -> object:
        chain = ctx.list_of_bytes(d)
        return None if chain is None else audit.verify_chain(chain)

    add("audit.verify_chain", (encode(list(entry_bytes)),))(verify_chain)
    tokens = tuple(v["jws"] for v in vectors("audit", kind="signed-consent-receipt"))
    targets.text("audit.read_consent_receipt", tokens, "jws.verify_jws")(audit.read_consent_receipt)
    key = vectors("audit", kind="signed-consent-receipt")[0]["signer"]
    signer_key = identity.PeerId.from_did(key).key
    targets.text("jws.verify_jws_with_key", tokens)(
        lambda token: jws.verify_jws_with_key(token, signer_key)
    )

    # -- reputation ----------------------------------------------------------------------------
    attestations = hexes("reputation", "attestation_hex")
    attestation_vector = vectors("reputation", name="attestation-valid")[0]
    now_rep = attestation_vector["now_ms"]
    add("attestation.Attestation.decode", attestations)(
        lambda d: attestation.Attestation.decode(d, now_rep)
    )
    reputation_people = ctx.seeds_of("reputation")
    attester = ctx.identity(reputation_people[attestation_vector["attester"]])
    add(
        "attestation.Attestation.decode[resigned]",
        (bytes.fromhex(attestation_vector["signed_bytes_hex"]),),
    )(
        lambda d: attestation.Attestation.decode(
            ctx.resign(d, attestation.ATTESTATION_DOMAIN, attester), now_rep
        )
    )
    rebuttal_vector = vectors("reputation", name="rebuttal-valid")[0]
    answered = attestation.Attestation.decode(bytes.fromhex(attestation_vector["attestation_hex"]))
    add("attestation.Rebuttal.decode", hexes("reputation", "rebuttal_hex"))(
        lambda d: attestation.Rebuttal.decode(d, answered)
    )
    rebutter = ctx.identity(reputation_people[rebuttal_vector["rebutter"]])
    add(
        "attestation.Rebuttal.decode[resigned]",
        (bytes.fromhex(rebuttal_vector["signed_bytes_hex"]),),
    )(
        lambda d: attestation.Rebuttal.decode(
            ctx.resign(d, attestation.REBUTTAL_DOMAIN, rebutter), answered
        )
    )
    shares = hexes("reputation_messages", "body_hex", operation="share")
    share_now = vectors("reputation_messages", operation="share")[0]["now_ms"]
    owner = ctx.identity(ctx.seeds_of("reputation_messages")["bob"]).peer_id

    def read_share(d: bytes) -> object:
        share = reputationmessages.decode_share(d)
        for item in share.items:
            reputationmessages.read_item(item, share_now)
        return sharing.accept_share(
            share, owner=owner, now_ms=share_now, held_from_sender=0, max_from_sender=1000
        )

    add(
        "reputationmessages.decode_share",
        shares,
        "reputationmessages.read_item",
        "sharing.accept_share",
    )(read_share)
    add(
        "reputationmessages.decode_query",
        hexes("reputation_messages", "body_hex", operation="query"),
    )(reputationmessages.decode_query)
    add(
        "reputationmessages.decode_rebut",
        hexes("reputation_messages", "body_hex", operation="rebut"),
    )(lambda d: reputationmessages.decode_rebut(d, share_now))

    # -- identity succession -------------------------------------------------------------------
    add(
        "succession.RotationStatement.decode",
        hexes("succession", "statement_hex", operation="rotation"),
    )(succession.RotationStatement.decode)
    add(
        "succession.RevocationStatement.decode",
        hexes("succession", "statement_hex", operation="revocation"),
    )(succession.RevocationStatement.decode)
    revocation_vector = vectors("succession", operation="revocation", error=None)[0]
    revoker = ctx.identity(revocation_vector["seed_hex"])
    add(
        "succession.RevocationStatement.decode[resigned]",
        (inner(bytes.fromhex(revocation_vector["statement_hex"])),),
    )(
        lambda d: succession.RevocationStatement.decode(
            ctx.resign(d, succession.REVOCATION_DOMAIN, revoker)
        )
    )
    chains = [v for v in vectors("succession", operation="resolve_chain") if v["statements_hex"]]
    chain_start = ctx.peer(chains[0]["start_key_hex"])
    chain_at = chains[0]["at_ms"]

    def resolve(d: bytes) -> object:
        value = decode(d)
        if not (isinstance(value, list) and len(value) == 2):
            return None
        statements, revoked = (ctx.list_of_bytes(encode(part)) for part in value)
        if statements is None or revoked is None:
            return None
        return succession.resolve_chain(chain_start, statements, revoked, at_ms=chain_at)

    add(
        "succession.resolve_chain",
        tuple(
            encode(
                [
                    [bytes.fromhex(s) for s in v["statements_hex"]],
                    [bytes.fromhex(r) for r in v["revocations_hex"]],
                ]
            )
            for v in chains
            if v["start_key_hex"] == chains[0]["start_key_hex"]
        ),
    )(resolve)
    tomls = tuple(
        dict.fromkeys(v["policy_toml"] for v in ctx.VECTORS["terms"] if "policy_toml" in v)
    )
    targets.text("policy.parse_policy", tomls)(policy.parse_policy)
    # -- the link-key chain a node stores (spec/identity.md §6) ---------------------------------
    chains = tuple(
        bytes.fromhex(step["chain_hex"])
        for vector in vectors("identity", op="link_chain")
        for step in vector["steps"]
    )
    add("keyring.LinkChain.decode", chains)(keyring.LinkChain.decode)

    # -- support beacons (spec/beacons.md) ---------------------------------------------------------
    def read_beacon_body(d: bytes) -> object:
        found = typed_body(d, beacons.BEACON_TYPES)
        return None if found is None else beacons.decode_beacon_body(*found)

    add("beacons.decode_beacon_body", typed_body_seeds("beacons"))(read_beacon_body)

    # -- loyalty (spec/loyalty.md) -----------------------------------------------------------------
    add("loyalty.Declaration.decode", hexes("loyalty", "declaration_hex"))(
        loyalty.Declaration.decode
    )
    add("loyalty.LoyaltyRevocation.decode", hexes("loyalty", "revocation_hex"))(
        loyalty.LoyaltyRevocation.decode
    )

    # -- fourth parties (spec/delegation.md) --------------------------------------------------------
    add("delegation.Capability.decode", hexes("delegation", "capability_hex"))(
        delegation.Capability.decode
    )
    add("delegation.CapabilityRevocation.decode", hexes("delegation", "revocation_hex"))(
        delegation.CapabilityRevocation.decode
    )
    add("delegationchain.Act.decode", hexes("delegation", "act_hex"))(delegationchain.Act.decode)

    def read_delegation_body(d: bytes) -> object:
        found = typed_body(d, delegationmessages.TYPES)
        return None if found is None else delegationmessages.decode_body(*found)

    add("delegationmessages.decode_body", typed_body_seeds("delegation"))(read_delegation_body)
    for name, kind in (("offer", "delegate.offer"), ("act", "delegate.act"),
                       ("answer", "delegate.answer")):  # fmt: skip
        add(f"delegationmessages.decode_{name}", hexes("delegation", "body_hex", type=kind))(
            getattr(delegationmessages, f"decode_{name}")
        )
    add("delegationmessages.decode_delegated_delivery", hexes("delegation", "body_hex"))(
        delegationmessages.decode_delegated_delivery
    )

    # -- things she owns (spec/things.md) ---------------------------------------------------------
    add("things.ThingCard.decode", hexes("things", "card_hex"))(things.ThingCard.decode)
    thing_uris = tuple(v["uri"] for v in ctx.VECTORS["things"] if "uri" in v)
    targets.text("things.ThingCard.from_uri", thing_uris)(things.ThingCard.from_uri)
    add("thingtransfer.Transfer.decode", hexes("things", "transfer_hex"))(
        thingtransfer.Transfer.decode
    )
    add("thingtransfer.Sale.decode", hexes("things", "sale_hex"))(thingtransfer.Sale.decode)
    add("thingtransfer.decode_accept", hexes("things", "accept_body_hex"))(
        thingtransfer.decode_accept
    )
    handover = vectors("things", name="handover")[0]
    buyer_link = LinkKey(bytes.fromhex(handover["link_seed_hex"]))
    seller, buyer = (
        identity.PeerId(bytes.fromhex(handover[k])) for k in ("seller_hex", "buyer_hex")
    )

    def open_handover(d: bytes) -> object:
        return thingtransfer.open_handover(d, sender=seller, me=buyer, link_key=buyer_link)

    add("thingtransfer.open_handover", hexes("things", "body_hex"))(open_handover)
    plain = encode(  # its plaintext, sealed afresh for each input
        [
            1,
            *(bytes.fromhex(handover[k]) for k in ("transfer_hex", "card_hex", "thing_seed_hex")),
            [],
        ]
    )
    add("thingtransfer.open_handover[sealed]", (plain,))(
        lambda d: open_handover(encode([1, buyer_link.public, ctx.box_to(d, buyer_link.public)]))
    )

    # -- the backup file (spec/backup.md): its vectors' passphrase, cheap costs ----------------
    backups = vectors("backup")
    passphrase = backups[0]["passphrase"].encode()
    add("backup.open_backup", tuple(bytes.fromhex(v["file_hex"]) for v in backups))(
        lambda d: backup.open_backup(d, passphrase)
    )
    return targets.found
