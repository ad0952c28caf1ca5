"""The amity error tree: every failure the protocol core reports. See spec/errors.md.

Each class carries a stable string ``code`` that spec/errors.md lists and that negative test vectors
name. As in h11, a :class:`LocalError` means *our caller* broke the rules (a bug or misuse on this
side); a :class:`RemoteError` means *the peer* sent something we refuse, and may carry a hint of
what to answer. Decoders and verifiers raise nothing but :class:`AmityError` subclasses, whatever
the input.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

__all__ = [
    "AmityError",
    "LocalError",
    "RemoteError",
    "UsageError",
    "StateError",
    "ScenarioError",
    "SimulationStuckError",
    "BackupError",
    "BeaconError",
    "BeaconUnknownError",
    "BeaconClosedError",
    "BeaconFloodError",
    "LoyaltyError",
    "LoyaltySignatureError",
    "LoyaltyPartyError",
    "LoyaltyUnknownError",
    "DelegationError",
    "DelegationSignatureError",
    "DelegationPartyError",
    "DelegationWidenedError",
    "DelegationExpiredError",
    "DelegationRevokedError",
    "DelegationScopeError",
    "DelegationUnknownError",
    "BackupDamagedError",
    "BackupPassphraseError",
    "NodeError",
    "NotFoundError",
    "WebhookError",
    "WebhookMalformedError",
    "WebhookSignatureError",
    "WebhookStaleError",
    "WebhookSecretError",
    "EncodingError",
    "MalformedError",
    "NonCanonicalError",
    "TooLargeError",
    "SchemaError",
    "IdentityError",
    "BadKeyError",
    "BadDidError",
    "CertificateError",
    "CertificateSignatureError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "SuccessionError",
    "SuccessionSignatureError",
    "SuccessionChainError",
    "ForkError",
    "KeyRevokedError",
    "EnvelopeError",
    "UnsupportedVersionError",
    "BadSignatureError",
    "WrongRecipientError",
    "WrongSenderError",
    "WrongTypeError",
    "ReplayError",
    "DuplicateError",
    "SequenceTooOldError",
    "TimestampSkewError",
    "SealError",
    "SealDecryptError",
    "SealKeyError",
    "SealPaddingError",
    "TicketError",
    "TicketPeerError",
    "TicketExpiredError",
    "TicketSignatureError",
    "NoiseError",
    "NoiseDecryptError",
    "NoiseMessageError",
    "NoiseNonceExhaustedError",
    "SessionError",
    "SessionPayloadError",
    "SessionIdentityError",
    "CardError",
    "CardSignatureError",
    "CardExpiredError",
    "CardUriError",
    "ThingError",
    "ThingSignatureError",
    "ThingUriError",
    "ThingPartyError",
    "ThingUnknownError",
    "RelationshipError",
    "UnknownPeerError",
    "InvitationSpentError",
    "IllegalTransitionError",
    "VaultError",
    "FieldValueError",
    "VaultDecryptError",
    "GrantError",
    "GrantSignatureError",
    "GrantPartyError",
    "GrantExpiredError",
    "GrantFieldsError",
    "NoGrantError",
    "UpdateReplayedError",
    "UpdateStaleError",
    "AuditError",
    "AuditChainError",
    "JwsError",
    "PolicyError",
    "TermsError",
    "UnknownVocabularyError",
    "UnknownClauseError",
    "BadParameterError",
    "DuplicateClauseError",
    "ClauseOrderError",
    "NegotiationError",
    "NegotiationTransitionError",
    "RoundLimitError",
    "TermsMismatchError",
    "DeadlineError",
    "AgreementError",
    "AgreementSignatureError",
    "AgreementHashError",
    "AttestationError",
    "AttestationSignatureError",
    "StrangerError",
    "AttestationExpiredError",
    "AttestationClauseError",
    "RebuttalMismatchError",
    "ReputationQuotaError",
    "UnknownAttestationError",
    "CutOffError",
    "IntentError",
    "IntentSignatureError",
    "UnknownCategoryError",
    "IntentConstraintError",
    "IntentExpiredError",
    "IntentReplayError",
    "UnknownIntentError",
    "TermsNotCountersignedError",
    "DuplicateOfferError",
    "OfferCapError",
    "IntentRateError",
    "IntentQuotaError",
    "BadWorkError",
    "NotAPeerHubError",
    "all_error_classes",
    "format_time_ms",
]


class AmityError(Exception):
    """Root of every error amity raises on purpose."""

    code: ClassVar[str] = "amity.error"
    #: What a peer should be told when this error is raised on its input (None: say nothing).
    hint: str | None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class LocalError(AmityError):
    """Our own caller broke a rule (wrong argument, wrong state): a bug on this side."""

    code = "local.error"


class RemoteError(AmityError):
    """Input from a peer was refused: malformed, forged, replayed, expired or out of place."""

    code = "remote.error"


class UsageError(LocalError):
    """An argument given to the core is out of range or of the wrong kind."""

    code = "local.usage"


class NodeError(LocalError):
    """What the owner asked the node cannot be done (not connected, no endpoint…); says why."""

    code = "local.node"


class NotFoundError(NodeError):
    """The owner named something (a negotiation, an agreement, a grant) the node does not have."""

    code = "local.not_found"


class BackupError(LocalError):
    """A backup file cannot be read (spec/backup.md)."""

    code = "local.backup"


class BackupDamagedError(BackupError):
    code = "local.backup_damaged"


class BackupPassphraseError(BackupError):
    code = "local.backup_passphrase"


class ScenarioError(UsageError):
    """A simulation scenario file breaks a rule; the message names the file and the key."""

    code = "local.scenario"


class SimulationStuckError(LocalError):
    """A simulated world stopped making progress (a message resent forever); says what is stuck."""

    code = "local.simulation_stuck"


class StateError(LocalError):
    """An operation was asked of an object in a state that does not allow it."""

    code = "local.state"


# -- encoding (spec/encoding.md) -------------------------------------------------------------------


class EncodingError(RemoteError):
    code = "encoding.error"


class MalformedError(EncodingError):
    """The bytes are not msgpack at all, or are truncated, or carry trailing bytes."""

    code = "encoding.malformed"


class NonCanonicalError(EncodingError):
    """Valid msgpack, but not the one canonical encoding of its value (or a forbidden type)."""

    code = "encoding.non_canonical"


class TooLargeError(EncodingError):
    """A message, field, array or nesting depth exceeds its limit."""

    code = "encoding.too_large"


class SchemaError(EncodingError):
    """Well-formed values of the wrong shape: wrong arity, wrong field type, bad length."""

    code = "encoding.schema"


# -- identity (spec/identity.md) -------------------------------------------------------------------


class IdentityError(RemoteError):
    code = "identity.error"


class BadKeyError(IdentityError):
    """A public key is not a usable Ed25519 / X25519 key (wrong length, low order point)."""

    code = "identity.bad_key"


class BadDidError(IdentityError):
    """A did:key string does not parse or is not an Ed25519 key."""

    code = "identity.bad_did"


class CertificateError(IdentityError):
    code = "cert.error"


class CertificateSignatureError(CertificateError):
    code = "cert.bad_signature"


class CertificateExpiredError(CertificateError):
    code = "cert.expired"


class CertificateNotYetValidError(CertificateError):
    code = "cert.not_yet_valid"


class SuccessionError(IdentityError):
    code = "succession.error"


class SuccessionSignatureError(SuccessionError):
    code = "succession.bad_signature"


class SuccessionChainError(SuccessionError):
    """A rotation statement does not continue from the key it claims to succeed."""

    code = "succession.broken_chain"


class ForkError(SuccessionError):
    """One key signed two different rotations: it is compromised; trust neither branch."""

    code = "succession.fork"


class KeyRevokedError(SuccessionError):
    """The key was declared revoked by a valid revocation statement."""

    code = "succession.revoked"


# -- envelope and replay (spec/envelope.md, spec/replay.md) ----------------------------------------


class EnvelopeError(RemoteError):
    code = "envelope.error"


class UnsupportedVersionError(RemoteError):
    """A structure names a protocol version this implementation does not speak."""

    code = "version.unsupported"


class BadSignatureError(EnvelopeError):
    code = "envelope.bad_signature"


class WrongRecipientError(EnvelopeError):
    code = "envelope.wrong_recipient"


class WrongSenderError(EnvelopeError):
    """A validly signed envelope arrived over a session with someone other than its signer."""

    code = "envelope.wrong_sender"


class WrongTypeError(EnvelopeError):
    code = "envelope.wrong_type"


class ReplayError(RemoteError):
    code = "replay.error"


class DuplicateError(ReplayError):
    code = "replay.duplicate"


class SequenceTooOldError(ReplayError):
    code = "replay.too_old"


class TimestampSkewError(ReplayError):
    """The envelope's timestamp is outside the accepted window (expired, or from the future)."""

    code = "replay.expired"


