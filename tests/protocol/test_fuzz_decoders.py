"""Every decoder of amity.protocol, fuzzed with a fixed seed: nothing but an AmityError escapes.

The targets are tests/fuzzing/registry.py; their inputs are seeded mutations of the spec vectors
(tests/fuzzing/mutations.py) plus hypothesis' own draws (derandomized, so CI sees the same inputs
every run). ``AMITY_FUZZ_INPUTS`` (default 100 000 in all) and ``AMITY_FUZZ_SEED`` (default 14)
change the run; for a long one outside pytest: ``python -m tests.fuzzing.run --inputs 1000000``.
The test only asks "returns, or raises an AmityError": which code a decoder raises is the
business of the vectors.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import pkgutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amity.protocol
from amity.protocol.errors import AmityError
from tests.fuzzing.registry import Decoder, decoders
from tests.fuzzing.run import escapes, share
from tests.hashseed import run_with_hash_seed
from tests.strategies import arbitrary_bytes, encoded_values, mutated

FUZZ_INPUTS = int(os.environ.get("AMITY_FUZZ_INPUTS", "100000"))
FUZZ_SEED = int(os.environ.get("AMITY_FUZZ_SEED", "14"))
#: hypothesis examples per target, on top of the seeded inputs (it shrinks what it finds).
HYPOTHESIS_EXAMPLES = int(os.environ.get("AMITY_FUZZ_HYPOTHESIS", "10"))

TARGETS = decoders()
_IDS = [d.name for d in TARGETS]


@pytest.mark.parametrize("decoder", TARGETS, ids=_IDS)
def test_seeded_inputs_raise_only_amity_errors(decoder: Decoder) -> None:
    found = escapes(decoder, share(decoder, TARGETS, FUZZ_INPUTS), FUZZ_SEED)
    assert not found, "outside the error tree:\n" + "\n".join(e.describe() for e in found)


def _spliced_text(corpus: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda text, at, piece, cut: text[: at % (len(text) + 1)] + piece + text[at + cut :],
        st.sampled_from(corpus),
        st.integers(0, 10_000),
        st.text(max_size=8),
        st.integers(0, 4),
    )


@pytest.mark.parametrize("decoder", TARGETS, ids=_IDS)
@settings(
    derandomize=True,
    max_examples=HYPOTHESIS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hypothesis_inputs_raise_only_amity_errors(decoder: Decoder, data: st.DataObject) -> None:
    value: str | bytes
    if decoder.text:
        value = data.draw(st.text(max_size=300) | _spliced_text(decoder.corpus))
    else:
        value = data.draw(
            arbitrary_bytes(300) | encoded_values() | mutated(st.sampled_from(decoder.corpus))
        )
    with contextlib.suppress(AmityError):
        decoder.call(value)


_DIGEST_OF_INPUTS = """
import hashlib
from tests.fuzzing.registry import decoders
from tests.fuzzing.run import fuzz_inputs
digest = hashlib.sha256()
for target in decoders():
    for item in fuzz_inputs(target, 40, 14):
        digest.update(item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item)
print(digest.hexdigest())
"""


def test_inputs_are_the_same_in_every_process() -> None:
    """A fixed seed means fixed inputs: nothing may hang on hash order or the clock."""
    digests = {run_with_hash_seed(_DIGEST_OF_INPUTS, hash_seed) for hash_seed in ("1", "2")}
    assert len(digests) == 1, digests


# -- the registry is complete ----------------------------------------------------------------------

#: Public names that look like decoders but take no untrusted bytes or text, and why.
NOT_DECODERS = {
    "identity.base58_decode": "raises ValueError by contract; its reader of untrusted text, "
    "PeerId.from_did, maps that to identity.bad_did and is fuzzed",
    "relationship.open_relationship": "takes a typed event from the node, not bytes",
    "negotiation.open_negotiation": "takes a typed event from the node, not bytes",
    "holder.open_holding": "takes a Delivery that open_delivery (fuzzed) has checked",
    "holdings.read": "answers the owner's question from held records; no peer input",
    "replay.ReplayGuard.accept": "takes an Envelope that open_envelope (fuzzed) has checked",
    "thingtransfer.Transfer.accept": "the buyer signing a transfer it decoded (fuzzed); no input",
    "noise.HandshakeState.split": "splits a finished handshake into its two ciphers; no input",
    "terms.ParamSpec.read": "reads one parameter for TermsDocument.decode, decode_terms_body "
    "and decode_policy_summary (all fuzzed); no bytes of its own",
    "delegationscope.decode_scope": "reads one scope for Capability.decode (fuzzed); no bytes "
    "of its own",
    "delegationchain.verify_chain": "checks capabilities Capability.decode (fuzzed) has read",
}
_PREFIXES = (
    "decode", "open", "parse", "verify", "peek", "split", "read", "from_", "decrypt", "receive",
    "resolve", "accept", "admit",
)  # fmt: skip


def public_decoders() -> set[str]:
    """``module.name`` and ``module.Class.method`` of every public name that looks like a decoder."""
    names = set()
    for info in pkgutil.iter_modules(amity.protocol.__path__):
        module = importlib.import_module(f"amity.protocol.{info.name}")
        for public in getattr(module, "__all__", ()):
            thing = getattr(module, public)
            if getattr(thing, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(thing) and (
                public.startswith(_PREFIXES) or public.endswith("_decode")
            ):
                names.add(f"{info.name}.{public}")
            elif inspect.isclass(thing):
                names.update(
                    f"{info.name}.{public}.{attr}"
                    for attr, member in vars(thing).items()
                    if attr.startswith(_PREFIXES)
                    and isinstance(member, classmethod | staticmethod | type(public_decoders))
                )
    return names


def _resolves(name: str) -> bool:
    module, *path = name.split(".")
    thing: object = importlib.import_module(f"amity.protocol.{module}")
    for part in path:
        if not hasattr(thing, part):
            return False
        thing = getattr(thing, part)
    return callable(thing)


def test_registry_covers_every_public_decoder() -> None:
    covered = {d.covers for d in TARGETS} | {name for d in TARGETS for name in d.also}
    public = public_decoders()
    missing = public - covered - set(NOT_DECODERS)
    assert not missing, f"add these to tests/fuzzing/registry.py (or to NOT_DECODERS): {missing}"
    assert not set(NOT_DECODERS) - public, "NOT_DECODERS names something that is gone"
    assert all(_resolves(name) for name in covered), "a registry name points at nothing"


def test_registry_has_a_corpus_for_every_target() -> None:
    for decoder in TARGETS:
        assert decoder.corpus, decoder.name
        kind = str if decoder.text else bytes
        assert all(isinstance(item, kind) for item in decoder.corpus), decoder.name
