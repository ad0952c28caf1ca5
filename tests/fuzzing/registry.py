"""Every decoder and verifier of amity.protocol that takes untrusted bytes or text, in one table.

Each :class:`Decoder` names the public callable it covers (``module.name``, with an optional
``[variant]``), a function of one fuzz input, and a corpus of valid or nearly valid inputs to
mutate. Variants reach deeper checks: ``[resigned]`` signs whatever the fuzzer made of the signed
part, ``[sealed]`` boxes it, ``[payload]`` carries it through a valid Noise handshake. The rule
they are all held to (spec/errors.md): whatever the input, a decoder returns or raises an
AmityError, nothing else. tests/protocol/test_fuzz_decoders.py runs them and checks that no public
decoder is missing from here. The targets themselves are in link.py and records.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Decoder", "Targets", "decoders"]


@dataclass(frozen=True, slots=True)
class Decoder:
    """One fuzz target: ``call(input)`` must return or raise an AmityError."""

    name: str
    call: Callable[[Any], object]
    corpus: tuple[Any, ...]
    #: The input is text (str); otherwise bytes.
    text: bool = False
    #: Other public names that ``call`` runs on what it decoded (a verifier after its decoder).
    also: tuple[str, ...] = ()
    #: Share of the inputs, relative to 1 (a handshake per input costs 20 times a decode).
    weight: float = 1.0

    @property
    def covers(self) -> str:
        """The public name this target exercises: ``module.function`` or ``module.Class.method``."""
        return self.name.split("[", 1)[0]


class Targets:
    """Collects targets: ``targets.add(name, corpus, *also)(call)`` registers one."""

    def __init__(self) -> None:
        self.found: list[Decoder] = []

    def add(
        self, name: str, corpus: tuple[bytes, ...], *also: str, weight: float = 1.0
    ) -> Callable[[Callable[[bytes], object]], None]:
        def register(call: Callable[[bytes], object]) -> None:
            self.found.append(Decoder(name, call, corpus, also=also, weight=weight))

        return register

    def text(
        self, name: str, corpus: tuple[str, ...], *also: str
    ) -> Callable[[Callable[[str], object]], None]:
        def register(call: Callable[[str], object]) -> None:
            self.found.append(Decoder(name, call, corpus, also=also, text=True))

        return register


@functools.cache
def decoders() -> tuple[Decoder, ...]:
    """The registry, built once (it loads the vectors and runs a few handshakes)."""
    # Imported here: the target modules import Decoder and Targets from this one.
    from tests.fuzzing.intents import intent_targets
    from tests.fuzzing.link import link_targets
    from tests.fuzzing.records import record_targets
    from tests.fuzzing.webhooks import webhook_targets

    found = (*link_targets(), *record_targets(), *intent_targets(), *webhook_targets())
    names = [d.name for d in found]
    assert len(names) == len(set(names)), "two fuzz targets share a name"
    return found
