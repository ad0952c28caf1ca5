"""The node's terms policy file, ``<home>/policy.toml``: read again whenever it changes.

The owner edits it by hand or replaces it through the local API (``amity policy set FILE``). A file
that breaks spec/terms.md §5.2, or whose ``[[intents.answer]]`` rules break spec/intents.md §5.2,
is not half-used: the node logs why and answers nothing automatically (every offer and every
intent waits for a person) until the file is fixed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

from amity.node.logs import log_event
from amity.protocol.core.intents.rule import QuoteRule
from amity.protocol.core.intents.rulefile import parse_answer_rules
from amity.protocol.errors import PolicyError
from amity.protocol.policy import Policy, parse_policy

__all__ = ["POLICY_FILE", "PolicyFile"]

POLICY_FILE: Final = "policy.toml"
_log = logging.getLogger("amity.terms")


class PolicyFile:
    """One policy file: :meth:`current` gives the policy in force (None: a person decides)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._policy: Policy | None = None
        self._answers: tuple[QuoteRule, ...] = ()
        #: Why the file on disk is not in force, if it is not.
        self.error: PolicyError | None = None

    def current(self) -> Policy | None:
        """The policy in the file now; parsed again only when the file changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._policy, self._answers, self.error = None, None, (), None
            return None
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._seen = seen
            try:
                self._policy, self._answers = _parse(self.text() or "")
                self.error = None
                log_event(
                    _log, "policy.loaded", path=str(self.path), intent_rules=len(self._answers)
                )
            except PolicyError as exc:
                self._policy, self._answers, self.error = None, (), exc
                log_event(
                    _log, "policy.invalid", logging.WARNING, path=str(self.path), why=str(exc)
                )
        return self._policy

    def answer_rules(self) -> tuple[QuoteRule, ...]:
        """The auto-answer rules of the file in force (spec/intents.md §5.2), in file order."""
        self.current()
        return self._answers

    def text(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def replace(self, text: str) -> Policy:
        """Check ``text`` (PolicyError with line and field) and put it in place atomically."""
        policy, _ = _parse(text)
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self._seen = None  # read it back on the next use, as any edit
        log_event(_log, "policy.replaced", path=str(self.path))
        return policy


def _parse(text: str) -> tuple[Policy, tuple[QuoteRule, ...]]:
    """The terms policy, then the intents rules that may lean on it; PolicyError for either."""
    policy = parse_policy(text)
    return policy, parse_answer_rules(text, policy)