# -- sealed mail (spec/sealed.md) ------------------------------------------------------------------


class SealError(RemoteError):
    code = "seal.error"


class SealDecryptError(SealError):
    code = "seal.decrypt_failed"


class SealKeyError(SealError):
    """Sealed mail addressed to another node, or to a link key this node does not hold."""

    code = "seal.wrong_key"


class SealPaddingError(SealError):
    """Sealed mail decrypted, but its plaintext is not a padded envelope (spec/sealed.md §2.1)."""

    code = "seal.bad_padding"


# -- deposit tickets (spec/relay.md §6) ------------------------------------------------------------


class TicketError(RemoteError):
    code = "ticket.error"


class TicketPeerError(TicketError):
    """A ticket names another recipient or another sender than the deposit it came with."""

    code = "ticket.wrong_peer"


class TicketExpiredError(TicketError):
    code = "ticket.expired"


class TicketSignatureError(TicketError):
    """A ticket's signature does not verify under the recipient's key."""

    code = "ticket.bad_signature"


# -- Noise and sessions (spec/session.md) ----------------------------------------------------------


class NoiseError(RemoteError):
    code = "noise.error"


class NoiseDecryptError(NoiseError):
    code = "noise.decrypt_failed"


class NoiseMessageError(NoiseError):
    """A handshake message has the wrong length or arrives out of turn."""

    code = "noise.bad_message"


