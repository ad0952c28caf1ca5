"""Change once, everywhere: a vault field changed, so every live grant naming it is updated.

The person's node calls :func:`update_field` after she changed a field: each grant she issued
that names the field (or a derived claim of its type), is still live (not expired, not revoked,
not deleted by its grantee) and whose grantee is CONNECTED with a valid link key, gets a
``grant.update`` with the next version and every value the grant names, under the same grant.
The others get nothing, each with the reason, so that her software can say who was updated and
who was not. See spec/signals.md §2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from amity.protocol.claims import AGE_OVER, DERIVATIONS, DerivedClaim
from amity.protocol.core.grants.effects import Audit, Effect, SaveUpdate, Send
from amity.protocol.core.grants.grantor import Random, sources
from amity.protocol.core.grants.host import GrantsHost, Vault
from amity.protocol.errors import NodeError, UsageError, format_time_ms
from amity.protocol.grants import Grant
from amity.protocol.relationship import RelationshipState
from amity.protocol.update import MSG_UPDATE, seal_update
from amity.protocol.vault import Field

__all__ = ["IssuedRecord", "UpdateOutcome", "names_field", "update_field"]

_EPHEMERAL_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class IssuedRecord:
    """A grant we issued, as the update rule needs it: revoked? deleted by its grantee (a
    deletion receipt came back)? the newest version of its values sent (0: the delivery)."""

    grant: Grant
    revoked: bool
    deleted: bool
    version: int


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """What became of one grant naming the changed field: sent as ``version``, or not and why."""

    grant: Grant
    version: int | None
    why: str = ""


def names_field(grant: Grant, item: Field) -> bool:
    """Whether ``grant`` carries ``item``: by its name, or as a claim derived from its type."""
    return item.name in grant.fields or any(
        DERIVATIONS.get(name) is item.type for name in grant.fields
    )


def _why_not(host: GrantsHost, record: IssuedRecord, now_ms: int) -> str:
    grant = record.grant
    if record.revoked:
        return "revoked"
    if now_ms >= grant.not_after_ms:
        return f"expired at {format_time_ms(grant.not_after_ms)}"
    if record.deleted:
        return "deleted by the grantee (its deletion receipt came back)"
    agreement = host.agreement(grant.agreement_id)
    if agreement is not None and agreement.ended_ms is not None:
        return "its agreement ended with the relationship it was signed in"
    rel = host.relationship(grant.grantee)
    if rel is None or rel.state is not RelationshipState.CONNECTED:
        return "no relationship" if rel is None else f"the relationship is {rel.state.value}"
    card = rel.peer_card
    if card is None:
        return "its peer card has not come yet"
    cert = card.link_cert
    if not cert.not_before_ms <= now_ms < cert.not_after_ms:
        return "the link key on its card is not valid now; it gets a fresh one when it connects"
    return ""


def _claims(
    host: GrantsHost, grant: Grant, found: dict[str, Field], now_ms: int
) -> list[DerivedClaim]:
    claims = []
    for kind in (name for name in grant.fields if name in DERIVATIONS):
        try:
            claims.append(
                DerivedClaim.derive(
                    host.keyring.identity,
                    found[kind],
                    kind,
                    audience=grant.grantee,
                    grant_id=grant.grant_id,
                    at_ms=now_ms,
                )
            )
        except UsageError as exc:
            raise NodeError(f"cannot state {kind}: {exc.message}") from None
    return claims


def update_field(
    host: GrantsHost,
    issued: Iterable[IssuedRecord],
    changed: Field,
    *,
    now_ms: int,
    random: Random,
    vault: Vault | None = None,
) -> tuple[list[UpdateOutcome], list[Effect]]:
    """Send the next version of every live grant naming ``changed`` (already in the vault).

    ``issued`` is every grant the node issued (the driver reads them from its records). Returns
    one outcome per grant that names the field, and the effects of one commit.
    """
    outcomes: list[UpdateOutcome] = []
    done: list[Effect] = []
    for record in issued:
        grant = record.grant
        if not names_field(grant, changed):
            continue
        why = _why_not(host, record, now_ms)
        if not why and AGE_OVER in grant.fields:
            # The age an age-over claim states is in the delivered claim only, of which the
            # grantor keeps no copy: an update could not restate it.
            why = "it carries an age-over claim, which an update cannot restate; grant anew"
        found: dict[str, Field] = {}
        if not why:
            try:
                found = sources(vault or host.vault, grant.fields)
            except NodeError as exc:
                why = exc.message
        if why:
            outcomes.append(UpdateOutcome(grant, None, why))
            continue
        version = record.version + 1
        rel = host.relationship(grant.grantee)
        assert rel is not None and rel.peer_card is not None  # _why_not checked both
        fields = [found[name] for name in grant.fields if name not in DERIVATIONS]
        body = seal_update(
            grant,
            version,
            fields,
            _claims(host, grant, found, now_ms),
            updated_ms=now_ms,
            link_public=rel.peer_card.link_cert.link_public,
            ephemeral_private=random(_EPHEMERAL_BYTES),
        )
        peer, gid = grant.grantee, grant.grant_id
        done += [
            SaveUpdate(gid, version),
            Audit(
                "grant.updated",
                peer,
                gid,
                f"version {version}: {changed.name} changed; sealed update, {len(body)} bytes",
            ),
            Send(peer, MSG_UPDATE, body),
        ]
        outcomes.append(UpdateOutcome(grant, version))
    return outcomes, done
