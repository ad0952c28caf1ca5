"""Distributions of durations in int milliseconds: latencies, sessions, think times.

Each one samples from a ``random.Random`` it is handed (a named stream of the run), never from
the global generator. Scenario files write them as small tables, for example
``{ kind = "lognormal", median_ms = 40, sigma = 0.5, max_ms = 2000 }``; a bare integer is a
constant.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from amity.protocol.errors import UsageError

__all__ = [
    "Distribution",
    "Constant",
    "Uniform",
    "LogNormal",
    "Exponential",
    "parse_distribution",
]


class Distribution(Protocol):
    """A duration distribution: ``sample`` gives an int >= 0 of milliseconds."""

    def sample(self, rng: random.Random) -> int: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Constant:
    ms: int

    def sample(self, rng: random.Random) -> int:
        return self.ms

    def describe(self) -> str:
        return f"{self.ms} ms"


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform over the integers ``lo_ms..hi_ms`` (inclusive)."""

    lo_ms: int
    hi_ms: int

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.lo_ms, self.hi_ms)

    def describe(self) -> str:
        return f"uniform {self.lo_ms}..{self.hi_ms} ms"


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal with the given median and shape ``sigma``, cut at ``max_ms`` (a timeout)."""

    median_ms: float
    sigma: float
    max_ms: int | None = None

    def sample(self, rng: random.Random) -> int:
        value = round(rng.lognormvariate(math.log(self.median_ms), self.sigma))
        return value if self.max_ms is None else min(value, self.max_ms)

    def describe(self) -> str:
        cut = "" if self.max_ms is None else f", at most {self.max_ms} ms"
        return f"log-normal, median {self.median_ms:g} ms, sigma {self.sigma:g}{cut}"


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential with the given mean (memoryless sessions, Poisson arrivals)."""

    mean_ms: float

    def sample(self, rng: random.Random) -> int:
        return round(rng.expovariate(1.0 / self.mean_ms))

    def describe(self) -> str:
        return f"exponential, mean {self.mean_ms:g} ms"


def _number(raw: Mapping[str, object], key: str, what: str, *, positive: bool = False) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{what}: {key} must be a number")
    if value < 0 or (positive and value == 0):
        raise UsageError(f"{what}: {key} must be {'> 0' if positive else '>= 0'}, got {value}")
    return float(value)


def parse_distribution(raw: object, what: str) -> Distribution:
    """A distribution from its scenario form; UsageError naming ``what`` if it is wrong."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise UsageError(f"{what}: a duration is >= 0 ms, got {raw}")
        return Constant(raw)
    if not isinstance(raw, Mapping):
        raise UsageError(f"{what}: expected milliseconds or a table with 'kind'")
    kind = raw.get("kind")
    allowed = {
        "constant": {"kind", "ms"},
        "uniform": {"kind", "lo_ms", "hi_ms"},
        "lognormal": {"kind", "median_ms", "sigma", "max_ms"},
        "exponential": {"kind", "mean_ms"},
    }
    if kind not in allowed:
        raise UsageError(f"{what}: kind must be one of {', '.join(allowed)}, got {kind!r}")
    unknown = sorted(set(raw) - allowed[str(kind)])
    if unknown:
        raise UsageError(f"{what}: unknown keys {unknown} for kind {kind!r}")
    if kind == "constant":
        return Constant(int(_number(raw, "ms", what)))
    if kind == "uniform":
        lo, hi = int(_number(raw, "lo_ms", what)), int(_number(raw, "hi_ms", what))
        if lo > hi:
            raise UsageError(f"{what}: lo_ms {lo} is above hi_ms {hi}")
        return Uniform(lo, hi)
    if kind == "lognormal":
        cut = raw.get("max_ms")
        max_ms = None if cut is None else int(_number(raw, "max_ms", what, positive=True))
        return LogNormal(
            _number(raw, "median_ms", what, positive=True), _number(raw, "sigma", what), max_ms
        )
    return Exponential(_number(raw, "mean_ms", what, positive=True))