class NoiseNonceExhaustedError(NoiseError):
    code = "noise.nonce_exhausted"


class SessionError(RemoteError):
    code = "session.error"


class SessionPayloadError(SessionError):
    code = "session.bad_payload"


class SessionIdentityError(SessionError):
    """The handshake proved a key other than the one expected, or the link key is not certified."""

    code = "session.identity_mismatch"


# -- cards and invitations (spec/card.md) ----------------------------------------------------------


class CardError(RemoteError):
    code = "card.error"


class CardSignatureError(CardError):
    code = "card.bad_signature"


class CardExpiredError(CardError):
    code = "card.expired"


class CardUriError(CardError):
    code = "card.bad_uri"


# -- things she owns (spec/things.md) -------------------------------------------------------------


class ThingError(RemoteError):
    code = "thing.error"


class ThingSignatureError(ThingError):
    code = "thing.bad_signature"


class ThingUriError(ThingError):
    code = "thing.bad_uri"


class ThingPartyError(ThingError):
    code = "thing.wrong_party"


class ThingUnknownError(ThingError):
    code = "thing.unknown"


# -- support beacons (spec/beacons.md) ------------------------------------------------------------


class BeaconError(RemoteError):
    code = "beacon.error"


class BeaconUnknownError(BeaconError):
    code = "beacon.unknown"


class BeaconClosedError(BeaconError):
    code = "beacon.closed"


class BeaconFloodError(BeaconError):
    code = "beacon.flood"


# -- loyalty (spec/loyalty.md) --------------------------------------------------------------------


class LoyaltyError(RemoteError):
    code = "loyalty.error"


class LoyaltySignatureError(LoyaltyError):
    code = "loyalty.bad_signature"


class LoyaltyPartyError(LoyaltyError):
    code = "loyalty.wrong_party"


class LoyaltyUnknownError(LoyaltyError):
    code = "loyalty.unknown"


# -- CRM webhooks (spec/webhooks.md) ----------------------------------------------------------------


class WebhookError(RemoteError):
    """A request a webhook receiver got is not one a node sent (spec/webhooks.md §4)."""

    code = "webhook.error"


class WebhookMalformedError(WebhookError):
    code = "webhook.malformed"


class WebhookSignatureError(WebhookError):
    code = "webhook.bad_signature"


class WebhookStaleError(WebhookError):
    code = "webhook.stale"


class WebhookSecretError(LocalError):
    """A webhook secret that is not ``whsec_`` + base64 of 24 to 64 bytes."""

    code = "local.webhook_secret"


# -- fourth parties: delegation (spec/delegation.md) ----------------------------------------------


class DelegationError(RemoteError):
    code = "delegate.error"


class DelegationSignatureError(DelegationError):
    """A capability, act or revocation not signed by the key it names: a forged delegation."""

    code = "delegate.bad_signature"


class DelegationPartyError(DelegationError):
    """A chain that does not start with her own capability, or an act or message from someone
    else than the one the chain names."""

    code = "delegate.wrong_party"


class DelegationWidenedError(DelegationError):
    """A link of a chain that is not a narrower capability under the one before it."""

    code = "delegate.widened"


class DelegationExpiredError(DelegationError):
    code = "delegate.expired"


