"""Run one fuzz target over seeded inputs and report what escaped the error tree.

``python -m tests.fuzzing.run [--inputs N] [--seed S] [NAME…]`` runs the registry outside pytest
(the long local run: ``--inputs 1000000``) and prints, per target, the inputs and seconds, and
each distinct exception that is not an AmityError with an input that raises it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from amity.protocol.errors import AmityError
from tests.fuzzing.mutations import mutate_bytes, mutate_text
from tests.fuzzing.registry import Decoder, decoders

__all__ = ["Escape", "fuzz_inputs", "share", "escapes", "main"]


@dataclass(frozen=True, slots=True)
class Escape:
    """An exception outside the error tree, with the input that raised it."""

    target: str
    data: Any
    error: BaseException

    def describe(self) -> str:
        shown = self.data.hex() if isinstance(self.data, bytes) else repr(self.data)
        where = traceback.extract_tb(self.error.__traceback__)[-1]
        return (
            f"{self.target}: {type(self.error).__name__}: {str(self.error)[:200]}\n"
            f"  at {where.filename}:{where.lineno}\n"
            f"  input ({len(self.data)} {'chars' if isinstance(self.data, str) else 'bytes'}): "
            f"{shown[:400]}{'…' if len(shown) > 400 else ''}"
        )


def fuzz_inputs(decoder: Decoder, count: int, seed: int) -> Iterator[Any]:
    """The corpus itself, then ``count`` mutated inputs, the same ones for the same seed."""
    yield from decoder.corpus
    rng = random.Random(f"amity-fuzz/{seed}/{decoder.name}")
    mutate = mutate_text if decoder.text else mutate_bytes
    for _ in range(count):
        yield mutate(rng, decoder.corpus)


def share(decoder: Decoder, targets: Sequence[Decoder], inputs: int) -> int:
    """How many of ``inputs`` go to ``decoder``: in proportion to its weight."""
    return max(1, round(inputs * decoder.weight / sum(d.weight for d in targets)))


def escapes(
    decoder: Decoder,
    count: int,
    seed: int,
    *,
    limit: int = 5,
    slowest: list[tuple[float, Any]] | None = None,
) -> list[Escape]:
    """Up to ``limit`` escapes of distinct kinds (exception type and line) over the inputs.

    With ``slowest`` (the long run only; tests do not time things), the slowest input and its
    seconds are kept there, to spot an input that makes a decoder crawl.
    """
    found: dict[tuple[str, str, int | None], Escape] = {}
    for data in fuzz_inputs(decoder, count, seed):
        begin = time.perf_counter() if slowest is not None else 0.0
        try:
            decoder.call(data)
        except AmityError:
            pass
        except Exception as exc:  # noqa: BLE001 - finding these is the point
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = (type(exc).__name__, where.filename, where.lineno)
            found.setdefault(key, Escape(decoder.name, data, exc))
            if len(found) >= limit:
                break
        if slowest is not None:
            spent = time.perf_counter() - begin
            if not slowest or spent > slowest[0][0]:
                slowest[:] = [(spent, data)]
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000, help="in all, over the targets")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("names", nargs="*", help="only targets whose name starts with these")
    args = parser.parse_args(argv)
    targets = [
        d for d in decoders() if not args.names or any(d.name.startswith(n) for n in args.names)
    ]
    total_escapes = total_inputs = 0
    started = time.perf_counter()
    for decoder in targets:
        begin = time.perf_counter()
        count = share(decoder, targets, args.inputs)
        slowest: list[tuple[float, Any]] = []
        found = escapes(decoder, count, args.seed, slowest=slowest)
        total_escapes += len(found)
        total_inputs += count
        worst_ms = slowest[0][0] * 1000 if slowest else 0.0
        print(
            f"{decoder.name:55} {count:>8} {time.perf_counter() - begin:7.2f}s "
            f"slowest {worst_ms:6.1f} ms  escapes {len(found)}"
        )
        for escape in found:
            print("  " + escape.describe().replace("\n", "\n  "))
        sys.stdout.flush()
    print(
        f"{len(targets)} targets, {total_inputs} inputs, "
        f"{time.perf_counter() - started:.1f}s, {total_escapes} kinds of escape"
    )
    return 1 if total_escapes else 0


if __name__ == "__main__":
    raise SystemExit(main())
