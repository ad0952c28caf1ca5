"""One duration syntax, one flag per idea, errors in plain words (node/cli/options.py)."""

from __future__ import annotations

import argparse

import pytest

from amity.node.cli import build_parser
from amity.node.cli.options import Duration, duration_text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("30d", 2_592_000), (" 7d ", 604_800)],
)
def test_a_duration_is_a_number_and_a_unit(text: str, seconds: int) -> None:
    assert Duration("a grant", 1, 10**9)(text) == seconds


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("0s", "0s: a grant must last more than 0"),
        ("10x", "'10x' is not a duration: a number and a unit: 90s, 10m, 2h or 30d"),
        ("-1d", "'-1d' is not a duration"),
        ("31d", "a grant lasts 1m to 30d, not 31d"),
        ("30s", "a grant lasts 1m to 30d, not 30s"),
    ],
)
def test_a_bad_duration_says_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        Duration("a grant", 60, 30 * 86_400)(text)
    assert str(caught.value).startswith(said)


def test_whole_days_are_asked_in_words() -> None:
    days = Duration("an attestation", 86_400, 3650 * 86_400, unit_s=86_400)
    assert days("2d") == 172_800
    with pytest.raises(argparse.ArgumentTypeError, match="whole days"):
        days("36h")


def test_duration_text_takes_the_largest_whole_unit() -> None:
    assert [duration_text(s) for s in (45, 120, 7200, 604_800, 90_000)] == [
        "45s", "2m", "2h", "7d", "25h",
    ]  # fmt: skip


def _options(parser: argparse.ArgumentParser, path: list[str]) -> dict[str, argparse.Action]:
    for word in path:
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return {o: a for a in parser._actions for o in a.option_strings}


def _leaves(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [path]
    return [leaf for w, p in subs[0].choices.items() for leaf in _leaves(p, [*path, w])]


def test_every_duration_flag_is_spelled_one_way_and_takes_a_duration() -> None:
    """No --ttl, --days or --duration anywhere; every --expires, --wait, --grace parses 2h."""
    parser = build_parser()
    seen = 0
    for path in _leaves(parser, []):
        options = _options(parser, path)
        assert not {"--ttl", "--days", "--duration"} & set(options), path
        for flag in ("--expires", "--wait", "--grace"):
            if flag in options:
                seen += 1
                assert isinstance(options[flag].type, Duration), (path, flag)
                assert options[flag].metavar == "DURATION", (path, flag)
    assert seen >= 9