class DelegationRevokedError(DelegationError):
    code = "delegate.revoked"


class DelegationScopeError(DelegationError):
    """An act the capability does not cover: a field, a purpose, the days, the vendor's standing."""

    code = "delegate.out_of_scope"


class DelegationUnknownError(DelegationError):
    """An answer or revocation about a capability or act this node does not hold."""

    code = "delegate.unknown"


# -- relationships (spec/relationship.md) ----------------------------------------------------------


class RelationshipError(RemoteError):
    code = "relationship.error"


class UnknownPeerError(RelationshipError):
    """A message from a node we have no relationship with (and no invitation it redeems)."""

    code = "relationship.unknown_peer"


class InvitationSpentError(RelationshipError):
    """A hello redeeming an invitation that someone else already used, or that expired or was
    withdrawn: refused at once, so that the one who holds it learns why."""

    code = "relationship.invitation_spent"


class IllegalTransitionError(RelationshipError):
    """An event that the relationship's current state does not accept."""

    code = "relationship.illegal_transition"


# -- vault, grants and receipts (spec/grants.md) --------------------------------------------------


class VaultError(RemoteError):
    code = "vault.error"


class FieldValueError(VaultError):
    """A vault field's name, type or value breaks its type's rules (a phone not in E.164, …)."""

    code = "vault.bad_value"


class VaultDecryptError(VaultError):
    """A sealed vault field does not open with this key (tampered, or another node's store)."""

    code = "vault.decrypt_failed"


class GrantError(RemoteError):
    code = "grants.error"


class GrantSignatureError(GrantError):
    """A grant, revocation, derived claim or receipt does not verify against its signer."""

    code = "grants.bad_signature"


class GrantPartyError(GrantError):
    """A validly signed grant structure names a grantor or grantee other than the expected one."""

    code = "grants.wrong_party"


class GrantExpiredError(GrantError):
    """A grant is used at or after its not_after_ms."""

    code = "grants.expired"


class GrantFieldsError(GrantError):
    """A delivery's values and claims are not exactly the fields its grant names."""

    code = "grants.field_mismatch"


class NoGrantError(GrantError):
    """A field was asked for that no live grant covers (for that purpose)."""

    code = "grants.no_grant"


class UpdateReplayedError(GrantError):
    """A grant.update carries the version the grantee already holds (a replay, not news)."""

    code = "grants.update_replayed"


class UpdateStaleError(GrantError):
    """A grant.update carries a version older than the one the grantee already holds."""

    code = "grants.update_stale"


class AuditError(RemoteError):
    code = "audit.error"


class JwsError(AuditError):
    """A JWS (a signed consent receipt) that is malformed, unsupported or does not verify."""

    code = "audit.bad_jws"


class AuditChainError(AuditError):
    """An audit log entry was edited, removed, inserted or reordered."""

    code = "audit.broken_chain"


# -- terms and agreements (spec/terms.md) ---------------------------------------------------------


class PolicyError(LocalError):
    """A vendor policy (TOML) breaks a rule of spec/terms.md §5; ``line`` and ``field`` say where."""

    code = "local.policy"
    #: 1-based line of the policy text, when known.
    line: int | None
    #: Dotted path of the offending key (``clause.amity.delete-on-end.days``), when known.
    field: str | None

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (f"line {line}" if line else "", f"field {field}" if field else "")
            if part
        )
        super().__init__(f"policy {where}: {message}" if where else f"policy: {message}", hint=hint)
        self.line = line
        self.field = field


class TermsError(RemoteError):
    code = "terms.error"


class UnknownVocabularyError(TermsError):
    """A terms document or policy names a vocabulary version this node does not know."""

    code = "terms.unknown_vocabulary"


class UnknownClauseError(TermsError):
    """A clause id that the document's vocabulary version does not define."""

    code = "terms.unknown_clause"


class BadParameterError(TermsError):
    """A clause's parameters are of the wrong number, type or range for its vocabulary entry."""

    code = "terms.bad_parameter"


class DuplicateClauseError(TermsError):
    code = "terms.duplicate_clause"


class ClauseOrderError(TermsError):
    """Clauses are not in ascending order of clause id (the one canonical order)."""

    code = "terms.clause_order"


class NegotiationError(RemoteError):
    code = "negotiation.error"


class NegotiationTransitionError(NegotiationError):
    """A peer's terms message that the negotiation's current state (or turn) does not accept."""

    code = "negotiation.illegal_transition"


