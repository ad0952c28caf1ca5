"""The reputation report words its comparisons from the numbers' signs, never assumes a gain."""

from __future__ import annotations

from amity.simulations.scenarios.reputation.results import avoided_sentence, compare_arms


def test_a_gain_is_called_a_gain() -> None:
    assert compare_arms(0.054, 0.151) == "local trust cut breaches by 64% of the rate without it"
    assert avoided_sentence(0.641) == "Breaches avoided by trust: 0.641 (1 - with / without)."


def test_a_loss_is_called_a_loss() -> None:
    # Threat model C of issue 20: 0.337 with trust, 0.280 without.
    text = compare_arms(0.337, 0.280)
    assert "did not reduce breaches" in text and "raised them by 20%" in text
    assert "cut" not in text
    avoided = avoided_sentence(1 - 0.337 / 0.280)
    assert avoided.startswith(
        "Breaches avoided by trust: none; with it, the breached share was 20% higher"
    )
    assert "= -0.204" in avoided


def test_no_difference_and_nothing_to_compare() -> None:
    assert compare_arms(0.1, 0.1) == "local trust made no difference here"
    assert "did harm" in compare_arms(0.05, 0.0)
    assert "nothing to compare" in compare_arms(None, 0.2)
    assert "no breach without it" in avoided_sentence(None)