class RoundLimitError(NegotiationError):
    """A counter-offer beyond the limit of offers and counters in one negotiation."""

    code = "negotiation.round_limit"


class TermsMismatchError(NegotiationError):
    """An accept, reject or withdraw names terms other than the ones on the table."""

    code = "negotiation.terms_mismatch"


class DeadlineError(NegotiationError):
    """An offer's times are impossible: already past, too far ahead, or dated in the future."""

    code = "negotiation.bad_deadline"


class AgreementError(RemoteError):
    code = "agreement.error"


class AgreementSignatureError(AgreementError):
    """A party's signature over an agreement (or over an offer's agreement bytes) does not verify."""

    code = "agreement.bad_signature"


class AgreementHashError(AgreementError):
    """An agreement's terms id is not the hash of the terms document it embeds."""

    code = "agreement.terms_mismatch"


# -- attestations and rebuttals (spec/reputation.md) ----------------------------------------------


class AttestationError(RemoteError):
    code = "attestation.error"


class AttestationSignatureError(AttestationError):
    """An attestation's attester signature, or a rebuttal's subject signature, does not verify."""

    code = "attestation.bad_signature"


class StrangerError(AttestationError):
    """The attester and subject are not the two parties of the agreement the attestation carries."""

    code = "attestation.stranger"


class AttestationExpiredError(AttestationError):
    """An attestation is read at or after its expires_ms."""

    code = "attestation.expired"


class AttestationClauseError(AttestationError):
    """An attestation names a clause that the agreement's terms do not contain."""

    code = "attestation.unknown_clause"


class RebuttalMismatchError(AttestationError):
    """A rebuttal names another attestation, or is signed by someone other than its subject."""

    code = "attestation.rebuttal_mismatch"


class ReputationQuotaError(RemoteError):
    """A peer shared more attestations than this node keeps from any one peer."""

    code = "reputation.quota"


class UnknownAttestationError(RemoteError):
    """A rebuttal arrived for an attestation this node does not hold."""

    code = "reputation.unknown_attestation"


class CutOffError(NodeError):
    """The owner's reputation policy cuts this peer off: no new grants to it."""

    code = "local.cut_off"


# -- intentcasting (spec/intents.md) ----------------------------------------------------------------


class IntentError(RemoteError):
    code = "intent.error"


class IntentSignatureError(IntentError):
    """An intent, offer, accept, reveal, withdraw or receipt does not verify against its signer."""

    code = "intent.bad_signature"


class UnknownCategoryError(IntentError):
    """A category that the named taxonomy version does not list and that is not an extension."""

    code = "intent.unknown_category"


class IntentConstraintError(IntentError):
    """A budget, currency, region, quantity, claim, roster name or lifetime out of range."""

    code = "intent.bad_constraint"


class IntentExpiredError(IntentError):
    """An intent used at or after its expires_ms, or an offer after its valid_until_ms."""

    code = "intent.expired"


class IntentReplayError(IntentError):
    """An intent id, offer id or sealed nonce seen before, or a withdraw of a deleted intent."""

    code = "intent.replayed"


class UnknownIntentError(IntentError):
    """A message about an intent this node does not hold."""

    code = "intent.unknown_intent"


class TermsNotCountersignedError(IntentError):
    """An offer whose terms id is not the intent's: it does not accept her terms: no offer."""

    code = "intent.terms_not_countersigned"


class DuplicateOfferError(IntentError):
    """A second offer from one vendor for one intent."""

    code = "intent.duplicate_offer"


class OfferCapError(IntentError):
    """An offer beyond the intent's cap of offers."""

    code = "intent.over_cap"


class IntentRateError(IntentError):
    """A subscriber sent more offers this hour than the hub relays for one."""

    code = "intent.rate_limited"


class IntentQuotaError(IntentError):
    """A pseudonym has as many live intents at this hub as the hub keeps for one."""

    code = "intent.quota"


class BadWorkError(IntentError):
    """An intent's work stamp is short of the hub's difficulty."""

    code = "intent.bad_work"


class NotAPeerHubError(IntentError):
    """A forwarded intent from a node this hub does not list as a peer."""

    code = "intent.not_a_peer"


def all_error_classes() -> list[type[AmityError]]:
    """Every error class in the tree, root first: spec/errors.md must list each ``code``."""
    seen: list[type[AmityError]] = []
    stack: list[type[AmityError]] = [AmityError]
    while stack:
        cls = stack.pop(0)
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def format_time_ms(ms: int) -> str:
    """Render a protocol timestamp (ms since the Unix epoch, UTC) for error messages."""
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
